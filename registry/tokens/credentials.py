"""Who is signing in at the token server, from a user name and password.

The password's prefix says what kind of secret it is, so each check is one indexed lookup:

- ``pcl_rt_…`` with user name ``00000000-0000-0000-0000-000000000000``: a refresh token (how
  ``docker login`` signs in with one), valid only at the registry it was minted for;
- ``pcl_adm_…`` with the registry's name: the registry's admin user, at its own registry only;
- a client id (a UUID) and a ``pcl_sps_…`` secret: a service principal;
- a user name and a ``pcl_pat_…`` token: that user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from accounts.models import (
    PersonalAccessToken,
    RefreshToken,
    ServicePrincipal,
    ServicePrincipalSecret,
    User,
)
from accounts.services import (
    machine_secret_touch,
    personal_access_token_authenticate,
    refresh_token_authenticate,
    service_principal_authenticate,
)
from accounts.throttle import NULL_ACCOUNT
from registry.models import Registry, RegistryAdminPassword


@dataclass(frozen=True)
class AdminUser:
    """The admin user of ``registry`` (a principal the permissions engine does not know)."""

    registry: Registry


Principal = User | ServicePrincipal | AdminUser
# What a refresh token can be minted from (the admin user gets none).
Credential = PersonalAccessToken | ServicePrincipalSecret | RefreshToken


@dataclass(frozen=True)
class Caller:
    principal: Principal
    credential: Credential | None

    @property
    def subject(self) -> str:
        """The token's ``sub``: a user name, a client id, or the registry name (admin user)."""
        if isinstance(self.principal, ServicePrincipal):
            return str(self.principal.client_id)
        if isinstance(self.principal, AdminUser):
            return self.principal.registry.name
        return self.principal.get_username()


def authenticate(registry: Registry, username: str, password: str) -> Caller | None:
    """The caller these credentials name at ``registry``, or None."""
    if password.startswith(RefreshToken.PREFIX):
        if username != NULL_ACCOUNT:
            return None
        return refresh_token_caller(registry, password)
    if password.startswith(RegistryAdminPassword.PREFIX):
        if username.lower() != registry.name.lower():
            return None
        found = RegistryAdminPassword.find(registry, password)
        if found is None:
            return None
        machine_secret_touch(record=found)
        return Caller(AdminUser(registry), None)
    try:
        uuid.UUID(username)
    except ValueError:
        token = personal_access_token_authenticate(password)
        if token is None or token.user.get_username() != username:
            return None
        return Caller(token.user, token)
    secret = service_principal_authenticate(username, password)
    return None if secret is None else Caller(secret.service_principal, secret)


def refresh_token_caller(registry: Registry, presented: str) -> Caller | None:
    """The holder of a usable refresh token minted for ``registry``'s service, or None."""
    found = refresh_token_authenticate(presented)
    if found is None or found.service != registry.service:
        return None
    return Caller(found.principal, found)
