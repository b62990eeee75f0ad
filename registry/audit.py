"""Writing the audit log: every service that changes something calls ``record``."""

from __future__ import annotations

from typing import Any

from registry.models import AuditEvent


def record(
    *, actor: Any, action: str, scope: str, actor_name: str = "", **details: Any
) -> AuditEvent:
    """Add an audit row; ``actor`` is a user, or None for the system (sync, worker) or, with
    an ``actor_name`` such as ``anonymous``, for a caller the portal does not know."""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_user else (actor_name or "system"),
        action=action,
        scope=scope,
        details=details,
    )
