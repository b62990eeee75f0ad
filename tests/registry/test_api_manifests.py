"""REST API: manifests (``/api/v1/registries/{r}/repositories/{repo}/_manifests/``)."""

from datetime import UTC, datetime, timedelta

import pytest

from registry.models import AuditEvent, Manifest, Tag
from tests.factories import (
    ManifestFactory,
    RegistryFactory,
    RepositoryFactory,
    TagFactory,
    fake_digest,
)
from tests.registry.api_support import (
    all_pages,
    api_url,
    assert_hidden_from_strangers,
    assert_problem,
    closed_port_url,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 1, tzinfo=UTC)
LAYERS = [
    {"digest": fake_digest("layer1"), "size": 100, "media_type": "application/x-tar"},
    {"digest": fake_digest("layer2"), "size": 200, "media_type": "application/x-tar"},
]


@pytest.fixture
def app(db):
    registry = RegistryFactory(name="prod1", login_server=closed_port_url())
    return RepositoryFactory(registry=registry, name="team-a/app")


@pytest.fixture
def image(app):
    manifest = ManifestFactory(
        repository=app,
        digest=fake_digest("image"),
        size=4321,
        config_digest=fake_digest("config"),
        layers=LAYERS,
        architecture="arm64",
        os="linux",
        variant="v8",
        created_at=T0,
        last_pulled_at=T0 + timedelta(days=1),
    )
    TagFactory(manifest=manifest, name="latest")
    TagFactory(manifest=manifest, name="1.0")
    return manifest


@pytest.fixture
def index(app):
    index = ManifestFactory(
        repository=app,
        digest=fake_digest("index"),
        media_type=Manifest.MediaType.OCI_INDEX,
        architecture="",
        os="",
        created_at=T0 - timedelta(days=1),
    )
    children = [
        ManifestFactory(repository=app, architecture=arch, variant=variant, created_at=T0)
        for arch, variant in (("arm64", "v8"), ("amd64", ""))
    ]
    index.children.set(children)
    TagFactory(manifest=index, name="multi")
    return index


def _detail(digest, repository="team-a/app", registry="prod1"):
    return api_url("manifest-detail", registry=registry, repository=repository, digest=digest)


def _list(repository="team-a/app", registry="prod1"):
    return api_url("manifest-list", registry=registry, repository=repository)


def test_manifest_urls_use_the_manifests_marker(image):
    assert _detail(image.digest) == (
        f"/api/v1/registries/prod1/repositories/team-a/app/_manifests/{image.digest}/"
    )


@pytest.mark.parametrize(("method", "detail"), [("get", False), ("get", True), ("delete", True)])
def test_manifest_endpoints_are_hidden_from_users_without_a_role(
    client, bob, image, method, detail
):
    assert_hidden_from_strangers(client, bob, method, _detail(image.digest) if detail else _list())
    assert Manifest.objects.count() == 1
    assert Tag.objects.count() == 2


def test_staff_shows_an_image_manifest(admin_client, image):
    response = admin_client.get(_detail(image.digest))

    assert response.status_code == 200
    assert response.json() == {
        "digest": image.digest,
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "size": 4321,
        "platforms": [{"os": "linux", "architecture": "arm64", "variant": "v8"}],
        "tags": ["1.0", "latest"],
        "last_pulled": "2025-01-02T00:00:00.000000Z",
        "created": "2025-01-01T00:00:00.000000Z",
        "config_digest": fake_digest("config"),
        "layers": LAYERS,
    }


def test_an_index_shows_its_childrens_platforms(admin_client, index):
    body = admin_client.get(_detail(index.digest)).json()
    assert body["media_type"] == "application/vnd.oci.image.index.v1+json"
    assert body["platforms"] == [
        {"os": "linux", "architecture": "amd64", "variant": ""},
        {"os": "linux", "architecture": "arm64", "variant": "v8"},
    ]
    assert body["tags"] == ["multi"]
    assert body["last_pulled"] is None
    assert body["layers"] == []


def test_staff_lists_every_manifest_newest_first(admin_client, image, index):
    rows = admin_client.get(_list()).json()["results"]

    # The image and the index's two children were built at T0, the index a day before.
    newest = sorted([image.digest, *index.children.values_list("digest", flat=True)])
    assert [row["digest"] for row in rows] == [*newest, index.digest]
    assert rows[-1]["tags"] == ["multi"]


def test_manifest_list_pages_through_every_manifest_once(admin_client, app):
    for i in range(13):
        ManifestFactory(repository=app, created_at=T0 + timedelta(minutes=i % 4))
    rows = all_pages(admin_client, _list() + "?page_size=3")
    digests = [row["digest"] for row in rows]
    expected = Manifest.objects.order_by("-created_at", "digest").values_list("digest", flat=True)
    assert digests == list(expected)


def test_manifest_list_uses_a_bounded_number_of_queries(
    admin_client, app, django_assert_max_num_queries
):
    def make(count):
        for _ in range(count):
            index = ManifestFactory(repository=app, media_type=Manifest.MediaType.OCI_INDEX)
            index.children.set([ManifestFactory(repository=app)])
            TagFactory(manifest=index)

    make(3)
    with django_assert_max_num_queries(7):
        assert len(admin_client.get(_list()).json()["results"]) == 6
    make(22)
    with django_assert_max_num_queries(7):
        assert len(admin_client.get(_list()).json()["results"]) == 50


@pytest.mark.parametrize(
    "digest", ["latest", "sha256:", "SHA256:abc", "sha256:abc!", ":abc", "sha256:" + "a" * 200]
)
@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_malformed_digest_is_a_400(admin_client, image, method, digest):
    url = f"/api/v1/registries/prod1/repositories/team-a/app/_manifests/{digest}/"
    response = getattr(admin_client, method)(url)
    assert "digest" in assert_problem(response, 400)["errors"]
    assert Manifest.objects.count() == 1


@pytest.mark.parametrize(
    ("digest", "repository", "registry"),
    [
        (fake_digest("other"), "team-a/app", "prod1"),
        (fake_digest("image"), "team-a/other", "prod1"),
        (fake_digest("image"), "team-a/app", "prod2"),
    ],
)
def test_unknown_manifests_are_a_404(admin_client, image, digest, repository, registry):
    assert_problem(admin_client.get(_detail(digest, repository, registry)), 404)


def test_deleting_a_manifest_while_the_registry_is_down_is_a_503_and_keeps_the_index(
    admin_client, image
):
    response = admin_client.delete(_detail(image.digest))

    problem = assert_problem(response, 503)
    assert problem["title"] == "Registry unavailable"
    assert (
        f"Cannot connect to registry {image.repository.registry.login_server}"
        in (problem["detail"])
    )
    assert Manifest.objects.filter(pk=image.pk).exists()
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["1.0", "latest"]
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_put_and_patch_are_not_allowed_on_a_manifest(admin_client, image):
    for method in ("put", "patch", "post"):
        response = getattr(admin_client, method)(
            _detail(image.digest), {}, content_type="application/json"
        )
        assert_problem(response, 405)
        assert set(response["Allow"].split(", ")) >= {"GET", "DELETE"}
