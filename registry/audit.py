"""Writing the audit log: every service that changes something calls ``record``."""

from __future__ import annotations

from typing import Any

from accounts.models import ServicePrincipal, User
from registry.models import AuditEvent


def record(
    *, actor: Any, action: str, scope: str, actor_name: str = "", **details: Any
) -> AuditEvent:
    """Add an audit row; ``actor`` is a user, a service principal (through the API), or None
    for the system (sync, worker) or, with an ``actor_name`` such as ``anonymous``, for a
    caller the portal does not know."""
    if isinstance(actor, ServicePrincipal):
        # Not a user row: the name says which machine it was (``sp:ci-deployer``).
        user, name = None, actor.get_username()
    elif isinstance(actor, User) and actor.is_authenticated:
        user, name = actor, actor.get_username()
    else:
        user, name = None, actor_name or "system"
    return AuditEvent.objects.create(
        actor=user, actor_name=name, action=action, scope=scope, details=details
    )
