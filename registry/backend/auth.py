"""Bearer challenges (Docker registry token spec) and a small cache of the tokens they earn.

A registry that wants a token answers 401 with
``WWW-Authenticate: Bearer realm="…",service="…",scope="repository:a/b:pull"``. The client
asks its token provider for ``(service, scopes)`` and keeps the token for the scope until it
is about to expire.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass

# A token is dropped this long before it expires, so a request never leaves with a token the
# registry will reject on arrival (clock skew, slow networks).
EXPIRY_MARGIN_SECONDS = 30.0
# Tokens whose lifetime cannot be read (not a JWT, no ``exp``) are kept this long.
DEFAULT_TOKEN_LIFETIME_SECONDS = 60.0

_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: its scheme and parameters."""

    scheme: str
    params: dict[str, str]

    @property
    def is_bearer(self) -> bool:
        return self.scheme.lower() == "bearer"

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scopes(self) -> list[str]:
        # One ``scope`` parameter may carry several scopes separated by spaces.
        return self.params.get("scope", "").split()

    @property
    def error(self) -> str:
        return self.params.get("error", "")


def parse_challenges(header_values: list[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` values; quoted values may contain commas (``pull,push``)."""
    challenges: list[Challenge] = []
    for value in header_values:
        value = value.strip()
        if not value:
            continue
        scheme, _, rest = value.partition(" ")
        params = {}
        for match in _PARAM.finditer(rest):
            quoted, bare = match.group(2), match.group(3)
            text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
            params[match.group(1).lower()] = text
        challenges.append(Challenge(scheme=scheme, params=params))
    return challenges


def token_expiry(token: str, *, now: float | None = None) -> float:
    """When to stop using ``token`` (epoch seconds): its JWT ``exp`` minus the margin.

    The claims are read without verifying the signature: this only decides how long to keep
    a token the portal's own provider handed over; the registry does the verifying.
    """
    now = time.time() if now is None else now
    parts = token.split(".")
    if len(parts) == 3:
        try:
            payload = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(payload))
            expires = float(claims["exp"])
        except (ValueError, KeyError, TypeError):
            pass
        else:
            return expires - EXPIRY_MARGIN_SECONDS
    return now + DEFAULT_TOKEN_LIFETIME_SECONDS


def scope_key(scopes: list[str]) -> str:
    return " ".join(sorted(scopes))


class TokenCache:
    """Tokens by scope, safe to share between threads (sync reads tags in parallel)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            token, expires = entry
            if time.time() >= expires:
                del self._tokens[key]
                return None
            return token

    def put(self, key: str, token: str) -> None:
        with self._lock:
            self._tokens[key] = (token, token_expiry(token))

    def discard(self, key: str, token: str) -> None:
        """Forget ``token`` for ``key`` (the registry refused it), unless it was replaced."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] == token:
                del self._tokens[key]
