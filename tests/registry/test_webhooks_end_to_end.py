"""End to end: a real docker-registry notifies the portal under test; skopeo pushes and pulls,
the registry API deletes; a real local receiver gets ACR-shaped, correctly signed deliveries for
exactly the webhooks whose actions and scope match."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from registry.events.secrets import events_secret_create
from registry.models import Registry, WebhookDelivery
from tests.fixtures.images import build_image, push
from tests.registry.webhook_support import make_webhook, verified_payload

pytestmark = pytest.mark.integration

WEBHOOKS = {
    # name: (actions, scope)
    "everything": (["push", "delete", "pull"], ""),
    "teamapushes": (["push"], "team-a/*:*"),
    "releasepulls": (["pull"], "team-a/app:v1"),
    "deletesonly": (["delete"], ""),
    "teambonly": (["push", "delete", "pull"], "team-b/*:*"),
    "latestonly": (["push"], "team-a/app"),
}


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen in time")
        time.sleep(0.2)


def pull(host: str, reference: str, into: Path) -> None:
    """Copy an image out of the registry with skopeo, as a client pulling it would."""
    command = [
        shutil.which("skopeo") or "skopeo",
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--src-no-creds",
        f"docker://{host}/{reference}",
        f"oci:{into}",
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@pytest.fixture
def notifying(live_server, make_registry_server, transactional_db):
    registry = Registry.objects.create(name="hooked1", login_server="http://127.0.0.1:9")
    secret = events_secret_create(registry)
    server = make_registry_server(
        extra_config=(
            "notifications:\n"
            "  endpoints:\n"
            "    - name: portal\n"
            f"      url: {live_server.url}/registry-events/hooked1/\n"
            "      headers:\n"
            f"        Authorization: [Bearer {secret}]\n"
            "      timeout: 10s\n"
            "      threshold: 3\n"
            "      backoff: 1s\n"
        )
    )
    registry.login_server = server.url
    registry.save()
    return server, registry


def test_pushes_pulls_and_deletes_reach_the_matching_webhooks_signed(
    notifying, webhook_receiver, tmp_path
):
    server, registry = notifying
    secrets = {}
    for name, (actions, scope) in WEBHOOKS.items():
        _, secrets[name] = make_webhook(
            registry, f"{webhook_receiver.url}/{name}", name=name, actions=actions, scope=scope
        )

    def received(name: str) -> list:
        return [r for r in webhook_receiver.requests if r.path == f"/hooks/{name}"]

    def payloads(name: str) -> list[dict]:
        return [verified_payload(secrets[name], request) for request in received(name)]

    image = build_image(tmp_path / "image", seed="webhooks-e2e")
    push(image, server.host, "team-a/app:v1")
    eventually(lambda: received("everything") and received("teamapushes"), "push deliveries")

    (pushed,) = payloads("teamapushes")
    assert pushed["action"] == "push"
    assert pushed["target"] == {
        "mediaType": image.media_type,
        "size": image.size,
        "digest": image.digest,
        "length": image.size,
        "repository": "team-a/app",
        "tag": "v1",
    }
    assert pushed["request"]["method"] == "PUT"
    assert pushed["request"]["host"] == server.host
    assert "skopeo" in pushed["request"]["useragent"] or pushed["request"]["useragent"]
    assert pushed["request"]["id"]
    assert received("teamapushes")[0].headers["webhook-id"] == pushed["id"]

    pull(server.host, "team-a/app:v1", tmp_path / "pulled")
    eventually(lambda: received("releasepulls"), "the pull delivery")
    pulled = payloads("releasepulls")
    assert {p["action"] for p in pulled} == {"pull"}
    assert all(p["request"]["method"] == "GET" for p in pulled)
    assert pulled[0]["target"]["digest"] == image.digest

    response = httpx.delete(f"{server.url}/v2/team-a/app/manifests/{image.digest}")
    assert response.status_code == 202
    eventually(lambda: received("deletesonly"), "the delete delivery")

    def settled() -> bool:
        return not WebhookDelivery.objects.exclude(status="succeeded").exists()

    eventually(settled, "every delivery succeeding")
    deleted = payloads("deletesonly")
    assert {p["action"] for p in deleted} == {"delete"}
    assert any(p["target"].get("digest") == image.digest for p in deleted)
    assert {p["action"] for p in payloads("everything")} == {"push", "pull", "delete"}
    time.sleep(1)  # anything else the registry had to say has arrived by now
    assert received("teambonly") == []
    assert received("latestonly") == []  # v1 is not latest
    # One request per delivery, each under its own id, none repeated.
    ids = [request.headers["webhook-id"] for request in webhook_receiver.requests]
    assert len(ids) == len(set(ids)) == WebhookDelivery.objects.count()
