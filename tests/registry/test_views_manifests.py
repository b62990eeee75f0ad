"""Manifest and tag pages: what an image is, how to pull it, untag and delete it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import AuditEvent, Manifest, Registry, Tag
from registry.sync import registry_sync
from tests.factories import ManifestFactory, RegistryFactory, RepositoryFactory, TagFactory
from tests.fixtures.images import build_and_push
from tests.fixtures.registry import free_port

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def repository(db):
    registry = RegistryFactory(name="prodacr01", login_server="https://registry.example.com")
    return RepositoryFactory(registry=registry, name="team-a/api")


def manifest_url(manifest: Manifest, name: str = "manifest_detail") -> str:
    repository = manifest.repository
    return reverse(
        f"registry:{name}", args=[repository.registry.name, repository.name, manifest.digest]
    )


def tag_url(tag: Tag, name: str = "tag_detail") -> str:
    repository = tag.repository
    return reverse(f"registry:{name}", args=[repository.registry.name, repository.name, tag.name])


def point_at_closed_port(registry: Registry) -> None:
    registry.login_server = f"http://127.0.0.1:{free_port()}"
    registry.save()


# Permissions ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, repository):
    tag = TagFactory(manifest__repository=repository, name="v1")
    for url in (manifest_url(tag.manifest), tag_url(tag), tag_url(tag, "tag_delete")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_users_without_a_role_find_nothing(client, bob, repository):
    tag = TagFactory(manifest__repository=repository, name="v1")
    client.force_login(bob)
    for url in (manifest_url(tag.manifest), tag_url(tag)):
        assert client.get(url).status_code == 404
    assert client.post(tag_url(tag, "tag_delete")).status_code == 404
    assert client.post(manifest_url(tag.manifest, "manifest_delete")).status_code == 404
    assert Tag.objects.filter(pk=tag.pk).exists()


# Manifest page ------------------------------------------------------------------------------


def test_manifest_page_by_digest(admin_client, repository):
    manifest = ManifestFactory(
        repository=repository,
        size=5 * 1024 * 1024,
        layers=[
            {
                "digest": "sha256:" + "a" * 64,
                "size": 1024,
                "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
            },
            {
                "digest": "sha256:" + "b" * 64,
                "size": 2048,
                "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
            },
        ],
        last_pulled_at=timezone.now(),
    )
    TagFactory(manifest=manifest, name="v1")
    TagFactory(manifest=manifest, name="latest")
    response = admin_client.get(manifest_url(manifest))
    html = response.content.decode()
    assert response.status_code == 200
    assert manifest.digest in html
    assert f'data-copy="{manifest.digest}"' in html
    assert "OCI image" in html
    assert "5.0\xa0MB" in html
    assert "linux/amd64" in html
    assert "sha256:" + "a" * 64 in html
    assert "sha256:" + "b" * 64 in html
    assert f"docker pull registry.example.com/team-a/api@{manifest.digest}" in html
    assert "docker pull registry.example.com/team-a/api:latest" in html
    assert [t.name for t in response.context["tags"]] == ["latest", "v1"]


def test_multi_arch_index_lists_its_platforms(admin_client, repository):
    index = ManifestFactory(
        repository=repository, media_type=Manifest.MediaType.OCI_INDEX, os="", architecture=""
    )
    amd64 = ManifestFactory(repository=repository, os="linux", architecture="amd64")
    arm = ManifestFactory(repository=repository, os="linux", architecture="arm", variant="v7")
    index.children.add(amd64, arm)
    response = admin_client.get(manifest_url(index))
    html = response.content.decode()
    assert "OCI index" in html
    assert "2 platforms" in html
    assert manifest_url(amd64) in html
    assert manifest_url(arm) in html
    assert ">v7<" in html
    child = admin_client.get(manifest_url(arm)).content.decode()
    assert "multi-arch index" in child
    assert manifest_url(index) in child


def test_tag_page_shows_its_manifest_and_pull_by_tag(admin_client, repository):
    tag = TagFactory(manifest__repository=repository, name="1.0")
    TagFactory(manifest=tag.manifest, name="aaa-first")
    response = admin_client.get(tag_url(tag))
    html = response.content.decode()
    assert response.status_code == 200
    assert "team-a/api:1.0" in html
    assert "docker pull registry.example.com/team-a/api:1.0" in html
    assert tag.manifest.digest in html


@pytest.mark.parametrize(
    "suffix",
    [
        "_manifests/sha256:" + "0" * 64 + "/",
        "_manifests/not-a-digest/",
        "_tags/nope/",
        "_tags/.bad/",
    ],
)
def test_unknown_or_malformed_references_are_404(admin_client, repository, suffix):
    response = admin_client.get(f"/registries/prodacr01/repositories/team-a/api/{suffix}")
    assert response.status_code == 404


def test_manifest_of_another_repository_is_404(admin_client, repository):
    other = ManifestFactory(repository=RepositoryFactory(registry=repository.registry, name="b/c"))
    url = reverse("registry:manifest_detail", args=["prodacr01", "team-a/api", other.digest])
    assert admin_client.get(url).status_code == 404


# Untag --------------------------------------------------------------------------------------


def test_untag_asks_first_in_the_row(admin_client, repository):
    tag = TagFactory(manifest__repository=repository, name="v1")
    TagFactory(manifest=tag.manifest, name="v1-alias")
    response = admin_client.get(tag_url(tag, "tag_delete"), HTTP_HX_TARGET=f"tag-{tag.pk}", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="tag-{tag.pk}" class="confirm-row"')
    assert "with its 1 other tag" in html
    page = admin_client.get(tag_url(tag, "tag_delete"))
    assert "<html" in page.content.decode()


def test_cancel_puts_the_tag_row_back(admin_client, repository):
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.get(tag_url(tag), HTTP_HX_TARGET=f"tag-{tag.pk}", **HTMX)
    assert response.content.decode().lstrip().startswith(f'<tr id="tag-{tag.pk}">')


def test_untag_when_the_registry_is_down_is_a_clear_503(admin_client, repository):
    point_at_closed_port(repository.registry)
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.post(tag_url(tag, "tag_delete"))
    html = response.content.decode()
    assert response.status_code == 503
    assert "Registry unavailable" in html
    assert "127.0.0.1" in html
    assert Tag.objects.filter(pk=tag.pk).exists()


def test_untag_refused_is_shown_in_place(admin_client, repository, monkeypatch):
    # What distribution 2.8 answers is covered against the real registry below; this pins the
    # view's part: the service's refusal, in the row, as a 409.
    from registry import services

    def refuse(*, actor, tag):
        raise services.ActionRefused("This registry cannot remove a tag on its own.")

    monkeypatch.setattr(services, "tag_delete", refuse)
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.post(tag_url(tag, "tag_delete"), HTTP_HX_TARGET=f"tag-{tag.pk}", **HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert response["HX-Reswap"] == "outerHTML"
    assert html.lstrip().startswith(f'<tr id="tag-{tag.pk}" class="confirm-row"')
    assert "cannot remove a tag on its own" in html
    assert manifest_url(tag.manifest, "manifest_delete") in html
    assert Tag.objects.filter(pk=tag.pk).exists()


@pytest.fixture
def registry_that_untags(monkeypatch):
    """A registry that can remove a tag on its own (distribution 3.x; only 2.8 runs here)."""
    from registry.backend import RegistryClient

    removed: list[tuple[str, str]] = []
    monkeypatch.setattr(
        RegistryClient, "delete_tag", lambda self, repo, tag: removed.append((repo, tag))
    )
    return removed


def test_untag_in_the_row_removes_the_row(admin_client, alice, repository, registry_that_untags):
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.post(tag_url(tag, "tag_delete"), HTTP_HX_TARGET=f"tag-{tag.pk}", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<tr" not in html  # nothing to swap in: the row goes
    assert "Tag v1 removed" in html  # the message, out of band
    assert "tagDeleted" in response["HX-Trigger"]
    assert registry_that_untags == [("team-a/api", "v1")]
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert Manifest.objects.filter(pk=tag.manifest.pk).exists()
    event = AuditEvent.objects.get(action="tag.delete")
    assert event.actor == alice
    assert event.details == {"tag": "v1", "digest": tag.manifest.digest}


def test_untag_from_the_manifest_page_reloads_it(admin_client, repository, registry_that_untags):
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.post(tag_url(tag, "tag_delete"), HTTP_HX_TARGET="confirm", **HTMX)
    assert response["HX-Redirect"] == manifest_url(tag.manifest)


def test_untag_without_javascript_returns_to_the_page_it_came_from(
    admin_client, repository, registry_that_untags
):
    tag = TagFactory(manifest__repository=repository, name="v1")
    back = reverse("registry:repository_detail", args=["prodacr01", "team-a/api"])
    page = admin_client.get(tag_url(tag, "tag_delete"), {"next": back})
    assert f'name="next" value="{back}"' in page.content.decode()
    response = admin_client.post(tag_url(tag, "tag_delete"), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back


def test_untag_ignores_a_next_that_leaves_the_site(admin_client, repository, registry_that_untags):
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.post(tag_url(tag, "tag_delete"), {"next": "https://evil.example/"})
    assert response["Location"] == manifest_url(tag.manifest)


# Delete manifest ----------------------------------------------------------------------------


def test_delete_manifest_asks_first_and_names_the_tags(admin_client, repository):
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.get(manifest_url(tag.manifest, "manifest_delete"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "cannot be undone" in html
    assert "<code>v1</code>" in html
    fragment = admin_client.get(
        manifest_url(tag.manifest, "manifest_delete"), HTTP_HX_TARGET="confirm", **HTMX
    )
    assert fragment.content.decode().lstrip().startswith('<article id="confirm"')


def test_delete_manifest_when_the_registry_is_down(admin_client, repository):
    point_at_closed_port(repository.registry)
    tag = TagFactory(manifest__repository=repository, name="v1")
    response = admin_client.post(manifest_url(tag.manifest, "manifest_delete"))
    html = response.content.decode()
    assert response.status_code == 503
    assert "Registry unavailable" in html
    assert "Nothing was changed" in html
    assert Manifest.objects.filter(pk=tag.manifest.pk).exists()
    assert Tag.objects.filter(pk=tag.pk).exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_delete_manifest_with_htmx_when_the_registry_is_down_is_a_banner(admin_client, repository):
    point_at_closed_port(repository.registry)
    manifest = ManifestFactory(repository=repository)
    response = admin_client.post(
        manifest_url(manifest, "manifest_delete"), HTTP_HX_TARGET="confirm", **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 503
    assert response["HX-Retarget"] == "#messages"
    assert response["HX-Reswap"] == "innerHTML"
    assert html.lstrip().startswith('<div class="alert error" role="alert">')
    assert "<html" not in html
    assert Manifest.objects.filter(pk=manifest.pk).exists()


# Against the real registry --------------------------------------------------------------------


@pytest.fixture
def pushed(admin_client, registry_server_fresh, image_workdir):
    """An image pushed as team-a/api:1.0 and :stable into a fresh registry, then indexed."""
    image = build_and_push(image_workdir / "views", registry_server_fresh.host, "team-a/api:1.0")
    build_and_push(
        image_workdir / "views",
        registry_server_fresh.host,
        "team-a/api:stable",
        seed="team-a/api:1.0",
    )
    registry = RegistryFactory(name="livereg1", login_server=registry_server_fresh.url)
    registry_sync(registry=registry)
    return registry, image


@pytest.mark.integration
def test_untag_on_distribution_2_8_is_refused_in_place(admin_client, pushed):
    registry, _image = pushed
    tag = Tag.objects.get(repository__registry=registry, name="1.0")
    response = admin_client.post(tag_url(tag, "tag_delete"), HTTP_HX_TARGET=f"tag-{tag.pk}", **HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "cannot remove a tag on its own" in html
    assert "delete its manifest" in html
    assert Tag.objects.filter(pk=tag.pk).exists()


@pytest.mark.integration
def test_delete_manifest_removes_it_with_its_tags(admin_client, alice, pushed):
    registry, image = pushed
    manifest = Manifest.objects.get(repository__registry=registry, digest=image.manifest.digest)
    assert manifest.tags.count() == 2
    response = admin_client.post(manifest_url(manifest, "manifest_delete"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse(
        "registry:repository_detail", args=[registry.name, "team-a/api"]
    )
    assert not Manifest.objects.filter(pk=manifest.pk).exists()
    assert not Tag.objects.filter(repository__registry=registry).exists()
    event = AuditEvent.objects.get(action="manifest.delete")
    assert event.actor == alice
    assert event.details["tags"] == ["1.0", "stable"]
    page = admin_client.get(response["HX-Redirect"]).content.decode()
    assert "deleted with tag(s) 1.0, stable" in page
