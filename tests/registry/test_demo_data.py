"""``manage.py demo_data``: what a first look at the portal finds, created once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import ServicePrincipal, ServicePrincipalSecret
from registry.models import Namespace, Registry, RoleAssignment
from registry.permissions import engine

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("demo_data", "--registry-url", "http://127.0.0.1:5000", stdout=out)
    return out.getvalue()


def test_it_creates_an_admin_a_registry_and_a_ci_service_principal_that_pushes_to_team_a():
    output = _run()

    registry = Registry.objects.get(name="localregistry")
    assert Namespace.objects.filter(registry=registry, name="team-a").exists()
    principal = ServicePrincipal.objects.get(name="ci-deployer")
    assert principal.owner.username == "admin"
    assert principal.enabled
    [assignment] = RoleAssignment.objects.filter(service_principal=principal)
    assert assignment.role.name == "AcrPush"
    assert assignment.scope == "/registries/localregistry/namespaces/team-a"
    assert engine.is_allowed(
        principal, "content/write", "/registries/localregistry/repositories/team-a/app"
    )
    assert not engine.is_allowed(
        principal, "content/write", "/registries/localregistry/repositories/team-b/app"
    )
    assert "Created service principal ci-deployer" in output


def test_it_stores_and_prints_no_secret():
    output = _run()
    assert not ServicePrincipalSecret.objects.exists()
    assert "pcl_" not in output


def test_running_it_again_changes_nothing():
    _run()
    assert _run() == ""
    assert ServicePrincipal.objects.count() == 1
    assert RoleAssignment.objects.count() == 1
    assert Namespace.objects.count() == 1
