"""REST API deletes against a real docker-registry (distribution 2.8), images pushed by skopeo."""

from __future__ import annotations

import pytest

from registry.backend import NotFound, RegistryClient
from registry.models import AuditEvent, Manifest, Registry, Repository, Tag
from registry.sync import registry_sync
from tests.fixtures.images import build_image, push
from tests.registry.api_support import api_url, assert_problem

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _populate(server, tmp_path) -> dict[str, object]:
    """team-a/app:1.0 and :latest (one image), team-a/app:2.0 (another); indexed by a sync."""
    one = build_image(tmp_path / "one", seed="one")
    push(one, server.host, "team-a/app:1.0")
    push(one, server.host, "team-a/app:latest")
    two = build_image(tmp_path / "two", seed="two")
    push(two, server.host, "team-a/app:2.0")
    registry = Registry.objects.create(name="real1", login_server=server.url)
    report = registry_sync(registry=registry)
    assert report.completed, report.errors
    return {"registry": registry, "one": one.digest, "two": two.digest}


def _in_registry(server, digest: str) -> bool:
    with RegistryClient(server.url) as client:
        try:
            client.head_manifest("team-a/app", digest)
        except NotFound:
            return False
    return True


def _manifest_url(digest: str) -> str:
    return api_url("manifest-detail", registry="real1", repository="team-a/app", digest=digest)


def test_deleting_a_manifest_removes_it_and_its_tags_everywhere(
    admin_client, alice, registry_server_fresh, tmp_path
):
    content = _populate(registry_server_fresh, tmp_path)

    response = admin_client.delete(_manifest_url(content["one"]))

    assert response.status_code == 204, response.content
    assert not _in_registry(registry_server_fresh, content["one"])
    assert _in_registry(registry_server_fresh, content["two"])
    assert list(Tag.objects.values_list("name", flat=True)) == ["2.0"]
    assert not Manifest.objects.filter(digest=content["one"]).exists()
    event = AuditEvent.objects.get(action="manifest.delete")
    assert event.actor == alice
    assert event.details == {"digest": content["one"], "tags": ["1.0", "latest"]}
    assert_problem(admin_client.get(_manifest_url(content["one"])), 404)


def test_untagging_on_distribution_2_8_is_a_409_that_says_what_to_do(
    admin_client, registry_server_fresh, tmp_path
):
    content = _populate(registry_server_fresh, tmp_path)
    url = api_url("tag-detail", registry="real1", repository="team-a/app", tag="latest")

    problem = assert_problem(admin_client.delete(url), 409)

    assert "delete its manifest" in problem["detail"]
    assert content["one"] in problem["detail"]
    assert Tag.objects.filter(name="latest").exists()
    assert _in_registry(registry_server_fresh, content["one"])
    assert not AuditEvent.objects.filter(action="tag.delete").exists()


def test_deletes_disabled_in_the_registry_are_a_409(admin_client, make_registry_server, tmp_path):
    server = make_registry_server(delete_enabled=False)
    content = _populate(server, tmp_path)

    problem = assert_problem(admin_client.delete(_manifest_url(content["one"])), 409)

    assert "deletes are disabled" in problem["detail"]
    assert Manifest.objects.filter(digest=content["one"]).exists()
    assert Tag.objects.count() == 3
    assert _in_registry(server, content["one"])


def test_a_registry_that_went_down_is_a_503_and_the_index_stays(
    admin_client, registry_server_fresh, tmp_path
):
    content = _populate(registry_server_fresh, tmp_path)
    registry_server_fresh.stop()
    try:
        problem = assert_problem(admin_client.delete(_manifest_url(content["one"])), 503)
        assert registry_server_fresh.url in problem["detail"]
        assert Manifest.objects.filter(digest=content["one"]).exists()
        assert Tag.objects.count() == 3
    finally:
        registry_server_fresh.start()

    # Once the registry is back, the same request goes through.
    assert admin_client.delete(_manifest_url(content["one"])).status_code == 204
    assert not _in_registry(registry_server_fresh, content["one"])


def test_deleting_a_repository_deletes_every_manifest_in_it(
    admin_client, registry_server_fresh, tmp_path
):
    content = _populate(registry_server_fresh, tmp_path)
    url = api_url("repository-detail", registry="real1", repository="team-a/app")

    response = admin_client.delete(url)

    assert response.status_code == 204, response.content
    assert not _in_registry(registry_server_fresh, content["one"])
    assert not _in_registry(registry_server_fresh, content["two"])
    assert not Repository.objects.exists()
    assert AuditEvent.objects.get(action="repository.delete").details == {"manifests_deleted": 2}
    assert_problem(admin_client.get(url), 404)
