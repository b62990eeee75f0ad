"""``/oauth2/exchange`` with ``grant_type=access_token``: an Entra ID access token in, a portal
refresh token out (what ``az acr login`` does with ACR).

The caller posts ``service`` (which registry), ``tenant`` and ``access_token``: an Entra v2
access token for the portal's API (``aud``: the app registration's client id or
``api://{client id}``). The token is checked against the tenant's signing keys, issuer,
audience and expiry (``accounts.entra.tokens``); the person is mapped to a portal user exactly
as at a browser sign-in, created on first use, and their Entra groups are refreshed from the
token's ``groups`` claim, or from Microsoft Graph (on-behalf-of) when the token lists none.
The answer is ``{"refresh_token": …}``, for ``docker login`` with the user name
``00000000-0000-0000-0000-000000000000``.

Nothing is written before every check has passed: a refused token creates no user.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from accounts.entra import graph
from accounts.entra.config import entra_config
from accounts.entra.directory import SignInRefused, entra_user_sign_in
from accounts.entra.tokens import EntraTokenError, EntraUnavailable, check_access_token
from accounts.models import RefreshToken, User
from accounts.services import machine_secret_create
from registry.models import Registry


class Refused(Exception):
    """The exchange is refused: HTTP status, error code and a message for the caller.

    ``is_failed_sign_in``: whether it counts as a failed sign-in (rate limits, audit); a bad
    token does, a missing parameter or an unreachable Entra ID does not.
    """

    def __init__(self, status: int, code: str, message: str, is_failed_sign_in: bool = True):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.is_failed_sign_in = is_failed_sign_in


def _groups(
    identity_groups: tuple[str, ...] | None, access_token: str
) -> list[graph.DirectoryGroup]:
    if identity_groups is not None:
        return [graph.DirectoryGroup(object_id) for object_id in identity_groups]
    graph_token = graph.graph_token_on_behalf_of(access_token)
    return graph.transitive_groups(graph_token)


def exchange_access_token(
    *, registry: Registry, tenant: str, access_token: str
) -> tuple[User, str]:
    """(the user, a new refresh token for ``registry``) for an Entra access token; Refused
    says why not."""
    config = entra_config()
    if not config.is_configured:
        raise Refused(
            400,
            "UNSUPPORTED_GRANT_TYPE",
            "This portal does not accept Entra ID access tokens: single sign-on is not "
            "configured. Exchange a personal access token with grant_type=password instead.",
            is_failed_sign_in=False,
        )
    if not tenant:
        raise Refused(400, "INVALID_REQUEST", "tenant is required (the Entra tenant id).", False)
    if not access_token:
        raise Refused(400, "INVALID_REQUEST", "access_token is required.", False)
    if not config.is_multi_tenant and tenant.lower() != config.tenant_id.lower():
        raise Refused(401, "WRONG_TENANT", f"This portal trusts another tenant than {tenant[:64]}.")
    try:
        identity, _ = check_access_token(access_token)
        if identity.tenant_id != tenant.lower():
            raise EntraTokenError("The Entra token was issued by another tenant than tenant names.")
        groups = _groups(identity.groups, access_token)
    except EntraTokenError as exc:
        raise Refused(401, "INVALID_TOKEN", str(exc)) from None
    except EntraUnavailable as exc:
        raise Refused(503, "DIRECTORY_UNAVAILABLE", f"{exc} Try again later.", False) from None
    try:
        user = entra_user_sign_in(identity=identity, groups=groups, via="token exchange").user
    except SignInRefused as exc:
        raise Refused(403, "DENIED", str(exc)) from None
    if not user.is_active:
        raise Refused(401, "UNAUTHORIZED", "This account is disabled in the portal.")
    _, token = machine_secret_create(
        RefreshToken,
        lifetime=timedelta(seconds=settings.TOKEN_REFRESH_LIFETIME),
        user=user,
        service=registry.service,
    )
    return user, token
