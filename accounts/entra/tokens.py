"""Checking Entra ID v2 tokens: ID tokens at sign-in, access tokens at ``/oauth2/exchange``.

A token is accepted when it is an RS256 JWT signed by one of the tenant's keys
(``{ENTRA_LOGIN_URL}/{tenant}/discovery/v2.0/keys``), issued by ``{ENTRA_LOGIN_URL}/{tid}/v2.0``
for a tenant the portal trusts, meant for the portal (``aud``: the client id, or
``api://{client id}`` for an access token) and unexpired. The keys are cached (PyJWT's
``PyJWKClient``, one per key URL) and fetched again when a token names a key the cache does
not hold, which is how Entra's key rotation reaches the portal.

Every refusal is an ``EntraTokenError`` whose message says what is wrong, for the caller to
read; keys that cannot be fetched are ``EntraUnavailable``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient

from accounts.entra.config import EntraConfig, entra_config

# How long fetched signing keys are trusted before they are fetched again, and how soon after
# a fetch a token naming an unknown key may cause another (so made-up key ids cannot turn
# every request into a fetch).
JWKS_LIFESPAN = 3600.0
JWKS_REFETCH_COOLDOWN = 30.0
# Seconds of clock difference tolerated on exp, nbf and iat.
LEEWAY = 60
OBJECT_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EntraTokenError(Exception):
    """A token the portal does not accept; the message tells the caller why."""


class EntraUnavailable(Exception):
    """Entra ID (its signing keys, its token endpoint or Graph) could not be reached."""


@dataclass(frozen=True)
class EntraIdentity:
    """Who a checked token names."""

    tenant_id: str
    object_id: str
    username: str  # preferred_username (or upn): alice@contoso.com
    email: str
    name: str
    # Group object ids from the ``groups`` claim; None when the token carries none, or too
    # many to list (Entra then points at Graph instead), so Graph must be asked.
    groups: tuple[str, ...] | None = None


_clients: dict[str, PyJWKClient] = {}
_clients_lock = threading.Lock()


def _key_client(config: EntraConfig) -> PyJWKClient:
    url = config.jwks_url
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = PyJWKClient(
                url,
                cache_jwk_set=True,
                lifespan=JWKS_LIFESPAN,
                timeout=config.timeout,
                cooldown_duration=JWKS_REFETCH_COOLDOWN,
            )
            _clients[url] = client
        return client


def forget_signing_keys() -> None:
    """Drop every cached key set (tests; a deployment never needs to)."""
    with _clients_lock:
        _clients.clear()


def _describe(error: jwt.PyJWTError) -> str:
    if isinstance(error, jwt.ExpiredSignatureError):
        return "The Entra token has expired; get a new one (az account get-access-token)."
    if isinstance(error, jwt.ImmatureSignatureError):
        return "The Entra token is not valid yet."
    if isinstance(error, jwt.InvalidAudienceError):
        return "The Entra token is meant for another application (its aud is not this portal's)."
    if isinstance(error, jwt.InvalidIssuerError):
        return "The Entra token was issued by an authority this portal does not trust."
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"The Entra token lacks the {error.claim} claim."
    if isinstance(error, jwt.InvalidSignatureError):
        return "The Entra token's signature does not verify."
    return "The Entra token is malformed."


def check_token(
    token: str, *, audiences: list[str], access_token: bool, config: EntraConfig | None = None
) -> dict[str, Any]:
    """The claims of ``token`` once every check passes; EntraTokenError otherwise."""
    config = config or entra_config()
    if not config.is_configured:
        raise EntraTokenError(f"Single sign-on with Entra ID is not configured: {config.problem}")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise EntraTokenError("The Entra token is not a JWT.") from None
    if header.get("alg") != "RS256":
        raise EntraTokenError("The Entra token is not signed with RS256.")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise EntraTokenError("The Entra token names no signing key (kid).")
    if unverified.get("ver") == "1.0":
        raise EntraTokenError(
            "The Entra token is a v1.0 token; set accessTokenAcceptedVersion to 2 in the app "
            "registration's manifest (docs/sso.md)."
        )
    tenant_id = unverified.get("tid")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise EntraTokenError("The Entra token lacks the tid claim.")
    if not config.accepts_tenant(tenant_id):
        raise EntraTokenError(
            f"The Entra token was issued by tenant {tenant_id[:64]}, not by this portal's tenant."
        )
    try:
        key = _key_client(config).get_signing_key(header["kid"])
    except jwt.PyJWKClientConnectionError as exc:
        raise EntraUnavailable(f"Entra ID's signing keys could not be fetched: {exc}") from None
    except jwt.PyJWKClientError:
        raise EntraTokenError(
            "The Entra token is signed with a key the tenant does not publish."
        ) from None
    required = ["exp", "iat", "nbf", "iss", "aud", "tid", "oid", "sub"]
    if access_token:
        required.append("scp")  # a person's delegated token; app-only tokens carry roles
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=audiences,
            issuer=config.issuer(tenant_id),
            leeway=LEEWAY,
            options={"require": required},
        )
    except jwt.PyJWTError as exc:
        raise EntraTokenError(_describe(exc)) from None
    return claims


def identity_from_claims(claims: dict[str, Any]) -> EntraIdentity:
    """The person a checked token names; EntraTokenError when it does not name one."""
    object_id = str(claims.get("oid", "")).lower()
    if not OBJECT_ID_RE.fullmatch(object_id):
        raise EntraTokenError("The Entra token's oid claim is not an object id.")
    username = str(claims.get("preferred_username") or claims.get("upn") or "").strip()
    if not username:
        raise EntraTokenError("The Entra token lacks the preferred_username claim.")
    groups: tuple[str, ...] | None = None
    names = claims.get("_claim_names")
    overage = isinstance(names, dict) and "groups" in names
    if isinstance(claims.get("groups"), list) and not overage:
        groups = tuple(
            str(g).lower() for g in claims["groups"] if OBJECT_ID_RE.fullmatch(str(g).lower())
        )
    return EntraIdentity(
        tenant_id=str(claims["tid"]).lower(),
        object_id=object_id,
        username=username,
        email=str(claims.get("email") or "").strip(),
        name=str(claims.get("name") or "").strip(),
        groups=groups,
    )


def check_access_token(token: str) -> tuple[EntraIdentity, dict[str, Any]]:
    """An Entra access token for the portal's API (``/oauth2/exchange``)."""
    config = entra_config()
    claims = check_token(token, audiences=config.audiences, access_token=True, config=config)
    return identity_from_claims(claims), claims


def check_id_token(token: str) -> EntraIdentity:
    """The ID token that came with a sign-in (its audience is the client id)."""
    config = entra_config()
    claims = check_token(token, audiences=[config.client_id], access_token=False, config=config)
    return identity_from_claims(claims)
