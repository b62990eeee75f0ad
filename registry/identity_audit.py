"""The audit log of identity writes: service principals, their secrets, personal access
tokens (``accounts`` cannot write the audit log itself, so ``accounts.services`` announces
each write with ``identity_changed``)."""

from __future__ import annotations

from typing import Any

from registry import audit


def record_identity_change(
    sender: Any, *, actor: Any, action: str, scope: str, details: dict[str, Any], **kwargs: Any
) -> None:
    audit.record(actor=actor, action=action, scope=scope, **details)
