"""Personas for service principals and access tokens.

- alice: a superuser (``tests/conftest.py``);
- bob: an ordinary user who owns the service principal ``ci``;
- carol: an ordinary user who owns nothing;
- dave: holds Owner at ``/`` (``roleAssignments/write`` there), so manages access everywhere;
- erin: holds Owner on registry ``prod1`` only;
- frank: holds Contributor at ``/`` (everything but ``roleAssignments/write``).
"""

from __future__ import annotations

import pytest

from accounts.models import ServicePrincipal
from accounts.services import service_principal_secret_create
from registry.models import RoleAssignment, RoleDefinition
from tests.factories import RegistryFactory
from tests.registry.api_support import basic


def assign(role: str, scope: str, **principal) -> RoleAssignment:
    return RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=scope, **principal
    )


@pytest.fixture
def prod1(db):
    return RegistryFactory(name="prod1", login_server="https://prod1.example.com")


@pytest.fixture
def carol(db, django_user_model):
    return django_user_model.objects.create_user("carol", "carol@example.com", "carol-pass-1")


@pytest.fixture
def dave(db, django_user_model):
    user = django_user_model.objects.create_user("dave", "dave@example.com", "dave-pass-1")
    assign("Owner", "/", user=user)
    return user


@pytest.fixture
def erin(prod1, django_user_model):
    user = django_user_model.objects.create_user("erin", "erin@example.com", "erin-pass-1")
    assign("Owner", prod1.scope, user=user)
    return user


@pytest.fixture
def frank(db, django_user_model):
    user = django_user_model.objects.create_user("frank", "frank@example.com", "frank-pass-1")
    assign("Contributor", "/", user=user)
    return user


@pytest.fixture
def ci(bob):
    """Bob's service principal."""
    return ServicePrincipal.objects.create(name="ci", description="GitHub Actions", owner=bob)


@pytest.fixture
def robot(db):
    """A service principal with a secret and no role: ``(principal, headers)``."""
    principal = ServicePrincipal.objects.create(name="robot")
    secret = service_principal_secret_create(service_principal=principal).secret
    return principal, basic(principal.client_id, secret)


@pytest.fixture
def root_robot(db):
    """A service principal holding Owner at ``/``: ``(principal, headers)``."""
    principal = ServicePrincipal.objects.create(name="root-robot")
    assign("Owner", "/", service_principal=principal)
    secret = service_principal_secret_create(service_principal=principal).secret
    return principal, basic(principal.client_id, secret)


@pytest.fixture
def personas(alice, bob, carol, dave, erin, frank):
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "dave": dave,
        "erin": erin,
        "frank": frank,
    }


# Who manages bob's service principal ``ci``: its owner, superusers and access admins at /.
MANAGERS = {"alice", "bob", "dave"}
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
