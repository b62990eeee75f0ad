"""The Entra ID configuration: which tenant and app registration the portal trusts.

Read from settings on each call (tests and deployments change them); see docs/sso.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

# Tenant names that are not one tenant: any organization (or any Microsoft account) signs in.
MULTI_TENANT_NAMES = frozenset({"common", "organizations", "consumers"})
TENANT_ID_RE = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class EntraConfig:
    tenant_id: str
    client_id: str
    client_secret: str
    login_url: str
    graph_url: str
    allow_multi_tenant: bool
    timeout: float

    @property
    def is_multi_tenant(self) -> bool:
        return self.tenant_id.lower() in MULTI_TENANT_NAMES

    @property
    def problem(self) -> str:
        """Why single sign-on cannot be used as configured; empty when it can."""
        if not (self.tenant_id and self.client_id and self.client_secret):
            return "ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET are not all set."
        if self.is_multi_tenant:
            if self.allow_multi_tenant:
                return ""
            return (
                f"ENTRA_TENANT_ID is {self.tenant_id!r}, which lets any organization's people "
                "sign in; set it to your tenant's id, or set ENTRA_ALLOW_MULTI_TENANT=1 if that "
                "is really meant."
            )
        if not TENANT_ID_RE.fullmatch(self.tenant_id):
            return (
                f"ENTRA_TENANT_ID is {self.tenant_id!r}: it must be the directory (tenant) id, "
                "a GUID such as 8eaef023-2b34-4da1-9baa-8bc8c9d6a490, not a domain name "
                "(tokens name their tenant by id)."
            )
        return ""

    @property
    def is_configured(self) -> bool:
        return not self.problem

    def accepts_tenant(self, tenant_id: str) -> bool:
        """Whether people of ``tenant_id`` (a token's ``tid``) may sign in."""
        if not tenant_id or not self.is_configured:
            return False
        return self.is_multi_tenant or tenant_id.lower() == self.tenant_id.lower()

    def issuer(self, tenant_id: str) -> str:
        """The ``iss`` of v2 tokens issued by ``tenant_id``."""
        return f"{self.login_url}/{tenant_id}/v2.0"

    @property
    def jwks_url(self) -> str:
        return f"{self.login_url}/{self.tenant_id}/discovery/v2.0/keys"

    @property
    def token_url(self) -> str:
        return f"{self.login_url}/{self.tenant_id}/oauth2/v2.0/token"

    @property
    def audiences(self) -> list[str]:
        """An access token for the portal's API names it by client id or application id URI."""
        return [self.client_id, f"api://{self.client_id}"]


def entra_config() -> EntraConfig:
    return EntraConfig(
        tenant_id=settings.ENTRA_TENANT_ID,
        client_id=settings.ENTRA_CLIENT_ID,
        client_secret=settings.ENTRA_CLIENT_SECRET,
        login_url=settings.ENTRA_LOGIN_URL.rstrip("/"),
        graph_url=settings.ENTRA_GRAPH_URL.rstrip("/"),
        allow_multi_tenant=settings.ENTRA_ALLOW_MULTI_TENANT,
        timeout=settings.ENTRA_TIMEOUT,
    )


def is_configured() -> bool:
    return entra_config().is_configured
