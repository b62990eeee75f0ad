"""Registry tokens: short-lived JWTs that docker-registry accepts (Docker token spec)."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from typing import Any

import jwt

from registry.tokens.keys import SigningKey

DEFAULT_LIFETIME = datetime.timedelta(minutes=5)


def sign_registry_token(
    key: SigningKey,
    *,
    issuer: str,
    subject: str,
    audience: str,
    access: Sequence[dict[str, Any]],
    lifetime: datetime.timedelta = DEFAULT_LIFETIME,
    now: datetime.datetime | None = None,
) -> str:
    """A token granting ``access`` (``[{"type", "name", "actions"}]``) on the registry whose
    ``service`` is ``audience``. ``aud`` is a string and times are integers, as 2.8 expects."""
    issued = int((now or datetime.datetime.now(datetime.UTC)).timestamp())
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": issued + int(lifetime.total_seconds()),
        "nbf": issued,
        "iat": issued,
        "jti": secrets.token_urlsafe(16),
        "access": [
            {"type": a["type"], "name": a["name"], "actions": list(a["actions"])} for a in access
        ],
    }
    headers = {"kid": key.kid, "x5c": [key.certificate_der_b64]}
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers=headers)
