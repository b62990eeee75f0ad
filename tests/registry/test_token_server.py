"""The token server decides who may push, pull and delete on a real registry.

One docker-registry 2.8 runs for this module, configured by ``manage.py registry_config`` (token
auth whose realm is the portal under test, pytest-django's ``live_server``); skopeo signs in
with service principals, personal access tokens, refresh tokens and the admin user.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts.models import ServicePrincipal
from accounts.services import (
    machine_secret_revoke,
    personal_access_token_create,
    service_principal_secret_create,
)
from registry import services
from registry.backend import NotFound
from registry.models import Namespace, Registry, Repository, RoleAssignment, RoleDefinition
from registry.sync import registry_sync
from registry.tokens import server as token_server
from registry.tokens.keys import certificate_path
from tests.fixtures.images import build_image
from tests.fixtures.registry import guarded_registry

NAME = "guarded1"
SERVICE = "guarded-registry"
NULL_ACCOUNT = "00000000-0000-0000-0000-000000000000"

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def guarded_server(live_server, django_db_setup, django_db_blocker, tmp_path_factory):
    """docker-registry configured by ``registry_config``, its realm this test's live server."""
    workdir = tmp_path_factory.mktemp("guarded")
    with guarded_registry(
        live_server, django_db_blocker, workdir, name=NAME, service=SERVICE
    ) as server:
        yield server


@pytest.fixture
def guarded(guarded_server):
    """The registry row (tables are emptied after each test) with namespaces team-a, team-b."""
    registry = Registry.objects.create(name=NAME, login_server=guarded_server.url, service=SERVICE)
    for name in ("team-a", "team-b"):
        Namespace.objects.create(registry=registry, name=name)
    return guarded_server


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return build_image(tmp_path_factory.mktemp("image"), seed="token-server")


@pytest.fixture
def repo():
    """Repository names of this test only, under a namespace: ``repo("team-a")``."""
    run = uuid.uuid4().hex[:8]
    return lambda namespace, base="app": f"{namespace}/{base}-{run}"


def assign(role, scope, **principal):
    return RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=scope, **principal
    )


def skopeo(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {"REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"), "PATH": "/usr/bin:/bin"}
    command = [shutil.which("skopeo") or "skopeo", "--insecure-policy", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def push(image, host, name, creds, tmp_path, tag="1.0"):
    return skopeo(
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        f"--dest-creds={creds}",
        f"oci:{image.layout_dir}",
        f"docker://{host}/{name}:{tag}",
        tmp_path=tmp_path,
    )


def pull(host, name, creds, tmp_path, tag="1.0"):
    return skopeo(
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        f"--src-creds={creds}",
        f"docker://{host}/{name}:{tag}",
        f"oci:{tmp_path / uuid.uuid4().hex}",
        tmp_path=tmp_path,
    )


def refused(result: subprocess.CompletedProcess) -> bool:
    text = result.stderr.lower()
    return result.returncode != 0 and any(
        word in text for word in ("unauthorized", "denied", "authentication required")
    )


def principal_with_secret(name="ci"):
    principal = ServicePrincipal.objects.create(name=name)
    issued = service_principal_secret_create(service_principal=principal)
    return principal, f"{principal.client_id}:{issued.secret}", issued.record


@pytest.fixture
def ci():
    return principal_with_secret()


@pytest.fixture
def seeded(guarded, image, repo, tmp_path):
    """A repository under team-a with tag 1.0, pushed by an Owner; returns its name."""
    owner, creds, _ = principal_with_secret("seed")
    assign("Owner", f"/registries/{NAME}", service_principal=owner)
    name = repo("team-a")
    result = push(image, guarded.host, name, creds, tmp_path)
    assert result.returncode == 0, result.stderr
    return name


# Roles and locks ----------------------------------------------------------------------------


def test_acrpush_on_a_namespace_pushes_there_and_nowhere_else(guarded, ci, image, repo, tmp_path):
    principal, creds, _ = ci
    assign("AcrPush", f"/registries/{NAME}/namespaces/team-a", service_principal=principal)

    allowed = push(image, guarded.host, repo("team-a"), creds, tmp_path)
    denied = push(image, guarded.host, repo("team-b"), creds, tmp_path)

    assert allowed.returncode == 0, allowed.stderr
    assert refused(denied), denied.stderr


def test_a_reader_pulls_but_cannot_push(guarded, seeded, bob, image, tmp_path):
    assign("Reader", f"/registries/{NAME}/namespaces/team-a", user=bob)
    creds = f"bob:{personal_access_token_create(user=bob, name='cli').token}"

    pulled = pull(guarded.host, seeded, creds, tmp_path)
    pushed = push(image, guarded.host, seeded, creds, tmp_path, tag="2.0")

    assert pulled.returncode == 0, pulled.stderr
    assert refused(pushed), pushed.stderr


def test_acrdelete_deletes_and_acrpull_alone_cannot(guarded, seeded, tmp_path):
    # skopeo reads the manifest before deleting it, so both hold AcrPull.
    puller, puller_creds, _ = principal_with_secret("puller")
    deleter, deleter_creds, _ = principal_with_secret("deleter")
    scope = f"/registries/{NAME}/namespaces/team-a"
    assign("AcrPull", scope, service_principal=puller)
    assign("AcrPull", scope, service_principal=deleter)
    assign("AcrDelete", scope, service_principal=deleter)
    target = f"docker://{guarded.host}/{seeded}:1.0"

    not_deleted = skopeo(
        "delete", "--tls-verify=false", f"--creds={puller_creds}", target, tmp_path=tmp_path
    )
    deleted = skopeo(
        "delete", "--tls-verify=false", f"--creds={deleter_creds}", target, tmp_path=tmp_path
    )

    assert refused(not_deleted), not_deleted.stderr
    assert deleted.returncode == 0, deleted.stderr
    assert pull(guarded.host, seeded, deleter_creds, tmp_path).returncode != 0


def test_an_expired_assignment_grants_nothing(guarded, ci, image, repo, tmp_path):
    principal, creds, _ = ci
    assignment = assign("AcrPush", f"/registries/{NAME}", service_principal=principal)
    RoleAssignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    result = push(image, guarded.host, repo("team-a"), creds, tmp_path)

    assert refused(result), result.stderr


@pytest.mark.parametrize("case", ["disabled principal", "revoked secret"])
def test_a_disabled_principal_or_revoked_secret_is_refused(
    guarded, ci, image, repo, tmp_path, case
):
    principal, creds, secret = ci
    assign("AcrPush", f"/registries/{NAME}", service_principal=principal)
    if case == "disabled principal":
        ServicePrincipal.objects.filter(pk=principal.pk).update(enabled=False)
    else:
        machine_secret_revoke(record=secret)

    result = push(image, guarded.host, repo("team-a"), creds, tmp_path)

    assert refused(result), result.stderr


def test_a_write_lock_stops_a_push_even_by_an_owner(guarded, seeded, ci, image, tmp_path):
    principal, creds, _ = ci
    assign("Owner", f"/registries/{NAME}", service_principal=principal)
    Repository.objects.create(
        registry=Registry.objects.get(name=NAME), name=seeded, write_enabled=False
    )

    again = push(image, guarded.host, seeded, creds, tmp_path, tag="2.0")

    assert refused(again), again.stderr
    assert pull(guarded.host, seeded, creds, tmp_path).returncode == 0


# The admin user -----------------------------------------------------------------------------


def test_the_admin_user_works_only_while_enabled(guarded, alice, image, repo, tmp_path):
    registry = Registry.objects.get(name=NAME)
    passwords = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    name = repo("anything")

    with_first = push(image, guarded.host, name, f"{NAME}:{passwords['password']}", tmp_path)
    with_second = pull(guarded.host, name, f"{NAME}:{passwords['password2']}", tmp_path)
    services.admin_user_set_enabled(actor=alice, registry=registry, enabled=False)
    after = pull(guarded.host, name, f"{NAME}:{passwords['password2']}", tmp_path)

    assert with_first.returncode == 0, with_first.stderr
    assert with_second.returncode == 0, with_second.stderr
    assert refused(after), after.stderr


def test_another_registrys_admin_user_is_refused(guarded, alice, image, repo, tmp_path):
    other = Registry.objects.create(name="other1", login_server="http://127.0.0.1:9")
    passwords = services.admin_user_set_enabled(actor=alice, registry=other, enabled=True)

    result = push(image, guarded.host, repo("team-a"), f"other1:{passwords['password']}", tmp_path)

    assert refused(result), result.stderr


# Refresh tokens -----------------------------------------------------------------------------


def exchange(live_server, username, password, service=SERVICE):
    return httpx.post(
        f"{live_server.url}/oauth2/exchange",
        data={
            "grant_type": "password",
            "service": service,
            "username": username,
            "password": password,
        },
        timeout=5,
    )


def test_skopeo_signs_in_with_a_refresh_token_as_the_null_account(
    guarded, live_server, bob, image, repo, tmp_path
):
    assign("AcrPush", f"/registries/{NAME}/namespaces/team-a", user=bob)
    pat = personal_access_token_create(user=bob, name="cli").token
    refresh_token = exchange(live_server, "bob", pat).json()["refresh_token"]

    login = skopeo(
        "login",
        "--tls-verify=false",
        "-u",
        NULL_ACCOUNT,
        "-p",
        refresh_token,
        guarded.host,
        tmp_path=tmp_path,
    )
    pushed = push(image, guarded.host, repo("team-a"), f"{NULL_ACCOUNT}:{refresh_token}", tmp_path)

    assert login.returncode == 0, login.stderr
    assert pushed.returncode == 0, pushed.stderr


def test_a_refresh_token_from_a_revoked_token_is_refused(
    guarded, live_server, bob, image, repo, tmp_path
):
    assign("AcrPush", f"/registries/{NAME}/namespaces/team-a", user=bob)
    issued = personal_access_token_create(user=bob, name="cli")
    refresh_token = exchange(live_server, "bob", issued.token).json()["refresh_token"]
    machine_secret_revoke(record=issued.record)

    pushed = push(image, guarded.host, repo("team-a"), f"{NULL_ACCOUNT}:{refresh_token}", tmp_path)

    assert refused(pushed), pushed.stderr


# The catalog --------------------------------------------------------------------------------


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _ask(live_server, headers, **params):
    return httpx.get(f"{live_server.url}/oauth2/token", params=params, headers=headers, timeout=5)


@pytest.mark.parametrize(
    ("scope", "listed"),
    [(f"/registries/{NAME}", True), (f"/registries/{NAME}/namespaces/team-a", False)],
)
def test_the_catalog_needs_metadata_read_on_the_registry(
    guarded, seeded, live_server, ci, scope, listed
):
    principal, creds, _ = ci
    assign("Reader", scope, service_principal=principal)

    response = _ask(
        live_server, _basic(*creds.split(":", 1)), service=SERVICE, scope="registry:catalog:*"
    )
    token = response.json()["token"]
    catalog = httpx.get(
        f"{guarded.url}/v2/_catalog", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )

    access = jwt.decode(token, options={"verify_signature": False})["access"]
    assert access == [{"type": "registry", "name": "catalog", "actions": ["*"] if listed else []}]
    if listed:
        assert catalog.status_code == 200 and seeded in catalog.json()["repositories"]
    else:
        assert catalog.status_code == 401


# The portal's own client --------------------------------------------------------------------


def test_the_portal_syncs_and_deletes_through_its_own_tokens(guarded, seeded, image, alice):
    registry = Registry.objects.get(name=NAME)

    report = registry_sync(registry=registry)
    repository = Repository.objects.get(registry=registry, name=seeded)
    services.repository_delete(actor=alice, repository=repository)

    assert report.completed and seeded in report.repositories_added, report.errors
    assert not Repository.objects.filter(registry=registry, name=seeded).exists()
    with services.client_for(registry) as client, pytest.raises(NotFound):
        client.head_manifest(seeded, image.digest)


# Answers of /oauth2/token -------------------------------------------------------------------


def test_grants_are_what_is_allowed_and_never_an_error(guarded, live_server, ci):
    principal, creds, _ = ci
    client_id, secret = creds.split(":", 1)
    assign("AcrPull", f"/registries/{NAME}/namespaces/team-a", service_principal=principal)
    scopes = [
        "repository:team-a/app:pull,push,delete",
        "repository:team-b/app:pull",
        "unknown:thing:pull",
    ]

    response = _ask(live_server, _basic(client_id, secret), service=SERVICE, scope=scopes)

    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    assert "refresh_token" not in body
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == client_id and claims["aud"] == SERVICE
    assert claims["access"] == [
        {"type": "repository", "name": "team-a/app", "actions": ["pull"]},
        {"type": "repository", "name": "team-b/app", "actions": []},
        {"type": "unknown", "name": "thing", "actions": []},
    ]


def test_docker_login_asks_with_no_scope_and_gets_a_refresh_token(guarded, live_server, bob):
    token = personal_access_token_create(user=bob, name="cli").token
    response = _ask(live_server, _basic("bob", token), service=SERVICE, offline_token="true")
    assert response.status_code == 200
    body = response.json()
    assert jwt.decode(body["token"], options={"verify_signature": False})["access"] == []
    assert body["refresh_token"].startswith("pcl_rt_")


@pytest.mark.parametrize("debug", [True, False])
def test_development_creates_the_key_on_first_use_production_refuses(tmp_path, settings, debug):
    settings.TOKEN_SIGNING_KEY_FILE = str(tmp_path / "keys" / "token-signing-key.pem")
    settings.DEBUG = debug
    token_server.signing_key.cache_clear()
    try:
        if debug:
            assert token_server.signing_key().kid
            assert certificate_path(Path(settings.TOKEN_SIGNING_KEY_FILE)).exists()
        else:
            with pytest.raises(ImproperlyConfigured, match="Token signing key"):
                token_server.signing_key()
    finally:
        token_server.signing_key.cache_clear()
