"""Secrets the portal must use again later (webhook signing secrets, custom header values),
encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``).

Keys come from ``FIELD_ENCRYPTION_KEYS``: comma-separated passphrases, the first encrypts and
every one decrypts (``MultiFernet``), so keys can be rotated without losing anything:

1. put a new key first and keep the old one after it; restart;
2. ``manage.py reencrypt_secrets`` re-encrypts every stored value with the new key;
3. drop the old key; restart.

Without ``FIELD_ENCRYPTION_KEYS`` the keys derive from ``SECRET_KEY`` and then
``SECRET_KEY_FALLBACKS``, which suits development; production sets its own keys (a deploy check
says so), so that ``SECRET_KEY`` can change on its own schedule. Each passphrase is stretched into
a Fernet key with HKDF-SHA256 under a label of its own, so an encryption key is never the same
bytes as Django's signing key.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_HKDF_INFO = b"portcullis field encryption v1"


class DecryptionError(Exception):
    """A stored value none of the configured keys can open (a key was dropped too early)."""


def configured_keys() -> tuple[str, ...]:
    keys = tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())
    if keys:
        return keys
    return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))


def is_using_own_keys() -> bool:
    return bool(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()))


@functools.lru_cache(maxsize=8)
def _fernet_for(passphrase: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        passphrase.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _multi() -> MultiFernet:
    return MultiFernet([_fernet_for(key) for key in configured_keys()])


def encrypt(plaintext: str) -> str:
    """``plaintext`` encrypted with the first key, as ASCII text (a Fernet token)."""
    return _multi().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a value ``encrypt`` made, with whichever configured key opens it."""
    try:
        return _multi().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS; "
            "was the key that encrypted it removed before `manage.py reencrypt_secrets` ran?"
        ) from exc


def reencrypt(token: str) -> str:
    """The same plaintext under the first (current) key; unchanged when it already is."""
    try:
        return _multi().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as exc:
        raise DecryptionError("A stored secret cannot be decrypted to re-encrypt it.") from exc
