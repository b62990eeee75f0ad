"""Registry tokens: the ES256 signing key, its certificate and key id, and real docker-registry
accepting what the portal signs (and refusing what it should)."""

from __future__ import annotations

import base64
import json
import re
import stat
from datetime import timedelta

import httpx
import jwt
import pytest
from cryptography import x509

from registry.tokens.issue import sign_registry_token
from registry.tokens.keys import (
    certificate_path,
    generate_signing_key,
    libtrust_kid,
    load_signing_key,
)
from tests.fixtures.images import build_image, push

SERVICE = "portcullis-test-registry"
ISSUER = "portcullis-test"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return generate_signing_key(tmp_path_factory.mktemp("keys") / "token-signing-key.pem")


def test_the_key_file_is_private_and_loads_back(tmp_path):
    path = tmp_path / "token-signing-key.pem"
    created = generate_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_signing_key(path)
    assert loaded.kid == created.kid
    assert loaded.certificate == created.certificate


def test_a_missing_or_mismatched_key_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="No token signing key"):
        load_signing_key(tmp_path / "nothing.pem")
    first, second = tmp_path / "a" / "key.pem", tmp_path / "b" / "key.pem"
    generate_signing_key(first)
    generate_signing_key(second)
    certificate_path(first).write_bytes(certificate_path(second).read_bytes())
    with pytest.raises(ValueError, match="does not certify"):
        load_signing_key(first)


def test_the_key_id_has_the_libtrust_form(key):
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", key.kid)
    assert key.kid == libtrust_kid(key.private_key.public_key())


def test_tokens_carry_the_claims_and_headers_the_registry_reads(key):
    token = sign_registry_token(
        key,
        issuer=ISSUER,
        subject="alice",
        audience=SERVICE,
        access=[{"type": "repository", "name": "team-a/app", "actions": ("pull",)}],
    )
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == key.kid
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert certificate == key.certificate
    claims = jwt.decode(token, key.certificate.public_key(), algorithms=["ES256"], audience=SERVICE)
    assert claims["aud"] == SERVICE  # a string, not a list
    assert claims["exp"] - claims["iat"] == 300
    assert all(isinstance(claims[c], int) for c in ("exp", "nbf", "iat"))
    assert claims["access"] == [{"type": "repository", "name": "team-a/app", "actions": ["pull"]}]
    assert (claims["iss"], claims["sub"]) == (ISSUER, "alice")


# Against docker-registry 2.8 ------------------------------------------------------------------


@pytest.fixture
def guarded(key, tmp_path, make_registry_server):
    """An empty registry behind token auth that trusts ``key``."""
    make = make_registry_server
    bundle = certificate_path(tmp_path / "bundle.pem")
    bundle.write_bytes(key.certificate_pem())
    server = make(
        extra_config=(
            "auth:\n"
            "  token:\n"
            "    realm: http://127.0.0.1:9/oauth2/token\n"
            f"    service: {SERVICE}\n"
            f"    issuer: {ISSUER}\n"
            f"    rootcertbundle: {json.dumps(str(bundle))}\n"
        )
    )
    return server


def _token(key, access, **overrides):
    options = {"issuer": ISSUER, "subject": "ci", "audience": SERVICE, "access": access}
    return sign_registry_token(key, **{**options, **overrides})


def _catalog(server, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}/v2/_catalog", headers=headers, timeout=5)


CATALOG = [{"type": "registry", "name": "catalog", "actions": ["*"]}]


@pytest.mark.integration
def test_the_registry_accepts_a_token_the_portal_signed(key, guarded):
    response = _catalog(guarded, _token(key, CATALOG))
    assert response.status_code == 200, response.text
    assert response.json() == {"repositories": []}


@pytest.mark.integration
@pytest.mark.parametrize(
    "case", ["no token", "no access", "other key", "other audience", "other issuer", "expired"]
)
def test_the_registry_refuses_tokens_it_should(key, guarded, tmp_path, case):
    token = {
        "no token": lambda: None,
        "no access": lambda: _token(key, []),
        "other key": lambda: _token(generate_signing_key(tmp_path / "other.pem"), CATALOG),
        "other audience": lambda: _token(key, CATALOG, audience="elsewhere"),
        "other issuer": lambda: _token(key, CATALOG, issuer="someone"),
        "expired": lambda: _token(key, CATALOG, lifetime=timedelta(seconds=-120)),
    }[case]()
    response = _catalog(guarded, token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="http://127.0.0.1:9/')


@pytest.mark.integration
def test_a_pull_token_reads_one_repository_only(key, guarded, tmp_path):
    push_access = [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]}]
    image = build_image(tmp_path / "img", seed="tokens")
    # skopeo authenticates with the token as a registry bearer token.
    push(image, guarded.host, "team-a/app:1.0", registry_token=_token(key, push_access))

    pull = _token(key, [{"type": "repository", "name": "team-a/app", "actions": ["pull"]}])
    headers = {"Authorization": f"Bearer {pull}"}
    tags = httpx.get(f"{guarded.url}/v2/team-a/app/tags/list", headers=headers, timeout=5)
    other = httpx.get(f"{guarded.url}/v2/team-b/app/tags/list", headers=headers, timeout=5)
    assert tags.status_code == 200 and tags.json()["tags"] == ["1.0"]
    assert other.status_code == 401
