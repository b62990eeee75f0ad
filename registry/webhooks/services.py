"""Every write to webhooks, one function per action; each writes its audit row.

Views, the API and commands call these. Input is checked here (the same rules whatever the
caller), the destination is checked against the SSRF guard before anything is saved, and
secrets never reach the audit log: it names custom headers, never their values.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from registry import audit
from registry.models import Registry, Webhook, WebhookDelivery
from registry.services import ActionRefused
from registry.webhooks import network, validation
from registry.webhooks.delivery import new_secret
from registry.webhooks.outbox import ping_payload, retry_deadline, send_soon

WEBHOOK_FIELDS = ("service_uri", "actions", "scope", "custom_headers", "is_enabled")
NAME_TAKEN = "This registry already has a webhook named {name!r}."


def _field_errors(**checks: Any) -> dict[str, Any]:
    """Run ``name=(check, value)`` pairs; their cleaned values, or a ValidationError naming
    every field that failed."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, (check, value) in checks.items():
        try:
            result = check(value)
        except ValidationError as exc:
            errors[name] = exc.messages
        else:
            cleaned[name] = value if result is None else result
    if errors:
        raise ValidationError(errors)
    return cleaned


def check_destination(service_uri: str) -> None:
    """The SSRF guard, as a validation error on ``service_uri``."""
    try:
        network.check_destination(service_uri)
    except network.DestinationRefused as exc:
        raise ValidationError({"service_uri": [str(exc)]}) from None


def name_is_taken(registry: Registry, name: str) -> bool:
    return Webhook.objects.filter(registry=registry, name__iexact=name).exists()


def _audit(actor: Any, action: str, webhook: Webhook, **details: Any) -> None:
    audit.record(
        actor=actor, action=action, scope=webhook.registry.scope, webhook=webhook.name, **details
    )


def webhook_create(
    *,
    actor: Any,
    registry: Registry,
    name: str,
    service_uri: str,
    actions: Any,
    scope: str = "",
    custom_headers: Mapping[str, str] | None = None,
    is_enabled: bool = True,
) -> tuple[Webhook, str]:
    """A new webhook and its signing secret (the one time the secret is shown)."""
    cleaned = _field_errors(
        name=(validation.validate_name, name),
        service_uri=(validation.validate_service_uri, service_uri.strip()),
        actions=(validation.clean_actions, actions),
        scope=(validation.validate_scope, scope.strip()),
        custom_headers=(validation.clean_custom_headers, custom_headers),
    )
    check_destination(cleaned["service_uri"])
    secret = new_secret()
    with transaction.atomic():
        # One writer at a time per registry, so two creations cannot both take the last place.
        Registry.objects.select_for_update().filter(pk=registry.pk).first()
        limit = registry.limits.webhooks
        if registry.webhooks.count() >= limit:
            raise ActionRefused(
                f"The {registry.tier} tier allows {limit} webhooks and registry "
                f"{registry.name} has them all; delete one or move to a higher tier."
            )
        if name_is_taken(registry, name):
            raise ValidationError({"name": [NAME_TAKEN.format(name=name)]}, code="unique")
        webhook = Webhook(
            registry=registry,
            name=name,
            service_uri=cleaned["service_uri"],
            actions=cleaned["actions"],
            scope=cleaned["scope"],
            is_enabled=is_enabled,
        )
        webhook.set_signing_secret(secret)
        webhook.set_custom_headers(cleaned["custom_headers"])
        webhook.save()
        _audit(
            actor,
            "webhook.create",
            webhook,
            service_uri=webhook.service_uri,
            actions=webhook.actions,
            scope_filter=webhook.scope,
            custom_headers=webhook.custom_header_names,
            status=webhook.status,
        )
    return webhook, secret


def webhook_update(*, actor: Any, webhook: Webhook, **changes: Any) -> Webhook:
    """Change some of ``WEBHOOK_FIELDS``. ``custom_headers`` replaces the whole set; a value of
    None keeps that header's current value."""
    unknown = set(changes) - set(WEBHOOK_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown webhook fields: {', '.join(sorted(unknown))}")
    checks: dict[str, Any] = {}
    if "service_uri" in changes:
        checks["service_uri"] = (validation.validate_service_uri, changes["service_uri"].strip())
    if "actions" in changes:
        checks["actions"] = (validation.clean_actions, changes["actions"])
    if "scope" in changes:
        checks["scope"] = (validation.validate_scope, (changes["scope"] or "").strip())
    if "custom_headers" in changes:
        names = webhook.custom_header_names

        def headers(value: Any) -> dict[str, str | None]:
            return validation.clean_custom_headers(value, existing=names, allow_keep=True)

        checks["custom_headers"] = (headers, changes["custom_headers"])
    cleaned = _field_errors(**checks)
    if "service_uri" in cleaned and cleaned["service_uri"] != webhook.service_uri:
        check_destination(cleaned["service_uri"])

    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().select_related("registry").get(pk=webhook.pk)
        changed: dict[str, Any] = {}
        for field in ("service_uri", "actions", "scope"):
            if field in cleaned and cleaned[field] != getattr(webhook, field):
                changed[field] = {"from": getattr(webhook, field), "to": cleaned[field]}
                setattr(webhook, field, cleaned[field])
        if "is_enabled" in changes and bool(changes["is_enabled"]) != webhook.is_enabled:
            webhook.is_enabled = bool(changes["is_enabled"])
            changed["status"] = {
                "from": "disabled" if webhook.is_enabled else "enabled",
                "to": webhook.status,
            }
        if "custom_headers" in cleaned:
            current = webhook.custom_headers
            by_lower = {name.lower(): value for name, value in current.items()}
            wanted = {
                name: by_lower[name.lower()] if value is None else value
                for name, value in cleaned["custom_headers"].items()
            }
            if wanted != current:
                changed["custom_headers"] = {
                    "from": webhook.custom_header_names,
                    "to": sorted(wanted, key=str.lower),
                    # Which values changed, never what they are.
                    "values_changed": sorted(
                        name for name, value in wanted.items() if current.get(name) != value
                    ),
                }
                webhook.set_custom_headers(wanted)
        if changed:
            webhook.save()
            _audit(actor, "webhook.update", webhook, changes=changed)
    if changed.get("status", {}).get("to") == "enabled":
        send_soon()  # deliveries held while it was disabled go out now
    return webhook


def webhook_delete(*, actor: Any, webhook: Webhook) -> None:
    """Delete a webhook with its delivery log."""
    with transaction.atomic():
        deliveries = webhook.deliveries.count()
        _audit(actor, "webhook.delete", webhook, deliveries=deliveries)
        webhook.delete()


def webhook_rotate_secret(*, actor: Any, webhook: Webhook) -> str:
    """A new signing secret, returned this once; deliveries sent from now on use it."""
    secret = new_secret()
    with transaction.atomic():
        webhook.set_signing_secret(secret)
        webhook.save(update_fields=["secret_encrypted", "updated_at"])
        _audit(actor, "webhook.secret.rotate", webhook)
    return secret


def _refuse_when_disabled(webhook: Webhook, what: str) -> None:
    if not webhook.is_enabled:
        raise ActionRefused(
            f"Webhook {webhook.name} is disabled, so nothing is sent to it; enable it to {what}."
        )


def webhook_ping(*, actor: Any, webhook: Webhook) -> WebhookDelivery:
    """ACR's ping: a delivery with the ``ping`` action, sent like any other."""
    _refuse_when_disabled(webhook, "ping it")
    with transaction.atomic():
        event_id = uuid.uuid4()
        now = timezone.now()
        delivery = WebhookDelivery.objects.create(
            webhook=webhook,
            event_id=event_id,
            action="ping",
            payload=ping_payload(webhook.registry, event_id),
            next_attempt_at=now,
            retry_until=retry_deadline(now),
        )
        _audit(actor, "webhook.ping", webhook, event_id=str(event_id))
        send_soon()
    return delivery


def _requeue(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = now
    delivery.retry_until = retry_deadline(now)
    delivery.finished_at = None
    delivery.save(update_fields=["status", "next_attempt_at", "retry_until", "finished_at"])


def delivery_redeliver(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, with the same ``webhook-id`` (receivers deduplicate on it)
    and a fresh retry window; its earlier attempts stay in the log."""
    webhook = delivery.webhook
    _refuse_when_disabled(webhook, "redeliver")
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status == WebhookDelivery.Status.IN_FLIGHT:
            raise ActionRefused(
                f"Delivery {delivery.pk} is being sent right now; wait for this attempt to end."
            )
        _requeue(delivery, timezone.now())
        _audit(
            actor,
            "webhook.delivery.redeliver",
            webhook,
            delivery=delivery.pk,
            event_id=str(delivery.event_id),
        )
        send_soon()
    return delivery


def webhook_redeliver_failed(*, actor: Any, webhook: Webhook, since: datetime) -> int:
    """Send again every delivery of ``webhook`` created at or after ``since`` that failed;
    how many."""
    _refuse_when_disabled(webhook, "redeliver")
    with transaction.atomic():
        failed = list(
            webhook.deliveries.select_for_update().filter(
                status=WebhookDelivery.Status.FAILED, created_at__gte=since
            )
        )
        now = timezone.now()
        for delivery in failed:
            _requeue(delivery, now)
        _audit(
            actor,
            "webhook.delivery.redeliver_failed",
            webhook,
            since=since.isoformat(),
            deliveries=len(failed),
        )
        if failed:
            send_soon()
    return len(failed)
