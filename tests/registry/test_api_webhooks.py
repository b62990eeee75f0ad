"""REST API: ``registries/{r}/webhooks/…`` — fields, secrets shown once, bad input, limits,
deliveries and redelivery, and the permission matrix of webhooks/read and webhooks/write."""

from __future__ import annotations

import pytest
from django.utils import timezone

from registry.models import AuditEvent, Registry, RoleAssignment, RoleDefinition, WebhookDelivery
from registry.webhooks import delivery, services
from tests.registry.api_support import api_url, assert_problem, bearer, send
from tests.registry.webhook_support import make_webhook

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks"
CREATE = {
    "name": "ci1hooks",
    "service_uri": URL,
    "actions": ["push", "delete"],
    "scope": "team-a/*:*",
    "custom_headers": {"Authorization": "Bearer very-secret"},
}


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:9", tier="Basic")


@pytest.fixture
def hooks1(prod1):
    webhook, _ = make_webhook(prod1, URL, name="hooks1", custom_headers={"X-Key": "k-1"})
    return webhook


def create(client, data=None, registry="prod1"):
    return send(client, "post", api_url("webhook-list", registry=registry), data or CREATE)


def test_creating_answers_the_secret_once(admin_client, prod1):
    response = create(admin_client)

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith("/api/v1/registries/prod1/webhooks/ci1hooks/")
    assert body["secret"].startswith("whsec_")
    assert {k: body[k] for k in ("name", "service_uri", "actions", "scope", "status")} == {
        "name": "ci1hooks",
        "service_uri": URL,
        "actions": ["push", "delete"],
        "scope": "team-a/*:*",
        "status": "enabled",
    }
    assert body["custom_headers"] == {"Authorization": None}
    assert body["health"]["status"] == "unknown"

    shown = admin_client.get(response["Location"]).json()
    assert "secret" not in shown
    assert shown["custom_headers"] == {"Authorization": None}
    listed = admin_client.get(api_url("webhook-list", registry="prod1")).json()["results"]
    assert "very-secret" not in str(listed) and body["secret"] not in str(listed)
    assert AuditEvent.objects.filter(action="webhook.create").exists()


def test_the_list_pages_and_costs_a_fixed_number_of_queries(
    admin_client, prod1, django_assert_max_num_queries
):
    prod1.tier = "Premium"
    prod1.save()
    for index in range(7):
        make_webhook(prod1, URL, name=f"hooks{index:02d}")
    url = api_url("webhook-list", registry="prod1") + "?page_size=3"
    with django_assert_max_num_queries(8):
        first = admin_client.get(url).json()
    assert [w["name"] for w in first["results"]] == ["hooks00", "hooks01", "hooks02"]
    names = [w["name"] for w in first["results"]]
    while first["next"]:
        first = admin_client.get(first["next"]).json()
        names += [w["name"] for w in first["results"]]
    assert names == [f"hooks{index:02d}" for index in range(7)]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "abc"}, "name", "5 to 50 letters and digits"),
        ({"name": "has-dash1"}, "name", "5 to 50 letters and digits"),
        ({"service_uri": "ftp://x.example/"}, "service_uri", "https://"),
        ({"service_uri": "https://u:p@x.example/"}, "service_uri", "custom header"),
        ({"service_uri": "http://10.1.1.1/hook"}, "service_uri", "private address"),
        ({"service_uri": "http://169.254.169.254/"}, "service_uri", "metadata"),
        ({"actions": ["push", "explode"]}, "actions", "Unknown action"),
        ({"actions": []}, "actions", "at least one"),
        ({"actions": "push"}, "actions", "are a list"),
        ({"scope": "a:b:c"}, "scope", "more than one ':'"),
        ({"scope": "Team-A/*"}, "scope", "not a repository name or glob"),
        ({"scope": "app:.x"}, "scope", "not a tag"),
        ({"custom_headers": {"Bad Header": "x"}}, "custom_headers", "not a header name"),
        ({"custom_headers": {"webhook-id": "x"}}, "custom_headers", "set by the portal"),
        ({"custom_headers": {"X-A": "a\nb"}}, "custom_headers", "line break"),
        ({"custom_headers": ["x"]}, "custom_headers", "object of names"),
        ({"status": "paused"}, "status", "not a valid choice"),
        ({"secret": "whsec_mine"}, "secret", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_that_names_the_field(admin_client, prod1, change, field, message):
    body = assert_problem(create(admin_client, {**CREATE, **change}), 400)
    assert message in " ".join(body["errors"][field]), body
    assert not prod1.webhooks.exists()


def test_a_missing_field_is_a_400(admin_client, prod1):
    body = assert_problem(create(admin_client, {"name": "ci1hooks"}), 400)
    assert set(body["errors"]) == {"service_uri", "actions"}


def test_a_taken_name_and_a_full_tier_are_409s(admin_client, prod1, hooks1):
    body = assert_problem(create(admin_client, {**CREATE, "name": "HOOKS1"}), 409)
    assert "already has a webhook named" in body["detail"]
    assert create(admin_client).status_code == 201
    body = assert_problem(create(admin_client, {**CREATE, "name": "third3"}), 409)
    assert "Basic tier allows 2 webhooks" in body["detail"]


def test_patch_changes_what_it_is_given_and_keeps_header_values(admin_client, prod1, hooks1):
    url = api_url("webhook-detail", registry="prod1", webhook="HOOKS1")
    shown = admin_client.get(url).json()
    response = send(
        admin_client,
        "patch",
        url,
        {"status": "disabled", "scope": "app:*", "custom_headers": shown["custom_headers"]},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "disabled" and response.json()["scope"] == "app:*"
    hooks1.refresh_from_db()
    assert hooks1.custom_headers == {"X-Key": "k-1"} and not hooks1.is_enabled

    assert_problem(send(admin_client, "patch", url, {"name": "renamed1"}), 400)
    body = assert_problem(
        send(admin_client, "patch", url, {"custom_headers": {"X-New": None}}), 400
    )
    assert "Give X-New a value" in str(body["errors"])
    send(admin_client, "patch", url, {"custom_headers": {}})
    hooks1.refresh_from_db()
    assert hooks1.custom_headers == {}


def test_delete_removes_the_webhook_and_its_log(admin_client, prod1, hooks1):
    services.webhook_ping(actor=None, webhook=hooks1)
    url = api_url("webhook-detail", registry="prod1", webhook="hooks1")
    assert send(admin_client, "delete", url).status_code == 204
    assert not WebhookDelivery.objects.exists()
    assert_problem(admin_client.get(url), 404)


def test_malformed_and_unknown_webhook_names(admin_client, prod1):
    body = assert_problem(
        admin_client.get(api_url("webhook-detail", registry="prod1", webhook="no_pe")), 400
    )
    assert "webhook" in body["errors"]
    assert_problem(
        admin_client.get(api_url("webhook-detail", registry="prod1", webhook="nosuch1")), 404
    )
    assert_problem(admin_client.get(api_url("webhook-list", registry="nosuch1")), 404)


def test_rotating_the_secret_answers_the_new_one(admin_client, prod1, hooks1):
    old = hooks1.signing_secret
    response = send(
        admin_client, "post", api_url("webhook-secret", registry="prod1", webhook="hooks1")
    )
    assert response.status_code == 200
    new = response.json()["secret"]
    hooks1.refresh_from_db()
    assert new.startswith("whsec_") and new != old and hooks1.signing_secret == new


def test_ping_deliveries_and_redelivery(admin_client, prod1, hooks1, webhook_receiver):
    services.webhook_update(actor=None, webhook=hooks1, service_uri=webhook_receiver.url)
    ping = send(admin_client, "post", api_url("webhook-ping", registry="prod1", webhook="hooks1"))
    assert ping.status_code == 202
    sent = ping.json()
    assert sent["action"] == "ping" and sent["status"] == "pending" and sent["attempts"] == 0
    delivery.deliver_due(reschedule=False)

    listed = admin_client.get(
        api_url("webhook-delivery-list", registry="prod1", webhook="hooks1")
    ).json()["results"]
    assert [d["event_id"] for d in listed] == [sent["event_id"]]
    assert listed[0]["status"] == "succeeded" and listed[0]["response_status"] == 200
    detail_url = api_url(
        "webhook-delivery-detail", registry="prod1", webhook="hooks1", delivery=str(sent["id"])
    )
    detail = admin_client.get(detail_url).json()
    assert detail["payload"]["id"] == sent["event_id"]
    (attempt,) = detail["attempt_log"]
    assert attempt["response_status"] == 200 and attempt["request_headers"]["X-Key"] == "[redacted]"
    assert "k-1" not in str(detail)

    again = send(
        admin_client,
        "post",
        api_url(
            "webhook-delivery-redeliver",
            registry="prod1",
            webhook="hooks1",
            delivery=str(sent["id"]),
        ),
    )
    assert again.status_code == 202 and again.json()["status"] == "pending"
    delivery.deliver_due(reschedule=False)
    assert admin_client.get(detail_url).json()["attempts"] == 2
    assert len(webhook_receiver.requests) == 2

    filtered = admin_client.get(
        api_url("webhook-delivery-list", registry="prod1", webhook="hooks1") + "?status=failed"
    ).json()["results"]
    assert filtered == []
    assert_problem(
        admin_client.get(
            api_url("webhook-delivery-list", registry="prod1", webhook="hooks1") + "?status=odd"
        ),
        400,
    )


def test_redelivering_while_in_flight_or_disabled_is_a_409(admin_client, prod1, hooks1):
    sent = services.webhook_ping(actor=None, webhook=hooks1)
    assert delivery.claim_next() is not None
    url = api_url(
        "webhook-delivery-redeliver", registry="prod1", webhook="hooks1", delivery=str(sent.pk)
    )
    assert "being sent right now" in assert_problem(send(admin_client, "post", url), 409)["detail"]
    services.webhook_update(actor=None, webhook=hooks1, is_enabled=False)
    assert "disabled" in assert_problem(send(admin_client, "post", url), 409)["detail"]
    ping = api_url("webhook-ping", registry="prod1", webhook="hooks1")
    assert_problem(send(admin_client, "post", ping), 409)


def test_redeliver_failed_since(admin_client, prod1, hooks1):
    sent = services.webhook_ping(actor=None, webhook=hooks1)
    WebhookDelivery.objects.filter(pk=sent.pk).update(status="failed", next_attempt_at=None)
    url = api_url("webhook-delivery-redeliver-failed", registry="prod1", webhook="hooks1")
    since = (timezone.now() - timezone.timedelta(hours=1)).isoformat()
    response = send(admin_client, "post", url, {"since": since})
    assert response.status_code == 202 and response.json() == {"redelivered": 1}
    assert WebhookDelivery.objects.get().status == "pending"
    assert (
        "since"
        in assert_problem(send(admin_client, "post", url, {"since": "yesterday"}), 400)["errors"]
    )


# The permission matrix -----------------------------------------------------------------------

READS = [
    ("get", "webhook-list", {}, None),
    ("get", "webhook-detail", {"webhook": "hooks1"}, None),
    ("get", "webhook-delivery-list", {"webhook": "hooks1"}, None),
    ("get", "webhook-delivery-detail", {"webhook": "hooks1", "delivery": "DELIVERY"}, None),
]
WRITES = [
    ("post", "webhook-list", {}, {**CREATE, "name": "another1"}, 201),
    ("patch", "webhook-detail", {"webhook": "hooks1"}, {"scope": "x:*"}, 200),
    ("post", "webhook-ping", {"webhook": "hooks1"}, None, 202),
    ("post", "webhook-secret", {"webhook": "hooks1"}, None, 200),
    (
        "post",
        "webhook-delivery-redeliver",
        {"webhook": "hooks1", "delivery": "DELIVERY"},
        None,
        202,
    ),
    (
        "post",
        "webhook-delivery-redeliver-failed",
        {"webhook": "hooks1"},
        {"since": "2020-01-01T00:00:00Z"},
        202,
    ),
    ("delete", "webhook-detail", {"webhook": "hooks1"}, None, 204),
]
# role at scope → (reads, writes): the status a read and a write get.
PERSONAS = {
    "outsider": (None, 404, 404),
    "AcrPull at the registry": (("AcrPull", "/registries/prod1"), 403, 403),
    "Reader of a namespace": (("Reader", "/registries/prod1/namespaces/team-a"), 403, 403),
    "Reader at the registry": (("Reader", "/registries/prod1"), 200, 403),
    "Auditor at the registry": (("Auditor", "/registries/prod1"), 200, 403),
    "Contributor at the registry": (("Contributor", "/registries/prod1"), 200, "ok"),
    "Owner at the registry": (("Owner", "/registries/prod1"), 200, "ok"),
}


def _url(route: str, kwargs: dict, delivery_id: int) -> str:
    kwargs = {k: str(delivery_id) if v == "DELIVERY" else v for k, v in kwargs.items()}
    return api_url(route, registry="prod1", **kwargs)


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_the_permission_matrix(client, prod1, hooks1, bob, persona):
    from registry.models import Namespace

    Namespace.objects.create(registry=prod1, name="team-a")
    assignment, read_status, write_status = PERSONAS[persona]
    if assignment:
        role, scope = assignment
        RoleAssignment.objects.create(
            role=RoleDefinition.objects.get(name=role), scope=scope, user=bob
        )
    headers = bearer(bob)
    sent = services.webhook_ping(actor=None, webhook=hooks1)
    WebhookDelivery.objects.filter(pk=sent.pk).update(status="failed")
    prod1.tier = "Premium"
    prod1.save()
    audited = AuditEvent.objects.count()

    for method, route, kwargs, body in READS:
        url = _url(route, kwargs, sent.pk)
        assert send(client, method, url, body).status_code == 401  # anonymous
        assert send(client, method, url, body, **headers).status_code == read_status, url
    for method, route, kwargs, body, allowed in WRITES:
        url = _url(route, kwargs, sent.pk)
        assert send(client, method, url, body).status_code == 401
        got = send(client, method, url, body, **headers).status_code
        assert got == (allowed if write_status == "ok" else write_status), (url, got)
    if write_status != "ok":
        assert AuditEvent.objects.count() == audited
