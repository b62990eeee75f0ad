"""REST API: service principals (``/api/v1/service-principals/``) and their secrets.

Who manages a service principal: its owner, superusers and holders of roleAssignments/write at
``/``. Anyone else gets a 404, as if it did not exist; anonymous callers a 401.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import secrets
from accounts.models import ServicePrincipal, ServicePrincipalSecret
from accounts.services import service_principal_secret_create
from registry.models import AuditEvent
from tests.accounts.conftest import MANAGERS, USERS, basic
from tests.registry.api_support import api_url, assert_problem, bearer, send

pytestmark = pytest.mark.django_db

LIST = "/api/v1/service-principals/"


def detail(principal: ServicePrincipal | str) -> str:
    key = principal if isinstance(principal, str) else str(principal.pk)
    return api_url("service-principal-detail", id=key)


def secrets_url(principal: ServicePrincipal) -> str:
    return api_url("service-principal-secret-list", id=str(principal.pk))


def secret_url(principal: ServicePrincipal, secret: object) -> str:
    return api_url("service-principal-secret-detail", id=str(principal.pk), secret=str(secret))


def test_the_paths_are_the_promised_ones(ci):
    assert api_url("service-principal-list") == LIST
    assert detail(ci) == f"/api/v1/service-principals/{ci.pk}/"
    assert secrets_url(ci) == f"/api/v1/service-principals/{ci.pk}/secrets/"


# Who may do what: the matrix ---------------------------------------------------------------

OPERATIONS = [
    ("get", None, 200),
    ("patch", {"description": "changed"}, 200),
    ("post-secret", {"description": "x"}, 201),
    ("delete", None, 204),
]


def _attempt(client, operation, principal, headers):
    method, data, _ = operation
    if method == "post-secret":
        return send(client, "post", secrets_url(principal), data, **headers)
    return send(client, method, detail(principal), data, **headers)


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_only_the_owner_superusers_and_access_admins_manage_it(
    client, personas, ci, who, operation
):
    response = _attempt(client, operation, ci, bearer(personas[who]))

    if who in MANAGERS:
        assert response.status_code == operation[2], response.content
    else:
        body = assert_problem(response, 404)
        assert "service principal" in body["detail"]
        ci.refresh_from_db()
        assert ci.description == "GitHub Actions"
        assert not ci.secrets.exists()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_anonymous_callers_are_asked_to_sign_in(client, ci, operation):
    response = _attempt(client, operation, ci, {})
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_a_service_principal_without_access_at_the_root_manages_none(client, ci, robot, operation):
    principal, headers = robot
    assert_problem(_attempt(client, operation, ci, headers), 404)
    # Not even itself: a leaked secret must not mint more secrets.
    assert_problem(_attempt(client, operation, principal, headers), 404)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_a_service_principal_with_access_at_the_root_manages_all(client, ci, root_robot, operation):
    _, headers = root_robot
    assert _attempt(client, operation, ci, headers).status_code == operation[2]


def test_the_list_holds_what_the_caller_manages(client, personas, ci, robot):
    service_principal_names = {}
    for who in USERS:
        rows = client.get(LIST, **bearer(personas[who])).json()["results"]
        service_principal_names[who] = [row["name"] for row in rows]
    assert service_principal_names == {
        "alice": ["ci", "robot"],
        "bob": ["ci"],
        "carol": [],
        "dave": ["ci", "robot"],
        "erin": [],
        "frank": [],
    }
    assert client.get(LIST, **robot[1]).json()["results"] == []


@pytest.mark.parametrize("who", USERS)
def test_every_user_may_create_one_and_owns_it(client, personas, who):
    response = send(client, "post", LIST, {"name": f"sp-{who}"}, **bearer(personas[who]))
    assert response.status_code == 201, response.content
    assert ServicePrincipal.objects.get(name=f"sp-{who}").owner == personas[who]


def test_a_service_principal_may_create_one_only_with_access_at_the_root(client, robot, root_robot):
    refused = send(client, "post", LIST, {"name": "child"}, **robot[1])
    body = assert_problem(refused, 403)
    assert "roleAssignments/write at /" in body["detail"]

    created = send(client, "post", LIST, {"name": "child"}, **root_robot[1])
    assert created.status_code == 201
    assert created.json()["owner"] is None
    assert AuditEvent.objects.get(action="servicePrincipal.create").actor_name == "sp:root-robot"


# Reading and writing -----------------------------------------------------------------------


def test_creating_answers_the_promised_fields_and_a_location(client, bob):
    response = send(
        client, "post", LIST, {"name": "ci-deployer", "description": "Deploys"}, **bearer(bob)
    )

    assert response.status_code == 201, response.content
    body = response.json()
    created = ServicePrincipal.objects.get()
    assert body == {
        "id": created.pk,
        "name": "ci-deployer",
        "client_id": str(created.client_id),
        "enabled": True,
        "description": "Deploys",
        "owner": "bob",
        "created": body["created"],
        "secrets": [],
    }
    assert response["Location"] == f"http://testserver{detail(created)}"


def test_a_service_principal_is_found_by_id_or_client_id(client, bob, ci):
    by_id = client.get(detail(ci), **bearer(bob)).json()
    by_client_id = client.get(detail(str(ci.client_id)), **bearer(bob)).json()
    by_upper_case = client.get(detail(str(ci.client_id).upper()), **bearer(bob)).json()
    assert by_id == by_client_id == by_upper_case
    assert by_id["client_id"] == str(ci.client_id)


@pytest.mark.parametrize("key", ["nope", "12ab", "-1"])
def test_a_malformed_id_is_a_400_naming_the_parameter(client, bob, key):
    body = assert_problem(client.get(detail(key), **bearer(bob)), 400)
    assert "client id" in body["errors"]["id"][0]


def test_an_unknown_id_is_a_404(client, alice):
    assert_problem(client.get(detail("999999"), **bearer(alice)), 404)
    assert_problem(client.get(detail("00000000-0000-0000-0000-000000000001"), **bearer(alice)), 404)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "name", "This field is required."),
        ({"name": "ci deployer"}, "name", "letters, digits"),
        ({"name": "x" * 65}, "name", "64"),
        ({"name": "ok", "client_id": "x"}, "client_id", "This field is read-only."),
        ({"name": "ok", "owner": "carol"}, "owner", "This field is read-only."),
        ({"name": "ok", "colour": "red"}, "colour", "Unknown field."),
        ({"name": "ok", "enabled": "maybe"}, "enabled", "Must be a valid boolean."),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(client, bob, data, field, message):
    body = assert_problem(send(client, "post", LIST, data, **bearer(bob)), 400)
    assert message in body["errors"][field][0]
    assert not ServicePrincipal.objects.exists()


def test_a_duplicate_name_is_a_409(client, bob, ci):
    body = assert_problem(send(client, "post", LIST, {"name": "CI"}, **bearer(bob)), 409)
    assert body["detail"] == "A service principal named 'ci' already exists."
    other = ServicePrincipal.objects.create(name="other", owner=bob)
    assert_problem(send(client, "patch", detail(other), {"name": "Ci"}, **bearer(bob)), 409)


def test_patch_renames_and_disables_with_an_audit_event_each(client, bob, ci):
    response = send(client, "patch", detail(ci), {"name": "ci-2", "enabled": False}, **bearer(bob))

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "ci-2"
    assert response.json()["enabled"] is False
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"servicePrincipal.update", "servicePrincipal.disable"} <= actions


def test_the_client_id_cannot_be_changed(client, bob, ci):
    body = assert_problem(send(client, "patch", detail(ci), {"client_id": "x"}, **bearer(bob)), 400)
    assert body["errors"] == {"client_id": ["This field is read-only."]}


def test_delete_removes_it(client, bob, ci):
    assert send(client, "delete", detail(ci), **bearer(bob)).status_code == 204
    assert not ServicePrincipal.objects.exists()
    assert AuditEvent.objects.get(action="servicePrincipal.delete").actor == bob


def test_the_list_costs_a_fixed_number_of_queries(client, alice, django_assert_max_num_queries):
    for n in range(20):
        principal = ServicePrincipal.objects.create(name=f"sp{n}")
        service_principal_secret_create(service_principal=principal)
    headers = bearer(alice)
    # The token lookup and its last-use stamp, the permission read, the page, the secrets.
    with django_assert_max_num_queries(6):
        response = client.get(LIST, **headers)
    assert len(response.json()["results"]) == 20


# Secrets -------------------------------------------------------------------------------------


def test_a_new_secret_is_answered_once_with_the_promised_fields(client, bob, ci):
    response = send(client, "post", secrets_url(ci), {"description": "gh"}, **bearer(bob))

    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert {"id", "secret", "expires_at"} <= set(body)
    assert body["client_id"] == str(ci.client_id)
    stored = ServicePrincipalSecret.objects.get(pk=body["id"])
    assert stored.digest == secrets.digest(body["secret"])
    lifetime = stored.expires_at - timezone.now()
    assert timedelta(days=364) < lifetime <= timedelta(days=365)
    assert response["Location"] == f"http://testserver{secret_url(ci, stored.pk)}"

    # From now on only its metadata is shown.
    shown = client.get(detail(ci), **bearer(bob))
    assert body["secret"] not in shown.content.decode()
    [row] = shown.json()["secrets"]
    assert row == {
        "id": stored.pk,
        "hint": body["secret"][len("pcl_sps_") :][:6],
        "description": "gh",
        "created": row["created"],
        "expires_at": body["expires_at"],
        "last_used": None,
        "revoked": None,
        "status": "active",
    }


def test_a_secret_takes_a_lifetime_in_days_or_an_expiry(client, bob, ci):
    by_days = send(client, "post", secrets_url(ci), {"expires_in_days": 30}, **bearer(bob))
    moment = (timezone.now() + timedelta(days=10)).isoformat()
    by_moment = send(client, "post", secrets_url(ci), {"expires_at": moment}, **bearer(bob))

    assert by_days.status_code == by_moment.status_code == 201
    rows = {row.pk: row.expires_at - timezone.now() for row in ci.secrets.all()}
    assert timedelta(days=29) < rows[by_days.json()["id"]] <= timedelta(days=30)
    assert timedelta(days=9) < rows[by_moment.json()["id"]] <= timedelta(days=10)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"expires_in_days": 0}, "expires_in_days", "greater than or equal to 1"),
        ({"expires_in_days": 731}, "expires_in_days", "less than or equal to 730"),
        ({"expires_in_days": 30, "expires_at": "2099-01-01T00:00:00Z"}, "expires_at", "not both"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at", "in the future"),
        ({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at", "at most 730 days"),
        ({"expires_at": "soon"}, "expires_at", "Datetime has wrong format"),
        ({"description": "x" * 101}, "description", "no more than 100"),
        ({"secret": "mine"}, "secret", "Unknown field."),
    ],
)
def test_invalid_secret_input_is_a_400_naming_the_field(client, bob, ci, data, field, message):
    body = assert_problem(send(client, "post", secrets_url(ci), data, **bearer(bob)), 400)
    assert message in body["errors"][field][0]
    assert not ci.secrets.exists()


def test_revoking_a_secret_stops_it_at_once(client, bob, ci):
    issued = service_principal_secret_create(service_principal=ci)
    assert client.get(LIST, **basic(ci.client_id, issued.secret)).status_code == 200

    response = send(client, "delete", secret_url(ci, issued.record.pk), **bearer(bob))

    assert response.status_code == 204
    assert_problem(client.get(LIST, **basic(ci.client_id, issued.secret)), 401)
    assert AuditEvent.objects.get(action="servicePrincipal.secret.revoke").actor == bob
    # Revoking again changes nothing.
    assert (
        send(client, "delete", secret_url(ci, issued.record.pk), **bearer(bob)).status_code == 204
    )


def test_a_secret_of_another_service_principal_is_a_404(client, bob, ci, robot):
    other = service_principal_secret_create(service_principal=robot[0])
    assert_problem(send(client, "delete", secret_url(ci, other.record.pk), **bearer(bob)), 404)
    assert_problem(send(client, "delete", secret_url(ci, "x"), **bearer(bob)), 400)
    assert ServicePrincipalSecret.objects.get(pk=other.record.pk).revoked_at is None
