"""What registries tell the portal: notification events, stored before anything is done with them.

A registry posts envelopes of events to ``/registry-events/<registry>/`` and retries, serially,
until it gets a 2xx; so the endpoint stores each event as it came and answers at once, and the
worker applies them to the index afterwards. The registry's event id makes a replay harmless.
"""

from __future__ import annotations

from django.db import models

from registry.models.registries import Registry
from registry.validation import REPOSITORY_NAME_MAX_LENGTH


class RegistryEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be applied"
        APPLIED = "applied", "Applied to the index"
        IGNORED = "ignored", "Not about the index (a blob, an unknown action)"
        MALFORMED = "malformed", "Malformed: kept as it came, not applied"

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="events")
    # The registry's own id of the event; malformed events without one get a digest of their body.
    event_id = models.CharField(max_length=200)
    action = models.CharField(max_length=20, blank=True)  # push, pull, delete, mount
    media_type = models.CharField(max_length=200, blank=True)
    digest = models.CharField(max_length=200, blank=True)
    repository = models.CharField(max_length=REPOSITORY_NAME_MAX_LENGTH, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=255, blank=True)  # the token's subject, when auth is on
    client_addr = models.CharField(max_length=100, blank=True)  # request.addr
    request_method = models.CharField(max_length=10, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    problem = models.TextField(blank=True)  # why it is malformed, or why applying it failed
    attempts = models.PositiveSmallIntegerField(default=0)
    applied_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["registry", "event_id"], name="event_unique_id")
        ]
        indexes = [
            models.Index(fields=["registry", "-received_at"], name="event_by_time"),
            models.Index(
                fields=["registry", "repository", "-received_at"], name="event_by_repository"
            ),
            models.Index(
                fields=["registry", "id"],
                name="event_pending",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        what = f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"
        return f"{self.action} {what}"


class EventsSecret(models.Model):
    """The bearer secret a registry sends with its notifications, stored as a SHA-256 digest.

    ``manage.py registry_config`` makes a new one each time it writes a registry's config; the
    previous one stays valid so a registry still running the old config keeps delivering until
    it restarts (``KEPT_SECRETS``).
    """

    KEPT_SECRETS = 2

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="events_secrets")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"events secret of {self.registry_id}"
