"""Sending deliveries to a real local receiver: signatures, retries, leases, the SSRF guard at
send time, and how rounds are scheduled."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from registry.models import DeliveryAttempt, Registry, Webhook, WebhookDelivery
from registry.webhooks import delivery, outbox, services
from tests.registry.webhook_support import make_webhook, registry_event, verified_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:9")


def run_until_settled(rounds: int = 200) -> None:
    """Run delivery rounds, as the worker would, until nothing is pending."""
    for _ in range(rounds):
        delivery.deliver_due(reschedule=False)
        if not WebhookDelivery.objects.filter(status__in=["pending", "in_flight"]).exists():
            return
        time.sleep(0.05)
    raise AssertionError("deliveries did not settle")


def event_deliveries(registry, count: int) -> list[WebhookDelivery]:
    for index in range(count):
        event = registry_event(registry, f"e{index}", tag=f"v{index}")
        outbox.record_deliveries(registry, event)
    return list(WebhookDelivery.objects.order_by("pk"))


def test_a_ping_arrives_signed_in_acrs_shape(
    prod1, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook, secret = make_webhook(
        prod1, webhook_receiver.url, custom_headers={"Authorization": "Bearer s3cret"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.webhook_ping(actor=None, webhook=webhook)

    (request,) = webhook_receiver.wait_for(1)
    payload = verified_payload(secret, request)
    assert request.headers["webhook-id"] == str(sent.event_id) == payload["id"]
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.path == "/hooks"
    assert payload["action"] == "ping"
    assert set(payload) == {"id", "timestamp", "action", "target", "request"}
    assert payload["timestamp"].endswith("Z")

    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.response_status) == ("succeeded", 1, 200)
    attempt = sent.attempt_log.get()
    assert attempt.request_headers["Authorization"] == "[redacted]"
    assert "s3cret" not in str(attempt.request_headers)
    assert attempt.request_headers["webhook-id"] == str(sent.event_id)
    assert attempt.response_headers["X-Receiver"] == "test"
    assert '"received": true' in attempt.response_body
    assert attempt.duration is not None and attempt.error == ""
    webhook.refresh_from_db()
    assert webhook.health == "healthy"


def test_secrets_and_header_values_are_encrypted_at_rest(prod1, webhook_receiver):
    webhook, secret = make_webhook(
        prod1, webhook_receiver.url, custom_headers={"X-Api-Key": "k-123456789"}
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_webhook WHERE id = %s", [webhook.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert secret not in row and secret.removeprefix("whsec_") not in row
    assert "k-123456789" not in row
    assert "X-Api-Key" in row  # names are not secret
    fresh = Webhook.objects.get(pk=webhook.pk)
    assert fresh.signing_secret == secret
    assert fresh.custom_headers == {"X-Api-Key": "k-123456789"}


def test_a_receiver_that_is_down_then_failing_then_back_gets_everything(prod1, webhook_receiver):
    """Every delivery arrives, with one webhook-id across all its attempts, and every attempt
    is in the log: refused connections, 503 answers, then the 200."""
    webhook, secret = make_webhook(prod1, webhook_receiver.url)
    webhook_receiver.stop()
    deliveries = event_deliveries(prod1, 3)

    for _ in range(2):  # connection refused, twice each
        time.sleep(0.25)
        delivery.deliver_due(reschedule=False)
    assert not webhook_receiver.requests
    webhook.refresh_from_db()
    assert webhook.health == "unhealthy" and webhook.consecutive_failures >= 3
    assert WebhookDelivery.objects.filter(status="pending").count() == 3

    webhook_receiver.status = 503
    webhook_receiver.start()
    time.sleep(0.25)
    delivery.deliver_due(reschedule=False)
    webhook_receiver.wait_for(3)

    webhook_receiver.status = 200
    run_until_settled()

    by_id: dict[str, list] = {}
    for request in webhook_receiver.requests:
        payload = verified_payload(secret, request)
        assert payload["id"] == request.headers["webhook-id"]
        by_id.setdefault(request.headers["webhook-id"], []).append(request)
    assert set(by_id) == {str(d.event_id) for d in deliveries}
    for sent in deliveries:
        sent.refresh_from_db()
        assert sent.status == "succeeded"
        attempts = list(sent.attempt_log.order_by("number"))
        assert [a.number for a in attempts] == list(range(1, sent.attempts + 1))
        assert sent.attempts >= 4
        assert all("ConnectError" in a.error for a in attempts[:2])
        assert 503 in [a.response_status for a in attempts]
        assert attempts[-1].response_status == 200
        # Every request that reached the receiver for it was one of its attempts.
        received = by_id[str(sent.event_id)]
        assert len(received) == sum(1 for a in attempts if a.response_status is not None)
        assert received[-1].json()["target"]["tag"] == sent.payload["target"]["tag"]
    webhook.refresh_from_db()
    assert webhook.health == "healthy" and webhook.consecutive_failures == 0


def test_a_delivery_whose_worker_died_is_requeued_by_the_sweeper(prod1, webhook_receiver):
    _webhook, secret = make_webhook(prod1, webhook_receiver.url)
    (pending,) = event_deliveries(prod1, 1)
    # A worker claims it and dies before it sends anything.
    dead = delivery.claim_next()
    assert dead is not None
    pending.refresh_from_db()
    assert pending.status == "in_flight" and pending.claimed_until > timezone.now()
    assert delivery.deliver_due(reschedule=False).sent == 0  # the lease still holds

    WebhookDelivery.objects.filter(pk=pending.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    report = delivery.deliver_due(reschedule=False)

    assert (report.requeued, report.succeeded) == (1, 1)
    (request,) = webhook_receiver.wait_for(1)
    assert verified_payload(secret, request)["id"] == str(pending.event_id)
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == ("succeeded", 2)
    first, second = pending.attempt_log.order_by("number")
    assert "lease expired" in first.error and first.response_status is None
    assert second.response_status == 200

    # Should the dead worker come back and report, its stale claim changes nothing.
    assert delivery.record(dead, delivery.Outcome(status=500)) == "succeeded"
    pending.refresh_from_db()
    assert pending.status == "succeeded" and pending.response_status == 200


def test_retries_stop_when_the_window_closes(prod1, webhook_receiver, settings):
    settings.WEBHOOK_RETRY_WINDOW_SECONDS = 0.4
    webhook_receiver.status = 500
    make_webhook(prod1, webhook_receiver.url)
    (pending,) = event_deliveries(prod1, 1)

    run_until_settled()

    pending.refresh_from_db()
    assert pending.status == "failed"
    assert pending.attempts >= 2 and pending.response_status == 500
    assert pending.finished_at is not None and pending.next_attempt_at is None
    assert len(webhook_receiver.requests) == pending.attempts


def test_backoff_doubles_up_to_the_cap_with_jitter(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS = 3 * 3600
    for attempts, full in [(1, 10), (2, 20), (5, 160), (30, 3 * 3600)]:
        delays = {delivery.backoff(attempts).total_seconds() for _ in range(20)}
        assert all(full / 2 <= d <= full for d in delays), (attempts, delays)
        assert len(delays) > 1  # jittered
    # The defaults retry for about a day: a dozen and more attempts.
    total, attempts = 0.0, 0
    while total < 86400:
        attempts += 1
        total += delivery.backoff(attempts).total_seconds()
    assert 14 <= attempts <= 30


def test_a_destination_refused_at_send_time_is_never_contacted(prod1, webhook_receiver, settings):
    make_webhook(prod1, webhook_receiver.url)
    (pending,) = event_deliveries(prod1, 1)
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    delivery.deliver_due(reschedule=False)

    assert not webhook_receiver.requests
    attempt = DeliveryAttempt.objects.get()
    assert "Not sent: 127.0.0.1 is a loopback address" in attempt.error
    pending.refresh_from_db()
    assert pending.status == "pending" and pending.attempts == 1


def test_dns_rebinding_after_the_check_is_refused(prod1, settings, monkeypatch):
    """The name was public when the webhook was saved and points inside when it is sent."""
    answers = {"address": "93.184.216.34"}

    def getaddrinfo(host, port, *args, **kwargs):
        assert host == "hooks.example.test"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers["address"], port))]

    monkeypatch.setattr("registry.webhooks.network.socket.getaddrinfo", getaddrinfo)
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    make_webhook(prod1, "https://hooks.example.test/acr")
    event_deliveries(prod1, 1)

    answers["address"] = "10.1.2.3"
    delivery.deliver_due(reschedule=False)

    attempt = DeliveryAttempt.objects.get()
    assert "hooks.example.test resolves to 10.1.2.3, which is a private address" in attempt.error


def test_a_disabled_webhook_holds_its_deliveries_and_keeps_its_log(
    prod1, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook, _ = make_webhook(prod1, webhook_receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_ping(actor=None, webhook=webhook)
    webhook_receiver.wait_for(1)
    held = services.webhook_ping(actor=None, webhook=webhook)  # not sent yet
    services.webhook_update(actor=None, webhook=webhook, is_enabled=False)

    delivery.deliver_due(reschedule=False)
    assert len(webhook_receiver.requests) == 1
    assert outbox.record_deliveries(prod1, registry_event(prod1, "while-off")) == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_update(actor=None, webhook=webhook, is_enabled=True)
    webhook_receiver.wait_for(2)
    held.refresh_from_db()
    assert held.status == "succeeded"
    assert webhook.deliveries.count() == 2


def test_redelivery_keeps_the_webhook_id_and_the_log(
    prod1, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook, secret = make_webhook(prod1, webhook_receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.webhook_ping(actor=None, webhook=webhook)
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_redeliver(actor=None, delivery=sent)

    first, second = webhook_receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(sent.event_id)
    verified_payload(secret, second)
    sent.refresh_from_db()
    assert sent.status == "succeeded" and sent.attempt_log.count() == 2


def test_redeliver_all_failed_since_a_time(prod1, webhook_receiver, settings):
    settings.WEBHOOK_RETRY_WINDOW_SECONDS = 0
    webhook, _ = make_webhook(prod1, webhook_receiver.url)
    webhook_receiver.status = 500
    old, recent, other = event_deliveries(prod1, 3)
    run_until_settled()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    settings.WEBHOOK_RETRY_WINDOW_SECONDS = 3600
    webhook_receiver.status = 200
    since = timezone.now() - timedelta(days=1)
    assert services.webhook_redeliver_failed(actor=None, webhook=webhook, since=since) == 2
    run_until_settled()

    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "failed", recent.pk: "succeeded", other.pk: "succeeded"}


def test_rounds_are_deferred_to_the_next_retry_and_never_pile_up(prod1, webhook_receiver, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS = 60
    webhook_receiver.status = 500
    make_webhook(prod1, webhook_receiver.url)
    (pending,) = event_deliveries(prod1, 1)

    delivery.deliver_due()

    pending.refresh_from_db()
    assert pending.status == "pending"
    queued = DBTaskResult.objects.filter(task_path="registry.tasks.webhooks_deliver")
    run_after = sorted(queued.values_list("run_after", flat=True))
    # One for when this round's lease would end (should the worker die), one for the retry.
    assert len(run_after) == 2
    assert abs((run_after[0] - pending.next_attempt_at).total_seconds()) < 1
    delivery.schedule_pump(pending.next_attempt_at)
    delivery.schedule_pump()
    delivery.deliver_due()
    assert queued.count() == 3  # the immediate round; the deferred ones were there already


def test_the_command_sends_what_is_due(prod1, webhook_receiver):
    from io import StringIO

    from django.core.management import call_command

    make_webhook(prod1, webhook_receiver.url)
    event_deliveries(prod1, 2)
    out = StringIO()
    call_command("deliver_webhooks", stdout=out)

    assert "2 attempted: 2 delivered" in out.getvalue()
    assert len(webhook_receiver.requests) == 2


def test_a_bad_allowed_network_fails_the_checks(settings):
    from registry.webhooks.checks import allowed_networks_parse, own_encryption_keys

    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8", "not-a-network"]
    (error,) = allowed_networks_parse(None)
    assert error.id == "registry.E101" and "not-a-network" in error.msg
    settings.FIELD_ENCRYPTION_KEYS = []
    assert [w.id for w in own_encryption_keys(None)] == ["registry.W101"]
    settings.FIELD_ENCRYPTION_KEYS = ["a-key"]
    assert own_encryption_keys(None) == []


def test_workers_racing_for_deliveries_never_take_the_same_one(transactional_db):
    """Claims lock with SKIP LOCKED (PostgreSQL) or take turns (SQLite): two workers claiming
    at once split the deliveries between them, none claimed twice."""
    import threading

    from django.db import connections

    registry = Registry.objects.create(name="race1", login_server="http://127.0.0.1:9")
    webhook, _ = make_webhook(registry, "http://127.0.0.1:9/hooks")
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            webhook=webhook,
            action="ping",
            payload={},
            next_attempt_at=now,
            retry_until=now + timedelta(hours=1),
        )
        for _ in range(40)
    )
    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            while (claim := delivery.claim_next()) is not None:
                claimed[index].append(claim.delivery_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    every = claimed[0] + claimed[1]
    assert len(every) == len(set(every)) == 40
    assert WebhookDelivery.objects.filter(status="in_flight").count() == 40
