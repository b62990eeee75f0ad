"""Who may do what in the API: the same per-request answer of the permissions engine as the
HTML views (``registry.views.access``), raised as DRF exceptions so it leaves as a problem.

Every caller must be signed in (session, personal access token, service principal secret); what
they may then see and do is decided per scope by their role assignments: 404 for what they
cannot see, 403 for what they can see but may not do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from registry.views import access

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsSignedIn(BasePermission):
    message = (
        "Sign in, send a personal access token as 'Authorization: Bearer …', or a service "
        "principal's client id and secret as 'Authorization: Basic …'."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


def authorize(request: Request, action: str | None, scope: str) -> None:
    """Return when the caller may do ``action`` at ``scope`` (no action: may see it)."""
    held = access.grants(request)
    if not held.can_see(scope):
        raise exceptions.NotFound(f"Nothing you can see is at {scope}.")
    if action is not None and not held.allows(action, scope):
        raise exceptions.PermissionDenied(f"You are not allowed to do {action} at {scope}.")


def authorize_any(request: Request, actions: Sequence[str], scope: str) -> None:
    """``authorize`` for what any one of ``actions`` allows."""
    held = access.grants(request)
    if not held.can_see(scope):
        raise exceptions.NotFound(f"Nothing you can see is at {scope}.")
    if not any(held.allows(action, scope) for action in actions):
        raise exceptions.PermissionDenied(
            f"You are not allowed to do {' or '.join(actions)} at {scope}."
        )
