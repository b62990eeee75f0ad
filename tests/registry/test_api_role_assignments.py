"""REST API: role assignments (``/api/v1/role-assignments/``).

Who may assign where, who sees which assignment, what is refused and why. Personas and the
world are in ``tests/registry/access_support.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Group, GroupMembership, ServicePrincipal, User
from registry.models import AuditEvent, RoleAssignment
from registry.permissions import engine
from tests.factories import UserFactory
from tests.registry.access_support import (
    APP_A,
    APP_B,
    REGISTRY_SCOPE,
    TEAM_A,
    TEAM_B,
    assign,
)
from tests.registry.api_support import (
    all_pages,
    api_url,
    assert_hidden_from_strangers,
    assert_problem,
    bearer,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/role-assignments/"
OBJECT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def detail(assignment: RoleAssignment | int) -> str:
    pk = assignment if isinstance(assignment, int) else assignment.pk
    return api_url("role-assignment-detail", id=str(pk))


def body(role="AcrPush", scope=TEAM_A, principal_type="user", principal="frank", **extra):
    return {
        "role": role,
        "scope": scope,
        "principal_type": principal_type,
        "principal": principal,
        **extra,
    }


def post(client, user, data):
    return client.post(LIST, data, content_type="application/json", **bearer(user))


@pytest.fixture
def frank(world):
    return UserFactory(username="frank", email="frank@example.com")


def test_the_routes_are_where_the_design_says():
    assert api_url("role-assignment-list") == LIST
    assert detail(7) == "/api/v1/role-assignments/7/"


# Strangers ------------------------------------------------------------------------------------


def test_strangers_cannot_assign_or_see_assignments(client, bob, carol, frank):
    held = RoleAssignment.objects.get(user=carol)
    assert_hidden_from_strangers(client, bob, "post", LIST, body())
    assert_hidden_from_strangers(client, bob, "get", detail(held))
    assert_hidden_from_strangers(client, bob, "delete", detail(held))
    assert RoleAssignment.objects.count() == 1
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_a_stranger_lists_nothing(client, bob, carol, dave):
    client.logout()
    assert_problem(client.get(LIST), 401)
    response = client.get(LIST, **bearer(bob))
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}


# Who may assign where --------------------------------------------------------------------------

ROOT = "/"
# persona → scope → status. carol manages team-a; dave audits the registry; erin pushes to
# team-a. A scope they hold nothing at, above or in is a 404; a visible one they may not
# manage a 403.
ASSIGN = {
    "alice": {ROOT: 201, REGISTRY_SCOPE: 201, TEAM_A: 201, TEAM_B: 201, APP_A: 201, APP_B: 201},
    "carol": {ROOT: 403, REGISTRY_SCOPE: 403, TEAM_A: 201, TEAM_B: 404, APP_A: 201, APP_B: 404},
    "dave": {ROOT: 403, REGISTRY_SCOPE: 403, TEAM_A: 403, TEAM_B: 403, APP_A: 403, APP_B: 403},
    "erin": {ROOT: 403, REGISTRY_SCOPE: 403, TEAM_A: 403, TEAM_B: 404, APP_A: 403, APP_B: 404},
    "bob": {ROOT: 403, REGISTRY_SCOPE: 404, TEAM_A: 404, TEAM_B: 404, APP_A: 404, APP_B: 404},
}


@pytest.mark.parametrize(
    ("persona", "scope", "status"),
    [(p, s, status) for p, row in ASSIGN.items() for s, status in row.items()],
)
def test_assigning_needs_role_assignments_write_at_the_scope(
    client, request, frank, persona, scope, status
):
    user = request.getfixturevalue(persona)
    before = RoleAssignment.objects.count()

    response = post(client, user, body(scope=scope))

    if status == 201:
        assert response.status_code == 201, response.content
        assert engine.is_allowed(frank, "content/write", scope if scope != ROOT else APP_B)
        assert AuditEvent.objects.filter(action="roleAssignment.create", scope=scope).exists()
    else:
        problem = assert_problem(response, status)
        if status == 403:
            assert (
                problem["detail"] == f"You are not allowed to do roleAssignments/write at {scope}."
            )
        assert RoleAssignment.objects.count() == before
        assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_an_assignment_answers_with_the_promised_fields(client, alice, frank):
    expiry = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    response = post(
        client,
        alice,
        body(
            scope="/registries/PROD1/namespaces/team-a",
            expires_at=expiry.isoformat(),
            reason="on call",
        ),
    )
    assert response.status_code == 201, response.content
    created = RoleAssignment.objects.get(user=frank)
    assert response["Location"].endswith(f"/api/v1/role-assignments/{created.pk}/")
    assert response.json() == {
        "id": created.pk,
        "role": "AcrPush",
        "scope": TEAM_A,  # the registry's own spelling
        "principal_type": "user",
        "principal": "frank",
        "principal_name": "frank",
        "principal_has_signed_in": True,
        "expires_at": expiry.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "has_expired": False,
        "reason": "on call",
        "created": response.json()["created"],
        "created_by": "alice",
    }
    event = AuditEvent.objects.get(action="roleAssignment.create")
    assert event.details["expires_at"] == expiry.isoformat()


def test_roles_are_named_in_any_case(client, alice, frank):
    response = post(client, alice, body(role="acrpull"))
    assert response.status_code == 201
    assert response.json()["role"] == "AcrPull"


def test_groups_and_service_principals_are_assigned_by_name_or_id(client, alice, platform):
    ci = ServicePrincipal.objects.create(name="ci")
    by_group = post(
        client, alice, body(principal_type="group", principal="platform", role="AcrPull")
    )
    assert by_group.status_code == 201, by_group.content
    assert by_group.json()["principal"] == "platform"
    by_client_id = post(
        client, alice, body(principal_type="service_principal", principal=str(ci.client_id))
    )
    assert by_client_id.status_code == 201, by_client_id.content
    assert by_client_id.json()["principal"] == str(ci.client_id)
    assert by_client_id.json()["principal_name"] == "ci"
    assert engine.is_allowed(ci, "content/write", APP_A)


# Before they sign in (ACR-like pre-assignment) -------------------------------------------------


def test_a_user_who_has_not_signed_in_yet_is_assigned_by_email(client, carol):
    response = post(client, carol, body(principal="New.Hire@Example.com"))

    assert response.status_code == 201, response.content
    assert response.json()["principal"] == "new.hire@example.com"
    assert response.json()["principal_has_signed_in"] is False
    newcomer = User.objects.get(email="new.hire@example.com")
    assert not newcomer.has_usable_password()
    assert engine.is_allowed(newcomer, "content/write", APP_A)
    # Both at team-a: whoever audits team-a sees who was invited there, and by whom.
    events = AuditEvent.objects.exclude(action__startswith="token.").order_by("pk")
    assert list(events.values_list("action", "actor__username", "scope")) == [
        ("user.invite", "carol", TEAM_A),
        ("roleAssignment.create", "carol", TEAM_A),
    ]


def test_an_entra_user_is_assigned_by_object_id_before_signing_in(client, alice, world):
    object_id = "5f0e8c2a-3b1d-4e6f-9a7b-0c1d2e3f4a5b"
    response = post(client, alice, body(principal=object_id.upper()))

    assert response.status_code == 201, response.content
    placeholder = User.objects.get(entra_object_id=object_id)
    assert not placeholder.has_usable_password()
    assert engine.is_allowed(placeholder, "content/write", APP_A)
    again = post(client, alice, body(principal=object_id, role="AcrPull"))
    assert again.status_code == 201, again.content
    assert User.objects.filter(entra_object_id=object_id).count() == 1
    event = AuditEvent.objects.get(action="user.invite")
    assert event.details == {"object_id": object_id}


def test_a_directory_group_is_assigned_by_object_id_before_anyone_signs_in(client, alice, world):
    response = post(client, alice, body(principal_type="group", principal=OBJECT_ID.upper()))

    assert response.status_code == 201, response.content
    group = Group.objects.get(object_id=OBJECT_ID)
    assert group.name == OBJECT_ID
    assert response.json()["principal"] == OBJECT_ID
    # Whoever joins the group later holds the role.
    member = UserFactory(username="member")
    GroupMembership.objects.create(group=group, user=member, source="entra")
    assert engine.is_allowed(member, "content/write", APP_A)


def test_an_existing_user_named_by_email_gets_the_assignment_not_a_placeholder(
    client, alice, frank
):
    response = post(client, alice, body(principal="FRANK@example.com"))
    assert response.status_code == 201
    assert response.json()["principal"] == "frank"
    assert User.objects.filter(email__iexact="frank@example.com").count() == 1


# Refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (body(role="Pusher"), "role", "There is no role named 'Pusher'. Roles: "),
        (body(scope="team-a"), "scope", "is not a scope"),
        (body(scope="/registries/prod1/tags/x"), "scope", "after the registry comes"),
        (body(scope="/registries/p!"), "scope", "is not a registry name"),
        (body(scope="/registries/nosuch1"), "scope", "There is no registry named 'nosuch1'"),
        (body(scope=f"{REGISTRY_SCOPE}/namespaces/team-z"), "scope", "no namespace named"),
        (body(scope=f"{REGISTRY_SCOPE}/repositories/team-a/x"), "scope", "no repository named"),
        (body(principal="nobody"), "principal", "no user with the username or email 'nobody'"),
        (body(principal_type="group", principal="ops"), "principal", "give its object id"),
        (body(principal_type="service_principal", principal="ci"), "principal", "no service"),
        (body(principal_type="robot"), "principal_type", "not a valid choice"),
        (body(expires_at="2020-01-01T00:00:00Z"), "expires_at", "cannot expire in the past"),
        (body(expires_at="next week"), "expires_at", "Datetime has wrong format"),
        (body(permanent=True), "permanent", "Unknown field"),
        ({"role": "AcrPush"}, "scope", "required"),
    ],
)
def test_bad_assignments_are_refused_saying_why(client, alice, frank, data, field, message):
    response = post(client, alice, data)
    problem = assert_problem(response, 400)
    assert message in " ".join(problem["errors"][field]), problem
    assert not RoleAssignment.objects.exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()
    assert User.objects.count() == 2


def test_a_duplicate_assignment_is_refused(client, alice, frank):
    first = post(client, alice, body())
    assert first.status_code == 201
    problem = assert_problem(post(client, alice, body(role="ACRPUSH")), 400)
    assert problem["errors"]["principal"] == [
        f"frank already holds AcrPush at {TEAM_A} (assignment {first.json()['id']}); "
        "remove it first to change its expiry."
    ]
    assert RoleAssignment.objects.count() == 1


def test_a_scope_naming_nothing_is_hidden_from_those_who_could_not_see_it(client, carol):
    # carol manages team-a: a look-alike namespace is outside what she can see.
    response = post(client, carol, body(scope=f"{REGISTRY_SCOPE}/namespaces/team-a-x"))
    assert_problem(response, 404)


# Who sees which assignment -----------------------------------------------------------------------


@pytest.fixture
def assignments(world, carol, dave, erin, frank):
    """Every persona's assignment, and some of others': at /, in team-b, on team-b/app."""
    gina, hank = UserFactory(username="gina"), UserFactory(username="hank")
    assign("Owner", "/", user=frank)
    assign("AcrPull", TEAM_B, user=gina)
    assign("AcrDelete", APP_B, user=hank)
    return {
        f"{a.role.name} {a.principal} {a.scope}": a.pk
        for a in RoleAssignment.objects.select_related("role", "user", "group")
    }


EVERY = {
    "Owner frank /",
    f"Auditor dave {REGISTRY_SCOPE}",
    f"Owner carol {TEAM_A}",
    f"AcrPush platform {TEAM_A}",
    f"AcrPull gina {TEAM_B}",
    f"AcrDelete hank {APP_B}",
}
VISIBLE = {
    "alice": EVERY,
    "dave": EVERY,  # auditor of the registry: everything in it, and what applies to it
    # Owner of team-a: what applies at team-a (inherited ones too) and inside it
    "carol": {"Owner frank /", f"Auditor dave {REGISTRY_SCOPE}", f"Owner carol {TEAM_A}"}
    | {f"AcrPush platform {TEAM_A}"},
    "erin": {f"AcrPush platform {TEAM_A}"},  # her own, through her group
    "bob": set(),
}


def _names(rows):
    return {f"{row['role']} {row['principal_name']} {row['scope']}" for row in rows}


@pytest.mark.parametrize("persona", list(VISIBLE))
def test_each_persona_lists_the_assignments_they_may_see(client, request, assignments, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert _names(all_pages(client, f"{LIST}?page_size=2")) == VISIBLE[persona]


@pytest.mark.parametrize("persona", list(VISIBLE))
def test_each_persona_reads_only_the_assignments_they_may_see(
    client, request, assignments, persona
):
    user = request.getfixturevalue(persona)
    for name, pk in assignments.items():
        response = client.get(detail(pk), **bearer(user))
        if name in VISIBLE[persona]:
            assert response.status_code == 200, name
        else:
            assert assert_problem(response, 404)["detail"] == f"There is no role assignment {pk}."


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"scope={TEAM_A}", {f"Owner carol {TEAM_A}", f"AcrPush platform {TEAM_A}"}),
        (
            "scope=/registries/PROD1/namespaces/team-a",
            {f"Owner carol {TEAM_A}", f"AcrPush platform {TEAM_A}"},
        ),
        (f"scope={REGISTRY_SCOPE}&scope_match=at_and_below", EVERY - {"Owner frank /"}),
        (
            f"scope={TEAM_B}&scope_match=at_and_below",
            {f"AcrPull gina {TEAM_B}", f"AcrDelete hank {APP_B}"},
        ),
        (
            f"scope={APP_A}&scope_match=at_and_above",
            {"Owner frank /", f"Auditor dave {REGISTRY_SCOPE}", f"Owner carol {TEAM_A}"}
            | {f"AcrPush platform {TEAM_A}"},
        ),
        ("principal=user:carol", {f"Owner carol {TEAM_A}"}),
        ("principal=group:platform", {f"AcrPush platform {TEAM_A}"}),
        ("principal=user:frank@example.com", {"Owner frank /"}),
        ("principal=user:nobody", set()),
        (f"scope={TEAM_A}&principal=user:gina", set()),
    ],
)
def test_the_list_filters_by_scope_and_principal(client, alice, assignments, query, expected):
    client.force_login(alice)
    assert _names(all_pages(client, f"{LIST}?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scope=team-a", "scope"),
        (f"scope={TEAM_A}&scope_match=below", "scope_match"),
        ("principal=carol", "principal"),
        ("principal=robot:r2", "principal"),
    ],
)
def test_bad_filters_are_refused(client, alice, query, field):
    problem = assert_problem(client.get(f"{LIST}?{query}", **bearer(alice)), 400)
    assert field in problem["errors"]


def test_a_service_principal_is_filtered_by_client_id(client, alice, world):
    ci = ServicePrincipal.objects.create(name="ci")
    assign("AcrPull", TEAM_A, service_principal=ci)
    client.force_login(alice)
    rows = all_pages(client, f"{LIST}?principal=sp:{ci.client_id}")
    assert [(row["principal_type"], row["principal"]) for row in rows] == [
        ("service_principal", str(ci.client_id))
    ]


def test_expired_assignments_are_listed_as_expired(client, alice, world, frank):
    old = assign("AcrPull", TEAM_A, user=frank)
    RoleAssignment.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    response = client.get(detail(old), **bearer(alice))
    assert response.json()["has_expired"] is True


def test_the_list_costs_the_same_queries_however_many_assignments(
    client, carol, world, django_assert_max_num_queries
):
    client.force_login(carol)
    for index in range(40):
        assign("AcrPull", TEAM_A, user=UserFactory(username=f"dev{index}"))
    assign("AcrPull", TEAM_A, group=Group.objects.create(name="g"))
    assign("AcrPull", TEAM_A, service_principal=ServicePrincipal.objects.create(name="sp"))
    with django_assert_max_num_queries(4):
        response = client.get(f"{LIST}?page_size=100")
    assert len(response.json()["results"]) == 43  # and carol's own


# Removing ----------------------------------------------------------------------------------------

REMOVE = {
    # persona → assignment → status
    "carol": {f"AcrPush platform {TEAM_A}": 204, f"Auditor dave {REGISTRY_SCOPE}": 403},
    "dave": {f"AcrPush platform {TEAM_A}": 403, f"AcrPull gina {TEAM_B}": 403},
    "erin": {f"AcrPush platform {TEAM_A}": 403, f"Owner carol {TEAM_A}": 404},
    "bob": {f"AcrPush platform {TEAM_A}": 404},
    "alice": {"Owner frank /": 204, f"AcrDelete hank {APP_B}": 204},
}


@pytest.mark.parametrize(
    ("persona", "name", "status"),
    [(p, name, status) for p, row in REMOVE.items() for name, status in row.items()],
)
def test_removing_needs_role_assignments_write_at_the_assignments_scope(
    client, request, assignments, persona, name, status
):
    user = request.getfixturevalue(persona)
    pk = assignments[name]

    response = client.delete(detail(pk), **bearer(user))

    if status == 204:
        assert response.status_code == 204
        assert not RoleAssignment.objects.filter(pk=pk).exists()
        event = AuditEvent.objects.get(action="roleAssignment.delete")
        assert (event.actor, event.details["assignment"]) == (user, pk)
    else:
        assert_problem(response, status)
        assert RoleAssignment.objects.filter(pk=pk).exists()
        assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_removing_an_unknown_assignment_is_a_404(client, alice):
    assert_problem(client.delete(detail(999999), **bearer(alice)), 404)
