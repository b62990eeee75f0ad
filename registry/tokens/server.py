"""The registry's token server (Docker token spec): who may push and pull, and refresh tokens.

``/oauth2/token``: a registry configured by the portal sends clients here with ``service``
(which registry) and ``scope`` (``repository:team-a/app:pull,push``). Callers sign in with HTTP
Basic (GET) or a form (POST ``grant_type=password``), or present a refresh token (POST
``grant_type=refresh_token``); ``registry.tokens.credentials`` says which secrets work. Each
requested action is granted when the permissions engine allows it and the repository's locks do
not forbid it; asking for more than is allowed is not an error, the token just carries less.
``docker login`` asks with no scope at all, and with ``offline_token=true`` (GET) or
``access_type=offline`` (POST) it also gets a refresh token.

``/oauth2/exchange`` (ACR's): a credential in, a refresh token out: ``grant_type=password``
with a user name and personal access token (or a client id and secret), or
``grant_type=access_token`` with an Entra ID access token (``registry.tokens.entra``).

Failed sign-ins are audited and rate-limited per client address and per account
(``accounts.throttle``). Bad input is a 400 or 401 with a JSON body, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, JsonResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts import throttle
from accounts.models import RefreshToken
from accounts.services import refresh_token_create
from registry import audit
from registry.models import Registry, Repository
from registry.permissions import engine
from registry.permissions.actions import (
    CONTENT_DELETE,
    CONTENT_READ,
    CONTENT_WRITE,
    METADATA_READ,
)
from registry.permissions.docker import TokenScope, parse_token_scope
from registry.tokens import entra
from registry.tokens.chunked import accepts_chunked_body
from registry.tokens.credentials import AdminUser, Caller, Principal, authenticate
from registry.tokens.issue import DEFAULT_LIFETIME, sign_registry_token
from registry.tokens.signing import signing_key
from registry.validation import REPOSITORY_NAME_MAX_LENGTH, REPOSITORY_NAME_RE

__all__ = ["exchange", "grant", "signing_key", "token"]

# Docker actions each repository lock takes away, whatever the caller's roles.
LOCKS = {"write_enabled": "push", "delete_enabled": "delete", "read_enabled": "pull"}
# What an enabled admin user may do in its own registry (ACR: pull, push, delete, catalog).
ADMIN_USER_ACTIONS = frozenset({CONTENT_READ, CONTENT_WRITE, CONTENT_DELETE, METADATA_READ})

# Bounds on what a caller sends; anything larger is refused before any lookup.
MAX_PARAMETER_LENGTH = 8192
# An Entra access token listing many groups is longer than any other parameter.
MAX_ACCESS_TOKEN_LENGTH = 32768
MAX_USERNAME_LENGTH = 256
MAX_SCOPE_LENGTH = 1024
MAX_SCOPES = 64


class BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"code": code, "message": message}]}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="portcullis"'
    return response


UNAUTHORIZED = (
    "Sign in with a client id and secret, a user name and personal access token, or "
    "00000000-0000-0000-0000-000000000000 and a refresh token."
)


# Parsing --------------------------------------------------------------------------------------


def _check_sizes(data: QueryDict) -> None:
    for name, values in data.lists():
        if len(name) > MAX_USERNAME_LENGTH:
            raise BadRequest("PARAMETER_TOO_LARGE", "A parameter name is too long.")
        longest = MAX_ACCESS_TOKEN_LENGTH if name == "access_token" else MAX_PARAMETER_LENGTH
        for value in values:
            if len(value) > longest:
                raise BadRequest(
                    "PARAMETER_TOO_LARGE",
                    f"{name} is longer than {longest} characters.",
                )
    if len(data.get("username", "")) > MAX_USERNAME_LENGTH:
        raise BadRequest("PARAMETER_TOO_LARGE", "username is too long.")


# Decisions (and registries by service name) are remembered this many seconds per process, so
# a client asking again and again (a pull of many layers, a CI fleet) costs no queries; a
# revoked secret or a removed assignment takes at most this long to show in new tokens.
DECISIONS_CACHE = "token-decisions"


def _remember_seconds() -> int:
    return settings.TOKEN_DECISION_CACHE_SECONDS


def _registry(data: QueryDict) -> Registry:
    service = data.get("service", "")
    registry = _lookup_registry(service) if service else None
    if registry is None:
        shown = service if len(service) <= 100 else service[:100] + "…"
        raise BadRequest("UNKNOWN_SERVICE", f"No registry uses the service name {shown!r}.")
    return registry


def _lookup_registry(service: str) -> Registry | None:
    seconds = _remember_seconds()
    key = "service:" + hashlib.sha256(service.encode()).hexdigest()
    registry = caches[DECISIONS_CACHE].get(key) if seconds else None
    if registry is None:
        registry = Registry.objects.filter(service=service).first()
        if registry is not None and seconds:
            caches[DECISIONS_CACHE].set(key, registry, seconds)
    return registry


def _decision_key(registry: Registry, credentials: tuple[str, str, str], scopes: list) -> str:
    """A digest of who asked for what, where: the plain secret never becomes a cache key."""
    parts = [str(registry.pk), *credentials, *sorted(str(scope) for scope in scopes)]
    return "decision:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _scopes(data: QueryDict) -> list[TokenScope]:
    """Every requested scope; ``scope`` may repeat and each may hold several, space-separated."""
    texts = [text for value in data.getlist("scope") for text in value.split()]
    if len(texts) > MAX_SCOPES:
        raise BadRequest("INVALID_SCOPE", f"At most {MAX_SCOPES} scopes may be asked at once.")
    scopes = []
    for text in texts:
        if len(text) > MAX_SCOPE_LENGTH:
            raise BadRequest("INVALID_SCOPE", f"A scope is longer than {MAX_SCOPE_LENGTH}.")
        try:
            scopes.append(parse_token_scope(text))
        except ValueError as exc:
            raise BadRequest("INVALID_SCOPE", str(exc)) from None
    return scopes


def _basic(request: HttpRequest) -> tuple[str, str] | None:
    """The Basic credentials of a GET; None without any, ("", "") for a garbled header."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > MAX_PARAMETER_LENGTH:
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    username, colon, password = decoded.partition(":")
    if not colon:
        return "", ""
    if len(username) > MAX_USERNAME_LENGTH:
        raise BadRequest("PARAMETER_TOO_LARGE", "The user name is too long.")
    return username, password


# Granting -------------------------------------------------------------------------------------


def _allowed(principal: Principal, registry: Registry, target: str) -> frozenset[str]:
    if isinstance(principal, AdminUser):
        return ADMIN_USER_ACTIONS if principal.registry.pk == registry.pk else frozenset()
    return engine.effective_actions(principal, target)


def grant(principal: Principal, registry: Registry, scope: TokenScope) -> list[str]:
    """The docker actions of ``scope`` that ``principal`` gets on ``registry``."""
    needs = scope.needs()
    if not needs:
        return []
    if scope.resource_type == "registry":
        target = registry.scope
    else:
        name = scope.name
        if len(name) > REPOSITORY_NAME_MAX_LENGTH or not REPOSITORY_NAME_RE.fullmatch(name):
            return []
        target = f"{registry.scope}/repositories/{name}"
    allowed = _allowed(principal, registry, target)
    granted = [action for action, need in needs.items() if need in allowed]
    if scope.resource_type == "repository":
        repository = Repository.objects.filter(registry=registry, name=scope.name).first()
        if repository is not None:
            locked = {a for lock, a in LOCKS.items() if not getattr(repository, lock)}
            granted = [action for action in granted if action not in locked]
    return granted


# Signing in, with limits ----------------------------------------------------------------------


def _sign_in(
    request: HttpRequest,
    registry: Registry,
    account: str,
    check: Callable[[], Caller | None],
    *,
    endpoint: str,
    grant_type: str,
) -> Caller | JsonResponse:
    """Run ``check`` unless too many sign-ins failed lately; count and audit a failure."""
    address = throttle.client_address(request)[:100]
    counters = throttle.counters(address, account)
    wait = throttle.retry_after(counters)
    if wait:
        response = _error(
            429,
            "TOO_MANY_REQUESTS",
            f"Too many failed sign-ins from this address or for this account; "
            f"try again in {wait} seconds.",
        )
        response["Retry-After"] = str(wait)
        return response
    caller = check()
    if caller is None:
        throttle.record_failure(counters)
        audit.record(
            actor=None,
            actor_name="anonymous",
            action="token.signIn.failed",
            scope=registry.scope,
            account=account,
            client_address=address,
            endpoint=endpoint,
            grant_type=grant_type,
        )
        return _error(401, "UNAUTHORIZED", UNAUTHORIZED)
    return caller


def _credentials(request: HttpRequest, data: QueryDict) -> tuple[str, str, str] | None:
    """(grant type, account, secret) of a token request; None when it presents none."""
    if request.method == "GET":
        basic = _basic(request)
        return None if basic is None else ("password", *basic)
    grant_type = data.get("grant_type", "")
    if grant_type == "refresh_token":
        return grant_type, throttle.NULL_ACCOUNT, data.get("refresh_token", "")
    if grant_type == "password":
        return grant_type, data.get("username", ""), data.get("password", "")
    raise BadRequest(
        "UNSUPPORTED_GRANT_TYPE",
        f"grant_type {grant_type[:50]!r} is not supported here; use password or refresh_token.",
    )


def _refresh_token(caller: Caller, registry: Registry) -> str | None:
    if caller.credential is None:
        return None  # the admin user signs in with its password every time
    return refresh_token_create(parent=caller.credential, service=registry.service).token


# Views ----------------------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
@accepts_chunked_body
def token(request: HttpRequest) -> JsonResponse:
    data = request.POST if request.method == "POST" else request.GET
    try:
        _check_sizes(data)
        credentials = _credentials(request, data)
        registry = _registry(data)
        scopes = _scopes(data)
    except BadRequest as exc:
        return _error(400, exc.code, exc.message)
    if credentials is None:
        return _error(401, "UNAUTHORIZED", UNAUTHORIZED)
    grant_type, account, secret = credentials
    offline = data.get("offline_token") == "true" or data.get("access_type") == "offline"
    # A refresh token is a new secret every time: only plain token requests are remembered.
    remember = _remember_seconds() if not offline else 0
    key = _decision_key(registry, credentials, scopes) if remember else ""
    decision = caches[DECISIONS_CACHE].get(key) if key else None
    signed_in: Caller | JsonResponse | None = None
    if decision is None:
        signed_in = _sign_in(
            request,
            registry,
            account,
            lambda: authenticate(registry, account, secret),
            endpoint="token",
            grant_type=grant_type,
        )
        if isinstance(signed_in, JsonResponse):
            return signed_in
        access = [
            {"type": s.type, "name": s.name, "actions": grant(signed_in.principal, registry, s)}
            for s in scopes
        ]
        decision = (signed_in.subject, access)
        if key:
            caches[DECISIONS_CACHE].set(key, decision, remember)
    subject, access = decision
    issued = datetime.datetime.now(datetime.UTC)
    signed = sign_registry_token(
        signing_key(),
        issuer=settings.TOKEN_ISSUER,
        subject=subject,
        audience=registry.service,
        access=access,
        now=issued,
    )
    body: dict[str, Any] = {
        "token": signed,
        "access_token": signed,
        "expires_in": int(DEFAULT_LIFETIME.total_seconds()),
        "issued_at": issued.isoformat().replace("+00:00", "Z"),
    }
    if (
        offline
        and isinstance(signed_in, Caller)
        and (refresh := _refresh_token(signed_in, registry))
    ):
        body["refresh_token"] = refresh
    return JsonResponse(body)


@csrf_exempt
@require_POST
@accepts_chunked_body
def exchange(request: HttpRequest) -> JsonResponse:
    """A refresh token for a credential (``grant_type=password``: user name and personal
    access token, or client id and secret; ``grant_type=access_token``: an Entra ID access
    token), as ``{"refresh_token": …}``."""
    data = request.POST
    try:
        _check_sizes(data)
        grant_type = data.get("grant_type", "")
        if grant_type not in {"password", "access_token"}:
            raise BadRequest(
                "UNSUPPORTED_GRANT_TYPE",
                f"grant_type {grant_type[:50]!r} is not supported here; use password or "
                "access_token.",
            )
        registry = _registry(data)
    except BadRequest as exc:
        return _error(400, exc.code, exc.message)
    if grant_type == "access_token":
        return _exchange_entra_token(request, registry, data)
    account, secret = data.get("username", ""), data.get("password", "")
    if not account or not secret:
        return _error(401, "UNAUTHORIZED", "username and password are required.")
    signed_in = _sign_in(
        request,
        registry,
        account,
        lambda: _exchangeable(authenticate(registry, account, secret)),
        endpoint="exchange",
        grant_type=grant_type,
    )
    if isinstance(signed_in, JsonResponse):
        return signed_in
    refresh = _refresh_token(signed_in, registry)
    return JsonResponse({"refresh_token": refresh})


def _exchangeable(caller: Caller | None) -> Caller | None:
    """Only long-lived credentials are exchanged: not refresh tokens, not the admin user."""
    if caller is None or caller.credential is None:
        return None
    return None if isinstance(caller.credential, RefreshToken) else caller


def _exchange_entra_token(
    request: HttpRequest, registry: Registry, data: QueryDict
) -> JsonResponse:
    """``grant_type=access_token``: an Entra ID access token, under the same limits and audit
    of failed sign-ins as the other credentials (per client address: the account is only
    known once the token is checked)."""
    address = throttle.client_address(request)[:100]
    counters = throttle.counters(address, "")
    wait = throttle.retry_after(counters)
    if wait:
        response = _error(
            429,
            "TOO_MANY_REQUESTS",
            f"Too many failed sign-ins from this address; try again in {wait} seconds.",
        )
        response["Retry-After"] = str(wait)
        return response
    try:
        _, refresh = entra.exchange_access_token(
            registry=registry,
            tenant=data.get("tenant", "").strip(),
            access_token=data.get("access_token", "").strip(),
        )
    except entra.Refused as refused:
        if refused.is_failed_sign_in:
            throttle.record_failure(counters)
            audit.record(
                actor=None,
                actor_name="anonymous",
                action="token.signIn.failed",
                scope=registry.scope,
                account="",
                client_address=address,
                endpoint="exchange",
                grant_type="access_token",
                reason=refused.message,
            )
        response = _error(refused.status, refused.code, refused.message)
        if refused.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="portcullis", error="invalid_token"'
        return response
    return JsonResponse({"refresh_token": refresh})
