"""Writes to access control: custom roles and role assignments, validated and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Group, ServicePrincipal
from registry.models import AuditEvent, RoleAssignment, RoleDefinition
from registry.permissions import engine
from registry.permissions.assignments import (
    custom_role_create,
    role_assignment_create,
    role_assignment_delete,
)
from tests.factories import NamespaceFactory, RegistryFactory, RepositoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(db):
    registry = RegistryFactory(name="ProdAcr1")
    NamespaceFactory(registry=registry, name="team-a")
    RepositoryFactory(registry=registry, name="team-a/app")
    return registry


def _role(name="AcrPush"):
    return RoleDefinition.objects.get(name=name)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("/", "/"),
        ("/registries/prodacr1", "/registries/ProdAcr1"),
        ("/registries/PRODACR1/namespaces/team-a", "/registries/ProdAcr1/namespaces/team-a"),
        (
            "/registries/prodacr1/repositories/team-a/app",
            "/registries/ProdAcr1/repositories/team-a/app",
        ),
    ],
)
def test_assignments_store_the_scope_in_the_registrys_spelling(alice, bob, prod, given, stored):
    assignment = role_assignment_create(actor=alice, role=_role(), scope=given, principal=bob)
    assert assignment.scope == stored
    assert assignment.created_by == alice
    event = AuditEvent.objects.get(action="roleAssignment.create")
    assert (event.actor, event.scope) == (alice, stored)
    assert event.details["role"] == "AcrPush"
    assert event.details["principal"] == "bob"


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("/registries/nosuch1", "no registry named"),
        ("/registries/prodacr1/namespaces/team-z", "no namespace named"),
        ("/registries/prodacr1/repositories/team-a/nothing", "no repository named"),
        ("/registries/prodacr1/tags/x", "after the registry"),
        ("team-a", "is not a scope"),
    ],
)
def test_scopes_must_name_what_exists(alice, bob, prod, scope, message):
    with pytest.raises(ValidationError, match=message):
        role_assignment_create(actor=alice, role=_role(), scope=scope, principal=bob)
    assert not RoleAssignment.objects.exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_groups_and_service_principals_can_hold_assignments(alice, bob, prod):
    group = Group.objects.create(name="platform")
    ci = ServicePrincipal.objects.create(name="ci")
    for principal, kind in ((group, "group"), (ci, "service_principal")):
        assignment = role_assignment_create(
            actor=alice, role=_role(), scope="/registries/prodacr1", principal=principal
        )
        assert assignment.principal_type == kind
    assert engine.is_allowed(ci, "content/write", "/registries/ProdAcr1/repositories/team-a/app")


def test_an_expiry_in_the_past_is_refused(alice, bob, prod):
    with pytest.raises(ValidationError, match="past"):
        role_assignment_create(
            actor=alice,
            role=_role(),
            scope="/",
            principal=bob,
            expires_at=timezone.now() - timedelta(minutes=1),
        )


def test_deleting_an_assignment_takes_the_access_away_and_is_audited(alice, bob, prod):
    scope = "/registries/ProdAcr1/repositories/team-a/app"
    assignment = role_assignment_create(actor=alice, role=_role(), scope=scope, principal=bob)
    assert engine.is_allowed(bob, "content/write", scope)

    role_assignment_delete(actor=alice, assignment=assignment)

    assert not engine.is_allowed(bob, "content/write", scope)
    event = AuditEvent.objects.get(action="roleAssignment.delete")
    assert event.details["role"] == "AcrPush"


def test_custom_roles_take_known_actions_in_canonical_order(alice):
    role = custom_role_create(
        actor=alice, name="Tagger", actions=["metadata/write", "metadata/read"]
    )
    assert role.actions == ["metadata/read", "metadata/write"]
    assert not role.is_builtin
    assert AuditEvent.objects.get(action="roleDefinition.create").details["role"] == "Tagger"


@pytest.mark.parametrize(
    ("name", "actions", "field"),
    [
        ("Tagger", ["metadata/fly"], "actions"),
        ("Tagger", [], "actions"),
        ("acrpush", ["content/read"], "name"),  # a built-in's name, in any case
    ],
)
def test_bad_custom_roles_are_refused(alice, name, actions, field):
    with pytest.raises(ValidationError) as caught:
        custom_role_create(actor=alice, name=name, actions=actions)
    assert field in caught.value.message_dict
    assert not RoleDefinition.objects.filter(is_builtin=False).exists()


def test_a_service_principal_assigns_through_the_api_and_is_named_in_the_audit(client, bob, prod):
    """A service principal that may write role assignments is their actor: no user row, its name."""
    import base64

    from accounts.models import ServicePrincipal
    from accounts.services import service_principal_secret_create
    from registry.models import AuditEvent

    automation = ServicePrincipal.objects.create(name="access-bot")
    secret = service_principal_secret_create(service_principal=automation).secret
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="Owner"), scope="/", service_principal=automation
    )
    basic = base64.b64encode(f"{automation.client_id}:{secret}".encode()).decode()

    response = client.post(
        "/api/v1/role-assignments/",
        {
            "role": "AcrPull",
            "scope": f"/registries/{prod.name}",
            "principal_type": "user",
            "principal": "bob",
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )

    assert response.status_code == 201, response.content
    created = RoleAssignment.objects.get(user=bob)
    assert created.created_by is None
    event = AuditEvent.objects.get(action="roleAssignment.create")
    assert event.actor is None and event.actor_name == "sp:access-bot"
