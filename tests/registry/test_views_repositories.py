"""The repository browser: search, namespace filter, pages, the tag list and its ordering."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import AuditEvent, Manifest, Repository, Tag
from tests.factories import (
    ManifestFactory,
    NamespaceFactory,
    RegistryFactory,
    RepositoryFactory,
    TagFactory,
)
from tests.fixtures.registry import free_port

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def registry(db):
    return RegistryFactory(name="prodacr01")


def list_url(registry) -> str:
    return reverse("registry:repository_list", args=[registry.name])


def detail_url(repository) -> str:
    return reverse("registry:repository_detail", args=[repository.registry.name, repository.name])


# Permissions ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, registry):
    repository = RepositoryFactory(registry=registry)
    for path in (list_url(registry), detail_url(repository)):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_users_without_a_role_find_nothing(client, bob, registry):
    repository = RepositoryFactory(registry=registry)
    client.force_login(bob)
    assert client.get(list_url(registry)).status_code == 404
    assert client.get(detail_url(repository)).status_code == 404
    delete = reverse("registry:repository_delete", args=[registry.name, repository.name])
    assert client.get(delete).status_code == 404
    assert client.post(delete).status_code == 404
    assert Repository.objects.filter(pk=repository.pk).exists()


def test_staff_sees_the_list(admin_client, registry):
    TagFactory.create_batch(2, manifest__repository__registry=registry)
    response = admin_client.get(list_url(registry))
    assert response.status_code == 200
    assert "2 repositories" in response.content.decode()


# Search and filter ------------------------------------------------------------------------


def names(response) -> list[str]:
    return [repository.name for repository in response.context["page"].object_list]


def test_search_by_name(admin_client, registry):
    for name in ("team-a/api", "team-a/web", "team-b/api-gateway", "library/nginx"):
        RepositoryFactory(registry=registry, name=name)
    RepositoryFactory(name="team-a/api")  # in another registry
    response = admin_client.get(list_url(registry), {"q": "API"})
    assert names(response) == ["team-a/api", "team-b/api-gateway"]
    assert "matching “API”" in response.content.decode()


def test_filter_by_namespace(admin_client, registry):
    NamespaceFactory(registry=registry, name="team-a")
    for name in ("team-a/api", "team-a/backend/db", "team-ab/api", "library/nginx"):
        RepositoryFactory(registry=registry, name=name)
    response = admin_client.get(list_url(registry), {"namespace": "team-a"})
    assert names(response) == ["team-a/api", "team-a/backend/db"]
    html = response.content.decode()
    assert '<option value="team-a" selected>' in html


def test_search_within_a_namespace(admin_client, registry):
    for name in ("team-a/api", "team-a/web", "team-b/api"):
        RepositoryFactory(registry=registry, name=name)
    response = admin_client.get(list_url(registry), {"namespace": "team-a", "q": "api"})
    assert names(response) == ["team-a/api"]


def test_no_match_says_so(admin_client, registry):
    RepositoryFactory(registry=registry, name="team-a/api")
    response = admin_client.get(list_url(registry), {"q": "zzz"})
    assert "No repository matches" in response.content.decode()


def test_htmx_search_returns_only_the_results(admin_client, registry):
    RepositoryFactory(registry=registry, name="team-a/api")
    RepositoryFactory(registry=registry, name="team-b/web")
    response = admin_client.get(
        list_url(registry), {"q": "web"}, HTTP_HX_TARGET="repository-results", **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="repository-results"')
    assert "<html" not in html
    assert 'name="q"' not in html  # the search box stays on the page
    assert "team-b/web" in html
    assert "team-a/api" not in html
    assert "HX-Request" in response["Vary"]


def test_pages(admin_client, registry):
    for index in range(60):
        RepositoryFactory(registry=registry, name=f"app{index:03d}")
    first = admin_client.get(list_url(registry))
    assert len(names(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = admin_client.get(list_url(registry), {"page": "2"})
    assert names(second) == [f"app{index:03d}" for index in range(50, 60)]
    # Numbers that are not pages give the nearest page, not an error.
    assert admin_client.get(list_url(registry), {"page": "999"}).status_code == 200
    assert admin_client.get(list_url(registry), {"page": "x"}).status_code == 200


def test_page_links_keep_the_search(admin_client, registry):
    for index in range(60):
        RepositoryFactory(registry=registry, name=f"app{index:03d}")
    html = admin_client.get(list_url(registry), {"q": "app"}).content.decode()
    assert "?q=app&amp;page=2" in html


@pytest.mark.parametrize("count", [5, 50])
def test_list_queries_do_not_grow_with_repositories(
    admin_client, registry, django_assert_max_num_queries, count
):
    NamespaceFactory(registry=registry, name="team-a")
    for index in range(count):
        TagFactory(
            manifest__repository__registry=registry, manifest__repository__name=f"team-a/r{index}"
        )
    with django_assert_max_num_queries(7):
        response = admin_client.get(list_url(registry), {"namespace": "team-a", "q": "r"})
    assert len(names(response)) == count


# Repository detail and tags -----------------------------------------------------------------


@pytest.fixture
def repository(registry):
    repository = RepositoryFactory(registry=registry, name="team-a/api")
    now = timezone.now()
    for name, hours_ago in (("beta", 1), ("alpha", 3), ("gamma", 2)):
        TagFactory(
            manifest__repository=repository,
            name=name,
            updated_at=now - timedelta(hours=hours_ago),
        )
    return repository


def tag_names(response) -> list[str]:
    return [tag.name for tag in response.context["page"].object_list]


def test_tags_newest_first_by_default(admin_client, repository):
    response = admin_client.get(detail_url(repository))
    assert response.status_code == 200
    assert tag_names(response) == ["beta", "gamma", "alpha"]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("time_desc", ["beta", "gamma", "alpha"]),
        ("time_asc", ["alpha", "gamma", "beta"]),
        ("name", ["alpha", "beta", "gamma"]),
        ("nonsense", ["beta", "gamma", "alpha"]),
    ],
)
def test_tag_ordering(admin_client, repository, order, expected):
    response = admin_client.get(detail_url(repository), {"orderby": order})
    assert tag_names(response) == expected


def test_tag_ordering_with_htmx_returns_only_the_tags(admin_client, repository):
    response = admin_client.get(
        detail_url(repository), {"orderby": "name"}, HTTP_HX_TARGET="tags", **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="tags"')
    assert "<html" not in html
    assert html.index("alpha") < html.index("beta") < html.index("gamma")
    assert 'aria-current="true">Name<' in html


def test_detail_shows_counts_and_locks(admin_client, repository):
    repository.write_enabled = False
    repository.save()
    ManifestFactory(repository=repository)  # untagged
    response = admin_client.get(detail_url(repository))
    html = response.content.decode()
    assert response.context["manifest_count"] == 4
    assert response.context["page"].paginator.count == 3
    # Staff may change locks: a switch per lock, push off.
    assert '<input type="checkbox" role="switch" name="write_enabled">' in html
    assert '<input type="checkbox" role="switch" name="delete_enabled" checked>' in html
    assert "127.0.0.1" in html  # the pull reference starts with the registry host


def test_detail_lists_images_only_a_digest_reaches(admin_client, registry):
    repository = RepositoryFactory(registry=registry, name="team-a/app")
    tagged = TagFactory(manifest__repository=repository, name="1.0").manifest
    index = ManifestFactory(
        repository=repository,
        media_type="application/vnd.oci.image.index.v1+json",
        created_at=timezone.now() - timedelta(days=1),
    )
    child = ManifestFactory(repository=repository, architecture="arm64", os="linux")
    index.children.add(child)
    orphan = ManifestFactory(
        repository=repository, architecture="amd64", os="linux", created_at=timezone.now()
    )

    response = admin_client.get(detail_url(repository))

    # Newest first; the tagged image and the index's child are reachable otherwise.
    assert [m.digest for m in response.context["untagged"]] == [orphan.digest, index.digest]
    html = response.content.decode()
    assert "Untagged images" in html
    assert orphan.short_digest in html
    assert tagged.short_digest not in html.split("Untagged images")[1]
    assert child.short_digest not in html.split("Untagged images")[1]


def test_detail_without_untagged_images_has_no_such_section(admin_client, repository):
    response = admin_client.get(detail_url(repository))
    assert response.context["untagged"] == []
    assert "Untagged images" not in response.content.decode()


@pytest.mark.parametrize("count", [5, 50])
def test_tag_list_queries_do_not_grow_with_tags(
    admin_client, registry, django_assert_max_num_queries, count
):
    repository = RepositoryFactory(registry=registry, name="team-a/big")
    for _ in range(count):
        TagFactory(manifest__repository=repository)
    # (9: one is the navigation's count of access requests waiting for a decision.)
    with django_assert_max_num_queries(9):
        response = admin_client.get(detail_url(repository))
    assert len(tag_names(response)) == count


def test_repository_names_with_slashes(admin_client, registry):
    repository = RepositoryFactory(registry=registry, name="team-a/backend/db-migrate")
    response = admin_client.get("/registries/prodacr01/repositories/team-a/backend/db-migrate/")
    assert response.status_code == 200
    assert response.context["repository"] == repository


@pytest.mark.parametrize(
    "bad",
    ["Team-A/api", "team-a//api", "team-a/api-", "team-a/.api", "_tags", "team-a/a%20b"],
)
def test_invalid_repository_names_in_urls_are_404(admin_client, registry, bad):
    response = admin_client.get(f"/registries/{registry.name}/repositories/{bad}/")
    assert response.status_code == 404


def test_unknown_repository_is_404(admin_client, registry):
    response = admin_client.get(f"/registries/{registry.name}/repositories/team-a/nope/")
    assert response.status_code == 404


# Delete -------------------------------------------------------------------------------------


def test_delete_asks_first(admin_client, repository):
    url = reverse("registry:repository_delete", args=[repository.registry.name, repository.name])
    response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "This deletes 3 manifests and 3 tags" in html
    fragment = admin_client.get(url, HTTP_HX_TARGET="confirm", **HTMX).content.decode()
    assert fragment.lstrip().startswith('<article id="confirm"')


def test_delete_when_the_registry_is_down_keeps_the_index(admin_client, repository):
    registry = repository.registry
    registry.login_server = f"http://127.0.0.1:{free_port()}"
    registry.save()
    url = reverse("registry:repository_delete", args=[registry.name, repository.name])
    response = admin_client.post(url)
    assert response.status_code == 503
    assert "Registry unavailable" in response.content.decode()
    assert Repository.objects.filter(pk=repository.pk).exists()
    assert Manifest.objects.filter(repository=repository).count() == 3
    assert Tag.objects.filter(repository=repository).count() == 3
    assert not AuditEvent.objects.filter(action__startswith="repository.delete").exists()
