"""The token signing key: ES256 (P-256) with a self-signed certificate that registries trust.

The registry reads the certificate from its ``rootcertbundle``; tokens carry the certificate
(``x5c``) and the key id in libtrust form (``kid``), which docker-registry 2.8 matches against
the bundle. The key lives in ``TOKEN_SIGNING_KEY_FILE`` (PEM, readable by the portal only) and
the certificate beside it (same name, ``.crt``).
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERTIFICATE_LIFETIME = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class SigningKey:
    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    # Both go into every token's header: computed once per key.
    @functools.cached_property
    def kid(self) -> str:
        return libtrust_kid(self.certificate.public_key())

    @functools.cached_property
    def certificate_der_b64(self) -> str:
        """The certificate for the ``x5c`` header: standard base64 of its DER form."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return base64.b64encode(der).decode()

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def libtrust_kid(public_key: ec.EllipticCurvePublicKey) -> str:
    """The libtrust key id: SHA-256 of the DER public key, 240 bits, base32, 12 groups of 4."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


def certificate_path(key_path: Path) -> Path:
    return key_path.with_suffix(".crt")


def generate_signing_key(
    key_path: Path, *, common_name: str = "Portcullis token signer"
) -> SigningKey:
    """Create a new key and its self-signed certificate, written with owner-only permissions."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    key = SigningKey(private_key, certificate)
    certificate_path(key_path).write_bytes(key.certificate_pem())
    return key


def load_signing_key(key_path: Path) -> SigningKey:
    """The key and certificate from disk; ValueError saying what is missing or wrong."""
    cert_path = certificate_path(key_path)
    if not key_path.exists() or not cert_path.exists():
        raise ValueError(
            f"No token signing key at {key_path} (with its certificate {cert_path}); "
            "development creates one on first use."
        )
    private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError(f"{key_path} is not a P-256 (ES256) private key.")
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if certificate.public_key() != private_key.public_key():
        raise ValueError(f"{cert_path} does not certify the key in {key_path}.")
    return SigningKey(private_key, certificate)
