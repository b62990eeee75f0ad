"""ACR's delete lock: a repository or tag with ``delete_enabled`` off stops every delete that
would take it, in the services, the API (409) and the HTML views (409, with the reason).

Refusals happen before the registry is asked, so these use a registry on a closed port: a
delete that passes the lock check reaches the registry and fails there as unavailable.
"""

from __future__ import annotations

import pytest

from registry import services
from registry.backend import NotFound, RegistryClient, RegistryUnavailable
from registry.models import AuditEvent, Manifest, Registry, Repository, Tag
from registry.sync import registry_sync
from tests.factories import ManifestFactory, RegistryFactory, RepositoryFactory, TagFactory
from tests.fixtures.images import build_image, push
from tests.registry.api_support import api_url, assert_problem, closed_port_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def content(db):
    """team-a/app: manifest one (tags 1.0, latest) and manifest two (tag 2.0)."""
    registry = RegistryFactory(name="prod1", login_server=closed_port_url())
    repository = RepositoryFactory(registry=registry, name="team-a/app")
    one = ManifestFactory(repository=repository)
    two = ManifestFactory(repository=repository)
    return {
        "repository": repository,
        "one": one,
        "two": two,
        "1.0": TagFactory(manifest=one, name="1.0"),
        "latest": TagFactory(manifest=one, name="latest"),
        "2.0": TagFactory(manifest=two, name="2.0"),
    }


def _lock(content, where: str) -> None:
    target = content["repository"] if where == "repository" else content[where]
    type(target).objects.filter(pk=target.pk).update(delete_enabled=False)


DELETES = {
    "manifest one": lambda alice, c: services.manifest_delete(actor=alice, manifest=c["one"]),
    "tag 1.0": lambda alice, c: services.tag_delete(actor=alice, tag=c["1.0"]),
    "repository": lambda alice, c: services.repository_delete(
        actor=alice, repository=c["repository"]
    ),
}

# (lock, delete) -> refused? A lock guards what it is on and every delete that would take it.
MATRIX = {
    ("repository", "manifest one"): True,
    ("repository", "tag 1.0"): True,
    ("repository", "repository"): True,
    ("1.0", "manifest one"): True,
    ("1.0", "tag 1.0"): True,
    ("1.0", "repository"): True,
    ("latest", "manifest one"): True,
    ("latest", "tag 1.0"): False,  # untagging 1.0 leaves latest and the manifest
    ("latest", "repository"): True,
    ("2.0", "manifest one"): False,  # 2.0 is on the other manifest
    ("2.0", "tag 1.0"): False,
    ("2.0", "repository"): True,
}


@pytest.mark.parametrize(("lock", "delete"), list(MATRIX))
def test_the_delete_lock_matrix(alice, content, lock, delete):
    _lock(content, lock)
    for key in ("repository", "one", "two", "1.0", "latest", "2.0"):
        content[key].refresh_from_db()
    before = (Manifest.objects.count(), Tag.objects.count(), Repository.objects.count())

    if MATRIX[(lock, delete)]:
        with pytest.raises(services.ActionRefused, match="locked against deletes"):
            DELETES[delete](alice, content)
    else:
        # Past the lock check the registry is asked, and it is not there.
        with pytest.raises(RegistryUnavailable):
            DELETES[delete](alice, content)

    assert (Manifest.objects.count(), Tag.objects.count(), Repository.objects.count()) == before
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_the_api_answers_409_with_the_reason(admin_client, content):
    _lock(content, "latest")
    url = api_url(
        "manifest-detail", registry="prod1", repository="team-a/app", digest=content["one"].digest
    )
    problem = assert_problem(admin_client.delete(url), 409)
    assert "latest" in problem["detail"]
    assert Manifest.objects.filter(pk=content["one"].pk).exists()


def test_the_html_confirmation_shows_the_reason_in_place(admin_client, content):
    _lock(content, "repository")
    url = "/registries/prod1/repositories/team-a/app/_delete/"
    response = admin_client.post(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="confirm")
    assert response.status_code == 409
    html = response.content.decode()
    assert "The repository was not deleted." in html
    assert "locked against deletes" in html
    assert "Delete repository</button>" not in html
    assert Repository.objects.filter(pk=content["repository"].pk).exists()


@pytest.mark.integration
def test_a_manifest_already_gone_from_the_registry_leaves_the_index_too(
    alice, registry_server_fresh, tmp_path
):
    image = build_image(tmp_path / "one", seed="gone")
    push(image, registry_server_fresh.host, "team-a/app:1.0")
    registry = Registry.objects.create(name="real1", login_server=registry_server_fresh.url)
    assert registry_sync(registry=registry).completed
    with RegistryClient(registry_server_fresh.url) as client:
        client.delete_manifest("team-a/app", image.digest)  # behind the portal's back
        with pytest.raises(NotFound):
            client.head_manifest("team-a/app", image.digest)

    manifest = Manifest.objects.get(digest=image.digest)
    assert services.manifest_delete(actor=alice, manifest=manifest) == ["1.0"]

    assert not Manifest.objects.filter(digest=image.digest).exists()
    assert not Tag.objects.exists()
    assert AuditEvent.objects.filter(action="manifest.delete").count() == 1
