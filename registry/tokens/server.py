"""The registry's token server (``/oauth2/token``, Docker token spec): who may push and pull.

A registry configured by the portal sends clients here with ``service`` (which registry) and
``scope`` (``repository:team-a/app:pull,push``). The caller authenticates with HTTP Basic (GET)
or a password grant (POST): a service principal's client id and secret, or a user name and one
of that user's personal access tokens. Each requested action is granted when the permissions
engine allows it and the repository's locks do not forbid it; asking for more than is allowed is
not an error, the token just carries less. ``docker login`` asks with no scope at all.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import logging
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import ServicePrincipal, User
from accounts.services import (
    personal_access_token_authenticate,
    service_principal_authenticate,
)
from registry.models import Registry, Repository
from registry.permissions import engine
from registry.permissions.docker import TokenScope, parse_token_scope
from registry.tokens.issue import DEFAULT_LIFETIME, sign_registry_token
from registry.tokens.keys import SigningKey, generate_signing_key, load_signing_key
from registry.validation import REPOSITORY_NAME_MAX_LENGTH, REPOSITORY_NAME_RE

logger = logging.getLogger(__name__)

# Docker actions each repository lock takes away, whatever the caller's roles.
LOCKS = {"write_enabled": "push", "delete_enabled": "delete", "read_enabled": "pull"}


@functools.cache
def signing_key() -> SigningKey:
    """The key from ``TOKEN_SIGNING_KEY_FILE``; development creates it on first use."""
    path = Path(settings.TOKEN_SIGNING_KEY_FILE)
    try:
        return load_signing_key(path)
    except ValueError:
        if settings.DEBUG and not path.exists():
            logger.info("created the token signing key %s", path)
            return generate_signing_key(path)
        raise ImproperlyConfigured(f"Token signing key unusable: {path}") from None


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"code": code, "message": message}]}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="portcullis"'
    return response


def _credentials(request: HttpRequest) -> tuple[str, str] | None:
    if request.method == "POST":
        return request.POST.get("username", ""), request.POST.get("password", "")
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


def authenticate(username: str, password: str) -> User | ServicePrincipal | None:
    """A service principal (client id + secret) or a user (name + personal access token)."""
    try:
        uuid.UUID(username)
    except ValueError:
        token = personal_access_token_authenticate(password)
        if token is None or token.user.get_username() != username:
            return None
        return token.user
    secret = service_principal_authenticate(username, password)
    return None if secret is None else secret.service_principal


def grant(principal: Any, registry: Registry, scope: TokenScope) -> list[str]:
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
    allowed = engine.effective_actions(principal, target)
    granted = [action for action, need in needs.items() if need in allowed]
    if scope.resource_type == "repository":
        repository = Repository.objects.filter(registry=registry, name=scope.name).first()
        if repository is not None:
            locked = {a for lock, a in LOCKS.items() if not getattr(repository, lock)}
            granted = [action for action in granted if action not in locked]
    return granted


@csrf_exempt
@require_http_methods(["GET", "POST"])
def token(request: HttpRequest) -> JsonResponse:
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "POST" and data.get("grant_type") != "password":
        return _error(400, "UNSUPPORTED", "Only grant_type=password is supported here.")
    service = data.get("service", "")
    registry = Registry.objects.filter(service=service).first()
    if registry is None:
        return _error(400, "UNKNOWN_SERVICE", f"No registry uses the service name {service!r}.")
    credentials = _credentials(request)
    principal = authenticate(*credentials) if credentials else None
    if principal is None:
        return _error(
            401,
            "UNAUTHORIZED",
            "Sign in with a client id and secret, or a user name and personal access token.",
        )
    requested = data.getlist("scope") if request.method == "GET" else data.get("scope", "").split()
    access = []
    for text in requested:
        try:
            scope = parse_token_scope(text)
        except ValueError:
            continue  # a malformed scope grants nothing
        access.append(
            {"type": scope.type, "name": scope.name, "actions": grant(principal, registry, scope)}
        )
    issued = datetime.datetime.now(datetime.UTC)
    subject = (
        str(principal.client_id)
        if isinstance(principal, ServicePrincipal)
        else principal.get_username()
    )
    signed = sign_registry_token(
        signing_key(),
        issuer=settings.TOKEN_ISSUER,
        subject=subject,
        audience=registry.service,
        access=access,
        now=issued,
    )
    return JsonResponse(
        {
            "token": signed,
            "access_token": signed,
            "expires_in": int(DEFAULT_LIFETIME.total_seconds()),
            "issued_at": issued.isoformat().replace("+00:00", "Z"),
        }
    )
