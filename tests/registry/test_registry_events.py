"""Registry notifications: ``/registry-events/<registry>/`` stores what a registry sends and the
worker applies it to the index.

The end-to-end tests run a real docker-registry whose notifications point at the portal under
test and push, pull and delete with skopeo and the registry's API; the index follows without
any sync.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from registry.events.apply import apply_pending
from registry.events.secrets import events_secret_create
from registry.models import EventsSecret, Manifest, Registry, RegistryEvent, Repository, Tag
from tests.fixtures.images import build_image, build_index, push

ENVELOPE_TYPE = "application/vnd.docker.distribution.events.v1+json"
DIGEST = "sha256:" + "a" * 64


def event(event_id: str = "e1", action: str = "push", **target) -> dict:
    """An event shaped like docker-registry 2.8.2's (see registry.events.ingest)."""
    return {
        "id": event_id,
        "timestamp": "2026-11-29T08:10:11.123456789Z",
        "action": action,
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": DIGEST,
            "size": 401,
            "repository": "team-a/app",
            **target,
        },
        "request": {"addr": "10.0.0.7:51234", "method": "PUT", "useragent": "skopeo/1.13"},
        "actor": {"name": "ci-deployer"},
        "source": {"addr": "registry:5000", "instanceID": "x"},
    }


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:9")


@pytest.fixture
def secret(prod1):
    return events_secret_create(prod1)


def post(client, body, secret: str | None, registry: str = "prod1", **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        f"/registry-events/{registry}/", data, content_type=ENVELOPE_TYPE, **headers, **extra
    )


# The endpoint ---------------------------------------------------------------------------------


def test_events_are_stored_with_what_they_say(client, prod1, secret):
    response = post(client, {"events": [event(tag="v1")]}, secret)

    assert response.status_code == 200
    assert response.json() == {"stored": 1, "duplicates": 0}
    stored = RegistryEvent.objects.get()
    assert (stored.action, stored.repository, stored.tag, stored.digest) == (
        "push",
        "team-a/app",
        "v1",
        DIGEST,
    )
    assert (stored.actor, stored.client_addr, stored.request_method) == (
        "ci-deployer",
        "10.0.0.7:51234",
        "PUT",
    )
    assert stored.occurred_at.isoformat() == "2026-11-29T08:10:11.123456+00:00"
    assert stored.raw["source"]["instanceID"] == "x"


def test_the_same_envelope_twice_stores_each_event_once(client, prod1, secret):
    envelope = {"events": [event("e1"), event("e2", tag="v1"), event("e1")]}
    assert post(client, envelope, secret).json() == {"stored": 2, "duplicates": 1}
    assert post(client, envelope, secret).json() == {"stored": 0, "duplicates": 3}
    assert RegistryEvent.objects.count() == 2


def test_malformed_and_unknown_events_are_kept_and_flagged(client, prod1, secret):
    envelope = {
        "events": [
            event("bad-name", repository="Team-A/App"),
            {"no": "id"},
            "not an object",
            event("odd", action="explode"),
            event("blob", mediaType="application/octet-stream"),
            event("good"),
            {**event("portal-read", action="pull"), "actor": {"name": "system:portcullis"}},
        ]
    }
    response = post(client, envelope, secret)

    assert response.status_code == 200
    statuses = dict(RegistryEvent.objects.values_list("event_id", "status"))
    assert statuses["bad-name"] == "malformed"
    assert statuses["odd"] == "ignored"
    assert statuses["blob"] == "ignored"
    assert statuses["good"] in {"pending", "applied"}
    assert statuses["portal-read"] == "ignored"
    standins = [e for e in statuses if e.startswith("malformed:")]
    assert len(standins) == 2 and all(statuses[e] == "malformed" for e in standins)
    problem = RegistryEvent.objects.get(event_id="bad-name").problem
    assert "target.repository" in problem


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x00\xff garbage", "not JSON"),
        ("[1, 2]", '{"events": [...]}'),
        ('{"events": {"id": 1}}', '{"events": [...]}'),
    ],
)
def test_a_body_that_is_not_an_envelope_is_a_400(client, prod1, secret, body, message):
    response = post(client, body, secret)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not RegistryEvent.objects.exists()


@pytest.mark.parametrize("presented", [None, "wrong", "pcl_evt_wrong", "Basic abc"])
def test_a_wrong_or_missing_secret_is_a_401(client, prod1, secret, presented):
    response = post(client, {"events": [event()]}, presented)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not RegistryEvent.objects.exists()


def test_another_registrys_secret_is_a_401(client, prod1, secret):
    other = Registry.objects.create(name="prod2", login_server="http://127.0.0.1:9")
    other_secret = events_secret_create(other)
    assert post(client, {"events": [event()]}, other_secret).status_code == 401
    assert post(client, {"events": [event()]}, other_secret, registry="prod2").status_code == 200


def test_an_unknown_registry_is_a_404(client, prod1, secret):
    assert post(client, {"events": [event()]}, secret, registry="nosuch1").status_code == 404
    assert post(client, {"events": [event()]}, secret, registry="bad_name!").status_code == 404


def test_a_huge_envelope_is_a_413(client, prod1, secret, settings):
    settings.REGISTRY_EVENTS_MAX_BYTES = 10_000
    huge = {"events": [event(f"e{i}") for i in range(100)]}
    response = post(client, huge, secret)
    assert response.status_code == 413
    assert not RegistryEvent.objects.exists()


def test_only_post_is_accepted(client, prod1, secret):
    assert client.get("/registry-events/prod1/").status_code == 405


def test_a_new_secret_keeps_the_one_before_and_drops_older_ones(client, prod1, secret):
    second = events_secret_create(prod1)
    assert post(client, {"events": [event("e1")]}, secret).status_code == 200
    third = events_secret_create(prod1)
    assert post(client, {"events": [event("e2")]}, secret).status_code == 401
    assert post(client, {"events": [event("e3")]}, second).status_code == 200
    assert post(client, {"events": [event("e4")]}, third).status_code == 200
    assert EventsSecret.objects.filter(registry=prod1).count() == 2
    assert secret not in str(list(EventsSecret.objects.values_list("digest", flat=True)))


# Applying events without a registry ------------------------------------------------------------


def test_pulls_and_deletes_apply_to_what_the_index_holds(prod1):
    repository = Repository.objects.create(registry=prod1, name="team-a/app")
    manifest = Manifest.objects.create(
        repository=repository, digest=DIGEST, media_type="x", created_at=timezone.now()
    )
    Tag.objects.create(
        repository=repository, name="v1", manifest=manifest, updated_at=timezone.now()
    )
    Tag.objects.create(
        repository=repository, name="v2", manifest=manifest, updated_at=timezone.now()
    )
    pulled = event("p1", action="pull", tag="v1")
    untag = event("d1", action="delete", digest="", tag="v2")
    untag["target"].pop("mediaType")  # as 2.8 sends it
    from registry.events.ingest import store

    store(prod1, [pulled, untag])
    report = apply_pending(prod1.pk)

    assert report.applied == 2
    manifest.refresh_from_db()
    assert manifest.last_pulled_at.isoformat() == "2026-11-29T08:10:11.123456+00:00"
    assert Tag.objects.get(name="v1").last_pulled_at == manifest.last_pulled_at
    assert list(Tag.objects.values_list("name", flat=True)) == ["v1"]

    store(prod1, [event("d2", action="delete")])
    apply_pending(prod1.pk)
    assert not Manifest.objects.exists() and not Tag.objects.exists()


def test_an_unreachable_registry_leaves_pushes_pending_in_order(prod1):
    from registry.events.ingest import store

    store(prod1, [event("e1", tag="v1"), event("e2", action="delete")])
    report = apply_pending(prod1.pk)

    assert report.applied == 0 and report.waiting == 2
    first = RegistryEvent.objects.get(event_id="e1")
    assert first.status == "pending" and first.attempts == 1
    assert "unavailable" in first.problem
    assert RegistryEvent.objects.get(event_id="e2").attempts == 0


# A real registry -----------------------------------------------------------------------------


@pytest.fixture
def notifying(live_server, make_registry_server, transactional_db):
    """A registry whose notifications reach the portal under test, and its Registry row."""
    registry = Registry.objects.create(name="events1", login_server="http://127.0.0.1:9")
    secret = events_secret_create(registry)
    server = make_registry_server(
        extra_config=(
            "notifications:\n"
            "  endpoints:\n"
            "    - name: portal\n"
            f"      url: {live_server.url}/registry-events/events1/\n"
            "      headers:\n"
            f"        Authorization: [Bearer {secret}]\n"
            "      timeout: 5s\n"
            "      threshold: 3\n"
            "      backoff: 1s\n"
        )
    )
    registry.login_server = server.url
    registry.save()
    yield server, registry
    settle(server, "events1")


def settle(server, registry_name: str, quiet: float = 1.0, timeout: float = 30.0) -> None:
    """Stop the registry, then wait until the portal has stored and applied what it sent.

    The portal may still be applying an envelope when a test ends; emptying the tables under it
    would deadlock, so teardown waits until nothing arrives or stays pending for ``quiet``.
    """
    server.stop()
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        events = RegistryEvent.objects.filter(registry__name=registry_name)
        count = events.count()
        if count != seen or events.filter(status="pending").exists():
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the index did not catch up in time")
        time.sleep(0.2)


def test_the_index_follows_pushes_pulls_and_deletes_without_a_sync(notifying, tmp_path):
    server, registry = notifying
    image = build_image(tmp_path / "image", seed="events")
    push(image, server.host, "team-a/app:v1")
    multi = build_index(tmp_path / "multi", seed="events-multi")
    push(multi, server.host, "team-a/multi:v2")

    def indexed() -> bool:
        return Tag.objects.filter(repository__registry=registry, name__in=["v1", "v2"]).count() == 2

    eventually(indexed)
    tag = Tag.objects.select_related("manifest").get(name="v1")
    assert tag.manifest.digest == image.digest
    assert (tag.manifest.architecture, tag.manifest.os) == ("amd64", "linux")
    index = Manifest.objects.get(digest=multi.digest)
    assert index.children.count() == 2

    # A pull (a GET of the manifest) is recorded on the manifest and the tag.
    response = httpx.get(
        f"{server.url}/v2/team-a/app/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert response.status_code == 200
    eventually(lambda: Tag.objects.get(name="v1").last_pulled_at is not None)
    assert Manifest.objects.get(digest=image.digest).last_pulled_at is not None

    # Deleting the manifest in the registry takes it and its tag out of the index.
    assert httpx.delete(f"{server.url}/v2/team-a/app/manifests/{image.digest}").status_code == 202
    eventually(lambda: not Manifest.objects.filter(digest=image.digest).exists())
    assert not Tag.objects.filter(name="v1").exists()
    assert Tag.objects.filter(name="v2").exists()
    eventually(lambda: not RegistryEvent.objects.filter(status="pending").exists())
    assert not RegistryEvent.objects.filter(status="malformed").exists()


def test_pushes_the_portal_refused_arrive_once_it_accepts_again(notifying, tmp_path):
    """The registry retries an envelope until the portal takes it (here: its secret was
    unknown for a while); nothing is lost meanwhile."""
    server, registry = notifying
    secret_rows = list(EventsSecret.objects.filter(registry=registry))
    EventsSecret.objects.filter(registry=registry).delete()  # every delivery is refused (401)

    image = build_image(tmp_path / "image", seed="events-down")
    push(image, server.host, "team-b/app:v1")
    time.sleep(2)
    assert not Tag.objects.filter(name="v1").exists()

    EventsSecret.objects.bulk_create(secret_rows)  # the portal accepts again
    eventually(lambda: Tag.objects.filter(repository__name="team-b/app", name="v1").exists())
    assert RegistryEvent.objects.filter(repository="team-b/app", action="push").exists()
    assert timezone.now() - RegistryEvent.objects.first().received_at < timedelta(minutes=1)


# The event log: API and pages ----------------------------------------------------------------


@pytest.fixture
def logged(prod1):
    from registry.events.ingest import store

    store(
        prod1,
        [
            event("a1", tag="v1"),
            event("a2", action="pull", tag="v1"),
            event("b1", repository="team-b/app", tag="v1"),
            event("x1", repository="Bad Name"),
        ],
    )
    return prod1


def _assign(user, role: str, scope: str) -> None:
    from registry.models import RoleAssignment, RoleDefinition

    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=scope, user=user
    )


def test_the_api_lists_events_newest_first_with_filters(admin_client, logged):
    url = "/api/v1/registries/prod1/events/"
    body = admin_client.get(url).json()
    assert [e["id"] for e in body["results"]] == ["x1", "b1", "a2", "a1"]
    first = next(e for e in body["results"] if e["id"] == "a1")
    assert first["actor"] == "ci-deployer" and first["client_addr"] == "10.0.0.7:51234"
    assert first["occurred"] == "2026-11-29T08:10:11.123456Z"

    pulls = admin_client.get(url, {"action": "pull", "repository": "team-a/app"}).json()
    assert [e["id"] for e in pulls["results"]] == ["a2"]
    malformed = admin_client.get(url, {"status": "malformed"}).json()["results"]
    assert len(malformed) == 1 and "target.repository" in malformed[0]["problem"]
    assert admin_client.get(url, {"action": "explode"}).status_code == 400
    assert admin_client.get(url, {"repository": "Bad Name"}).status_code == 400


def test_events_follow_what_the_caller_can_see(client, logged, bob):
    url = "/api/v1/registries/prod1/events/"
    client.force_login(bob)
    assert client.get(url).status_code == 404  # no role: the registry does not exist for bob
    assert client.get("/registries/prod1/events/").status_code == 404

    _assign(bob, "AcrPull", "/registries/prod1/namespaces/team-a")
    ids = {e["id"] for e in client.get(url).json()["results"]}
    assert ids == {"a1", "a2"}
    page = client.get("/registries/prod1/events/").content.decode()
    assert "team-a/app" in page and "team-b/app" not in page


def test_the_event_page_filters_and_the_repository_page_shows_recent_events(admin_client, logged):
    Repository.objects.create(registry=logged, name="team-a/app")
    page = admin_client.get("/registries/prod1/events/", {"action": "pull"}).content.decode()
    assert "pull" in page and "team-b/app" not in page

    detail = admin_client.get("/registries/prod1/repositories/team-a/app/").content.decode()
    assert "Recent events" in detail and "ci-deployer" in detail
    assert "/registries/prod1/events/?repository=team-a/app" in detail


# A registry configured by registry_config ---------------------------------------------------


@pytest.fixture
def configured(live_server, transactional_db, tmp_path, settings):
    """docker-registry as ``manage.py registry_config`` writes it: token auth and notifications
    both pointing at the portal under test."""
    from registry.tokens import server as token_server
    from registry.tokens.keys import generate_signing_key
    from tests.fixtures.registry import free_port, start_portal_registry

    settings.PORTAL_URL = live_server.url
    settings.TOKEN_SIGNING_KEY_FILE = str(tmp_path / "keys" / "token-signing-key.pem")
    generate_signing_key(tmp_path / "keys" / "token-signing-key.pem")
    token_server.signing_key.cache_clear()
    Registry.objects.create(
        name="wired1", login_server=f"http://127.0.0.1:{free_port()}", service="wired1"
    )
    server = start_portal_registry(tmp_path / "registry", registry_name="wired1")
    yield server
    settle(server, "wired1")
    token_server.signing_key.cache_clear()


def test_a_push_through_the_token_server_reaches_the_index_by_its_events(configured, tmp_path):
    import subprocess

    from accounts.models import ServicePrincipal
    from accounts.services import service_principal_secret_create
    from registry.models import RoleAssignment, RoleDefinition

    ci = ServicePrincipal.objects.create(name="ci")
    secret = service_principal_secret_create(service_principal=ci).secret
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope="/registries/wired1/namespaces/team-a",
        service_principal=ci,
    )
    image = build_image(tmp_path / "image", seed="wired")
    result = subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"--dest-creds={ci.client_id}:{secret}",
            f"oci:{image.layout_dir}",
            f"docker://{configured.host}/team-a/app:v1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    eventually(lambda: Tag.objects.filter(repository__name="team-a/app", name="v1").exists())
    assert Tag.objects.get(name="v1").manifest.digest == image.digest
    pushed = RegistryEvent.objects.get(action="push", tag="v1")
    assert pushed.actor == str(ci.client_id)  # the token's subject: who pushed
    assert pushed.status == "applied"
    # Reading the manifest to index it is the portal's own pull, not counted as anyone's.
    assert Tag.objects.get(name="v1").manifest.last_pulled_at is None
    # Blob events are not sent at all (ignoredmediatypes), so only manifests were reported.
    assert not RegistryEvent.objects.filter(media_type="application/octet-stream").exists()


def test_pushes_made_while_the_portal_is_down_land_by_the_registrys_retries(
    live_server, make_registry_server, transactional_db, tmp_path
):
    """The portal behind a proxy that answers 503 for a while (down behind its load balancer):
    the registry keeps its envelopes and retries them, and the index catches up once it is up."""
    from tests.fault_proxy import FaultProxy

    registry = Registry.objects.create(name="events2", login_server="http://127.0.0.1:9")
    secret = events_secret_create(registry)
    with FaultProxy(live_server.url) as proxy:
        proxy.fail_status = 503
        proxy.fail_when = lambda method, path: True  # the portal is down
        server = make_registry_server(
            extra_config=(
                "notifications:\n"
                "  endpoints:\n"
                "    - name: portal\n"
                f"      url: {proxy.url}/registry-events/events2/\n"
                "      headers:\n"
                f"        Authorization: [Bearer {secret}]\n"
                "      timeout: 5s\n"
                "      threshold: 3\n"
                "      backoff: 1s\n"
            )
        )
        registry.login_server = server.url
        registry.save()
        image = build_image(tmp_path / "image", seed="events-portal-down")
        push(image, server.host, "team-c/app:v1")
        eventually(lambda: any("registry-events" in path for _, path in proxy.requests))
        time.sleep(1.5)
        assert not RegistryEvent.objects.filter(registry=registry).exists()

        proxy.fail_when = lambda method, path: False  # back up
        eventually(lambda: Tag.objects.filter(repository__name="team-c/app", name="v1").exists())
        assert Tag.objects.get(name="v1").manifest.digest == image.digest
        refused = sum(1 for _, path in proxy.requests if "registry-events" in path)
        assert refused >= 2  # at least one refused attempt and the one that landed
        settle(server, "events2")
