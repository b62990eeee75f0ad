"""REST API: ``/api/v1/audit-events/``: the audit log, for those who hold ``auditLog/read``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from registry.models import AuditEvent, Registry
from tests.registry.access_support import APP_A, APP_B, REGISTRY_SCOPE, TEAM_A, TEAM_B, assign
from tests.registry.api_support import all_pages, api_url, assert_problem, bearer

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events/"
LOOK_ALIKE = "/registries/prod10"  # a registry whose name starts like prod1's


def event(action: str, scope: str, actor: str = "alice", minutes_ago: int = 0) -> AuditEvent:
    created = AuditEvent.objects.create(actor_name=actor, action=action, scope=scope, details={})
    AuditEvent.objects.filter(pk=created.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return created


@pytest.fixture
def log(world):
    Registry.objects.create(name="prod10", login_server="http://127.0.0.1:9")
    return [
        event("registry.create", REGISTRY_SCOPE, minutes_ago=60),
        event("namespace.create", TEAM_A, minutes_ago=50),
        event("namespace.create", TEAM_B, minutes_ago=40),
        event("locks.update", APP_A, actor="carol", minutes_ago=30),
        event("roleAssignment.create", APP_B, actor="carol", minutes_ago=20),
        event("roleDefinition.create", "/", minutes_ago=10),
        event("registry.create", LOOK_ALIKE, actor="system", minutes_ago=5),
        event("namespace.create", f"{REGISTRY_SCOPE}/namespaces/team-ab", minutes_ago=1),
    ]


def _seen(rows) -> list[tuple[str, str]]:
    return [(row["action"], row["scope"]) for row in rows]


def test_the_route_is_where_the_design_says():
    assert api_url("audit-event-list") == URL


def test_anonymous_callers_must_sign_in(client):
    assert_problem(client.get(URL), 401)


@pytest.mark.parametrize("persona", ["bob", "erin"])
def test_those_without_audit_log_read_anywhere_are_refused(client, request, log, persona):
    problem = assert_problem(client.get(URL, **bearer(request.getfixturevalue(persona))), 403)
    assert "auditLog/read" in problem["detail"]


def test_auditors_of_the_portal_read_everything_newest_first(client, alice, log):
    client.force_login(alice)
    rows = all_pages(client, f"{URL}?page_size=3")
    assert [row["id"] for row in rows] == [e.pk for e in reversed(log)]
    assert set(rows[0]) == {"id", "actor", "action", "scope", "created", "details"}


def test_an_auditor_of_a_registry_reads_that_registrys_events_only(client, dave, log):
    client.force_login(dave)
    assert _seen(all_pages(client, URL)) == [
        ("namespace.create", f"{REGISTRY_SCOPE}/namespaces/team-ab"),
        ("roleAssignment.create", APP_B),
        ("locks.update", APP_A),
        ("namespace.create", TEAM_B),
        ("namespace.create", TEAM_A),
        ("registry.create", REGISTRY_SCOPE),
    ]


def test_an_owner_of_a_namespace_reads_what_happened_in_it(client, carol, log):
    # Owner holds every action, auditLog/read included, at team-a: not team-ab, not the registry.
    client.force_login(carol)
    assert _seen(all_pages(client, URL)) == [("locks.update", APP_A), ("namespace.create", TEAM_A)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=CAROL", [("roleAssignment.create", APP_B), ("locks.update", APP_A)]),
        (f"scope={TEAM_A}", [("namespace.create", TEAM_A)]),
        (
            f"scope={TEAM_A}&scope_match=at_and_below",
            [("locks.update", APP_A), ("namespace.create", TEAM_A)],
        ),
        (f"scope={LOOK_ALIKE}&scope_match=at_and_below", [("registry.create", LOOK_ALIKE)]),
        ("action=roleDefinition.create", [("roleDefinition.create", "/")]),
        (
            "action=registry.*",
            [("registry.create", LOOK_ALIKE), ("registry.create", REGISTRY_SCOPE)],
        ),
        ("action=namespace.create&actor=system", []),
    ],
)
def test_the_log_filters_by_actor_scope_and_action(client, alice, log, query, expected):
    client.force_login(alice)
    assert _seen(all_pages(client, f"{URL}?{query}")) == expected


def test_the_log_filters_by_time(client, alice, log):
    client.force_login(alice)
    now = timezone.now()
    since = (now - timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (now - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = all_pages(client, f"{URL}?since={since}&until={until}")
    assert _seen(rows) == [
        ("roleAssignment.create", APP_B),
        ("locks.update", APP_A),
        ("namespace.create", TEAM_B),
    ]


def test_filters_never_widen_what_an_auditor_sees(client, dave, log):
    client.force_login(dave)
    assert all_pages(client, f"{URL}?scope={LOOK_ALIKE}&scope_match=at_and_below") == []
    assert all_pages(client, f"{URL}?action=roleDefinition.create") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scope=team-a", "scope"),
        ("scope_match=at_and_above", "scope_match"),
        ("since=yesterday", "since"),
        ("since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z", "until"),
        ("cursor=garbage", "cursor"),
    ],
)
def test_bad_filters_are_refused(client, alice, log, query, field):
    problem = assert_problem(client.get(f"{URL}?{query}", **bearer(alice)), 400)
    assert field in problem["errors"]


def test_the_log_costs_the_same_queries_however_long(
    client, world, dave, django_assert_max_num_queries
):
    for index in range(60):
        event("namespace.create", f"{REGISTRY_SCOPE}/namespaces/n{index}")
    assign("Auditor", TEAM_A, user=dave)
    client.force_login(dave)
    with django_assert_max_num_queries(4):
        response = client.get(f"{URL}?page_size=20")
    assert len(response.json()["results"]) == 20
    assert response.json()["next"]
