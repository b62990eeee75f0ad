"""Sending webhook deliveries: claim, sign, send, record, retry — the worker's side of the outbox.

One round (``deliver_due``, run by the ``webhooks_deliver`` task or ``manage.py
deliver_webhooks``):

1. deliveries whose lease expired (the worker sending them died) go back to pending, their
   unfinished attempt marked as such;
2. due deliveries are claimed one at a time with ``SELECT … FOR UPDATE SKIP LOCKED`` (SQLite,
   which has no row locks, serializes writers instead), marked in flight under a lease, and an
   attempt row written with the request;
3. each is signed (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
   ``webhook-signature: v1,<base64 HMAC-SHA256>``), checked against the SSRF guard on the
   addresses its host resolves to now, and posted with a timeout;
4. the attempt's response (status, headers, truncated body, duration) or error is recorded; a
   2xx settles the delivery, anything else schedules a retry with exponential backoff and
   jitter until ``retry_until`` (a day by default), then the delivery has failed.

Scheduling: where the task backend can defer (the database backend), a round queues the next
one for the moment something next falls due — a retry, or a lease that could expire — and
before it sends anything it queues one for when its own lease would run out, so a worker killed
mid-round is followed by a sweep. A round is queued only when none is already queued for that
time, so their number stays small. Without deferral, ``manage.py deliver_webhooks --loop`` is
the periodic trigger.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from standardwebhooks import Webhook as StandardWebhook

from registry.encryption import DecryptionError
from registry.models import DeliveryAttempt, Webhook, WebhookDelivery
from registry.webhooks import network
from registry.webhooks.outbox import USER_AGENT

logger = logging.getLogger(__name__)

# What the delivery log keeps of a response.
RESPONSE_BODY_LIMIT = 4096
RESPONSE_HEADERS_LIMIT = 50
REDACTED = "[redacted]"
# One round sends at most this many, for at most this long, then queues the next round, so
# other background work (applying registry events) gets its turn on the worker.
ROUND_LIMIT = 200
ROUND_SECONDS = 30.0

Status = WebhookDelivery.Status


@dataclass
class Claim:
    """A delivery this worker holds the lease on, with the request it is about to send."""

    delivery_id: int
    attempt_id: int
    webhook_id: int
    token: str
    service_uri: str
    headers: dict[str, str]
    body: str
    attempts: int
    retry_until: datetime
    error: str = ""  # the request could not be prepared (a secret that cannot be decrypted)


@dataclass
class Outcome:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    truncated: bool = False
    error: str = ""
    duration: timedelta = timedelta(0)

    @property
    def is_success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


@dataclass
class RoundReport:
    requeued: int = 0
    succeeded: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def sent(self) -> int:
        return self.succeeded + self.retrying + self.failed

    def summary(self) -> str:
        return (
            f"{self.sent} attempted: {self.succeeded} delivered, {self.retrying} to retry, "
            f"{self.failed} failed; {self.requeued} requeued after an expired lease"
        )


# Signing ---------------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>`` of
    ``{id}.{timestamp}.{body}`` with the secret's bytes (the reference library does it)."""
    return StandardWebhook(secret).sign(message_id, timestamp, body)


def request_headers(
    webhook: Webhook, delivery: WebhookDelivery, moment: datetime, body: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(headers to send, headers to log): custom header values are redacted in the log."""
    moment = moment.replace(microsecond=0)
    message_id = str(delivery.event_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": sign(webhook.signing_secret, message_id, moment, body),
    }
    custom = webhook.custom_headers
    return {**custom, **headers}, {**dict.fromkeys(custom, REDACTED), **headers}


# Claiming --------------------------------------------------------------------------------


def _locking(queryset: Any) -> Any:
    """``queryset`` locking the rows it reads, skipping rows others hold, where the database
    can; SQLite cannot and needs not (its writers take turns)."""
    features = connection.features
    if not features.has_select_for_update_skip_locked:
        return queryset
    if features.has_select_for_update_of:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset.select_for_update(skip_locked=True)


def lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def claim_next(now: datetime | None = None, *, due_by: datetime | None = None) -> Claim | None:
    """Take the next delivery of an enabled webhook due by ``due_by`` (default: now): in flight
    under this worker's lease, with its attempt recorded as started. None when none is due."""
    with transaction.atomic():
        now = now or timezone.now()
        due = WebhookDelivery.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=due_by or now, webhook__is_enabled=True
        ).order_by("next_attempt_at", "pk")
        # The webhook comes in the same query; only the delivery row is locked.
        delivery = _locking(due.select_related("webhook")).first()
        if delivery is None:
            return None
        webhook = delivery.webhook
        token = secrets.token_hex(16)
        number = delivery.attempts + 1
        claimed = WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
            status=Status.IN_FLIGHT,
            attempts=number,
            claimed_until=now + lease(),
            claim_token=token,
        )
        if not claimed:
            return None
        body = json.dumps(delivery.payload, separators=(",", ":"))
        error = ""
        try:
            headers, logged = request_headers(webhook, delivery, now, body)
        except DecryptionError as exc:
            headers, logged, error = {}, {}, str(exc)
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=now,
            request_url=webhook.service_uri,
            request_headers=logged,
            request_body=body,
        )
        return Claim(
            delivery_id=delivery.pk,
            attempt_id=attempt.pk,
            webhook_id=webhook.pk,
            token=token,
            service_uri=webhook.service_uri,
            headers=headers,
            body=body,
            attempts=number,
            retry_until=delivery.retry_until,
            error=error,
        )


def requeue_expired(now: datetime | None = None) -> int:
    """Put deliveries whose lease ran out (their worker died mid-attempt) back in the queue."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = _locking(
            WebhookDelivery.objects.filter(status=Status.IN_FLIGHT, claimed_until__lt=now)
        )
        rows = list(expired.values_list("pk", "attempts"))
        if not rows:
            return 0
        unfinished = Q()
        for pk, attempts in rows:
            unfinished |= Q(delivery_id=pk, number=attempts)
        DeliveryAttempt.objects.filter(unfinished, duration__isnull=True, error="").update(
            error="The worker stopped before this attempt finished; its lease expired and the "
            "delivery was queued again."
        )
        return WebhookDelivery.objects.filter(
            pk__in=[pk for pk, _ in rows], status=Status.IN_FLIGHT
        ).update(status=Status.PENDING, next_attempt_at=now, claimed_until=None, claim_token="")


# Sending ---------------------------------------------------------------------------------


def http_client() -> httpx.Client:
    # No proxies from the environment (the SSRF guard checks where the connection goes), no
    # redirects (a 3xx is an answer, recorded and retried like any other non-2xx).
    return httpx.Client(
        timeout=httpx.Timeout(settings.WEBHOOK_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
    )


def send(client: httpx.Client, claim: Claim) -> Outcome:
    """Post the claimed delivery; never raises for what the receiver or the network does."""
    started = time.monotonic()

    def done(**fields: Any) -> Outcome:
        return Outcome(duration=timedelta(seconds=time.monotonic() - started), **fields)

    if claim.error:
        return done(error=claim.error)
    try:
        target = network.pin(claim.service_uri)
    except network.DestinationRefused as exc:
        return done(error=f"Not sent: {exc}")
    extensions = {"sni_hostname": target.server_name} if target.url.startswith("https") else {}
    request = client.build_request(
        "POST",
        target.url,
        content=claim.body.encode(),
        headers={**claim.headers, "Host": target.host_header},
        extensions=extensions,
    )
    deadline = started + settings.WEBHOOK_TIMEOUT
    try:
        response = client.send(request, stream=True)
        try:
            body, truncated = _read_limited(response, deadline)
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        return done(error=f"No answer within {settings.WEBHOOK_TIMEOUT:g}s ({type(exc).__name__}).")
    except httpx.HTTPError as exc:
        return done(error=f"{type(exc).__name__}: {exc or 'the connection failed'}")
    return done(
        status=response.status_code,
        headers=_logged_headers(response),
        body=body,
        truncated=truncated,
    )


def _logged_headers(response: httpx.Response) -> dict[str, str]:
    """The response's headers as the receiver spelled them (repeats joined), the first few."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in response.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name in headers:
            headers[name] = f"{headers[name]}, {value}"
        elif len(headers) < RESPONSE_HEADERS_LIMIT:
            headers[name] = value
    return headers


def _read_limited(response: httpx.Response, deadline: float) -> tuple[str, bool]:
    """The start of the response body, no more than the log keeps and no later than the
    deadline; whether there was more."""
    received = bytearray()
    truncated = False
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) > RESPONSE_BODY_LIMIT or time.monotonic() > deadline:
            truncated = True
            break
    return bytes(received[:RESPONSE_BODY_LIMIT]).decode("utf-8", errors="replace"), truncated


# Recording -------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed tries: doubling from the base delay, capped,
    then between half and all of it (jitter), so receivers that come back are not stampeded."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    delay = min(base * 2 ** max(attempts - 1, 0), settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS)
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))  # noqa: S311 - not a secret


def record(claim: Claim, outcome: Outcome, report: RoundReport | None = None) -> str:
    """Store the attempt's outcome and settle or reschedule the delivery; its new status."""
    now = timezone.now()
    if outcome.is_success:
        status, next_attempt, finished = Status.SUCCEEDED, None, now
    else:
        next_attempt = now + backoff(claim.attempts)
        if next_attempt > claim.retry_until:
            status, next_attempt, finished = Status.FAILED, None, now
        else:
            status, finished = Status.PENDING, None
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=claim.attempt_id).update(
            duration=outcome.duration,
            response_status=outcome.status,
            response_headers=outcome.headers,
            response_body=outcome.body,
            response_truncated=outcome.truncated,
            error=outcome.error[:2000],
        )
        _count_on_webhook(claim.webhook_id, outcome.is_success, now)
        # Only while this claim still holds the lease: once it ran out, the sweeper gave the
        # delivery to another attempt, which decides; this one stays in the log.
        settled = WebhookDelivery.objects.filter(
            pk=claim.delivery_id, status=Status.IN_FLIGHT, claim_token=claim.token
        ).update(
            status=status,
            next_attempt_at=next_attempt,
            finished_at=finished,
            response_status=outcome.status,
            claimed_until=None,
            claim_token="",
        )
        if not settled:
            status = WebhookDelivery.objects.values_list("status", flat=True).get(
                pk=claim.delivery_id
            )
    if report is not None and settled:
        if status == Status.SUCCEEDED:
            report.succeeded += 1
        elif status == Status.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
    return status


def _count_on_webhook(webhook_id: int, is_success: bool, now: datetime) -> None:
    """Keep the webhook's health counters. A success on a healthy webhook is written at most
    once a second, so busy workers do not queue up on its row."""
    webhooks = Webhook.objects.filter(pk=webhook_id)
    if is_success:
        stale = Q(consecutive_failures__gt=0) | Q(last_success_at__isnull=True)
        stale |= Q(last_success_at__lt=now - timedelta(seconds=1))
        webhooks.filter(stale).update(
            last_attempt_at=now, last_success_at=now, consecutive_failures=0
        )
    else:
        webhooks.update(last_attempt_at=now, consecutive_failures=F("consecutive_failures") + 1)


# Rounds and scheduling -------------------------------------------------------------------


def deliver_due(
    *,
    limit: int | None = ROUND_LIMIT,
    seconds: float | None = ROUND_SECONDS,
    reschedule: bool = True,
) -> RoundReport:
    """One round: requeue expired leases, then send due deliveries until none is left (or the
    round's share is used up), then queue the next round for when it is needed."""
    report = RoundReport(requeued=requeue_expired())
    # What falls due during the round (its own retries) is left to the next one, so a round
    # always ends, however short the retry delays.
    started = timezone.now()
    deadline = None if seconds is None else time.monotonic() + seconds
    with http_client() as client:
        while limit is None or report.sent < limit:
            if deadline is not None and time.monotonic() > deadline:
                break
            claim = claim_next(due_by=started)
            if claim is None:
                break
            if reschedule and report.sent == 0:
                # Should this worker die with the lease, a round after it requeues the delivery.
                schedule_pump(timezone.now() + lease(), from_round=True)
                # More is due than this round takes at once: a round for another worker.
                if _is_more_due():
                    schedule_pump(from_round=True)
            record(claim, send(client, claim), report)
    if reschedule:
        wake_at = next_wakeup()
        if wake_at is not None:
            schedule_pump(max(wake_at, timezone.now()), from_round=True)
    return report


def _is_more_due() -> bool:
    return WebhookDelivery.objects.filter(
        status=Status.PENDING, next_attempt_at__lte=timezone.now(), webhook__is_enabled=True
    ).exists()


def next_wakeup() -> datetime | None:
    """When something next needs a round: the earliest retry of an enabled webhook's
    delivery, or the earliest lease that could expire."""
    pending = WebhookDelivery.objects.filter(
        status=Status.PENDING, webhook__is_enabled=True
    ).aggregate(at=Min("next_attempt_at"))["at"]
    leased = WebhookDelivery.objects.filter(status=Status.IN_FLIGHT).aggregate(
        at=Min("claimed_until")
    )["at"]
    moments = [moment for moment in (pending, leased) if moment is not None]
    return min(moments) if moments else None


def _round_queued_by(task: Any, backend: Any, at: datetime) -> bool:
    """Whether a round is already queued to run no later than ``at`` (database backend)."""
    try:
        from django_tasks import TaskResultStatus
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult, get_date_max
    except ImportError:  # pragma: no cover - another backend is installed instead
        return False
    if not isinstance(backend, DatabaseBackend):
        return False
    return (
        DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=task.module_path, backend_name=backend.alias
        )
        .filter(Q(run_after=get_date_max()) | Q(run_after__lte=at))
        .exists()
    )


def schedule_pump(at: datetime | None = None, *, from_round: bool = False) -> None:
    """Queue a delivery round to run at ``at`` (None: now), unless one is queued already.

    Backends that cannot defer get only immediate rounds, and none from inside a round (an
    immediate backend would run it inside this one): ``deliver_webhooks --loop`` covers them.
    """
    from registry import tasks

    task = tasks.webhooks_deliver
    backend = task.get_backend()
    now = timezone.now()
    deferred = at is not None and at > now + timedelta(seconds=1)
    if not backend.supports_defer and (deferred or from_round):
        return
    if _round_queued_by(task, backend, at or now):
        return
    if deferred:
        task.using(run_after=at).enqueue()
    else:
        task.enqueue()
