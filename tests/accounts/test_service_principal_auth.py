"""REST API sign-in as a service principal: ``Authorization: Basic`` with its client id and one of
its secrets. The principal then holds exactly its own role assignments."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ServicePrincipal, ServicePrincipalSecret
from accounts.services import machine_secret_revoke, service_principal_secret_create
from registry.models import AuditEvent, Namespace, Repository
from tests.accounts.conftest import assign, basic
from tests.factories import RegistryFactory
from tests.registry.api_support import api_url, assert_problem, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(prod1):
    for name in ("team-a", "team-b"):
        Namespace.objects.create(registry=prod1, name=name)
    for name in ("team-a/app", "team-a/web", "team-b/app"):
        Repository.objects.create(registry=prod1, name=name)
    other = RegistryFactory(name="other1")
    Repository.objects.create(registry=other, name="team-a/app")
    return prod1


@pytest.fixture
def puller(world):
    """``ci`` with AcrPull on namespace team-a of prod1, and its secret."""
    principal = ServicePrincipal.objects.create(name="ci")
    assign("AcrPull", f"{world.scope}/namespaces/team-a", service_principal=principal)
    issued = service_principal_secret_create(service_principal=principal)
    return principal, issued


def repositories(registry: str) -> str:
    return api_url("repository-list", registry=registry)


def repository(registry: str, name: str) -> str:
    return api_url("repository-detail", registry=registry, repository=name)


def test_acr_pull_on_a_namespace_lists_that_namespace_only(client, puller):
    principal, issued = puller
    headers = basic(principal.client_id, issued.secret)

    listed = client.get(repositories("prod1"), **headers)
    assert listed.status_code == 200, listed.content
    assert [row["name"] for row in listed.json()["results"]] == ["team-a/app", "team-a/web"]
    assert client.get(repository("prod1", "team-a/app"), **headers).status_code == 200

    assert_problem(client.get(repository("prod1", "team-b/app"), **headers), 404)
    assert_problem(client.get(repositories("other1"), **headers), 404)
    registries = client.get(api_url("registry-list"), **headers).json()["results"]
    assert [row["name"] for row in registries] == ["prod1"]


def test_what_it_may_see_but_not_do_is_a_403_naming_the_action(client, puller):
    principal, issued = puller
    response = send(
        client,
        "patch",
        repository("prod1", "team-a/app"),
        {"write_enabled": False},
        **basic(principal.client_id, issued.secret),
    )
    body = assert_problem(response, 403)
    assert "metadata/write" in body["detail"]


def test_its_writes_are_audited_under_its_name_and_need_no_csrf_token(world):
    principal = ServicePrincipal.objects.create(name="ci-deployer")
    assign("Contributor", f"{world.scope}/namespaces/team-a", service_principal=principal)
    issued = service_principal_secret_create(service_principal=principal)
    strict = Client(enforce_csrf_checks=True)

    response = send(
        strict,
        "patch",
        repository("prod1", "team-a/app"),
        {"write_enabled": False},
        **basic(principal.client_id, issued.secret),
    )

    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(action="locks.update")
    assert event.actor is None
    assert event.actor_name == "sp:ci-deployer"


def test_its_use_is_recorded(client, puller):
    principal, issued = puller
    client.get(repositories("prod1"), **basic(principal.client_id, issued.secret))
    issued.record.refresh_from_db()
    assert issued.record.last_used_at is not None


def test_a_disabled_service_principal_is_a_401(client, puller):
    principal, issued = puller
    principal.enabled = False
    principal.save()
    body = assert_problem(
        client.get(repositories("prod1"), **basic(principal.client_id, issued.secret)), 401
    )
    assert "disabled" in body["detail"]


def test_a_revoked_secret_is_a_401(client, puller):
    principal, issued = puller
    machine_secret_revoke(record=issued.record)
    assert_problem(
        client.get(repositories("prod1"), **basic(principal.client_id, issued.secret)), 401
    )


def test_an_expired_secret_is_a_401(client, puller):
    principal, issued = puller
    ServicePrincipalSecret.objects.filter(pk=issued.record.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_problem(
        client.get(repositories("prod1"), **basic(principal.client_id, issued.secret)), 401
    )


def test_another_principals_client_id_with_this_secret_is_a_401(client, puller, robot):
    _, issued = puller
    other, _ = robot
    assert_problem(client.get(repositories("prod1"), **basic(other.client_id, issued.secret)), 401)


def _raw(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": value}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Basic", "Malformed"),
        ("Basic not-base64!", "Malformed"),
        ("Basic a b", "Malformed"),
        (f"Basic {base64.b64encode(b'bob:pcl_pat_x').decode()}", "Bearer"),
        (f"Basic {base64.b64encode(b'00000000-0000-0000-0000-000000000000').decode()}", "Invalid"),
        (
            f"Basic {base64.b64encode(b'00000000-0000-0000-0000-000000000000:pcl_sps_x').decode()}",
            "Invalid",
        ),
    ],
)
def test_bad_basic_credentials_are_a_401_that_says_why(client, world, header, message):
    body = assert_problem(client.get(repositories("prod1"), **_raw(header)), 401)
    assert message in body["detail"]


def test_the_scheme_name_is_case_insensitive(client, puller):
    principal, issued = puller
    encoded = base64.b64encode(f"{principal.client_id}:{issued.secret}".encode()).decode()
    assert client.get(repositories("prod1"), **_raw(f"basic {encoded}")).status_code == 200


def test_a_service_principal_has_no_personal_access_tokens(client, puller):
    principal, issued = puller
    headers = basic(principal.client_id, issued.secret)
    body = assert_problem(client.get(api_url("token-list"), **headers), 403)
    assert "service principal has secrets" in body["detail"]
    assert_problem(send(client, "post", api_url("token-list"), {"name": "x"}, **headers), 403)
