"""``manage.py registry_config`` writes a registry config wired to the portal's token server,
and its certificate bundle; key rotation publishes a next key before it signs."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.events.secrets import events_secret_valid
from registry.models import Registry
from registry.tokens.issue import sign_registry_token
from registry.tokens.keys import certificate_path, generate_signing_key, load_signing_key
from registry.tokens.signing import signing_key
from tests.fixtures.registry import free_port, start_portal_registry

pytestmark = pytest.mark.django_db

CATALOG = [{"type": "registry", "name": "catalog", "actions": ["*"]}]


@pytest.fixture
def registry():
    return Registry.objects.create(
        name="local1", login_server=f"http://127.0.0.1:{free_port()}", service="local1-service"
    )


def configure(name: str, output: Path) -> dict:
    out = io.StringIO()
    call_command("registry_config", name, output_dir=output, stdout=out)
    path = Path(out.getvalue().strip())
    assert path == output.resolve() / "config.yml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return yaml.safe_load(path.read_text())


def bundle_of(config: dict) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(
        Path(config["auth"]["token"]["rootcertbundle"]).read_bytes()
    )


def test_the_config_sends_clients_to_the_portal(registry, token_signing_key, settings, tmp_path):
    settings.PORTAL_URL = "https://portal.example.com"
    settings.TOKEN_ISSUER = "portal-issuer"

    config = configure("LOCAL1", tmp_path)

    assert config["auth"]["token"] == {
        "realm": "https://portal.example.com/oauth2/token",
        "service": "local1-service",
        "issuer": "portal-issuer",
        "rootcertbundle": str(tmp_path.resolve() / "token-bundle.crt"),
    }
    assert bundle_of(config) == [token_signing_key.certificate]
    (endpoint,) = config["notifications"]["endpoints"]
    assert endpoint["url"] == "https://portal.example.com/registry-events/local1/"
    assert "disabled" not in endpoint
    scheme, secret = endpoint["headers"]["Authorization"][0].split(" ")
    assert scheme == "Bearer" and events_secret_valid(registry, secret)
    assert endpoint["ignoredmediatypes"] == ["application/octet-stream"]
    assert config["http"]["addr"] == f"127.0.0.1:{registry.login_server.rsplit(':', 1)[1]}"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path.resolve() / "storage")


@pytest.mark.parametrize("debug", [True, False])
def test_development_creates_the_signing_key_production_refuses(
    registry, settings, tmp_path, debug
):
    settings.DEBUG = debug
    settings.TOKEN_SIGNING_KEY_FILE = str(tmp_path / "keys" / "signing.pem")
    signing_key.cache_clear()
    try:
        if debug:
            config = configure("local1", tmp_path / "out")
            created = load_signing_key(Path(settings.TOKEN_SIGNING_KEY_FILE))
            assert bundle_of(config) == [created.certificate]
        else:
            with pytest.raises(CommandError, match="Token signing key unusable"):
                configure("local1", tmp_path / "out")
            assert not (tmp_path / "out" / "config.yml").exists()
    finally:
        signing_key.cache_clear()


def test_an_unknown_registry_or_a_missing_certificate_is_an_error(
    registry, token_signing_key, settings, tmp_path
):
    with pytest.raises(CommandError, match="No registry named 'nope'"):
        configure("nope", tmp_path)
    settings.TOKEN_PUBLISHED_CERTIFICATES = [str(tmp_path / "missing.crt")]
    with pytest.raises(CommandError, match=r"missing\.crt"):
        configure("local1", tmp_path)


def test_generate_token_signing_key_writes_a_key_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "next" / "signing.pem"
    out = io.StringIO()
    call_command("generate_token_signing_key", str(path), stdout=out)
    key = load_signing_key(path)
    assert f"kid: {key.kid}" in out.getvalue()
    assert str(certificate_path(path)) in out.getvalue()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(CommandError, match="already exists"):
        call_command("generate_token_signing_key", str(path))


# Key rotation against docker-registry 2.8 -----------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_published_next_key_is_trusted_before_it_signs(
    registry, token_signing_key, settings, tmp_path
):
    next_key = generate_signing_key(tmp_path / "next" / "signing.pem")
    stranger = generate_signing_key(tmp_path / "stranger" / "signing.pem")
    settings.TOKEN_PUBLISHED_CERTIFICATES = [
        str(certificate_path(tmp_path / "next" / "signing.pem"))
    ]
    server = start_portal_registry(tmp_path / "registry", registry_name="local1")
    try:

        def catalog(key) -> int:
            token = sign_registry_token(
                key,
                issuer=settings.TOKEN_ISSUER,
                subject="ci",
                audience="local1-service",
                access=CATALOG,
            )
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.get(f"{server.url}/v2/_catalog", headers=headers, timeout=5).status_code

        config = yaml.safe_load(server.config_path.read_text())
        assert bundle_of(config) == [token_signing_key.certificate, next_key.certificate]
        assert catalog(token_signing_key) == 200
        assert catalog(next_key) == 200
        assert catalog(stranger) == 401
    finally:
        server.stop()


def test_the_yaml_quotes_whatever_a_path_holds(registry, token_signing_key, tmp_path):
    odd = tmp_path / 'dir with "quotes": and #hash'
    config = configure("local1", odd)
    assert config["storage"]["filesystem"]["rootdirectory"] == str(odd.resolve() / "storage")
    assert json.loads(json.dumps(config))  # plain data, nothing YAML-specific
