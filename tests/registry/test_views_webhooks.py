"""Webhook pages: list with health, create (secret shown once) and edit (header values never
shown back), the live delivery log, ping and redelivery, and the permission matrix."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from registry.models import (
    AuditEvent,
    Namespace,
    Registry,
    RoleAssignment,
    RoleDefinition,
    Webhook,
    WebhookDelivery,
)
from registry.webhooks import delivery, services
from tests.registry.webhook_support import make_webhook

pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9/hooks"


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:9", tier="Basic")


@pytest.fixture
def hooks1(prod1):
    return make_webhook(prod1, URL, name="hooks1", custom_headers={"X-Key": "k-secret-1"})[0]


def url(name: str, *args) -> str:
    return reverse(f"registry:{name}", args=["prod1", *args])


def headers_form(rows: list[tuple[str, str, bool]], initial: int = 0) -> dict[str, str]:
    data = {
        "headers-TOTAL_FORMS": str(len(rows)),
        "headers-INITIAL_FORMS": str(initial),
        "headers-MIN_NUM_FORMS": "0",
        "headers-MAX_NUM_FORMS": "20",
    }
    for index, (name, value, delete) in enumerate(rows):
        data[f"headers-{index}-name"] = name
        data[f"headers-{index}-value"] = value
        if delete:
            data[f"headers-{index}-DELETE"] = "on"
    return data


def test_the_registry_page_links_to_webhooks_for_those_who_may_read_them(
    admin_client, prod1, bob, client
):
    assert url("webhook_list") in admin_client.get(url("registry_detail")).content.decode()
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPull"), scope="/registries/prod1", user=bob
    )
    client.force_login(bob)
    assert url("webhook_list") not in client.get(url("registry_detail")).content.decode()


def test_the_list_shows_health(admin_client, prod1, hooks1, settings):
    failing = make_webhook(prod1, URL, name="hooks2")[0]
    Webhook.objects.filter(pk=failing.pk).update(
        consecutive_failures=settings.WEBHOOK_UNHEALTHY_AFTER, last_attempt_at="2026-01-01T00:00Z"
    )
    html = admin_client.get(url("webhook_list")).content.decode()
    assert "hooks1" in html and "No deliveries yet" in html
    assert "Failing" in html
    assert "this registry has them all" in html  # Basic: 2 of 2
    assert url("webhook_create") not in html


def test_creating_shows_the_secret_once(admin_client, prod1):
    data = {
        "name": "ci1hooks",
        "service_uri": URL,
        "actions": ["push", "pull"],
        "scope": "team-a/*:*",
        "is_enabled": "on",
        **headers_form([("Authorization", "Bearer abc123", False), ("", "", False)]),
    }
    response = admin_client.post(url("webhook_create"), data)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    secret = re.search(r'id="signing-secret">(whsec_[^<]+)<', html).group(1)
    webhook = Webhook.objects.get(name="ci1hooks")
    assert webhook.signing_secret == secret
    assert webhook.custom_headers == {"Authorization": "Bearer abc123"}
    assert webhook.actions == ["push", "pull"]
    page = admin_client.get(url("webhook_detail", "ci1hooks")).content.decode()
    assert secret not in page and "abc123" not in page
    assert "Authorization" in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "bad"}, "5 to 50 letters and digits"),
        ({"service_uri": "http://10.0.0.1/x"}, "private address"),
        ({"actions": []}, "Choose at least one action"),
        ({"scope": "a:b:c"}, "more than one"),
        ({"name": "hooks1"}, "already has a webhook named"),
    ],
)
def test_bad_input_is_shown_on_the_form(admin_client, prod1, hooks1, change, message):
    data = {"name": "ci1hooks", "service_uri": URL, "actions": ["push"], **headers_form([])}
    response = admin_client.post(url("webhook_create"), {**data, **change})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Webhook.objects.count() == 1


def test_bad_headers_are_shown_on_the_form(admin_client, prod1):
    data = {
        "name": "ci1hooks",
        "service_uri": URL,
        "actions": ["push"],
        **headers_form([("Host", "x", False)]),
    }
    html = admin_client.post(url("webhook_create"), data).content.decode()
    assert "set by the portal" in html
    assert not Webhook.objects.exists()


def test_the_tier_limit_is_refused_on_the_form(admin_client, prod1, hooks1):
    make_webhook(prod1, URL, name="hooks2")
    data = {"name": "ci1hooks", "service_uri": URL, "actions": ["push"], **headers_form([])}
    html = admin_client.post(url("webhook_create"), data).content.decode()
    assert "Basic tier allows 2 webhooks" in html


def test_editing_never_shows_a_header_value_and_an_empty_one_keeps_it(admin_client, hooks1):
    form = admin_client.get(url("webhook_edit", "hooks1")).content.decode()
    assert "k-secret-1" not in form
    assert 'value="X-Key"' in form and "set; leave empty to keep" in form

    data = {
        "service_uri": URL,
        "actions": ["delete"],
        "scope": "",
        **headers_form([("X-Key", "", False), ("X-Team", "a", False)], initial=1),
    }
    response = admin_client.post(url("webhook_edit", "hooks1"), data)
    assert response.status_code == 302
    hooks1.refresh_from_db()
    assert hooks1.custom_headers == {"X-Key": "k-secret-1", "X-Team": "a"}
    assert hooks1.actions == ["delete"] and not hooks1.is_enabled  # the box was unticked

    data = {**data, **headers_form([("X-Key", "", True), ("X-Team", "b", False)], initial=2)}
    admin_client.post(url("webhook_edit", "hooks1"), data)
    hooks1.refresh_from_db()
    assert hooks1.custom_headers == {"X-Team": "b"}


def test_disabling_and_enabling_keeps_the_log(admin_client, hooks1):
    services.webhook_ping(actor=None, webhook=hooks1)
    admin_client.post(url("webhook_toggle", "hooks1"))
    hooks1.refresh_from_db()
    assert not hooks1.is_enabled
    html = admin_client.get(url("webhook_detail", "hooks1")).content.decode()
    assert "Disabled" in html and "ping" in html
    admin_client.post(url("webhook_toggle", "hooks1"))
    hooks1.refresh_from_db()
    assert hooks1.is_enabled and hooks1.deliveries.count() == 1


def test_the_log_polls_while_deliveries_are_under_way(admin_client, hooks1, webhook_receiver):
    services.webhook_update(actor=None, webhook=hooks1, service_uri=webhook_receiver.url)
    response = admin_client.post(url("webhook_ping", "hooks1"), HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="deliveries"')
    assert 'hx-trigger="every 2s"' in fragment and "Queued" in fragment
    assert response["HX-Trigger"]

    delivery.deliver_due(reschedule=False)
    polled = admin_client.get(
        url("webhook_detail", "hooks1"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="deliveries"
    ).content.decode()
    assert polled.lstrip().startswith('<section id="deliveries"')
    assert "Delivered" in polled and "every 2s" not in polled


def test_the_delivery_page_shows_request_and_response(admin_client, hooks1, webhook_receiver):
    services.webhook_update(actor=None, webhook=hooks1, service_uri=webhook_receiver.url)
    sent = services.webhook_ping(actor=None, webhook=hooks1)
    page = admin_client.get(url("delivery_detail", "hooks1", sent.pk)).content.decode()
    assert "every 2s" in page and "No attempt yet" in page

    delivery.deliver_due(reschedule=False)
    page = admin_client.get(url("delivery_detail", "hooks1", sent.pk)).content.decode()
    assert str(sent.event_id) in page
    assert "webhook-signature: v1," in page
    assert "X-Key: [redacted]" in page and "k-secret-1" not in page
    assert "X-Receiver: test" in page and "received" in page
    assert "every 2s" not in page

    response = admin_client.post(url("delivery_redeliver", "hooks1", sent.pk))
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == "pending"
    assert admin_client.get(url("delivery_detail", "hooks1", 999999)).status_code == 404


def test_rotating_the_secret_shows_the_new_one_once(admin_client, hooks1):
    old = hooks1.signing_secret
    assert (
        "stops working" in admin_client.get(url("webhook_rotate_secret", "hooks1")).content.decode()
    )
    html = admin_client.post(url("webhook_rotate_secret", "hooks1")).content.decode()
    new = re.search(r'id="signing-secret">(whsec_[^<]+)<', html).group(1)
    hooks1.refresh_from_db()
    assert new != old and hooks1.signing_secret == new


def test_redeliver_failed_and_delete(admin_client, hooks1):
    sent = services.webhook_ping(actor=None, webhook=hooks1)
    WebhookDelivery.objects.filter(pk=sent.pk).update(status="failed")
    admin_client.post(url("webhook_redeliver_failed", "hooks1"), {"since": "2020-01-01T00:00"})
    sent.refresh_from_db()
    assert sent.status == "pending"

    assert "delivery log" in admin_client.get(url("webhook_delete", "hooks1")).content.decode()
    response = admin_client.post(url("webhook_delete", "hooks1"))
    assert response.status_code == 302 and response["Location"] == url("webhook_list")
    assert not Webhook.objects.exists()


def test_the_list_costs_a_fixed_number_of_queries(
    admin_client, prod1, django_assert_max_num_queries
):
    prod1.tier = "Premium"
    prod1.save()
    for index in range(10):
        make_webhook(prod1, URL, name=f"hooks{index:02d}")
    with django_assert_max_num_queries(12):
        assert admin_client.get(url("webhook_list")).status_code == 200


# The permission matrix -----------------------------------------------------------------------

READ_PAGES = [
    ("get", "webhook_list", ()),
    ("get", "webhook_detail", ("hooks1",)),
    ("get", "delivery_detail", ("hooks1", "DELIVERY")),
]
WRITE_PAGES = [
    ("get", "webhook_create", ()),
    ("get", "webhook_edit", ("hooks1",)),
    ("get", "webhook_delete", ("hooks1",)),
    ("get", "webhook_rotate_secret", ("hooks1",)),
    ("post", "webhook_ping", ("hooks1",)),
    ("post", "webhook_toggle", ("hooks1",)),
    ("post", "webhook_redeliver_failed", ("hooks1",)),
    ("post", "delivery_redeliver", ("hooks1", "DELIVERY")),
]
PERSONAS = {
    "outsider": (None, 404, 404),
    "AcrPush at the registry": (("AcrPush", "/registries/prod1"), 403, 403),
    "Reader of a namespace": (("Reader", "/registries/prod1/namespaces/team-a"), 403, 403),
    "Reader at the registry": (("Reader", "/registries/prod1"), 200, 403),
    "Contributor at the registry": (("Contributor", "/registries/prod1"), 200, "ok"),
    "Owner at the registry": (("Owner", "/registries/prod1"), 200, "ok"),
}


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_the_permission_matrix(client, prod1, hooks1, bob, persona):
    Namespace.objects.create(registry=prod1, name="team-a")
    assignment, read_status, write_status = PERSONAS[persona]
    if assignment:
        role, scope = assignment
        RoleAssignment.objects.create(
            role=RoleDefinition.objects.get(name=role), scope=scope, user=bob
        )
    sent = services.webhook_ping(actor=None, webhook=hooks1)
    audited = AuditEvent.objects.count()

    def target(name, args):
        return url(name, *[sent.pk if a == "DELIVERY" else a for a in args])

    for method, name, args in READ_PAGES + WRITE_PAGES:
        client.logout()
        anonymous = getattr(client, method)(target(name, args))
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(bob)
    for method, name, args in READ_PAGES:
        assert getattr(client, method)(target(name, args)).status_code == read_status, name
    for method, name, args in WRITE_PAGES:
        status = getattr(client, method)(target(name, args)).status_code
        if write_status == "ok":
            assert status in {200, 302}, (name, status)
        else:
            assert status == write_status, (name, status)
    if write_status != "ok":
        assert AuditEvent.objects.count() == audited
