"""The audit log of Entra ID sign-ins that change something: a user created at their first
sign-in, and group memberships added or removed by a refresh (``accounts`` cannot write the
audit log itself, so it announces them with ``entra_user_signed_in``)."""

from __future__ import annotations

from typing import Any

from registry import audit


def record_entra_sign_in(
    sender: Any,
    *,
    user: Any,
    created: bool,
    via: str,
    groups_added: list[str],
    groups_removed: list[str],
    **kwargs: Any,
) -> None:
    if created:
        audit.record(
            actor=None,
            actor_name="entra",
            action="user.create",
            scope="/",
            username=user.get_username(),
            object_id=user.entra_object_id,
            via=via,
        )
    if groups_added or groups_removed:
        audit.record(
            actor=None,
            actor_name="entra",
            action="groupMembership.refresh",
            scope="/",
            username=user.get_username(),
            added=groups_added,
            removed=groups_removed,
            via=via,
        )
