"""REST API: access requests (``/api/v1/access-requests/``)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from registry.access_requests.services import access_request_approve, access_request_cancel
from registry.models import AccessRequest, AuditEvent, Namespace, RoleAssignment
from tests.fixtures.access_requests import TEAM_A, TEAM_B, ask
from tests.registry.api_support import api_url, assert_problem, bearer, send

pytestmark = pytest.mark.django_db

LIST = "/api/v1/access-requests/"
PROMISED_FIELDS = {
    "role",
    "scope",
    "principal_type",
    "principal",
    "justification",
    "duration_days",
    "status",
}


def url(pk, verb=""):
    return f"/api/v1/access-requests/{pk}/" + (f"{verb}/" if verb else "")


def post(client, path, data=None, user=None):
    headers = bearer(user) if user is not None else {}
    return send(client, "post", path, data, **headers)


def get(client, path, user):
    return client.get(path, **bearer(user))


def test_the_routes_are_where_the_design_puts_them():
    assert api_url("access-request-list") == LIST
    for verb in ("approve", "deny", "cancel"):
        assert api_url(f"access-request-{verb}", pk=7) == f"/api/v1/access-requests/7/{verb}/"


def test_a_developer_asks_and_the_team_lead_approves(client, crew):
    asked = post(
        client,
        LIST,
        {"role": "AcrPush", "scope": TEAM_A, "justification": "CI for team-a", "duration_days": 14},
        crew.dave,
    )

    assert asked.status_code == 201, asked.content
    body = asked.json()
    assert set(body) >= PROMISED_FIELDS
    assert body["role"] == "AcrPush"
    assert body["scope"] == TEAM_A
    assert body["principal_type"] == "user"
    assert body["principal"] == "dave"
    assert body["justification"] == "CI for team-a"
    assert body["duration_days"] == 14
    assert body["status"] == "pending"
    assert body["approvals_required"] == 1
    assert asked["Location"].endswith(url(body["id"]))

    approved = post(client, url(body["id"], "approve"), {}, crew.linda)

    assert approved.status_code == 200, approved.content
    decided = approved.json()
    assert decided["status"] == "approved"
    assert decided["decided_by"] == "linda"
    assert [a["approver"] for a in decided["approvals"]] == ["linda"]
    assignment = RoleAssignment.objects.get(pk=decided["assignment"])
    assert assignment.user == crew.dave
    assert decided["expires_at"] is not None
    assert assignment.expires_at == pytest.approx(
        timezone.now() + datetime.timedelta(days=14), abs=datetime.timedelta(seconds=5)
    )


def test_the_default_duration_is_thirty_days(client, crew):
    body = post(
        client, LIST, {"role": "acrpull", "scope": TEAM_A, "justification": "x"}, crew.dave
    ).json()
    assert (body["role"], body["duration_days"]) == ("AcrPull", 30)


def test_asking_for_a_service_principal_one_owns_by_client_id_or_name(client, crew, dave_ci):
    by_id = post(
        client,
        LIST,
        {
            "role": "AcrPush",
            "scope": TEAM_A,
            "principal_type": "service_principal",
            "principal": str(dave_ci.client_id),
            "justification": "deploys",
        },
        crew.dave,
    )
    assert by_id.status_code == 201, by_id.content
    assert by_id.json()["principal"] == str(dave_ci.client_id)
    assert by_id.json()["principal_display_name"] == "dave-ci"

    by_name = post(
        client,
        LIST,
        {
            "role": "AcrPull",
            "scope": TEAM_B,
            "principal_type": "service_principal",
            "principal": "dave-ci",
            "justification": "pulls",
        },
        crew.dave,
    )
    assert by_name.status_code == 201, by_name.content


BASE = {"role": "AcrPush", "scope": TEAM_A, "justification": "x"}


def without(name):
    return {k: v for k, v in BASE.items() if k != name}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**BASE, "role": "NoSuchRole"}, "role"),
        ({**BASE, "scope": "/registries/prod1/namespaces/nope"}, "scope"),
        ({**BASE, "scope": "/"}, "scope"),
        ({**BASE, "scope": "registries"}, "scope"),
        (without("justification"), "justification"),
        ({**BASE, "justification": " "}, "justification"),
        ({**BASE, "duration_days": 0}, "duration_days"),
        ({**BASE, "duration_days": 400}, "duration_days"),
        ({**BASE, "duration_days": None}, "duration_days"),
        ({**BASE, "principal": "carl"}, "principal"),
        ({**BASE, "principal_type": "group"}, "principal_type"),
        ({**BASE, "principal_type": "service_principal", "principal": "carl-ci"}, "principal"),
        ({**BASE, "status": "approved"}, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, crew, data, field):
    response = post(client, LIST, data, crew.dave)
    body = assert_problem(response, 400)
    assert field in body["errors"], body
    assert not AccessRequest.objects.exists()


def test_a_permanent_grant_where_the_namespace_allows_it(client, crew):
    Namespace.objects.filter(pk=crew.team_a.pk).update(permanent_grants_allowed=True)
    response = post(
        client,
        LIST,
        {"role": "AcrPull", "scope": TEAM_A, "justification": "x", "duration_days": None},
        crew.dave,
    )
    assert response.status_code == 201, response.content
    assert response.json()["duration_days"] is None


def test_asking_twice_or_for_what_one_holds_is_a_409(client, crew):
    data = {"role": "AcrPush", "scope": TEAM_A, "justification": "x"}
    assert post(client, LIST, data, crew.dave).status_code == 201
    assert "already pending" in assert_problem(post(client, LIST, data, crew.dave), 409)["detail"]
    held = assert_problem(post(client, LIST, data, crew.sam), 409)
    assert "already holds" in held["detail"]


def test_anonymous_callers_are_refused(client, crew):
    asked = ask(crew)
    assert_problem(client.get(LIST), 401)
    assert_problem(post(client, url(asked.pk, "approve")), 401)


# Who sees what ---------------------------------------------------------------------------


def test_the_list_shows_ones_own_requests_and_those_one_may_decide(client, crew):
    mine = ask(crew)
    carls = ask(crew, actor=crew.carl, scope=TEAM_B, role_name="AcrPull")

    def ids(user, query=""):
        return [row["id"] for row in get(client, LIST + query, user).json()["results"]]

    assert ids(crew.dave) == [mine.pk]
    assert ids(crew.carl) == [carls.pk]
    assert ids(crew.linda) == [mine.pk]
    assert ids(crew.rita) == []
    assert ids(crew.linda, "?inbox=true") == [mine.pk]
    assert ids(crew.dave, "?inbox=true") == []
    assert ids(crew.dave, "?mine=true&status=pending") == [mine.pk]
    assert ids(crew.dave, "?status=approved") == []
    assert_problem(get(client, LIST + "?status=nonsense", crew.dave), 400)


def test_the_list_costs_the_same_for_many_requests(client, crew, django_assert_max_num_queries):
    for scope in (TEAM_A, TEAM_B):
        for role_name in ("AcrPull", "AcrPush", "AcrDelete", "Reader"):
            ask(crew, scope=scope, role_name=role_name)
    headers = bearer(crew.linda)
    with django_assert_max_num_queries(6):
        response = client.get(LIST, **headers)
    assert len(response.json()["results"]) == 4


def test_one_request_is_read_by_its_requester_and_its_approvers(client, crew):
    asked = ask(crew)
    assert get(client, url(asked.pk), crew.dave).status_code == 200
    assert get(client, url(asked.pk), crew.linda).status_code == 200
    assert get(client, url(asked.pk), crew.sam).json()["status"] == "pending"
    # rita sees team-a, so she is told what she lacks; carl sees nothing there.
    assert (
        "roleAssignments/write"
        in assert_problem(get(client, url(asked.pk), crew.rita), 403)["detail"]
    )
    assert_problem(get(client, url(asked.pk), crew.carl), 404)
    assert_problem(get(client, url(999999), crew.dave), 404)


# Deciding --------------------------------------------------------------------------------


def test_self_approval_is_refused(client, crew):
    asked = ask(crew, actor=crew.linda)
    assert (
        "own"
        in assert_problem(post(client, url(asked.pk, "approve"), {}, crew.linda), 403)["detail"]
    )
    assert not RoleAssignment.objects.filter(user=crew.linda, role__name="AcrPush").exists()


def test_approving_without_role_assignments_write_is_refused(client, crew):
    asked = ask(crew)
    assert_problem(post(client, url(asked.pk, "approve"), {}, crew.rita), 403)
    assert_problem(post(client, url(asked.pk, "approve"), {}, crew.carl), 404)
    assert_problem(post(client, url(asked.pk, "deny"), {"reason": "no"}, crew.rita), 403)
    asked.refresh_from_db()
    assert asked.status == "pending"
    assert not RoleAssignment.objects.filter(user=crew.dave).exists()


def test_approving_twice_is_idempotent(client, crew):
    asked = ask(crew)
    first = post(client, url(asked.pk, "approve"), {}, crew.linda)
    second = post(client, url(asked.pk, "approve"), {}, crew.linda)
    by_another = post(client, url(asked.pk, "approve"), {}, crew.sam)

    assert first.status_code == second.status_code == by_another.status_code == 200
    assert first.json() == second.json() == by_another.json()
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 1
    assert AuditEvent.objects.filter(action="accessRequest.approve").count() == 1


def test_approving_a_cancelled_denied_or_expired_request_is_a_409(client, crew):
    cancelled = ask(crew)
    access_request_cancel(actor=crew.dave, access_request=cancelled)
    denied = ask(crew, scope=TEAM_A, role_name="AcrPull")
    post(client, url(denied.pk, "deny"), {"reason": "Not this quarter."}, crew.linda)
    expired = ask(crew, role_name="Reader")
    AccessRequest.objects.filter(pk=expired.pk).update(
        pending_until=timezone.now() - datetime.timedelta(minutes=1)
    )

    for found in (cancelled, denied, expired):
        body = assert_problem(post(client, url(found.pk, "approve"), {}, crew.linda), 409)
        assert "can no longer be approved" in body["detail"]
    assert AccessRequest.objects.get(pk=expired.pk).status == "expired"
    assert not RoleAssignment.objects.filter(user=crew.dave).exists()


def test_approving_for_fewer_days(client, crew):
    asked = ask(crew, duration_days=30)
    too_long = post(client, url(asked.pk, "approve"), {"duration_days": 60}, crew.linda)
    assert "duration_days" in assert_problem(too_long, 400)["errors"]
    unknown = post(client, url(asked.pk, "approve"), {"days": 3}, crew.linda)
    assert "days" in assert_problem(unknown, 400)["errors"]

    body = post(client, url(asked.pk, "approve"), {"duration_days": 3}, crew.linda).json()
    assert body["granted_days"] == 3
    assert body["duration_days"] == 30


def test_denying_needs_a_reason_and_tells_the_requester(client, crew):
    asked = ask(crew)
    assert (
        "reason"
        in assert_problem(post(client, url(asked.pk, "deny"), {}, crew.linda), 400)["errors"]
    )
    body = post(client, url(asked.pk, "deny"), {"reason": "Ask for AcrPull."}, crew.linda).json()
    assert (body["status"], body["reason"], body["decided_by"]) == (
        "denied",
        "Ask for AcrPull.",
        "linda",
    )
    assert get(client, url(asked.pk), crew.dave).json()["reason"] == "Ask for AcrPull."


def test_only_the_requester_cancels(client, crew):
    asked = ask(crew)
    assert_problem(post(client, url(asked.pk, "cancel"), {}, crew.linda), 403)
    body = post(client, url(asked.pk, "cancel"), {}, crew.dave).json()
    assert body["status"] == "cancelled"
    assert post(client, url(asked.pk, "cancel"), {}, crew.dave).status_code == 200


def test_extending_an_approved_grant(client, crew):
    asked = ask(crew, duration_days=7)
    granted = access_request_approve(actor=crew.linda, access_request=asked).access_request
    response = post(
        client,
        url(asked.pk, "extend"),
        {"justification": "Another sprint", "duration_days": 7},
        crew.dave,
    )
    assert response.status_code == 201, response.content
    extension = response.json()
    assert (extension["extends"], extension["status"]) == (asked.pk, "pending")

    post(client, url(extension["id"], "approve"), {}, crew.linda)
    granted.assignment.refresh_from_db()
    assert granted.assignment.expires_at == granted.grant_expires_at + datetime.timedelta(days=7)
    assert_problem(post(client, url(asked.pk, "extend"), {"justification": "more"}, crew.dave), 409)


def test_two_approval_namespaces_through_the_api(client, crew):
    Namespace.objects.filter(pk=crew.team_a.pk).update(approvals_required=2)
    asked = ask(crew)

    first = post(client, url(asked.pk, "approve"), {}, crew.linda).json()
    assert (first["status"], len(first["approvals"])) == ("pending", 1)
    assert post(client, url(asked.pk, "approve"), {}, crew.linda).json() == first
    second = post(client, url(asked.pk, "approve"), {}, crew.sam).json()
    assert (second["status"], [a["step"] for a in second["approvals"]]) == ("approved", [1, 2])


def test_the_schema_documents_the_endpoints(client, crew):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/access-requests/"]) >= {"get", "post"}
    for verb in ("approve", "deny", "cancel", "extend"):
        assert "post" in paths[f"/api/v1/access-requests/{{id}}/{verb}/"]
    fields = schema["components"]["schemas"]["AccessRequest"]["properties"]
    assert set(fields) >= PROMISED_FIELDS
    statuses = schema["components"]["schemas"]["AccessRequestStatusEnum"]["enum"]
    assert set(statuses) == {"pending", "approved", "denied", "cancelled", "expired"}


def test_the_namespace_policy_is_set_through_the_namespace_endpoint(admin_client, crew):
    path = "/api/v1/registries/prod1/namespaces/team-a/"
    assert admin_client.get(path).json()["approvals_required"] == 1

    changed = admin_client.patch(
        path,
        {"approvals_required": 2, "permanent_grants_allowed": True},
        content_type="application/json",
    )

    assert changed.status_code == 200, changed.content
    assert (changed.json()["approvals_required"], changed.json()["permanent_grants_allowed"]) == (
        2,
        True,
    )
    assert_problem(
        admin_client.patch(path, {"approvals_required": 3}, content_type="application/json"), 400
    )
    event = AuditEvent.objects.filter(action="namespace.update").latest("pk")
    assert event.details["changes"]["approvals_required"] == {"from": 1, "to": 2}
    assert ask(crew).approvals_required == 2
