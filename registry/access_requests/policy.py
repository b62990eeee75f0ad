"""The rules of access requests that need no database: durations, ancestry, the role to offer.

Values come from settings so operators can tune them (docs/configuration.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings

from registry.permissions.actions import BUILTIN_ROLES
from registry.permissions.scopes import Scope

# The durations the forms offer (the API takes any number of days up to the maximum).
DURATION_CHOICES = (1, 7, 30, 90, 180, 365)


def default_days() -> int:
    return settings.ACCESS_REQUEST_DEFAULT_DAYS


def max_days() -> int:
    return settings.ACCESS_REQUEST_MAX_DAYS


def pending_lifetime() -> datetime.timedelta:
    """How long a request may wait untouched before it expires."""
    return datetime.timedelta(days=settings.ACCESS_REQUEST_PENDING_DAYS)


def reminder_lead(grant: datetime.timedelta) -> datetime.timedelta:
    """How long before a grant's expiry its holder is reminded: ``ACCESS_REQUEST_REMINDER_DAYS``,
    but never more than half the grant, so a short grant is not reminded the moment it starts."""
    return min(datetime.timedelta(days=settings.ACCESS_REQUEST_REMINDER_DAYS), grant / 2)


def scope_ancestry(scope: Scope) -> str:
    """``|…|``-delimited lowercase strings of every scope that covers ``scope``."""
    return "|" + "|".join(ancestry_key(ancestor) for ancestor in scope.ancestors()) + "|"


def ancestry_key(scope: Scope | str) -> str:
    return str(scope).lower()


def smallest_role_for(action: str, roles: Iterable[str] | None = None) -> str | None:
    """The built-in role with the fewest actions that grants ``action`` (ties: the earlier
    role in the built-in table, so pulling asks for AcrPull rather than AcrDelete's peer)."""
    names = list(roles) if roles is not None else list(BUILTIN_ROLES)
    candidates = [name for name in names if action in BUILTIN_ROLES.get(name, ())]
    if not candidates:
        return None
    return min(candidates, key=lambda name: (len(BUILTIN_ROLES[name]), names.index(name)))
