"""The token server (``/oauth2/token``) decides who may push and pull on a real registry.

docker-registry 2.8 runs with token auth, its realm pointing at the portal under test; skopeo
signs in with a service principal's client id and secret, or a user's personal access token.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts.models import ServicePrincipal
from accounts.services import personal_access_token_create, service_principal_secret_create
from registry.models import Namespace, Registry, Repository, RoleAssignment, RoleDefinition
from registry.tokens import server as token_server
from registry.tokens.keys import certificate_path, generate_signing_key
from tests.fixtures.images import build_image

SERVICE = "guarded-registry"


@pytest.fixture
def signing_key_file(tmp_path, settings):
    settings.TOKEN_SIGNING_KEY_FILE = str(tmp_path / "keys" / "token-signing-key.pem")
    token_server.signing_key.cache_clear()
    yield settings.TOKEN_SIGNING_KEY_FILE
    token_server.signing_key.cache_clear()


@pytest.fixture
def guarded(signing_key_file, live_server, make_registry_server, tmp_path, settings):
    """A registry behind the portal's token server, with namespaces team-a and team-b."""
    generate_signing_key(Path(signing_key_file))
    key = token_server.signing_key()
    bundle = tmp_path / "bundle.crt"
    bundle.write_bytes(key.certificate_pem())
    server = make_registry_server(
        extra_config=(
            "auth:\n"
            "  token:\n"
            f"    realm: {live_server.url}/oauth2/token\n"
            f"    service: {SERVICE}\n"
            f"    issuer: {settings.TOKEN_ISSUER}\n"
            f"    rootcertbundle: {json.dumps(str(bundle))}\n"
        )
    )
    registry = Registry.objects.create(name="guarded1", login_server=server.url, service=SERVICE)
    for name in ("team-a", "team-b"):
        Namespace.objects.create(registry=registry, name=name)
    return server


def assign(role, scope, **principal):
    return RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=scope, **principal
    )


def skopeo_copy(source: str, destination: str, creds: str, tmp_path) -> subprocess.CompletedProcess:
    command = [
        shutil.which("skopeo") or "skopeo",
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ]
    if source.startswith("docker://"):
        command.append(f"--src-creds={creds}")
    else:
        command.append(f"--dest-creds={creds}")
    env = {"REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [*command, source, destination], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def ci():
    principal = ServicePrincipal.objects.create(name="ci")
    secret = service_principal_secret_create(service_principal=principal).secret
    return principal, f"{principal.client_id}:{secret}"


@pytest.fixture
def image(tmp_path):
    return build_image(tmp_path / "image", seed="token-server")


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_acrpush_on_a_namespace_pushes_there_and_nowhere_else(guarded, ci, image, tmp_path):
    principal, creds = ci
    assign("AcrPush", "/registries/guarded1/namespaces/team-a", service_principal=principal)
    layout = f"oci:{image.layout_dir}"

    allowed = skopeo_copy(layout, f"docker://{guarded.host}/team-a/app:1.0", creds, tmp_path)
    refused = skopeo_copy(layout, f"docker://{guarded.host}/team-b/app:1.0", creds, tmp_path)

    assert allowed.returncode == 0, allowed.stderr
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "denied" in refused.stderr.lower()


def test_a_reader_pulls_but_cannot_push(guarded, bob, image, tmp_path):
    owner = ServicePrincipal.objects.create(name="seed")
    assign("AcrPush", "/registries/guarded1", service_principal=owner)
    seed = service_principal_secret_create(service_principal=owner).secret
    seeded = skopeo_copy(
        f"oci:{image.layout_dir}",
        f"docker://{guarded.host}/team-a/app:1.0",
        f"{owner.client_id}:{seed}",
        tmp_path,
    )
    assert seeded.returncode == 0, seeded.stderr
    assign("Reader", "/registries/guarded1/namespaces/team-a", user=bob)
    creds = f"bob:{personal_access_token_create(user=bob, name='cli').token}"

    pulled = skopeo_copy(
        f"docker://{guarded.host}/team-a/app:1.0", f"oci:{tmp_path / 'pulled'}", creds, tmp_path
    )
    pushed = skopeo_copy(
        f"oci:{image.layout_dir}", f"docker://{guarded.host}/team-a/app:2.0", creds, tmp_path
    )

    assert pulled.returncode == 0, pulled.stderr
    assert pushed.returncode != 0


def test_a_write_lock_stops_a_push_whatever_the_role(guarded, ci, image, tmp_path):
    principal, creds = ci
    assign("Owner", "/registries/guarded1", service_principal=principal)
    layout = f"oci:{image.layout_dir}"
    first = skopeo_copy(layout, f"docker://{guarded.host}/team-a/app:1.0", creds, tmp_path)
    assert first.returncode == 0, first.stderr
    Repository.objects.create(
        registry=Registry.objects.get(name="guarded1"), name="team-a/app", write_enabled=False
    )

    again = skopeo_copy(layout, f"docker://{guarded.host}/team-a/app:2.0", creds, tmp_path)

    assert again.returncode != 0


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _ask(live_server, headers, **params):
    return httpx.get(f"{live_server.url}/oauth2/token", params=params, headers=headers, timeout=5)


def test_grants_are_what_is_allowed_and_never_an_error(guarded, live_server, ci):
    principal, creds = ci
    client_id, secret = creds.split(":", 1)
    assign("AcrPull", "/registries/guarded1/namespaces/team-a", service_principal=principal)
    scopes = [
        "repository:team-a/app:pull,push,delete",
        "repository:team-b/app:pull",
        "unknown:thing:pull",
    ]

    response = _ask(live_server, _basic(client_id, secret), service=SERVICE, scope=scopes)

    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == client_id and claims["aud"] == SERVICE
    assert claims["access"] == [
        {"type": "repository", "name": "team-a/app", "actions": ["pull"]},
        {"type": "repository", "name": "team-b/app", "actions": []},
        {"type": "unknown", "name": "thing", "actions": []},
    ]


def test_docker_login_asks_with_no_scope(guarded, live_server, bob):
    token = personal_access_token_create(user=bob, name="cli").token
    response = _ask(live_server, _basic("bob", token), service=SERVICE, offline_token="true")
    assert response.status_code == 200
    assert jwt.decode(response.json()["token"], options={"verify_signature": False})["access"] == []


@pytest.mark.parametrize(
    "case", ["no credentials", "wrong secret", "disabled", "expired secret", "another user's token"]
)
def test_bad_credentials_are_a_401(guarded, live_server, ci, bob, alice, case):
    principal, creds = ci
    client_id, secret = creds.split(":", 1)
    headers = _basic(client_id, secret)
    if case == "no credentials":
        headers = {}
    elif case == "wrong secret":
        headers = _basic(client_id, secret[:-2] + "xx")
    elif case == "disabled":
        ServicePrincipal.objects.update(enabled=False)
    elif case == "expired secret":
        principal.secrets.update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        headers = _basic("alice", personal_access_token_create(user=bob, name="x").token)
    response = _ask(live_server, headers, service=SERVICE, scope="repository:team-a/app:pull")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_an_unknown_service_is_a_400(guarded, live_server, ci):
    client_id, secret = ci[1].split(":", 1)
    response = _ask(live_server, _basic(client_id, secret), service="elsewhere")
    assert response.status_code == 400
    assert "elsewhere" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("debug", [True, False])
def test_development_creates_the_key_on_first_use_production_refuses(
    signing_key_file, settings, debug
):
    settings.DEBUG = debug
    if debug:
        assert token_server.signing_key().kid
        assert certificate_path(Path(signing_key_file)).exists()
    else:
        with pytest.raises(ImproperlyConfigured, match="Token signing key"):
            token_server.signing_key()
