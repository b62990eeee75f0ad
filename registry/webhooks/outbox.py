"""The outbox: the deliveries a registry event causes, written in the transaction that applies it.

``registry.events.apply`` calls ``record_deliveries`` inside the savepoint of each event, so an
event is applied to the index and its deliveries exist together or not at all; a worker sends
them afterwards (``registry.webhooks.delivery``). Only manifest events reach here (blob and
mount events are ignored on arrival), as in ACR; a pull is a ``GET`` of a manifest — a ``HEAD``
only asks whether it exists.

The payload is ACR's: ``id`` (the delivery's ``event_id``, also sent as ``webhook-id``),
``timestamp``, ``action``, ``target{mediaType,size,digest,length,repository,tag}`` and
``request{id,host,method,useragent}``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registry.models import Registry, RegistryEvent, Webhook, WebhookDelivery

USER_AGENT = "Portcullis-Webhooks/1"


def iso_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``, as the rest of the API writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def retry_deadline(start: datetime | None = None) -> datetime:
    return (start or timezone.now()) + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)


def event_payload(registry: Registry, event: RegistryEvent, event_id: uuid.UUID) -> dict[str, Any]:
    raw = event.raw if isinstance(event.raw, dict) else {}
    request = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    target: dict[str, Any] = {"mediaType": event.media_type}
    if event.size is not None:
        target["size"] = event.size
    if event.digest:
        target["digest"] = event.digest
    if event.size is not None:
        target["length"] = event.size
    target["repository"] = event.repository
    if event.tag:
        target["tag"] = event.tag
    return {
        "id": str(event_id),
        "timestamp": iso_time(event.occurred_at or event.received_at or timezone.now()),
        "action": event.action,
        "target": target,
        "request": {
            "id": str(request.get("id") or ""),
            "host": str(request.get("host") or registry.host),
            "method": event.request_method,
            "useragent": event.user_agent,
        },
    }


def ping_payload(registry: Registry, event_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "timestamp": iso_time(timezone.now()),
        "action": "ping",
        "target": {},
        "request": {
            "id": str(uuid.uuid4()),
            "host": registry.host,
            "method": "POST",
            "useragent": USER_AGENT,
        },
    }


def is_webhook_event(event: RegistryEvent) -> bool:
    if event.action == "pull":
        return event.request_method.upper() == "GET"
    return event.action in {"push", "delete"}


def record_deliveries(registry: Registry, event: RegistryEvent) -> int:
    """Write the deliveries ``event`` causes, one per enabled webhook whose actions and scope
    match it; how many. Call it inside the transaction that applies the event."""
    if not is_webhook_event(event):
        return 0
    webhooks = [
        webhook
        for webhook in Webhook.objects.filter(registry=registry, is_enabled=True)
        if webhook.matches(event.action, event.repository, event.tag)
    ]
    if not webhooks:
        return 0
    now = timezone.now()
    rows = []
    for webhook in webhooks:
        event_id = uuid.uuid4()
        rows.append(
            WebhookDelivery(
                webhook=webhook,
                registry_event=event,
                event_id=event_id,
                action=event.action,
                payload=event_payload(registry, event, event_id),
                next_attempt_at=now,
                retry_until=retry_deadline(now),
            )
        )
    # An event applied twice (it cannot be, but the constraint is the guarantee) adds nothing.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    send_after_commit()
    return len(rows)


def send_soon() -> None:
    """Wake a worker to send what is due once the current transaction commits."""

    def wake() -> None:
        from registry.webhooks.delivery import schedule_pump

        wake.has_run = True  # type: ignore[attr-defined]
        schedule_pump()

    wake.has_run = False  # type: ignore[attr-defined]
    wake.wakes_webhooks = True  # type: ignore[attr-defined]
    transaction.on_commit(wake, robust=True)


def send_after_commit() -> None:
    """``send_soon``, once per transaction however many events it applies: a wake-up that is
    registered and has not run yet covers the rest."""
    pending = getattr(connection, "run_on_commit", None) or []
    for _savepoints, callback, _robust in pending:
        if getattr(callback, "wakes_webhooks", False) and not callback.has_run:
            return
    send_soon()
