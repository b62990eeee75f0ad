"""Tokens the portal signs for itself, so its own registry client (sync, deletes, inspection)
keeps working against a registry that sends clients to the portal's token server.

The portal is trusted with everything in the registries it manages: it grants itself every
action a registry's challenge asks for, as ``sub`` ``system:portcullis``, for the registry's
``service`` only. Nothing outside the portal process can obtain these tokens. The subject holds
a colon, which no user name and no client id can, so the registry's events tell the portal's
own reads apart from people's.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from registry.backend.client import TokenProvider
from registry.models import Registry
from registry.permissions.docker import parse_token_scope
from registry.tokens.issue import sign_registry_token
from registry.tokens.signing import signing_key

logger = logging.getLogger(__name__)

PORTAL_SUBJECT = "system:portcullis"


def portal_token(registry: Registry, service: str, scopes: list[str]) -> str | None:
    """A token for everything ``scopes`` ask on ``registry``; None when the challenge names
    another service (the registry would refuse a token for ours) or there is no key."""
    if service and service != registry.service:
        logger.warning(
            "registry %s challenged for service %r, but the portal knows it as %r; "
            "rewrite its config with manage.py registry_config",
            registry.name,
            service,
            registry.service,
        )
        return None
    access = []
    for text in scopes:
        try:
            scope = parse_token_scope(text)
        except ValueError:
            continue
        access.append({"type": scope.type, "name": scope.name, "actions": scope.actions})
    try:
        key = signing_key()
    except ImproperlyConfigured as exc:
        logger.error("cannot sign the portal's own registry token: %s", exc)
        return None
    return sign_registry_token(
        key,
        issuer=settings.TOKEN_ISSUER,
        subject=PORTAL_SUBJECT,
        audience=registry.service,
        access=access,
    )


def portal_token_provider(registry: Registry) -> TokenProvider:
    """The backend client's token provider for ``registry``."""
    return functools.partial(portal_token, registry)
