"""Webhooks of a registry and the outbox of their deliveries.

A ``Webhook`` is ACR's: a name, a service URI, actions, a scope filter, custom headers and an
enabled switch, plus a signing secret (Standard Webhooks). The secret and the custom header
values are secrets the portal must use again, so they are stored encrypted
(``registry.encryption``); header names are kept in clear so they can be listed.

A ``WebhookDelivery`` is one message to one webhook, written in the same transaction as the
registry event that causes it (the outbox). Its ``event_id`` is the Standard Webhooks
``webhook-id`` and the payload's ``id``: new for every delivery, the same on every attempt and
redelivery, so receivers can deduplicate. Workers claim due deliveries under a lease
(``claimed_until``); a ``DeliveryAttempt`` records each try, request and response.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from registry import encryption
from registry.models.events import RegistryEvent
from registry.models.registries import Registry
from registry.webhooks import validation


class Webhook(models.Model):
    class Health(models.TextChoices):
        UNKNOWN = "unknown", "No attempts yet"
        HEALTHY = "healthy", "Healthy"
        UNHEALTHY = "unhealthy", "Failing"

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=50, validators=[validation.validate_name])
    service_uri = models.CharField(
        max_length=validation.SERVICE_URI_MAX_LENGTH,
        validators=[validation.validate_service_uri],
    )
    actions = models.JSONField(default=list)
    scope = models.CharField(
        max_length=validation.SCOPE_MAX_LENGTH,
        blank=True,
        validators=[validation.validate_scope],
    )
    is_enabled = models.BooleanField(default=True)
    secret_encrypted = models.TextField(editable=False)
    custom_header_names = models.JSONField(default=list, blank=True)
    custom_headers_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Kept up to date by every attempt, so lists show health without reading the log.
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registry__name", "name"]
        constraints = [
            models.UniqueConstraint(
                models.F("registry"),
                Lower("name"),
                name="webhook_name_unique_ci",
                violation_error_message="This registry already has a webhook with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    # Secrets ----------------------------------------------------------------------------

    @property
    def signing_secret(self) -> str:
        """The ``whsec_…`` secret (decrypted); ``encryption.DecryptionError`` if it cannot be."""
        return encryption.decrypt(self.secret_encrypted)

    def set_signing_secret(self, secret: str) -> None:
        self.secret_encrypted = encryption.encrypt(secret)

    @property
    def custom_headers(self) -> dict[str, str]:
        """Names and values (decrypted)."""
        if not self.custom_headers_encrypted:
            return {}
        return json.loads(encryption.decrypt(self.custom_headers_encrypted))

    def set_custom_headers(self, headers: dict[str, str]) -> None:
        self.custom_header_names = sorted(headers, key=str.lower)
        self.custom_headers_encrypted = (
            encryption.encrypt(json.dumps(headers, sort_keys=True)) if headers else ""
        )

    # What it listens to -----------------------------------------------------------------

    def matches(self, action: str, repository: str, tag: str) -> bool:
        return action in self.actions and validation.scope_matches(self.scope, repository, tag)

    # Derived ----------------------------------------------------------------------------

    @property
    def status(self) -> str:
        return "enabled" if self.is_enabled else "disabled"

    @property
    def health(self) -> str:
        if self.last_attempt_at is None:
            return self.Health.UNKNOWN
        if self.consecutive_failures >= settings.WEBHOOK_UNHEALTHY_AFTER:
            return self.Health.UNHEALTHY
        return self.Health.HEALTHY

    @property
    def is_healthy(self) -> bool | None:
        health = self.health
        return None if health == self.Health.UNKNOWN else health == self.Health.HEALTHY

    @property
    def audit_scope(self) -> str:
        return self.registry.scope


def _new_event_id() -> uuid.UUID:
    return uuid.uuid4()


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        IN_FLIGHT = "in_flight", "Being sent"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed: retries used up"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # The registry event that caused it; None for pings.
    registry_event = models.ForeignKey(
        RegistryEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
    )
    event_id = models.UUIDField(default=_new_event_id, unique=True, editable=False)
    action = models.CharField(max_length=20)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Retries stop after this; set when the delivery is created or redelivered.
    retry_until = models.DateTimeField()
    # The lease of the worker sending it, and which claim holds it.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # An event is delivered to a webhook once, however often it is applied.
            models.UniqueConstraint(
                fields=["webhook", "registry_event"],
                condition=models.Q(registry_event__isnull=False),
                name="delivery_once_per_event",
            )
        ]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="delivery_log"),
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["claimed_until"],
                name="delivery_leased",
                condition=models.Q(status="in_flight"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.event_id} → {self.webhook_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.PENDING, self.Status.IN_FLIGHT}

    @property
    def is_due(self) -> bool:
        """Pending and its next attempt's time has come (a worker will take it any moment)."""
        from django.utils import timezone

        return (
            self.status == self.Status.PENDING
            and self.next_attempt_at is not None
            and self.next_attempt_at <= timezone.now()
        )

    @property
    def target(self) -> dict:
        target = self.payload.get("target") if isinstance(self.payload, dict) else None
        return target if isinstance(target, dict) else {}


class DeliveryAttempt(models.Model):
    """One try at a delivery: what was sent (secrets redacted) and what came back."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration = models.DurationField(null=True, blank=True)
    request_url = models.CharField(max_length=validation.SERVICE_URI_MAX_LENGTH)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    response_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def is_success(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300

    @property
    def is_finished(self) -> bool:
        return self.duration is not None or bool(self.error)

    @property
    def duration_ms(self) -> int | None:
        if self.duration is None:
            return None
        return round(self.duration / timedelta(milliseconds=1))
