"""``sync_registry`` against a real docker-registry with images pushed by skopeo."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.backend import RegistryClient
from registry.models import AuditEvent, Manifest, Registry, Repository, Tag
from registry.sync import registry_sync
from tests.fault_proxy import FaultProxy
from tests.fixtures.images import build_image, build_index, push

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

INDEX_TABLES = ("registry_repository", "registry_manifest", "registry_tag", "registry_auditevent")


def _registry(url: str) -> Registry:
    return Registry.objects.create(name="synctest", login_server=url)


def _snapshot() -> dict[str, object]:
    return {
        "repositories": sorted(Repository.objects.values_list("name", "updated_at")),
        "manifests": sorted(Manifest.objects.values_list("repository__name", "digest", "size")),
        "tags": sorted(Tag.objects.values_list("repository__name", "name", "manifest__digest")),
    }


@pytest.fixture
def populated(registry_server_fresh, tmp_path):
    """team-a/app:1.0 and :latest, team-a/multi:1.0 (amd64 + arm64/v8) and team-b/tool:v1."""
    host = registry_server_fresh.host
    app = build_image(tmp_path / "app", seed="app", layer_count=2)
    push(app, host, "team-a/app:1.0")
    push(app, host, "team-a/app:latest")
    multi = build_index(tmp_path / "multi", seed="multi")
    push(multi, host, "team-a/multi:1.0")
    tool = build_image(
        tmp_path / "tool", seed="tool", created=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    )
    push(tool, host, "team-b/tool:v1")
    return {"server": registry_server_fresh, "app": app, "multi": multi, "tool": tool}


def test_sync_indexes_repositories_tags_platforms_and_sizes(populated):
    registry = _registry(populated["server"].url)
    report = registry_sync(registry=registry)

    assert report.completed
    assert sorted(report.repositories_added) == ["team-a/app", "team-a/multi", "team-b/tool"]
    assert report.tags_added == 4
    # app, tool, the index and its two children.
    assert report.manifests_added == 5

    app = populated["app"]
    manifest = Manifest.objects.get(repository__name="team-a/app")
    assert manifest.digest == app.digest
    assert manifest.media_type == "application/vnd.oci.image.manifest.v1+json"
    expected_size = app.manifest.size + app.config.size + sum(layer.size for layer in app.layers)
    assert manifest.size == expected_size
    assert len(manifest.layers) == 2
    assert [layer["digest"] for layer in manifest.layers] == [layer.digest for layer in app.layers]
    assert (manifest.os, manifest.architecture) == ("linux", "amd64")
    assert sorted(manifest.tags.values_list("name", flat=True)) == ["1.0", "latest"]

    multi = populated["multi"]
    index = Manifest.objects.get(repository__name="team-a/multi", digest=multi.digest)
    assert index.is_index
    platforms = sorted((c.os, c.architecture, c.variant) for c in index.children.all())
    assert platforms == [("linux", "amd64", ""), ("linux", "arm64", "v8")]
    children_size = sum(c.size for c in index.children.all())
    assert index.size == multi.size + children_size
    assert list(index.tags.values_list("name", flat=True)) == ["1.0"]

    tool = Manifest.objects.get(repository__name="team-b/tool")
    assert tool.created_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    registry.refresh_from_db()
    assert registry.last_synced_at is not None
    assert registry.sync_cursor == ""
    assert AuditEvent.objects.filter(action="registry.sync", scope=registry.scope).count() == 1


def test_a_second_sync_with_no_changes_writes_nothing(populated):
    registry = _registry(populated["server"].url)
    registry_sync(registry=registry)
    before = _snapshot()

    with CaptureQueriesContext(connection) as queries:
        report = registry_sync(registry=registry)

    assert report.completed
    assert not report.changed
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and any(table in q["sql"] for table in INDEX_TABLES)
    ]
    assert writes == []
    assert _snapshot() == before


def test_a_registry_failing_halfway_through_the_catalog_leaves_the_index_untouched(populated):
    with FaultProxy(populated["server"].url) as proxy:
        registry = _registry(proxy.url)
        registry_sync(registry=registry, page_size=1)
        before = _snapshot()
        audit_rows = AuditEvent.objects.count()

        # The second catalog page fails from now on.
        proxy.fail_when = lambda method, path: "_catalog" in path and "last=" in path
        report = registry_sync(registry=registry, page_size=1, restart=True)

    assert not report.completed
    assert report.repositories_seen == 1
    assert len(report.errors) == 1
    assert "injected failure" in report.errors[0]
    assert report.repositories_removed == []
    assert _snapshot() == before
    assert AuditEvent.objects.count() == audit_rows


def test_a_failing_tag_list_keeps_the_repository_and_its_tags(populated):
    with FaultProxy(populated["server"].url) as proxy:
        registry = _registry(proxy.url)
        registry_sync(registry=registry)
        before = _snapshot()
        proxy.fail_when = lambda method, path: path.startswith("/v2/team-a/multi/tags/list")
        proxy.fail_status = 503
        report = registry_sync(registry=registry, restart=True)

    assert not report.completed
    assert _snapshot() == before


def test_an_interrupted_sync_resumes_after_the_last_repository_it_finished(populated):
    with FaultProxy(populated["server"].url) as proxy:
        registry = _registry(proxy.url)
        proxy.fail_when = lambda method, path: "_catalog" in path and "last=team-a%2Fmulti" in path
        first = registry_sync(registry=registry, page_size=1)
        assert not first.completed
        assert sorted(first.repositories_added) == ["team-a/app", "team-a/multi"]
        registry.refresh_from_db()
        assert registry.sync_cursor == "team-a/multi"

        proxy.fail_when = lambda method, path: False
        proxy.requests.clear()
        second = registry_sync(registry=registry, page_size=1)

    assert second.completed
    assert second.resumed_after == "team-a/multi"
    assert second.repositories_added == ["team-b/tool"]
    # Nothing before the cursor was read again.
    assert not any("team-a/app" in path for _, path in proxy.requests)
    assert Repository.objects.count() == 3


def test_sync_follows_deletes_and_moved_tags(populated, tmp_path):
    server = populated["server"]
    registry = _registry(server.url)
    registry_sync(registry=registry)

    newer = build_image(tmp_path / "newer", seed="newer")
    push(newer, server.host, "team-b/tool:v1")
    with RegistryClient(server.url) as client:
        client.delete_manifest("team-a/app", populated["app"].digest)

    report = registry_sync(registry=registry)
    assert report.completed
    assert report.tags_moved == 1
    assert report.tags_removed == 2
    assert Tag.objects.get(repository__name="team-b/tool", name="v1").manifest.digest == (
        newer.digest
    )
    assert not Tag.objects.filter(repository__name="team-a/app").exists()
    # The old tool image is untagged but still in the registry, so it stays in the index.
    assert Manifest.objects.filter(digest=populated["tool"].digest).exists()
    # The deleted app manifest is gone from the registry (404), so it leaves the index.
    assert not Manifest.objects.filter(digest=populated["app"].digest).exists()


def test_sync_registry_command_reports_and_fails_on_a_dead_registry(populated, capsys):
    _registry(populated["server"].url)
    call_command("sync_registry", "synctest")
    out = capsys.readouterr().out
    assert "synctest: 3 repositories read, +3/-0 repositories" in out

    Registry.objects.create(name="deadregistry", login_server="http://127.0.0.1:9")
    with pytest.raises(CommandError, match="could not be read completely"):
        call_command("sync_registry")
    captured = capsys.readouterr()
    assert "deadregistry" in captured.err
    assert Repository.objects.count() == 3


def test_sync_registry_command_refuses_an_unknown_registry():
    with pytest.raises(CommandError, match="No registry named 'nosuch'"):
        call_command("sync_registry", "nosuch")
