"""Writes to identity objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import secrets
from accounts.models import PersonalAccessToken, User


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: the only moment its plain text exists."""

    record: PersonalAccessToken
    token: str


@transaction.atomic
def personal_access_token_create(
    *, user: User, name: str, lifetime: timedelta | None = None
) -> IssuedToken:
    token = secrets.generate(PersonalAccessToken.PREFIX)
    record = PersonalAccessToken.objects.create(
        user=user,
        name=name,
        digest=secrets.digest(token),
        hint=token[len(PersonalAccessToken.PREFIX) :][:6],
        expires_at=timezone.now() + (lifetime or PersonalAccessToken.DEFAULT_LIFETIME),
    )
    return IssuedToken(record=record, token=token)


def personal_access_token_revoke(*, token: PersonalAccessToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def personal_access_token_touch(*, token: PersonalAccessToken) -> None:
    """Record use, at most once a minute, so busy API callers don't write on every request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
