"""Limits on failed sign-ins at the token server, per client address and per account.

The counts live in the database (``LoginFailure`` rows), so every web process sees the same
numbers. django-ratelimit needs a cache with atomic increments shared by all processes (Redis,
Memcached), which this deployment does not have; django-axes hooks every Django sign-in
(middleware, authentication backend) and stores request bodies, which here carry secrets. A
sliding window over plain rows is a few lines and holds across any number of processes.

Only failures count: a caller that signs in correctly is never slowed down, until the limit is
reached, when every attempt under that address or account waits (otherwise the limit would not
stop guessing). A request that presents no credentials at all is not a failed sign-in.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import LoginFailure

# ``docker login`` with a refresh token names this account; it is shared by everyone who signs
# in that way, so it gets no limit of its own (the address limit still applies).
NULL_ACCOUNT = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int  # failures allowed in the window; 0: no limit


def client_address(request: HttpRequest) -> str:
    """The caller's address: the peer, or behind ``TRUSTED_PROXY_COUNT`` proxies the address
    the outermost of them saw (``X-Forwarded-For`` read from the right, so a client cannot
    choose it by sending its own header)."""
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [a for a in forwarded if a]
    return forwarded[-proxies] if len(forwarded) >= proxies else peer


def counters(address: str, account: str) -> list[Counter]:
    """The counters a sign-in by ``account`` from ``address`` is checked against."""
    found = [Counter(f"address:{address}", settings.TOKEN_LOGIN_FAILURES_PER_ADDRESS)]
    if account and account != NULL_ACCOUNT:
        per_account = settings.TOKEN_LOGIN_FAILURES_PER_ACCOUNT
        found.append(Counter(f"account:{account.lower()}", per_account))
    return [c for c in found if c.limit > 0]


def _window() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.TOKEN_LOGIN_FAILURE_WINDOW)


def retry_after(checked: Sequence[Counter], *, now: datetime.datetime | None = None) -> int:
    """Seconds until a sign-in under these counters may be tried again; 0 when it may now.

    A counter is full while its ``limit``-th most recent failure is still inside the window;
    it frees up when that failure leaves it. One indexed query per counter.
    """
    now = now or timezone.now()
    window = _window()
    wait = 0.0
    for counter in checked:
        limit_th = (
            LoginFailure.objects.filter(key=counter.key, at__gt=now - window)
            .order_by("-at")
            .values_list("at", flat=True)[counter.limit - 1 : counter.limit]
        )
        for at in limit_th:
            wait = max(wait, (at + window - now).total_seconds())
    return math.ceil(wait)


def record_failure(checked: Sequence[Counter], *, now: datetime.datetime | None = None) -> None:
    """Count one failure under each counter, and forget failures the window has left behind."""
    now = now or timezone.now()
    LoginFailure.objects.bulk_create([LoginFailure(key=c.key, at=now) for c in checked])
    LoginFailure.objects.filter(at__lte=now - _window()).delete()
