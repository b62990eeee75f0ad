"""Writes to identity objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import secrets
from accounts.models import (
    MachineSecret,
    PersonalAccessToken,
    RefreshToken,
    ServicePrincipal,
    ServicePrincipalSecret,
    User,
)


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: the only moment its plain text exists."""

    record: PersonalAccessToken
    token: str


@transaction.atomic
def personal_access_token_create(
    *, user: User, name: str, lifetime: timedelta | None = None
) -> IssuedToken:
    record, token = _issue(PersonalAccessToken, lifetime, user=user, name=name)
    return IssuedToken(record=record, token=token)


def personal_access_token_revoke(*, token: PersonalAccessToken) -> None:
    machine_secret_revoke(record=token)


def personal_access_token_authenticate(presented: str) -> PersonalAccessToken | None:
    """The active token a caller presented, if its user may sign in; the use is recorded."""
    token = PersonalAccessToken.find(presented)
    if token is None or not token.user.is_active:
        return None
    machine_secret_touch(record=token)
    return token


def service_principal_authenticate(client_id: str, secret: str) -> ServicePrincipalSecret | None:
    """The active secret of an enabled service principal; the use is recorded."""
    found = ServicePrincipalSecret.find(client_id, secret)
    if found is not None:
        machine_secret_touch(record=found)
    return found


@dataclass(frozen=True)
class IssuedSecret:
    """A freshly created service principal secret: the only moment its plain text exists."""

    record: ServicePrincipalSecret
    secret: str


@transaction.atomic
def service_principal_secret_create(
    *, service_principal: ServicePrincipal, description: str = "", lifetime: timedelta | None = None
) -> IssuedSecret:
    record, secret = _issue(
        ServicePrincipalSecret,
        lifetime,
        service_principal=service_principal,
        description=description,
    )
    return IssuedSecret(record=record, secret=secret)


@dataclass(frozen=True)
class IssuedRefreshToken:
    """A freshly minted refresh token: the only moment its plain text exists."""

    record: RefreshToken
    token: str


def refresh_token_create(
    *,
    parent: PersonalAccessToken | ServicePrincipalSecret | RefreshToken,
    service: str,
    lifetime: timedelta | None = None,
) -> IssuedRefreshToken:
    """A refresh token for ``service`` on behalf of whoever holds ``parent``.

    ``parent`` is the credential the caller signed in with. A refresh token minted from
    another refresh token inherits that one's parent and expiry, so refreshing never extends
    what the original credential allowed. The lifetime (``TOKEN_REFRESH_LIFETIME`` unless
    given) is cut to what is left of the parent's.
    """
    fields: dict[str, object] = {"service": service}
    if isinstance(parent, RefreshToken):
        fields |= {
            "user": parent.user,
            "service_principal": parent.service_principal,
            "personal_access_token": parent.personal_access_token,
            "service_principal_secret": parent.service_principal_secret,
        }
    elif isinstance(parent, PersonalAccessToken):
        fields |= {"user": parent.user, "personal_access_token": parent}
    else:
        fields |= {
            "service_principal": parent.service_principal,
            "service_principal_secret": parent,
        }
    wanted = lifetime or timedelta(seconds=settings.TOKEN_REFRESH_LIFETIME)
    record, token = _issue(RefreshToken, wanted, not_after=parent.expires_at, **fields)
    return IssuedRefreshToken(record=record, token=token)


def refresh_token_authenticate(presented: str) -> RefreshToken | None:
    """The usable refresh token a caller presented (parent and principal still valid)."""
    found = RefreshToken.find(presented)
    if found is not None:
        machine_secret_touch(record=found)
    return found


M = TypeVar("M", bound=MachineSecret)


def _issue(
    model: type[M],
    lifetime: timedelta | None,
    *,
    not_after: datetime | None = None,
    **fields: object,
) -> tuple[M, str]:
    """A new secret of ``model``: the row (digest, hint, expiry) and the plain text, once.

    ``not_after`` caps the expiry (a secret that must not outlive another).
    """
    secret = secrets.generate(model.PREFIX)
    expires_at = timezone.now() + (lifetime or model.DEFAULT_LIFETIME)
    record = model.objects.create(
        **fields,
        digest=secrets.digest(secret),
        hint=secret[len(model.PREFIX) :][:6],
        expires_at=min(expires_at, not_after) if not_after else expires_at,
    )
    return record, secret


def machine_secret_create(
    model: type[M], *, lifetime: timedelta | None = None, **fields: object
) -> tuple[M, str]:
    """A new secret of any ``MachineSecret`` model (other apps have theirs): row and plain text."""
    return _issue(model, lifetime, **fields)


def machine_secret_revoke(*, record: MachineSecret) -> None:
    if record.revoked_at is None:
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])


def machine_secret_touch(*, record: MachineSecret) -> None:
    """Record use, at most once a minute, so busy callers don't write on every request."""
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        type(record).objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
