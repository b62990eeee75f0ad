"""REST API: role definitions (``/api/v1/role-definitions/``)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import AuditEvent, RoleDefinition
from registry.permissions import BUILTIN_ROLES
from tests.factories import UserFactory
from tests.registry.access_support import TEAM_A, assign
from tests.registry.api_support import all_pages, api_url, assert_problem, bearer, send

pytestmark = pytest.mark.django_db

LIST = "/api/v1/role-definitions/"
TAGGER = {"name": "Tagger", "description": "Moves tags", "actions": ["metadata/write"]}


def detail(name: str) -> str:
    return reverse("api:role-definition-detail", kwargs={"name": name})


def test_the_routes_are_where_the_design_says():
    assert api_url("role-definition-list") == LIST
    assert detail("AcrPush") == "/api/v1/role-definitions/AcrPush/"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("post", LIST),
        ("get", "/api/v1/role-definitions/Owner/"),
        ("delete", "/api/v1/role-definitions/Owner/"),
    ],
)
def test_anonymous_callers_must_sign_in(client, method, url):
    response = send(client, method, url, TAGGER)
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_anyone_signed_in_reads_the_roles_with_their_actions(client, bob):
    client.force_login(bob)
    rows = all_pages(client, LIST + "?page_size=3")
    assert {row["name"] for row in rows} == set(BUILTIN_ROLES)
    by_name = {row["name"]: row for row in rows}
    assert set(by_name["AcrPush"]) == {"name", "description", "actions", "is_builtin"}
    assert by_name["AcrPush"]["actions"] == ["content/read", "content/write", "metadata/read"]
    assert by_name["AcrPush"]["is_builtin"] is True
    assert by_name["AcrPush"]["description"]


def test_a_role_is_shown_by_name_in_any_case(client, bob):
    response = client.get(detail("acrpull"), **bearer(bob))
    assert response.status_code == 200
    assert response.json()["name"] == "AcrPull"
    assert_problem(client.get(detail("NoSuchRole"), **bearer(bob)), 404)
    body = assert_problem(client.get(detail("no such role"), **bearer(bob)), 400)
    assert "name" in body["errors"]


def test_the_list_costs_the_same_queries_for_many_roles(client, bob, django_assert_max_num_queries):
    client.force_login(bob)
    for index in range(30):
        RoleDefinition.objects.create(name=f"Custom{index}", actions=["metadata/read"])
    with django_assert_max_num_queries(4):
        assert client.get(LIST).status_code == 200


# Creating custom roles ----------------------------------------------------------------------


def test_a_superuser_creates_a_custom_role(client, alice):
    response = client.post(LIST, TAGGER, content_type="application/json", **bearer(alice))
    assert response.status_code == 201, response.content
    assert response.json() == {
        "name": "Tagger",
        "description": "Moves tags",
        "actions": ["metadata/write"],
        "is_builtin": False,
    }
    assert response["Location"].endswith("/api/v1/role-definitions/Tagger/")
    event = AuditEvent.objects.get(action="roleDefinition.create")
    assert (event.actor, event.scope) == (alice, "/")


def test_an_owner_of_the_portal_creates_one_too(client, world):
    owner = UserFactory(username="root-owner")
    assign("Owner", "/", user=owner)
    response = client.post(LIST, TAGGER, content_type="application/json", **bearer(owner))
    assert response.status_code == 201


@pytest.mark.parametrize("persona", ["bob", "carol", "dave"])
def test_others_may_not_create_roles(client, request, persona):
    user = request.getfixturevalue(persona)
    response = client.post(LIST, TAGGER, content_type="application/json", **bearer(user))
    body = assert_problem(response, 403)
    assert "roleAssignments/write at /" in body["detail"]
    assert not RoleDefinition.objects.filter(name="Tagger").exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**TAGGER, "actions": ["metadata/fly"]}, "actions", "Unknown action(s): metadata/fly"),
        ({**TAGGER, "actions": []}, "actions", "at least one action"),
        ({**TAGGER, "actions": "metadata/read"}, "actions", "list"),
        ({**TAGGER, "name": "Tag Manager"}, "name", "letters, digits"),
        ({**TAGGER, "name": ""}, "name", "blank"),
        ({"description": "x", "actions": ["metadata/read"]}, "name", "required"),
        ({**TAGGER, "is_builtin": True}, "is_builtin", "read-only"),
        ({**TAGGER, "permissions": []}, "permissions", "Unknown field"),
    ],
)
def test_invalid_roles_are_refused_saying_why(client, alice, data, field, message):
    response = client.post(LIST, data, content_type="application/json", **bearer(alice))
    body = assert_problem(response, 400)
    assert message in " ".join(body["errors"][field])
    assert not RoleDefinition.objects.filter(is_builtin=False).exists()


@pytest.mark.parametrize("name", ["acrpush", "TAGGER"])
def test_a_name_in_use_is_a_conflict(client, alice, name):
    RoleDefinition.objects.create(name="Tagger", actions=["metadata/write"])
    response = client.post(
        LIST, {**TAGGER, "name": name}, content_type="application/json", **bearer(alice)
    )
    body = assert_problem(response, 409)
    assert "already exists" in body["detail"]


# Built-ins are read-only; unused custom roles can go -----------------------------------------


@pytest.mark.parametrize("method", ["patch", "put", "post"])
def test_role_definitions_cannot_be_changed(client, alice, method):
    response = send(
        client, method, detail("AcrPush"), {"actions": ["content/read"]}, **bearer(alice)
    )
    body = assert_problem(response, 405)
    assert "built-in roles are read-only" in body["detail"]
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "DELETE"}
    assert "PATCH" not in response["Allow"]
    assert RoleDefinition.objects.get(name="AcrPush").actions == [
        "content/read",
        "content/write",
        "metadata/read",
    ]


def test_a_built_in_role_cannot_be_deleted(client, alice):
    body = assert_problem(client.delete(detail("Owner"), **bearer(alice)), 409)
    assert body["detail"] == "Owner is a built-in role: built-in roles are read-only."
    assert RoleDefinition.objects.filter(name="Owner").exists()


def test_a_custom_role_in_use_cannot_be_deleted(client, alice, world, bob):
    role = RoleDefinition.objects.create(name="Tagger", actions=["metadata/write"])
    assign("Tagger", TEAM_A, user=bob)
    body = assert_problem(client.delete(detail("tagger"), **bearer(alice)), 409)
    assert "used by 1 role assignment" in body["detail"]
    assert RoleDefinition.objects.filter(pk=role.pk).exists()


def test_an_unused_custom_role_is_deleted(client, alice):
    RoleDefinition.objects.create(name="Tagger", actions=["metadata/write"])
    response = client.delete(detail("Tagger"), **bearer(alice))
    assert response.status_code == 204
    assert not RoleDefinition.objects.filter(name="Tagger").exists()
    assert AuditEvent.objects.get(action="roleDefinition.delete").actor == alice


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_others_may_not_delete_roles(client, request, persona):
    RoleDefinition.objects.create(name="Tagger", actions=["metadata/write"])
    user = request.getfixturevalue(persona)
    assert_problem(client.delete(detail("Tagger"), **bearer(user)), 403)
    assert RoleDefinition.objects.filter(name="Tagger").exists()
