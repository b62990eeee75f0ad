"""Access-control pages: role assignments at every scope, the principal picker, removing in
place, roles, checking access, the audit log. Personas: ``tests/registry/access_support.py``."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Group, GroupMembership, User
from registry.models import AuditEvent, RoleAssignment, RoleDefinition
from tests.factories import UserFactory
from tests.registry.access_support import (
    APP_A,
    APP_B,
    REGISTRY,
    REGISTRY_SCOPE,
    TEAM_A,
    TEAM_B,
    assign,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
REGISTRY_PAGE = f"/registries/{REGISTRY}/access/"
TEAM_A_PAGE = f"/registries/{REGISTRY}/namespaces/team-a/_access/"
TEAM_B_PAGE = f"/registries/{REGISTRY}/namespaces/team-b/_access/"
APP_A_PAGE = f"/registries/{REGISTRY}/repositories/team-a/app/_access/"
ROOT_PAGE = "/access/portal/"
OBJECT_ID = "3b241101-e2bb-4255-8caf-4136c566a962"


@pytest.fixture
def frank(world):
    return UserFactory(username="frank", first_name="Frances", last_name="Allen")


def tomorrow() -> str:
    return (timezone.now() + timedelta(days=1)).date().isoformat()


def test_the_pages_are_where_the_design_says():
    assert reverse("access:registry_access", args=[REGISTRY]) == REGISTRY_PAGE
    assert reverse("access:namespace_access", args=[REGISTRY, "team-a"]) == TEAM_A_PAGE
    assert reverse("access:repository_access", args=[REGISTRY, "team-a/app"]) == APP_A_PAGE
    assert reverse("access:audit_log") == "/audit/"


@pytest.mark.parametrize(
    "url",
    [
        "/access/",
        ROOT_PAGE,
        REGISTRY_PAGE,
        TEAM_A_PAGE,
        APP_A_PAGE,
        "/access/roles/",
        "/access/roles/new/",
        "/access/check/",
        "/access/principals/?q=a",
        "/audit/",
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, world, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# Who may open which role assignments page ------------------------------------------------------

PAGES = {
    # persona → page → status: reviewing access needs roleAssignments/write or auditLog/read
    "alice": {ROOT_PAGE: 200, REGISTRY_PAGE: 200, TEAM_A_PAGE: 200, TEAM_B_PAGE: 200},
    "carol": {ROOT_PAGE: 403, REGISTRY_PAGE: 403, TEAM_A_PAGE: 200, TEAM_B_PAGE: 404}
    | {APP_A_PAGE: 200},
    "dave": {ROOT_PAGE: 403, REGISTRY_PAGE: 200, TEAM_A_PAGE: 200, TEAM_B_PAGE: 200},
    "erin": {REGISTRY_PAGE: 403, TEAM_A_PAGE: 403, TEAM_B_PAGE: 404, APP_A_PAGE: 403},
    "bob": {ROOT_PAGE: 403, REGISTRY_PAGE: 404, TEAM_A_PAGE: 404, APP_A_PAGE: 404},
}


@pytest.mark.parametrize(
    ("persona", "url", "status"),
    [(p, url, status) for p, row in PAGES.items() for url, status in row.items()],
)
def test_reviewing_access_needs_role_assignments_write_or_audit_log_read(
    client, request, world, persona, url, status
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url)
    assert response.status_code == status
    if status == 403:
        assert b"roleAssignments/write or auditLog/read" in response.content


@pytest.mark.parametrize(
    "url",
    [
        f"/registries/{REGISTRY}/namespaces/team-z/_access/",
        f"/registries/{REGISTRY}/repositories/team-a/none/_access/",
        "/registries/nosuch1/access/",
        f"/registries/{REGISTRY}/namespaces/Team-A/_access/",
    ],
)
def test_pages_of_nothing_are_404(admin_client, world, url):
    assert admin_client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("persona", "page", "shown"),
    [
        ("alice", f"/registries/{REGISTRY}/", True),
        ("dave", f"/registries/{REGISTRY}/", False),
        ("carol", f"/registries/{REGISTRY}/namespaces/team-a/", True),
        ("erin", f"/registries/{REGISTRY}/namespaces/team-a/", False),
        ("carol", f"/registries/{REGISTRY}/repositories/team-a/app/", True),
        ("erin", f"/registries/{REGISTRY}/repositories/team-a/app/", False),
    ],
)
def test_object_pages_link_to_their_access_only_for_those_who_manage_it(
    client, request, world, persona, page, shown
):
    client.force_login(request.getfixturevalue(persona))
    html = client.get(page).content.decode()
    link = {
        f"/registries/{REGISTRY}/": REGISTRY_PAGE,
        f"/registries/{REGISTRY}/namespaces/team-a/": TEAM_A_PAGE,
        f"/registries/{REGISTRY}/repositories/team-a/app/": APP_A_PAGE,
    }[page]
    assert (f'href="{link}"' in html) is shown


def test_the_navigation_has_access(client, bob):
    client.force_login(bob)
    html = client.get("/access/").content.decode()
    assert '<a href="/access/" aria-current="page">Access</a>' in html


# What the page lists ---------------------------------------------------------------------------


@pytest.fixture
def everyone(carol, dave, erin, frank):
    assign("Owner", "/", user=frank)
    assign("AcrPull", TEAM_B, user=UserFactory(username="gina"))


def _rows(html: str) -> list[str]:
    return [part.split("</tr>")[0] for part in html.split('<tr id="assignment-')[1:]]


def test_a_namespace_page_lists_what_applies_there_and_marks_what_is_inherited(
    client, carol, everyone
):
    client.force_login(carol)
    rows = _rows(client.get(TEAM_A_PAGE).content.decode())
    # By scope, then role: frank at /, dave at the registry (both inherited), then team-a's own.
    who = [row.split('<th scope="row">')[1].split("<br>")[0] for row in rows]
    assert who == ["frank", "dave", "platform", "carol"]
    assert ["inherited" in row for row in rows] == [True, True, False, False]
    assert not any("gina" in row for row in rows)


def test_a_registry_page_lists_the_assignments_inside_it_too(client, dave, everyone):
    client.force_login(dave)
    html = client.get(REGISTRY_PAGE).content.decode()
    for who in ("frank", "dave", "carol", "platform", "gina"):
        assert f'<th scope="row">{who}<br>' in html, who
    assert "5 assignments here, inherited or inside." in html


def test_only_those_who_manage_access_get_the_form_and_remove_buttons(client, dave, everyone):
    client.force_login(dave)
    html = client.get(TEAM_A_PAGE).content.decode()
    assert "Add a role assignment" not in html
    assert ">Remove</a>" not in html
    assert ">Check</a>" in html


def test_a_manager_may_remove_only_what_is_at_their_scope(client, carol, everyone):
    client.force_login(carol)
    rows = _rows(client.get(TEAM_A_PAGE).content.decode())
    removable = ["Remove" in row for row in rows]
    assert removable == [False, False, True, True]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [REGISTRY_PAGE, TEAM_A_PAGE, "/access/"])
def test_the_pages_cost_the_same_queries_however_many_assignments(client, carol, url):
    assign("Owner", REGISTRY_SCOPE, user=carol)
    client.force_login(carol)
    before = _queries(client, url)
    for index in range(30):
        assign("AcrPull", TEAM_A, user=UserFactory(username=f"dev{index}"))
        group = Group.objects.create(name=f"group{index}")
        GroupMembership.objects.create(group=group, user=carol)
        assign("AcrPull", TEAM_A, group=group)
    assert _queries(client, url) == before


# Adding --------------------------------------------------------------------------------------


def _add(principal="user:frank", role="AcrPush", scope=TEAM_A, **extra):
    return {"principal": principal, "role": role, "scope": scope, **extra}


def test_an_admin_assigns_a_role_on_a_namespace_from_the_registry_page(client, alice, frank):
    client.force_login(alice)
    response = client.post(
        REGISTRY_PAGE, _add(expires_on=tomorrow(), reason="release week"), follow=True
    )

    assert response.redirect_chain == [(f"{REGISTRY_PAGE}#assignments", 302)]
    assignment = RoleAssignment.objects.get(user=frank)
    assert (assignment.role.name, assignment.scope, assignment.reason) == (
        "AcrPush",
        TEAM_A,
        "release week",
    )
    # Valid through the chosen day: it ends at its last moment, UTC.
    day = datetime.date.fromisoformat(tomorrow())
    assert assignment.expires_at == datetime.datetime.combine(
        day, datetime.time.max, tzinfo=datetime.UTC
    )
    assert f"AcrPush assigned to frank at {TEAM_A}." in response.content.decode()
    event = AuditEvent.objects.get(action="roleAssignment.create")
    assert event.actor == alice


def test_adding_with_htmx_answers_with_the_refreshed_list(client, carol, frank):
    client.force_login(carol)
    response = client.post(TEAM_A_PAGE, _add(), HTTP_HX_TARGET="assignments", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="assignments"')
    assert '<th scope="row">frank<br>' in html
    assert "roleAssignmentChanged" in response["HX-Trigger"]
    assert "hx-swap-oob" in html  # the success message rides along


def test_the_scopes_offered_are_those_the_user_manages(client, carol, frank, world):
    client.force_login(carol)
    html = client.get(TEAM_A_PAGE).content.decode()
    assert f'<option value="{TEAM_A}"' in html
    assert f'<option value="{TEAM_B}"' not in html
    response = client.post(TEAM_A_PAGE, _add(scope=TEAM_B))
    assert "Select a valid choice" in response.content.decode()
    assert not RoleAssignment.objects.filter(user=frank).exists()


@pytest.mark.parametrize(("persona", "status"), [("dave", 403), ("erin", 403), ("bob", 404)])
def test_others_cannot_add(client, request, frank, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.post(TEAM_A_PAGE, _add()).status_code == status
    assert not RoleAssignment.objects.filter(user=frank).exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_add(principal=""), "Find and pick who gets the role."),
        (_add(principal="frank"), "does not name a principal"),
        (_add(principal="user:nobody"), "To give access to someone who has not signed in yet"),
        (_add(role="Pusher"), "Select a valid choice"),
        (_add(role=""), "Choose a role."),
        (_add(expires_on="2020-01-01"), "This day is over"),
        (_add(expires_on="someday"), "Enter a valid date"),
    ],
)
def test_bad_assignments_are_refused_on_the_form(client, alice, frank, data, message):
    client.force_login(alice)
    response = client.post(REGISTRY_PAGE, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RoleAssignment.objects.exists()


def test_a_duplicate_is_refused_on_the_form(client, alice, frank):
    client.force_login(alice)
    client.post(REGISTRY_PAGE, _add())
    response = client.post(REGISTRY_PAGE, _add())
    assert "frank already holds AcrPush at" in response.content.decode()
    assert RoleAssignment.objects.filter(user=frank).count() == 1


def test_someone_who_has_not_signed_in_yet_is_invited_by_email(client, carol):
    client.force_login(carol)
    client.post(TEAM_A_PAGE, _add(principal="user:Newcomer@Example.com"))
    newcomer = User.objects.get(email="newcomer@example.com")
    assert RoleAssignment.objects.filter(user=newcomer, scope=TEAM_A).exists()
    html = client.get(TEAM_A_PAGE).content.decode()
    assert "has not signed in yet" in html


def test_a_directory_group_is_invited_by_object_id(client, alice, world):
    client.force_login(alice)
    client.post(REGISTRY_PAGE, _add(principal=f"group:{OBJECT_ID}", scope=REGISTRY_SCOPE))
    assert RoleAssignment.objects.filter(group__object_id=OBJECT_ID).exists()


# The principal picker ------------------------------------------------------------------------


def test_the_picker_finds_users_groups_and_service_principals(client, carol, frank, platform):
    from accounts.models import ServicePrincipal

    ServicePrincipal.objects.create(name="franklin-ci")
    client.force_login(carol)
    html = client.get("/access/principals/?q=fr", **HTMX).content.decode()
    assert 'value="user:frank"' in html
    assert "Frances Allen" in html
    assert f'value="service_principal:{ServicePrincipal.objects.get().client_id}"' in html
    assert "2 matches for “fr”." in html
    assert 'value="group:platform"' in client.get("/access/principals/?q=plat").content.decode()


def test_the_picker_offers_invitations_only_where_assignments_are_added(client, carol):
    client.force_login(carol)
    invited = client.get("/access/principals/?q=new@example.com&invitations=1").content.decode()
    assert 'value="user:new@example.com"' in invited
    assert "has not signed in yet" in invited
    plain = client.get("/access/principals/?q=new@example.com").content.decode()
    assert 'value="user:new@example.com"' not in plain
    group = client.get(f"/access/principals/?q={OBJECT_ID}&invitations=1").content.decode()
    assert f'value="group:{OBJECT_ID}"' in group


def test_the_picker_keeps_what_was_picked(client, carol, frank):
    client.force_login(carol)
    html = client.get("/access/principals/?q=zzz&principal=user:frank").content.decode()
    assert 'value="user:frank" checked' in html


@pytest.mark.parametrize("persona", ["bob", "erin"])
def test_the_picker_is_for_those_who_manage_or_review_access(client, request, frank, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/access/principals/?q=fr").status_code == 403


def test_without_javascript_the_picker_searches_with_the_page(client, carol, frank):
    client.force_login(carol)
    html = client.get(f"{TEAM_A_PAGE}?q=fran").content.decode()
    assert 'value="user:frank"' in html
    # The search box belongs to a GET form of its own, outside the POST form.
    assert 'form="principal-search-form"' in html
    assert '<form id="principal-search-form" method="get"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert '<label for="principal-search">' in html


# Removing ------------------------------------------------------------------------------------


@pytest.fixture
def platform_push(erin, platform):
    return RoleAssignment.objects.get(group=platform)


def delete_url(assignment, at=TEAM_A) -> str:
    return f"/access/assignments/{assignment.pk}/_delete/?at={at}"


def test_removal_is_confirmed_in_place(client, carol, platform_push):
    client.force_login(carol)
    response = client.get(delete_url(platform_push), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="assignment-{platform_push.pk}" class="confirm-row">')
    assert "Remove AcrPush of platform at" in html
    assert 'hx-target="#assignments"' in html
    # Cancel puts the row back.
    cancel = client.get(f"/access/assignments/{platform_push.pk}/?at={TEAM_A}", **HTMX)
    assert cancel.content.decode().lstrip().startswith(f'<tr id="assignment-{platform_push.pk}">')


def test_without_javascript_removal_has_a_page_and_a_redirect(client, carol, platform_push):
    client.force_login(carol)
    page = client.get(delete_url(platform_push))
    assert page.status_code == 200
    assert b"<h1>Remove this role assignment?</h1>" in page.content
    response = client.post(f"/access/assignments/{platform_push.pk}/_delete/", {"at": TEAM_A})
    assert response.status_code == 302
    assert response["Location"] == f"{TEAM_A_PAGE}#assignments"
    assert not RoleAssignment.objects.filter(pk=platform_push.pk).exists()
    event = AuditEvent.objects.get(action="roleAssignment.delete")
    assert (event.actor, event.scope) == (carol, TEAM_A)


def test_without_javascript_an_assignments_row_is_its_page(client, carol, platform_push):
    client.force_login(carol)
    response = client.get(f"/access/assignments/{platform_push.pk}/?at={TEAM_A}")
    assert response.status_code == 302
    assert response["Location"] == f"{TEAM_A_PAGE}#assignments"


def test_removing_with_htmx_answers_with_the_refreshed_list(client, carol, platform_push):
    client.force_login(carol)
    response = client.post(
        f"/access/assignments/{platform_push.pk}/_delete/", {"at": TEAM_A}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="assignments"')
    assert "platform" not in html.split("Add a role assignment")[0]
    assert "roleAssignmentChanged" in response["HX-Trigger"]


@pytest.mark.parametrize(("persona", "status"), [("dave", 403), ("erin", 403), ("bob", 404)])
def test_others_cannot_remove(client, request, platform_push, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(delete_url(platform_push)).status_code == status
    assert client.post(delete_url(platform_push)).status_code == status
    assert RoleAssignment.objects.filter(pk=platform_push.pk).exists()


def test_an_inherited_assignment_cannot_be_removed_from_below(client, carol, dave):
    auditor = RoleAssignment.objects.get(user=dave)
    client.force_login(carol)
    assert client.post(delete_url(auditor)).status_code == 403


# Overview --------------------------------------------------------------------------------------


def test_the_overview_shows_what_one_holds_and_what_one_manages(client, erin, carol):
    client.force_login(erin)
    html = client.get("/access/").content.decode()
    assert "group platform" in html
    assert TEAM_A in html
    assert "Access you manage or review" not in html

    client.force_login(carol)
    html = client.get("/access/").content.decode()
    assert f'href="{TEAM_A_PAGE}"' in html


def test_the_overview_of_someone_without_roles_says_how_to_get_one(client, bob):
    client.force_login(bob)
    assert b"You hold no role assignment yet." in client.get("/access/").content


# Roles ------------------------------------------------------------------------------------------


def test_everyone_signed_in_reads_the_roles_with_their_actions(client, bob):
    client.force_login(bob)
    html = client.get("/access/roles/").content.decode()
    assert 'id="role-AcrPush"' in html
    assert "<code>content/write</code>" in html
    assert "New custom role" not in html
    assert client.get("/access/roles/new/").status_code == 403


def test_an_admin_creates_a_custom_role_with_checkboxes(client, alice):
    client.force_login(alice)
    form = client.get("/access/roles/new/").content.decode()
    assert 'type="checkbox" name="actions" value="metadata/write"' in form
    assert "Lock and unlock repositories and tags; untag." in form

    response = client.post(
        "/access/roles/new/",
        {
            "name": "Tagger",
            "description": "Moves tags",
            "actions": ["metadata/write", "metadata/read"],
        },
    )
    assert response.status_code == 302
    assert RoleDefinition.objects.get(name="Tagger").actions == ["metadata/read", "metadata/write"]
    assert AuditEvent.objects.filter(action="roleDefinition.create").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Tagger"}, "Pick at least one action."),
        ({"name": "Tag Manager", "actions": ["metadata/read"]}, "letters, digits"),
        ({"name": "acrpush", "actions": ["metadata/read"]}, "exists already"),
        ({"name": "Tagger", "actions": ["metadata/fly"]}, "Select a valid choice"),
    ],
)
def test_bad_roles_are_refused_on_the_form(client, alice, data, message):
    client.force_login(alice)
    response = client.post("/access/roles/new/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RoleDefinition.objects.filter(is_builtin=False).exists()


def test_an_unused_custom_role_is_removed(client, alice):
    RoleDefinition.objects.create(name="Tagger", actions=["metadata/write"])
    client.force_login(alice)
    assert b"Nobody holds Tagger" in client.get("/access/roles/Tagger/_delete/").content
    response = client.post("/access/roles/Tagger/_delete/")
    assert response.status_code == 302
    assert not RoleDefinition.objects.filter(name="Tagger").exists()


def test_built_in_and_used_roles_are_not_removed(client, alice, world, bob):
    RoleDefinition.objects.create(name="Tagger", actions=["metadata/write"])
    assign("Tagger", TEAM_A, user=bob)
    client.force_login(alice)
    assert b"still use" in client.get("/access/roles/Tagger/_delete/").content
    assert client.post("/access/roles/Tagger/_delete/").status_code == 409
    assert client.post("/access/roles/Owner/_delete/").status_code == 409
    assert RoleDefinition.objects.filter(name__in=["Tagger", "Owner"]).count() == 2


def test_others_cannot_remove_roles(client, bob):
    RoleDefinition.objects.create(name="Tagger", actions=["metadata/write"])
    client.force_login(bob)
    assert client.post("/access/roles/Tagger/_delete/").status_code == 403


# Check access ------------------------------------------------------------------------------------


def _check(client, **query):
    from urllib.parse import urlencode

    return client.get(f"/access/check/?{urlencode(query)}")


def test_people_check_their_own_access(client, erin):
    client.force_login(erin)
    page = client.get("/access/check/").content.decode()
    assert "Mine (erin)" in page
    assert 'id="principal-search"' not in page  # no picker: only their own access

    response = _check(client, principal="", action="content/write", scope=APP_A)
    html = response.content.decode()
    assert '<span class="badge ok">Allowed</span>' in html
    assert f"allowed via AcrPush assigned to group platform at {TEAM_A}" in html

    denied = _check(client, action="content/delete", scope=APP_A).content.decode()
    assert f"denied: no assignment grants content/delete at {APP_A}" in denied


def test_a_manager_checks_someone_elses_access(client, carol, erin):
    client.force_login(carol)
    response = _check(client, principal="user:erin", action="content/write", scope=APP_A)
    assert response.status_code == 200
    assert b"allowed via AcrPush" in response.content


@pytest.mark.parametrize(
    ("persona", "scope", "status"),
    [
        ("erin", APP_A, 403),  # checking carol: a developer may not look at others
        ("carol", APP_B, 404),
        ("carol", REGISTRY_SCOPE, 403),
        ("bob", APP_A, 404),
    ],
)
def test_checking_others_needs_role_assignments_write_or_audit_log_read(
    client, request, carol, erin, persona, scope, status
):
    client.force_login(request.getfixturevalue(persona))
    who = "user:carol" if persona == "erin" else "user:erin"
    response = _check(client, principal=who, action="content/read", scope=scope)
    assert response.status_code == status
    assert b'role="alert"' in response.content
    assert b"badge ok" not in response.content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"action": "content/read", "scope": "team-a"}, "is not a scope"),
        ({"action": "content/fly", "scope": APP_A}, "Select a valid choice"),
        ({"action": "content/read", "scope": f"{REGISTRY_SCOPE}/namespaces/x"}, "no namespace"),
        ({"action": "content/read", "scope": APP_A, "principal": "user:nobody"}, "no user"),
        ({"action": "content/read", "scope": APP_A, "principal": "nobody"}, "does not name"),
    ],
)
def test_bad_questions_are_answered_on_the_form(client, alice, world, query, message):
    client.force_login(alice)
    response = _check(client, **query)
    assert response.status_code == 200
    assert message in response.content.decode()


# The audit log -----------------------------------------------------------------------------------


@pytest.fixture
def log(world):
    events = [
        ("registry.create", REGISTRY_SCOPE, "alice", 3),
        ("locks.update", APP_A, "carol", 2),
        ("roleDefinition.create", "/", "alice", 1),
        ("registry.create", "/registries/prod10", "system", 0),
    ]
    for action, scope, actor, days_ago in events:
        event = AuditEvent.objects.create(actor_name=actor, action=action, scope=scope)
        AuditEvent.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )


@pytest.mark.parametrize("persona", ["bob", "erin"])
def test_the_audit_log_needs_audit_log_read(client, request, log, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/audit/")
    assert response.status_code == 403
    assert b"auditLog/read" in response.content


def test_an_auditor_of_a_registry_reads_its_events_only(client, dave, log):
    client.force_login(dave)
    html = client.get("/audit/").content.decode()
    assert "2 events." in html
    assert "registry.create" in html and "locks.update" in html
    assert "roleDefinition.create" not in html
    assert "/registries/prod10" not in html


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("", 4),
        ("actor=carol", 1),
        ("action=registry.*", 2),
        (f"scope={REGISTRY_SCOPE}", 1),
        (f"scope={REGISTRY_SCOPE}&below=on", 2),
        (f"since={(timezone.now() - timedelta(days=2)).date()}", 3),
        (f"until={(timezone.now() - timedelta(days=2)).date()}", 2),
    ],
)
def test_the_audit_log_filters(client, alice, log, query, count):
    client.force_login(alice)
    html = client.get(f"/audit/?{query}").content.decode()
    assert f"{count} event{'s' if count != 1 else ''}." in html


def test_bad_filters_are_shown_on_the_form(client, alice, log):
    client.force_login(alice)
    html = client.get("/audit/?scope=team-a").content.decode()
    assert "is not a scope" in html
    assert "Fix the filters to see events." in html


def test_the_audit_log_pages_with_htmx(client, alice, world, django_assert_max_num_queries):
    for index in range(60):
        AuditEvent.objects.create(actor_name="alice", action="namespace.create", scope=TEAM_A)
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        response = client.get("/audit/?page=2", HTTP_HX_TARGET="audit-results", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="audit-results"')
    assert "showing 51–60" in html
