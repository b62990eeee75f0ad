"""Machine secrets: generated with ``secrets``, shown once, stored as a SHA-256 digest.

A secret carries a short readable prefix (``pcl_pat_`` for personal access tokens) so that
people and secret scanners can tell what a leaked string is. The digest column is unique and
indexed, so finding the row for a presented secret is one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32  # 256 bits of entropy


def generate(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(SECRET_BYTES)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)
