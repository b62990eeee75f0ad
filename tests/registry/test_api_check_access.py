"""REST API: ``/api/v1/check-access/``: may this principal do this action at this scope, and why."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from accounts.models import ServicePrincipal
from registry.models import RoleAssignment
from tests.factories import UserFactory
from tests.registry.access_support import APP_A, APP_B, REGISTRY_SCOPE, TEAM_A, assign
from tests.registry.api_support import api_url, assert_problem, bearer

pytestmark = pytest.mark.django_db

URL = "/api/v1/check-access/"


def check(client, user, **query):
    return client.get(f"{URL}?{urlencode(query)}", **bearer(user))


def test_the_route_is_where_the_design_says():
    assert api_url("check-access") == URL


def test_anonymous_callers_must_sign_in(client, world):
    assert_problem(client.get(f"{URL}?action=content/read&scope={APP_A}"), 401)


def test_people_check_their_own_access_and_read_why(client, erin, platform):
    via = RoleAssignment.objects.get(group=platform).pk

    response = check(client, erin, action="content/write", scope=APP_A)

    assert response.status_code == 200
    assert response.json() == {
        "allowed": True,
        "explanation": f"allowed via AcrPush assigned to group platform at {TEAM_A}",
        "via": [via],
        "principal": "user:erin",
        "action": "content/write",
        "scope": APP_A,
    }


def test_what_is_denied_says_so(client, erin):
    response = check(
        client, erin, action="content/delete", scope="/registries/PROD1/namespaces/team-a"
    )
    assert response.json() == {
        "allowed": False,
        "explanation": f"denied: no assignment grants content/delete at {TEAM_A}",
        "via": [],
        "principal": "user:erin",
        "action": "content/delete",
        "scope": TEAM_A,
    }


def test_naming_oneself_is_the_same_as_the_default(client, erin):
    response = check(client, erin, principal="user:erin", action="content/read", scope=APP_A)
    assert response.json()["allowed"] is True


def test_a_scope_one_cannot_see_is_a_404_even_for_oneself(client, erin, bob):
    assert_problem(check(client, erin, action="content/read", scope=APP_B), 404)
    assert_problem(check(client, bob, action="content/read", scope=REGISTRY_SCOPE), 404)
    # The portal itself is visible to everyone.
    assert check(client, bob, action="registry/write", scope="/").json()["allowed"] is False


def test_superusers_are_told_they_are_superusers(client, alice, world):
    response = check(client, alice, action="content/delete", scope=APP_B)
    assert response.json()["explanation"] == "allowed: alice is a superuser"


# Someone else's access ----------------------------------------------------------------------

# persona → scope → status when checking erin. carol manages team-a; dave audits the registry.
OTHERS = {
    "alice": {APP_A: 200, APP_B: 200, REGISTRY_SCOPE: 200},
    "carol": {APP_A: 200, TEAM_A: 200, APP_B: 404, REGISTRY_SCOPE: 403},
    "dave": {APP_A: 200, APP_B: 200, REGISTRY_SCOPE: 200, "/": 403},
    "erin": {},
    "bob": {APP_A: 404, "/": 403},
}


@pytest.mark.parametrize(
    ("persona", "scope", "status"),
    [(p, s, status) for p, row in OTHERS.items() for s, status in row.items()],
)
def test_checking_someone_else_needs_role_assignments_write_or_audit_log_read(
    client, request, erin, persona, scope, status
):
    user = request.getfixturevalue(persona)
    response = check(client, user, principal="user:erin", action="content/write", scope=scope)
    if status == 200:
        assert response.status_code == 200
        assert response.json()["allowed"] is (scope in {APP_A, TEAM_A})
    else:
        problem = assert_problem(response, status)
        if status == 403:
            assert problem["detail"] == (
                f"You are not allowed to do roleAssignments/write or auditLog/read at {scope}."
            )


def test_a_developer_cannot_check_a_colleague(client, erin, carol):
    problem = assert_problem(
        check(client, erin, principal="user:carol", action="content/read", scope=APP_A), 403
    )
    assert "roleAssignments/write or auditLog/read" in problem["detail"]


def test_groups_and_service_principals_can_be_checked(client, alice, platform, erin):
    ci = ServicePrincipal.objects.create(name="ci")
    assign("AcrPull", APP_A, service_principal=ci)

    by_group = check(client, alice, principal="group:platform", action="content/write", scope=APP_A)
    by_client_id = check(
        client, alice, principal=f"sp:{ci.client_id}", action="content/read", scope=APP_A
    )

    assert by_group.json()["allowed"] is True
    assert by_group.json()["principal"] == "group:platform"
    assert by_client_id.json()["explanation"] == (
        f"allowed via AcrPull assigned to service principal ci at {APP_A}"
    )


def test_a_user_who_has_not_signed_in_yet_can_be_checked_by_email(client, alice, world):
    newcomer = UserFactory(username="new@example.com", email="new@example.com")
    assign("AcrPush", TEAM_A, user=newcomer)
    response = check(
        client, alice, principal="user:new@example.com", action="content/write", scope=APP_A
    )
    assert response.json()["allowed"] is True


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"scope": APP_A}, "action", "required"),
        ({"action": "content/fly", "scope": APP_A}, "action", "Unknown action 'content/fly'"),
        ({"action": "content/read"}, "scope", "required"),
        ({"action": "content/read", "scope": "team-a/app"}, "scope", "is not a scope"),
        (
            {"action": "content/read", "scope": f"{REGISTRY_SCOPE}/repositories/team-a/none"},
            "scope",
            "no repository named",
        ),
        ({"action": "content/read", "scope": APP_A, "principal": "erin"}, "principal", "user:"),
        (
            {"action": "content/read", "scope": APP_A, "principal": "user:nobody"},
            "principal",
            "no user with the username or email 'nobody'",
        ),
    ],
)
def test_bad_questions_are_refused_saying_why(client, alice, world, query, field, message):
    problem = assert_problem(check(client, alice, **query), 400)
    assert message in " ".join(problem["errors"][field])
