"""End to end: images pushed with skopeo into a real registry, indexed by ``sync_registry``,
read through the REST API and the HTML pages, deleted through both, checked against the registry.

What the portal shows is compared with what the registry itself serves (manifests, configs,
tag lists, fetched here with plain HTTP), never with the portal's own index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.management import call_command
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.urls import reverse

from accounts.services import personal_access_token_create
from registry.models import Manifest, Registry, Repository, Tag
from tests.fixtures.images import BuiltImage, BuiltIndex, build_image, build_index, push
from tests.fixtures.registry import RegistryServer, require_registry_tools
from tests.registry.api_support import all_pages, api_url, assert_problem

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REGISTRY = "endtoend01"
HTMX = {"HTTP_HX_REQUEST": "true"}
# Without the OCI types in Accept, distribution 2.8 answers 404 for OCI manifests.
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
REGISTRY_TIMEOUT = 10.0


# What is pushed --------------------------------------------------------------------------


@dataclass(frozen=True)
class Pushed:
    """One repository as the test pushed it: an image or an index, under some tags."""

    repository: str
    content: BuiltImage | BuiltIndex
    tags: tuple[str, ...]

    @property
    def children(self) -> tuple[BuiltImage, ...]:
        return self.content.children if isinstance(self.content, BuiltIndex) else ()

    @property
    def manifest_count(self) -> int:
        return 1 + len(self.children)


@dataclass(frozen=True)
class Catalog:
    server: RegistryServer
    pushed: dict[str, Pushed]


def push_catalog(host: str, workdir: Path) -> dict[str, Pushed]:
    """Two teams with an image and a two-platform index each, and a look-alike namespace."""
    catalog = [
        Pushed(
            "team-a/api",
            build_image(workdir / "team-a-api", seed="team-a/api", layer_count=2),
            ("1.0", "latest"),
        ),
        Pushed("team-a/web", build_index(workdir / "team-a-web", seed="team-a/web"), ("2.0",)),
        Pushed(
            "team-b/api",
            build_image(
                workdir / "team-b-api", seed="team-b/api", architecture="arm64", variant="v8"
            ),
            ("0.9",),
        ),
        Pushed(
            "team-b/web",
            build_index(
                workdir / "team-b-web",
                seed="team-b/web",
                platforms=(("amd64", "linux", ""), ("arm", "linux", "v7")),
            ),
            ("3.1",),
        ),
        # Starts with "team-a" but is not under the team-a/ namespace.
        Pushed("team-a-legacy/api", build_image(workdir / "legacy", seed="legacy"), ("old",)),
    ]
    for item in catalog:
        for tag in item.tags:
            push(item.content, host, f"{item.repository}:{tag}")
    return {item.repository: item for item in catalog}


REPOSITORIES = ("team-a-legacy/api", "team-a/api", "team-a/web", "team-b/api", "team-b/web")
INDEXES = ("team-a/web", "team-b/web")
IMAGES = ("team-a-legacy/api", "team-a/api", "team-b/api")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    """One registry holding the catalog, for the tests that only read."""
    server = RegistryServer(require_registry_tools(), tmp_path_factory.mktemp("end-to-end"))
    server.start()
    try:
        yield Catalog(server, push_catalog(server.host, tmp_path_factory.mktemp("e2e-images")))
    finally:
        server.stop()


@pytest.fixture
def fresh(registry_server_fresh: RegistryServer, tmp_path: Path) -> Catalog:
    """The catalog in a registry of this test's own, for the tests that delete."""
    return Catalog(registry_server_fresh, push_catalog(registry_server_fresh.host, tmp_path))


@pytest.fixture
def api(alice) -> Client:
    """A REST caller holding alice's personal access token, with no session."""
    token = personal_access_token_create(user=alice, name="end-to-end").token
    return Client(headers={"Authorization": f"Bearer {token}"})


def add_and_sync(api: Client, catalog: Catalog) -> Registry:
    """Add the registry through the API, then fill the index with ``manage.py sync_registry``."""
    response = api.post(
        api_url("registry-list"),
        {"name": REGISTRY, "login_server": catalog.server.url},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    output = StringIO()
    call_command("sync_registry", REGISTRY, stdout=output)
    assert output.getvalue().startswith(f"{REGISTRY}: {len(catalog.pushed)} repositories read")
    registry = Registry.objects.get(name=REGISTRY)
    assert registry.last_synced_at is not None
    return registry


@pytest.fixture
def indexed(api: Client, shared: Catalog) -> Catalog:
    add_and_sync(api, shared)
    return shared


# What the registry serves ----------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A manifest as the registry serves it."""

    digest: str
    media_type: str
    # The manifest, its config and its layers; an index: itself and all its children.
    size: int
    # (os, architecture, variant): an image's from its config, an index's from its entries.
    platforms: tuple[tuple[str, str, str], ...]
    config_digest: str = ""
    layers: tuple[tuple[str, int], ...] = ()
    children: tuple[Stored, ...] = ()

    @property
    def short_digest(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]


def _platform(document: dict) -> tuple[str, str, str]:
    return (document.get("os", ""), document.get("architecture", ""), document.get("variant", ""))


def stored(server: RegistryServer, repository: str, reference: str) -> Stored:
    response = httpx.get(
        f"{server.url}/v2/{repository}/manifests/{reference}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=REGISTRY_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    document = response.json()
    digest = response.headers["Docker-Content-Digest"]
    if "manifests" in document:
        children = tuple(
            stored(server, repository, entry["digest"]) for entry in document["manifests"]
        )
        return Stored(
            digest=digest,
            media_type=document["mediaType"],
            size=len(response.content) + sum(child.size for child in children),
            platforms=tuple(_platform(entry["platform"]) for entry in document["manifests"]),
            children=children,
        )
    config = httpx.get(
        f"{server.url}/v2/{repository}/blobs/{document['config']['digest']}",
        follow_redirects=True,
        timeout=REGISTRY_TIMEOUT,
    )
    assert config.status_code == 200, config.text
    layers = tuple((layer["digest"], layer["size"]) for layer in document["layers"])
    return Stored(
        digest=digest,
        media_type=document["mediaType"],
        size=len(response.content) + document["config"]["size"] + sum(size for _, size in layers),
        platforms=(_platform(config.json()),),
        config_digest=document["config"]["digest"],
        layers=layers,
    )


def registry_head(server: RegistryServer, repository: str, reference: str) -> int:
    response = httpx.head(
        f"{server.url}/v2/{repository}/manifests/{reference}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=REGISTRY_TIMEOUT,
    )
    return response.status_code


def registry_tags(server: RegistryServer, repository: str) -> list[str]:
    response = httpx.get(f"{server.url}/v2/{repository}/tags/list", timeout=REGISTRY_TIMEOUT)
    assert response.status_code == 200, response.text
    # distribution 2.8 answers "tags": null once a repository's last tag is gone.
    return sorted(response.json()["tags"] or [])


# What the HTML pages show ----------------------------------------------------------------


class _Tables(HTMLParser):
    """Every table of a page, as rows of cell texts with whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in {"td", "th"} and self.tables:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None:
            self.tables[-1][-1].append(text("".join(self._cell)))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def text(value: str) -> str:
    """Whitespace collapsed, the no-break spaces of ``filesizeformat`` included."""
    return " ".join(value.split())


def table_rows(html: str, *header: str) -> list[list[str]]:
    """The body rows of the table whose header row starts with ``header``; [] if none."""
    parser = _Tables()
    parser.feed(html)
    matches = [rows for rows in parser.tables if rows and tuple(rows[0][: len(header)]) == header]
    assert len(matches) <= 1, f"{len(matches)} tables start with {header}"
    return matches[0][1:] if matches else []


def size_text(size: int) -> str:
    return text(filesizeformat(size))


def variant_text(variant: str) -> str:
    return variant or "—"


def page(client: Client, name: str, *args: str) -> str:
    response = client.get(reverse(f"registry:{name}", args=[REGISTRY, *args]))
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


# The registry holds what was pushed --------------------------------------------------------


def built_size(content: BuiltImage | BuiltIndex) -> int:
    """Bytes the test built: manifest, config and layers; an index: itself and its children."""
    if isinstance(content, BuiltIndex):
        return content.size + sum(built_size(child) for child in content.children)
    return content.size + content.config.size + sum(layer.size for layer in content.layers)


def test_the_registry_serves_exactly_what_was_pushed(shared):
    # The baseline the other tests compare with: skopeo kept every digest and size.
    for item in shared.pushed.values():
        assert registry_tags(shared.server, item.repository) == sorted(item.tags)
        content = stored(shared.server, item.repository, item.tags[0])
        assert content.digest == item.content.digest
        assert content.size == built_size(item.content)
        assert len(content.children) == len(item.children)


# REST API -------------------------------------------------------------------------------


def test_api_lists_every_pushed_repository_with_its_counts(api, indexed):
    rows = all_pages(api, api_url("repository-list", registry=REGISTRY) + "?page_size=2")

    assert [row["name"] for row in rows] == list(REPOSITORIES)
    counts = {row["name"]: (row["tag_count"], row["manifest_count"]) for row in rows}
    assert counts == {
        item.repository: (len(item.tags), item.manifest_count) for item in indexed.pushed.values()
    }


@pytest.mark.parametrize("repository", REPOSITORIES)
def test_api_tags_carry_the_registrys_digest_media_type_and_size(api, indexed, repository):
    content = stored(indexed.server, repository, indexed.pushed[repository].tags[0])

    rows = all_pages(api, api_url("tag-list", registry=REGISTRY, repository=repository))

    assert {row["name"]: (row["digest"], row["media_type"], row["size"]) for row in rows} == {
        tag: (content.digest, content.media_type, content.size)
        for tag in registry_tags(indexed.server, repository)
    }


@pytest.mark.parametrize("repository", REPOSITORIES)
def test_api_manifest_has_the_pushed_platforms_size_tags_and_layers(api, indexed, repository):
    content = stored(indexed.server, repository, indexed.pushed[repository].tags[0])
    url = api_url(
        "manifest-detail", registry=REGISTRY, repository=repository, digest=content.digest
    )

    response = api.get(url)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["digest"] == content.digest
    assert body["media_type"] == content.media_type
    assert body["size"] == content.size
    assert sorted(body["tags"]) == registry_tags(indexed.server, repository)
    platforms = sorted((p["os"], p["architecture"], p["variant"]) for p in body["platforms"])
    assert platforms == sorted(content.platforms)
    assert body["config_digest"] == content.config_digest
    assert [(layer["digest"], layer["size"]) for layer in body["layers"]] == list(content.layers)


@pytest.mark.parametrize("repository", INDEXES)
def test_api_shows_each_platform_image_of_an_index(api, indexed, repository):
    index = stored(indexed.server, repository, indexed.pushed[repository].tags[0])

    for child in index.children:
        url = api_url(
            "manifest-detail", registry=REGISTRY, repository=repository, digest=child.digest
        )
        body = api.get(url).json()
        assert body["size"] == child.size
        assert [(p["os"], p["architecture"], p["variant"]) for p in body["platforms"]] == list(
            child.platforms
        )
        assert body["tags"] == []
        assert [(layer["digest"], layer["size"]) for layer in body["layers"]] == list(child.layers)


# HTML pages -----------------------------------------------------------------------------


def test_repository_list_page_shows_every_repository_with_its_counts(admin_client, indexed):
    html = page(admin_client, "repository_list")

    rows = table_rows(html, "Repository", "Tags", "Manifests")
    assert [row[:3] for row in rows] == [
        [name, str(len(indexed.pushed[name].tags)), str(indexed.pushed[name].manifest_count)]
        for name in REPOSITORIES
    ]
    assert "5 repositories." in text(html)


@pytest.mark.parametrize("repository", REPOSITORIES)
def test_repository_page_shows_each_tag_with_its_platform_and_size(
    admin_client, indexed, repository
):
    content = stored(indexed.server, repository, indexed.pushed[repository].tags[0])
    platform = "multi-arch" if content.children else "/".join(p for p in content.platforms[0] if p)

    html = page(admin_client, "repository_detail", repository)

    rows = table_rows(html, "Tag", "Digest", "Platform", "Size")
    assert sorted(row[:4] for row in rows) == [
        [tag, content.short_digest, platform, size_text(content.size)]
        for tag in registry_tags(indexed.server, repository)
    ]


@pytest.mark.parametrize("repository", INDEXES)
def test_manifest_page_of_an_index_lists_its_platforms(admin_client, indexed, repository):
    index = stored(indexed.server, repository, indexed.pushed[repository].tags[0])

    html = page(admin_client, "manifest_detail", repository, index.digest)

    rows = table_rows(html, "OS", "Architecture", "Variant", "Digest", "Size")
    # Ordered by platform, whatever the order in the index.
    assert rows == [
        [os, architecture, variant_text(variant), child.short_digest, size_text(child.size)]
        for child in sorted(index.children, key=lambda c: c.platforms[0])
        for os, architecture, variant in child.platforms
    ]
    assert f'title="{intcomma(index.size)} bytes"' in html
    assert f"OCI index · {len(index.children)} platforms" in text(html)


@pytest.mark.parametrize("repository", IMAGES)
def test_manifest_page_of_an_image_shows_its_platform_and_layers(admin_client, indexed, repository):
    image = stored(indexed.server, repository, indexed.pushed[repository].tags[0])

    html = page(admin_client, "manifest_detail", repository, image.digest)

    layer_rows = table_rows(html, "#", "Digest", "Size")
    assert [row[:3] for row in layer_rows] == [
        [str(number), digest, size_text(size)]
        for number, (digest, size) in enumerate(image.layers, start=1)
    ]
    assert f'title="{intcomma(image.size)} bytes"' in html
    assert f"OCI image · {'/'.join(p for p in image.platforms[0] if p)}" in text(html)
    tag_rows = table_rows(html, "Tag", "Updated")
    assert sorted(row[0] for row in tag_rows) == registry_tags(indexed.server, repository)


# Namespace filter and search ------------------------------------------------------------

FILTERS = [
    pytest.param("team-a", "", ["team-a/api", "team-a/web"], id="namespace-team-a"),
    pytest.param("team-b", "", ["team-b/api", "team-b/web"], id="namespace-team-b"),
    pytest.param("team-a-legacy", "", ["team-a-legacy/api"], id="namespace-look-alike"),
    pytest.param("team", "", [], id="namespace-is-whole-segments"),
    pytest.param("", "web", ["team-a/web", "team-b/web"], id="search-web"),
    pytest.param("", "team-a", ["team-a-legacy/api", "team-a/api", "team-a/web"], id="search-text"),
    pytest.param(
        "", "API", ["team-a-legacy/api", "team-a/api", "team-b/api"], id="search-any-case"
    ),
    pytest.param("team-b", "api", ["team-b/api"], id="namespace-and-search"),
    pytest.param("team-a", "legacy", [], id="search-inside-namespace-only"),
    pytest.param("", "nothing", [], id="search-no-match"),
]


@pytest.mark.parametrize(("namespace", "search", "expected"), FILTERS)
def test_api_filters_repositories_by_namespace_and_search(
    api, indexed, namespace, search, expected
):
    query = {
        key: value for key, value in {"namespace": namespace, "search": search}.items() if value
    }

    response = api.get(api_url("repository-list", registry=REGISTRY), query)

    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()["results"]] == expected


@pytest.mark.parametrize(("namespace", "search", "expected"), FILTERS)
def test_html_search_box_filters_repositories_by_namespace_and_search(
    admin_client, indexed, namespace, search, expected
):
    # What the search box asks for as the user types: only the results region comes back.
    response = admin_client.get(
        reverse("registry:repository_list", args=[REGISTRY]),
        {"q": search, "namespace": namespace},
        HTTP_HX_TARGET="repository-results",
        **HTMX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="repository-results"')
    assert "<html" not in html
    rows = table_rows(html, "Repository", "Tags", "Manifests")
    assert [row[0] for row in rows] == expected
    if not expected:
        assert "No repository matches" in html


# Deleting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "repository",
    [pytest.param("team-a/api", id="image-with-two-tags"), pytest.param("team-a/web", id="index")],
)
def test_deleting_a_manifest_through_the_api_removes_it_and_its_tags_everywhere(
    api, admin_client, fresh, repository
):
    add_and_sync(api, fresh)
    server, item = fresh.server, fresh.pushed[repository]
    content = stored(server, repository, item.tags[0])
    url = api_url(
        "manifest-detail", registry=REGISTRY, repository=repository, digest=content.digest
    )

    response = api.delete(url)

    assert response.status_code == 204, response.content
    # The registry: the manifest and every tag on it are gone; an index's platform images stay.
    assert registry_head(server, repository, content.digest) == 404
    assert [registry_head(server, repository, tag) for tag in item.tags] == [404] * len(item.tags)
    assert registry_tags(server, repository) == []
    assert [registry_head(server, repository, c.digest) for c in content.children] == [200] * len(
        content.children
    )
    # The index, through the API and the pages.
    assert_problem(api.get(url), 404)
    for tag in item.tags:
        assert_problem(
            api.get(api_url("tag-detail", registry=REGISTRY, repository=repository, tag=tag)), 404
        )
    counts = api.get(api_url("repository-detail", registry=REGISTRY, repository=repository)).json()
    assert (counts["tag_count"], counts["manifest_count"]) == (0, len(content.children))
    repository_page = page(admin_client, "repository_detail", repository)
    assert table_rows(repository_page, "Tag", "Digest") == []
    assert "This repository has no tags." in repository_page
    manifest_page = reverse("registry:manifest_detail", args=[REGISTRY, repository, content.digest])
    assert admin_client.get(manifest_page).status_code == 404
    # The other repositories are untouched.
    assert registry_tags(server, "team-a-legacy/api") == ["old"]
    assert Tag.objects.filter(repository__registry__name=REGISTRY).count() == 6 - len(item.tags)


def test_a_sync_after_a_manifest_delete_brings_nothing_back(api, fresh):
    add_and_sync(api, fresh)
    content = stored(fresh.server, "team-a/api", "1.0")
    url = api_url(
        "manifest-detail", registry=REGISTRY, repository="team-a/api", digest=content.digest
    )
    assert api.delete(url).status_code == 204

    output = StringIO()
    call_command("sync_registry", REGISTRY, stdout=output)

    assert "+0/-0 manifests" in output.getvalue()
    assert "+0/~0/-0 tags" in output.getvalue()
    assert_problem(api.get(url), 404)
    assert not Manifest.objects.filter(digest=content.digest).exists()


def test_deleting_a_repository_through_the_html_view_deletes_every_manifest_in_the_registry(
    api, admin_client, fresh
):
    add_and_sync(api, fresh)
    server = fresh.server
    index = stored(server, "team-b/web", "3.1")
    digests = [index.digest, *(child.digest for child in index.children)]
    url = reverse("registry:repository_delete", args=[REGISTRY, "team-b/web"])

    confirm = admin_client.get(url, HTTP_HX_TARGET="confirm", **HTMX)
    response = admin_client.post(url, **HTMX)

    # The confirmation is a fragment swapped into the page, and it says what will go.
    assert confirm.status_code == 200
    confirmation = text(confirm.content.decode())
    assert confirmation.startswith('<article id="confirm"')
    assert "This deletes 3 manifests and 1 tag from the registry endtoend01" in confirmation
    assert f'hx-post="{url}"' in confirmation
    # The answer sends htmx to the repository list, which says what happened.
    listing_url = reverse("registry:repository_list", args=[REGISTRY])
    assert response.status_code == 200
    assert response["HX-Redirect"] == listing_url
    listing = admin_client.get(listing_url).content.decode()
    assert "Repository team-b/web deleted: 3 manifest(s) removed from the registry." in listing
    assert [row[0] for row in table_rows(listing, "Repository")] == [
        name for name in REPOSITORIES if name != "team-b/web"
    ]
    # The registry holds none of its manifests and no tag.
    assert [registry_head(server, "team-b/web", digest) for digest in digests] == [404, 404, 404]
    assert registry_head(server, "team-b/web", "3.1") == 404
    assert registry_tags(server, "team-b/web") == []
    # The index agrees, through the API and the pages.
    assert_problem(
        api.get(api_url("repository-detail", registry=REGISTRY, repository="team-b/web")), 404
    )
    detail = reverse("registry:repository_detail", args=[REGISTRY, "team-b/web"])
    assert admin_client.get(detail).status_code == 404
    assert not Manifest.objects.filter(digest__in=digests).exists()
    assert registry_tags(server, "team-b/api") == ["0.9"]


def test_a_sync_after_a_repository_delete_does_not_bring_it_back(api, admin_client, fresh):
    add_and_sync(api, fresh)
    url = reverse("registry:repository_delete", args=[REGISTRY, "team-b/web"])
    assert admin_client.post(url, **HTMX).status_code == 200

    call_command("sync_registry", REGISTRY, stdout=StringIO())

    names = [row["name"] for row in all_pages(api, api_url("repository-list", registry=REGISTRY))]
    assert "team-b/web" not in names
    assert not Repository.objects.filter(name="team-b/web").exists()
