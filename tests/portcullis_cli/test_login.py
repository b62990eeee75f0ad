"""``portcullis login``, run as people run it (the installed command, in a process of its own)
against the live portal and the fake Entra ID; skopeo then pushes with what it stored."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from accounts.models import Group, RefreshToken, User
from accounts.services import personal_access_token_create
from registry.models import Namespace, Registry, RoleAssignment, RoleDefinition
from tests.fakes.entra import SigningKey

pytestmark = pytest.mark.django_db(transaction=True)

SERVICE = "cli-registry"
NULL_AUTH = base64.b64encode(b"00000000-0000-0000-0000-000000000000:").decode()
COMMAND = Path(sys.executable).parent / "portcullis"


@pytest.fixture
def registry(token_signing_key):
    return Registry.objects.create(
        name="cli1", login_server="http://127.0.0.1:5998", service=SERVICE
    )


@pytest.fixture
def home(tmp_path) -> Path:
    folder = tmp_path / "home"
    (folder / ".docker").mkdir(parents=True)
    return folder


def portcullis(*args: str, home: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    environment = {"HOME": str(home), "PATH": os.environ["PATH"], **env}
    return subprocess.run(
        [str(COMMAND), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def docker_config(home: Path) -> dict:
    return json.loads((home / ".docker" / "config.json").read_text())


def test_the_command_is_installed_with_the_package():
    assert COMMAND.exists()
    result = subprocess.run([str(COMMAND), "login", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--entra-token" in result.stdout and "--password-stdin" in result.stdout


def test_an_entra_token_becomes_the_registrys_identity_token(live_server, registry, entra, home):
    alice = entra.add_user("alice@contoso.com")
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {"other.example": {"auth": "a2VlcDptZQ=="}}, "psFormat": "table"})
    )

    result = portcullis(
        "login",
        "cli1.example.test",
        "--portal",
        live_server.url,
        "--service",
        SERVICE,
        home=home,
        PORTCULLIS_ENTRA_TOKEN=entra.access_token(alice),
    )

    assert result.returncode == 0, result.stderr
    assert "Login Succeeded" in result.stdout
    config = docker_config(home)
    entry = config["auths"]["cli1.example.test"]
    assert entry["auth"] == NULL_AUTH
    found = RefreshToken.find(entry["identitytoken"])
    assert found.user == User.objects.get(entra_object_id=alice.object_id)
    assert found.service == SERVICE
    # What else the config held is kept; the file is the owner's only.
    assert config["auths"]["other.example"] == {"auth": "a2VlcDptZQ=="}
    assert config["psFormat"] == "table"
    assert stat.S_IMODE((home / ".docker" / "config.json").stat().st_mode) == 0o600


def test_a_personal_access_token_on_stdin_works_too(live_server, registry, bob, home, tmp_path):
    token = personal_access_token_create(user=bob, name="laptop").token
    docker_folder = tmp_path / "docker-elsewhere"

    result = portcullis(
        "login",
        "cli1.example.test",
        "--portal",
        live_server.url,
        "--service",
        SERVICE,
        "--username",
        "bob",
        "--password-stdin",
        home=home,
        stdin=token + "\n",
        DOCKER_CONFIG=str(docker_folder),
    )

    assert result.returncode == 0, result.stderr
    stored = json.loads((docker_folder / "config.json").read_text())
    assert RefreshToken.find(stored["auths"]["cli1.example.test"]["identitytoken"]).user == bob


def test_the_containers_auth_file_gets_it_when_asked(live_server, registry, entra, home, tmp_path):
    alice = entra.add_user("alice@contoso.com")
    auth_file = tmp_path / "containers" / "auth.json"

    result = portcullis(
        "login",
        "http://127.0.0.1:5998",
        "--portal",
        live_server.url,
        "--service",
        SERVICE,
        "--entra-token",
        "-",
        home=home,
        stdin=entra.access_token(alice),
        REGISTRY_AUTH_FILE=str(auth_file),
    )

    assert result.returncode == 0, result.stderr
    entry = json.loads(auth_file.read_text())["auths"]["127.0.0.1:5998"]
    assert entry["auth"] == NULL_AUTH and entry["identitytoken"].startswith("pcl_rt_")
    assert "127.0.0.1:5998" in docker_config(home)["auths"]


def test_a_credential_helper_in_the_docker_config_gets_the_token(
    live_server, registry, entra, home, tmp_path
):
    alice = entra.add_user("alice@contoso.com")
    helpers = tmp_path / "bin"
    helpers.mkdir()
    received = tmp_path / "helper-received.json"
    helper = helpers / "docker-credential-fake"
    helper.write_text(f'#!/bin/sh\n[ "$1" = store ] && cat > {received}\n')
    helper.chmod(0o755)
    (home / ".docker" / "config.json").write_text(json.dumps({"credsStore": "fake"}))

    result = portcullis(
        "login",
        "cli1.example.test",
        "--portal",
        live_server.url,
        "--service",
        SERVICE,
        home=home,
        PATH=f"{helpers}:{os.environ['PATH']}",
        PORTCULLIS_ENTRA_TOKEN=entra.access_token(alice),
    )

    assert result.returncode == 0, result.stderr
    stored = json.loads(received.read_text())
    assert stored["ServerURL"] == "cli1.example.test"
    assert stored["Username"] == "<token>" and stored["Secret"].startswith("pcl_rt_")
    # The secret is with the helper, not in the file.
    assert docker_config(home)["auths"]["cli1.example.test"] == {}


@pytest.mark.parametrize(
    "case, words",
    [("expired", "has expired"), ("bad signature", "signature does not verify")],
)
def test_a_refusal_says_why_and_changes_nothing(live_server, registry, entra, home, case, words):
    alice = entra.add_user("alice@contoso.com")
    now = int(time.time())
    token = (
        entra.access_token(alice, iat=now - 7200, nbf=now - 7200, exp=now - 60)
        if case == "expired"
        else entra.access_token(
            alice, key=SigningKey(entra.keys[0].kid, SigningKey.generate().private)
        )
    )

    result = portcullis(
        "login",
        "cli1.example.test",
        "--portal",
        live_server.url,
        "--service",
        SERVICE,
        home=home,
        PORTCULLIS_ENTRA_TOKEN=token,
    )

    assert result.returncode == 1
    assert "refused the sign-in (401)" in result.stderr and words in result.stderr
    assert not (home / ".docker" / "config.json").exists()
    assert not User.objects.exists()


def test_without_a_credential_it_says_what_to_give(home):
    result = portcullis("login", "cli1.example.test", home=home)
    assert result.returncode == 1
    assert "--entra-token" in result.stderr and "--password-stdin" in result.stderr


class _Challenge(BaseHTTPRequestHandler):
    realm = ""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Bearer realm="{self.realm}",service="{SERVICE}"')
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_the_portal_and_service_are_found_from_the_registrys_challenge(
    live_server, registry, entra, home
):
    alice = entra.add_user("alice@contoso.com")
    handler = type("Handler", (_Challenge,), {"realm": f"{live_server.url}/oauth2/token"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    try:
        result = portcullis(
            "login",
            f"http://{host}",
            home=home,
            PORTCULLIS_ENTRA_TOKEN=entra.access_token(alice),
        )
    finally:
        server.shutdown()
        server.server_close()

    assert result.returncode == 0, result.stderr
    assert RefreshToken.find(docker_config(home)["auths"][host]["identitytoken"]).service == SERVICE


# With a real registry and skopeo -------------------------------------------------------------


def skopeo(*args: str, auth_file: Path) -> subprocess.CompletedProcess:
    env = {
        "REGISTRY_AUTH_FILE": str(auth_file),
        "PATH": "/usr/bin:/bin",
        "HOME": str(auth_file.parent),
    }
    command = [shutil.which("skopeo") or "skopeo", "--insecure-policy", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.integration
def test_skopeo_pushes_with_what_portcullis_login_stored(
    live_server, entra, home, tmp_path, settings, token_signing_key
):
    from tests.fixtures.images import build_image
    from tests.fixtures.registry import free_port, start_portal_registry

    settings.PORTAL_URL = live_server.url
    registry = Registry.objects.create(
        name="clireg", login_server=f"http://127.0.0.1:{free_port()}", service="clireg-service"
    )
    Namespace.objects.create(registry=registry, name="team-a")
    alice = entra.add_user("alice@contoso.com")
    carol = entra.add_user("carol@contoso.com")
    pushers = entra.add_group("Pushers", alice)
    waiting = Group.objects.create(name=pushers.object_id, object_id=pushers.object_id)
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope="/registries/clireg/namespaces/team-a",
        group=waiting,
    )
    server = start_portal_registry(tmp_path / "registry", registry_name="clireg")
    image = build_image(tmp_path / "image", seed="portcullis-login")
    name = f"team-a/cli-{uuid.uuid4().hex[:8]}"
    try:
        alices_auth = tmp_path / "alice" / "auth.json"
        result = portcullis(
            "login",
            server.url,  # the portal and service come from the registry's challenge
            home=home,
            PORTCULLIS_ENTRA_TOKEN=entra.access_token(alice),
            REGISTRY_AUTH_FILE=str(alices_auth),
        )
        assert result.returncode == 0, result.stderr

        pushed = skopeo(
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{image.layout_dir}",
            f"docker://{server.host}/{name}:1.0",
            auth_file=alices_auth,
        )
        assert pushed.returncode == 0, pushed.stderr
        # skopeo reads the Docker config the command wrote, too.
        inspected = skopeo(
            "inspect",
            "--tls-verify=false",
            f"docker://{server.host}/{name}:1.0",
            auth_file=home / ".docker" / "config.json",
        )
        assert inspected.returncode == 0, inspected.stderr

        # Carol signs in the same way but is in no group: the registry refuses her push.
        carols_auth = tmp_path / "carol" / "auth.json"
        portcullis(
            "login",
            server.url,
            home=tmp_path / "carol-home",
            PORTCULLIS_ENTRA_TOKEN=entra.access_token(carol),
            REGISTRY_AUTH_FILE=str(carols_auth),
        )
        refused = skopeo(
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{image.layout_dir}",
            f"docker://{server.host}/{name}:2.0",
            auth_file=carols_auth,
        )
        assert refused.returncode != 0
        assert any(
            w in refused.stderr.lower()
            for w in ("unauthorized", "denied", "authentication required")
        )
    finally:
        server.stop()
