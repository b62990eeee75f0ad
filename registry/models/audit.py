"""The audit log: who changed what, where, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    # Kept as text too, so the log still says who it was after the user is deleted.
    actor_name = models.CharField(max_length=255)
    action = models.CharField(max_length=100)
    scope = models.CharField(max_length=600)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["scope", "-created_at"], name="audit_by_scope"),
            models.Index(fields=["action", "-created_at"], name="audit_by_action"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.scope}"
