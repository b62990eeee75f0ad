"""Writes to identity objects: service principals, their secrets, personal access tokens.

Each write checks its input, changes the rows and adds its audit event in one transaction.
``actor`` is whoever asked (a user, a service principal calling the API, or None for the system);
who may ask is decided before, by ``registry.views.identity_access``. Plain-text secrets exist
only in the ``IssuedSecret`` / ``IssuedToken`` a create returns: the caller shows them once.

The audit log belongs to the registry app, which ``accounts`` does not import: each write
announces itself with ``identity_changed`` (in its transaction), and the registry app records
it in the same log (``registry.identity_audit``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import django.dispatch
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import changes, secrets
from accounts.models import (
    MachineSecret,
    PersonalAccessToken,
    RefreshToken,
    ServicePrincipal,
    ServicePrincipalSecret,
    User,
)

# Service principals live at the portal level, outside any registry: their audit events sit
# at the root scope, as role definitions do.
AUDIT_SCOPE = "/"

SERVICE_PRINCIPAL_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$")
SERVICE_PRINCIPAL_NAME_MESSAGE = (
    "Use 1 to 64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit "
    "(for example ci-deployer)."
)


# Sent inside the transaction of every write here: ``actor``, ``action``
# (``servicePrincipal.create`` …), ``scope`` and ``details``. The registry app writes it to the
# audit log.
identity_changed = django.dispatch.Signal()


def _audit(*, actor: Any, action: str, **details: Any) -> None:
    changes.forget_on_commit(changes.CREDENTIALS)
    identity_changed.send(
        sender=None, actor=actor, action=action, scope=AUDIT_SCOPE, details=details
    )


def _sp_details(service_principal: ServicePrincipal) -> dict[str, Any]:
    return {
        "service_principal": service_principal.name,
        "client_id": str(service_principal.client_id),
    }


# Service principals ------------------------------------------------------------------------


def _clean_service_principal_name(name: str, *, exclude: ServicePrincipal | None = None) -> str:
    name = name.strip()
    if not SERVICE_PRINCIPAL_NAME_RE.fullmatch(name):
        raise ValidationError({"name": SERVICE_PRINCIPAL_NAME_MESSAGE})
    others = ServicePrincipal.objects.filter(name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    existing = others.first()
    if existing is not None:
        raise ValidationError(
            {"name": f"A service principal named {existing.name!r} already exists."},
            code="duplicate",
        )
    return name


def _clean_description(description: str) -> str:
    description = description.strip()
    if len(description) > 2000:
        raise ValidationError({"description": "Keep the description under 2000 characters."})
    return description


@transaction.atomic
def service_principal_create(
    *, actor: Any, name: str, description: str = "", enabled: bool = True
) -> ServicePrincipal:
    """A new service principal owned by ``actor`` when a user creates it (no owner when a
    service principal or the system does: only administrators manage it then)."""
    service_principal = ServicePrincipal.objects.create(
        name=_clean_service_principal_name(name),
        description=_clean_description(description),
        enabled=enabled,
        owner=actor if isinstance(actor, User) else None,
    )
    _audit(
        actor=actor,
        action="servicePrincipal.create",
        owner=service_principal.owner.get_username() if service_principal.owner else None,
        enabled=enabled,
        **_sp_details(service_principal),
    )
    return service_principal


@transaction.atomic
def service_principal_update(
    *,
    actor: Any,
    service_principal: ServicePrincipal,
    name: str | None = None,
    description: str | None = None,
) -> ServicePrincipal:
    """Rename it or change its description; an event lists what changed (nothing: no event)."""
    changes: dict[str, dict[str, str]] = {}
    if name is not None:
        name = _clean_service_principal_name(name, exclude=service_principal)
        if name != service_principal.name:
            changes["name"] = {"from": service_principal.name, "to": name}
            service_principal.name = name
    if description is not None:
        description = _clean_description(description)
        if description != service_principal.description:
            changes["description"] = {"from": service_principal.description, "to": description}
            service_principal.description = description
    if changes:
        service_principal.save(update_fields=list(changes))
        _audit(
            actor=actor,
            action="servicePrincipal.update",
            changes=changes,
            **_sp_details(service_principal),
        )
    return service_principal


@transaction.atomic
def service_principal_set_enabled(
    *, actor: Any, service_principal: ServicePrincipal, enabled: bool
) -> ServicePrincipal:
    """Enable or disable it: a disabled principal cannot sign in and its roles grant nothing."""
    if service_principal.enabled != enabled:
        service_principal.enabled = enabled
        service_principal.save(update_fields=["enabled"])
        _audit(
            actor=actor,
            action="servicePrincipal.enable" if enabled else "servicePrincipal.disable",
            **_sp_details(service_principal),
        )
    return service_principal


@transaction.atomic
def service_principal_delete(*, actor: Any, service_principal: ServicePrincipal) -> None:
    """Delete it with its secrets and role assignments."""
    details = _sp_details(service_principal)
    details["role_assignments"] = service_principal.role_assignments.count()
    service_principal.delete()
    _audit(actor=actor, action="servicePrincipal.delete", **details)


@dataclass(frozen=True)
class IssuedSecret:
    """A freshly created service principal secret: the only moment its plain text exists."""

    record: ServicePrincipalSecret
    secret: str


@transaction.atomic
def service_principal_secret_create(
    *,
    service_principal: ServicePrincipal,
    description: str = "",
    lifetime: timedelta | None = None,
    actor: Any = None,
) -> IssuedSecret:
    """A new secret (a year unless ``lifetime`` says otherwise, at most two years)."""
    description = description.strip()
    if len(description) > 100:
        raise ValidationError({"description": "Keep the description under 100 characters."})
    record, secret = _issue(
        ServicePrincipalSecret,
        lifetime,
        service_principal=service_principal,
        description=description,
    )
    _audit(
        actor=actor,
        action="servicePrincipal.secret.create",
        secret=record.pk,
        hint=record.hint,
        description=description,
        expires_at=record.expires_at.isoformat(),
        **_sp_details(service_principal),
    )
    return IssuedSecret(record=record, secret=secret)


@transaction.atomic
def service_principal_secret_revoke(*, actor: Any, secret: ServicePrincipalSecret) -> None:
    """Revoke it at once (revoking twice changes nothing and records nothing)."""
    if machine_secret_revoke(record=secret):
        _audit(
            actor=actor,
            action="servicePrincipal.secret.revoke",
            secret=secret.pk,
            hint=secret.hint,
            **_sp_details(secret.service_principal),
        )


def service_principal_authenticate(client_id: str, secret: str) -> ServicePrincipalSecret | None:
    """The active secret of an enabled service principal; the use is recorded."""
    found = ServicePrincipalSecret.find(client_id, secret)
    if found is not None:
        machine_secret_touch(record=found)
    return found


# Refresh tokens ------------------------------------------------------------------------------


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


# Personal access tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: the only moment its plain text exists."""

    record: PersonalAccessToken
    token: str


# The default actor of a token write: the token's own user.
THE_USER: Any = object()


@transaction.atomic
def personal_access_token_create(
    *, user: User, name: str, lifetime: timedelta | None = None, actor: Any = THE_USER
) -> IssuedToken:
    """A new token of ``user`` (90 days unless ``lifetime`` says otherwise, at most a year).

    ``actor`` is who asked when it is not the user (None: the system, e.g. ``issue_token``).
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, to recognise it later."})
    if len(name) > 100:
        raise ValidationError({"name": "Keep the name under 100 characters."})
    record, token = _issue(PersonalAccessToken, lifetime, user=user, name=name)
    _audit(
        actor=user if actor is THE_USER else actor,
        action="token.create",
        user=user.get_username(),
        token=record.pk,
        name=name,
        hint=record.hint,
        expires_at=record.expires_at.isoformat(),
    )
    return IssuedToken(record=record, token=token)


@transaction.atomic
def personal_access_token_revoke(*, token: PersonalAccessToken, actor: Any = THE_USER) -> None:
    """Revoke it at once (revoking twice changes nothing and records nothing)."""
    if machine_secret_revoke(record=token):
        _audit(
            actor=token.user if actor is THE_USER else actor,
            action="token.revoke",
            user=token.user.get_username(),
            token=token.pk,
            name=token.name,
            hint=token.hint,
        )


def personal_access_token_authenticate(presented: str) -> PersonalAccessToken | None:
    """The active token a caller presented, if its user may sign in; the use is recorded."""
    token = PersonalAccessToken.find(presented)
    if token is None or not token.user.is_active:
        return None
    machine_secret_touch(record=token)
    return token


# Machine secrets -----------------------------------------------------------------------------

M = TypeVar("M", bound=MachineSecret)


def _check_lifetime(model: type[MachineSecret], lifetime: timedelta) -> None:
    """Refuse a lifetime that is not in the future or longer than ``model.MAX_LIFETIME``."""
    if lifetime <= timedelta(0):
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    # A minute of slack: a date picked as "a year from today" is a few seconds over by now.
    if lifetime > model.MAX_LIFETIME + timedelta(minutes=1):
        days = model.MAX_LIFETIME.days
        raise ValidationError({"expires_at": f"The expiry can be at most {days} days away."})


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
    lifetime = lifetime if lifetime is not None else model.DEFAULT_LIFETIME
    _check_lifetime(model, lifetime)
    secret = secrets.generate(model.PREFIX)
    expires_at = timezone.now() + lifetime
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


def machine_secret_revoke(*, record: MachineSecret) -> bool:
    """Revoke ``record``; whether it was still unrevoked."""
    if record.revoked_at is not None:
        return False
    record.revoked_at = timezone.now()
    record.save(update_fields=["revoked_at"])
    return True


def machine_secret_touch(*, record: MachineSecret) -> None:
    """Record use, at most once a minute, so busy callers don't write on every request."""
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        type(record).objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
        # or this process would read the old time a while yet
        changes.forget_on_commit(changes.CREDENTIALS)
