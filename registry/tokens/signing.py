"""The portal's signing key and the certificates registries trust (key rotation).

``TOKEN_SIGNING_KEY_FILE`` signs every token. Registries trust the certificates in their
``rootcertbundle``: the signing key's, plus each file in ``TOKEN_PUBLISHED_CERTIFICATES`` — the
next key's before the portal signs with it, the previous key's until its last tokens expire.
``manage.py registry_config`` writes that bundle (docs/access-control.md, "Key rotation").
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from registry.tokens.keys import SigningKey, generate_signing_key, load_signing_key

logger = logging.getLogger(__name__)


@functools.cache
def signing_key() -> SigningKey:
    """The key from ``TOKEN_SIGNING_KEY_FILE``; development (``DEBUG``) creates it if missing."""
    path = Path(settings.TOKEN_SIGNING_KEY_FILE)
    try:
        return load_signing_key(path)
    except ValueError:
        if not (settings.DEBUG and not path.exists()):
            raise ImproperlyConfigured(f"Token signing key unusable: {path}") from None
    try:
        key = generate_signing_key(path)
    except FileExistsError:
        # Another process (the worker, a second server) created it a moment ago.
        time.sleep(0.5)
        return load_signing_key(path)
    logger.info("created the token signing key %s", path)
    return key


def published_certificates() -> list[x509.Certificate]:
    """The signing key's certificate, then every ``TOKEN_PUBLISHED_CERTIFICATES`` one, once each.

    ImproperlyConfigured names a published file that is missing or holds no certificate.
    """
    found = [signing_key().certificate]
    for name in settings.TOKEN_PUBLISHED_CERTIFICATES:
        path = Path(name)
        try:
            loaded = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"TOKEN_PUBLISHED_CERTIFICATES: {path} is not a readable PEM certificate ({exc})."
            ) from exc
        found += [c for c in loaded if c not in found]
    return found


def certificate_bundle() -> bytes:
    """The PEM bundle a registry's ``auth.token.rootcertbundle`` points at."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in published_certificates())
