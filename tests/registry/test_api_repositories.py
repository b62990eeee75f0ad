"""REST API: repositories (``/api/v1/registries/{r}/repositories/``)."""

import pytest

from registry.models import AuditEvent, Manifest, Repository, Tag
from tests.factories import ManifestFactory, RegistryFactory, RepositoryFactory, TagFactory
from tests.registry.api_support import (
    all_pages,
    api_url,
    assert_hidden_from_strangers,
    assert_problem,
    closed_port_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod1(db):
    return RegistryFactory(name="prod1", login_server=closed_port_url())


@pytest.fixture
def app(prod1):
    repository = RepositoryFactory(registry=prod1, name="team-a/app")
    manifest = ManifestFactory(repository=repository)
    TagFactory(manifest=manifest, name="1.0")
    TagFactory(manifest=manifest, name="latest")
    ManifestFactory(repository=repository)
    return repository


def _list(registry="prod1", query=""):
    return api_url("repository-list", registry=registry) + query


def _detail(repository="team-a/app", registry="prod1"):
    return api_url("repository-detail", registry=registry, repository=repository)


def test_a_repository_url_keeps_its_slashes(app):
    assert _detail() == "/api/v1/registries/prod1/repositories/team-a/app/"


@pytest.mark.parametrize(
    ("method", "detail", "data"),
    [
        ("get", False, None),
        ("get", True, None),
        ("patch", True, {"write_enabled": False}),
        ("delete", True, None),
    ],
)
def test_repository_endpoints_are_hidden_from_users_without_a_role(
    client, bob, app, method, detail, data
):
    assert_hidden_from_strangers(client, bob, method, _detail() if detail else _list(), data)
    app.refresh_from_db()
    assert app.write_enabled
    assert Manifest.objects.count() == 2
    # Nothing but the access tokens the check signed in with was written.
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_staff_lists_repositories_by_name_with_counts_and_locks(admin_client, prod1, app):
    RepositoryFactory(registry=prod1, name="team-b/tool", delete_enabled=False)
    RepositoryFactory(registry=prod1, name="base")
    RepositoryFactory(name="team-a/elsewhere")

    response = admin_client.get(_list())

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["name"] for r in results] == ["base", "team-a/app", "team-b/tool"]
    repository = results[1]
    assert repository["tag_count"] == 2
    assert repository["manifest_count"] == 2
    assert repository["scope"] == "/registries/prod1/repositories/team-a/app"
    assert {k: repository[k] for k in Repository.LOCK_FIELDS} == dict.fromkeys(
        Repository.LOCK_FIELDS, True
    )
    assert results[2]["delete_enabled"] is False
    assert results[2]["tag_count"] == results[2]["manifest_count"] == 0
    assert repository["created"] and repository["updated"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?namespace=team-a", ["team-a/app", "team-a/backend/api"]),
        ("?namespace=team-a/backend", ["team-a/backend/api"]),
        ("?namespace=team", []),
        ("?search=API", ["team-a/backend/api", "team-ab/api"]),
        ("?search=api&namespace=team-ab", ["team-ab/api"]),
        ("?search=", ["team-a/app", "team-a/backend/api", "team-ab/api"]),
    ],
)
def test_repositories_filter_by_namespace_and_search(admin_client, prod1, query, expected):
    for name in ("team-ab/api", "team-a/backend/api", "team-a/app"):
        RepositoryFactory(registry=prod1, name=name)
    rows = all_pages(admin_client, _list(query=query))
    assert [row["name"] for row in rows] == expected


@pytest.mark.parametrize(
    "query",
    [
        "?namespace=Team-A",
        "?namespace=team-a/",
        "?namespace=%2F",
        "?namespace=team-a%00",
        "?search=" + "a" * 256,
        "?search=a%00b",
    ],
)
def test_bad_filters_are_a_400(admin_client, prod1, query):
    problem = assert_problem(admin_client.get(_list(query=query)), 400)
    assert set(problem["errors"]) <= {"namespace", "search"}


def test_repository_list_uses_a_bounded_number_of_queries(
    admin_client, prod1, django_assert_max_num_queries
):
    def make(count):
        for _ in range(count):
            manifest = ManifestFactory(repository__registry=prod1)
            TagFactory.create_batch(2, manifest=manifest)

    make(5)
    with django_assert_max_num_queries(4):
        rows = admin_client.get(_list()).json()["results"]
    assert len(rows) == 5
    assert {row["tag_count"] for row in rows} == {2}
    make(45)
    with django_assert_max_num_queries(4):
        assert len(admin_client.get(_list()).json()["results"]) == 50


def test_repository_list_pages_through_every_repository_once(admin_client, prod1):
    RepositoryFactory.create_batch(23, registry=prod1)
    rows = all_pages(admin_client, _list(query="?page_size=5"))
    names = [row["name"] for row in rows]
    assert names == sorted(prod1.repositories.values_list("name", flat=True))
    assert len(names) == 23


def test_an_unknown_registry_is_a_404(admin_client):
    assert "nosuch1" in assert_problem(admin_client.get(_list("nosuch1")), 404)["detail"]


def test_staff_shows_a_repository(admin_client, app):
    response = admin_client.get(_detail(registry="Prod1"))
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "team-a/app"
    assert (body["tag_count"], body["manifest_count"]) == (2, 2)


@pytest.mark.parametrize(
    ("repository", "registry", "parameter"),
    [
        ("Team-A/app", "prod1", "repository"),
        ("team-a/app!", "prod1", "repository"),
        ("team-a//app", "prod1", "repository"),
        ("team-a/_app", "prod1", "repository"),
        ("team-a/app/_tags/v1/extra", "prod1", "repository"),
        ("-app", "prod1", "repository"),
        ("a" * 256, "prod1", "repository"),
        ("team-a/app", "bad-name", "registry"),
    ],
)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_malformed_names_in_the_path_are_a_400(
    admin_client, app, method, repository, registry, parameter
):
    url = f"/api/v1/registries/{registry}/repositories/{repository}/"
    response = getattr(admin_client, method)(url, {}, content_type="application/json")
    assert parameter in assert_problem(response, 400)["errors"]
    assert Manifest.objects.count() == 2


@pytest.mark.parametrize(("repository", "registry"), [("team-a/nope", "prod1"), ("x", "prod2")])
def test_unknown_repositories_are_a_404(admin_client, app, repository, registry):
    assert_problem(admin_client.get(_detail(repository, registry)), 404)


def test_staff_locks_a_repository(admin_client, alice, app):
    response = admin_client.patch(
        _detail(),
        {"write_enabled": False, "delete_enabled": False, "read_enabled": True},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["write_enabled"], body["delete_enabled"], body["read_enabled"]) == (
        False,
        False,
        True,
    )
    assert body["tag_count"] == 2
    app.refresh_from_db()
    assert (app.write_enabled, app.delete_enabled, app.list_enabled) == (False, False, True)
    event = AuditEvent.objects.get(action="locks.update")
    assert event.actor == alice
    assert event.details == {"locks": {"write_enabled": False, "delete_enabled": False}}


def test_a_patch_that_changes_nothing_writes_nothing(admin_client, app):
    response = admin_client.patch(_detail(), {}, content_type="application/json")
    assert response.status_code == 200
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"writeEnabled": False}, "writeEnabled"),
        ({"write_enabled": "maybe"}, "write_enabled"),
        ({"write_enabled": None}, "write_enabled"),
        ({"name": "team-a/renamed"}, "name"),
        ({"tag_count": 3}, "tag_count"),
    ],
)
def test_bad_lock_changes_are_a_400_and_change_nothing(admin_client, app, body, field):
    response = admin_client.patch(_detail(), body, content_type="application/json")
    assert field in assert_problem(response, 400)["errors"]
    app.refresh_from_db()
    assert app.write_enabled
    assert app.name == "team-a/app"


def test_deleting_a_repository_while_the_registry_is_down_is_a_503(admin_client, app):
    response = admin_client.delete(_detail())

    problem = assert_problem(response, 503)
    assert app.registry.login_server in problem["detail"]
    assert Repository.objects.filter(pk=app.pk).exists()
    assert Manifest.objects.filter(repository=app).count() == 2
    assert Tag.objects.filter(repository=app).count() == 2
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_each_listed_repository_reads_the_same_as_its_own_endpoint(admin_client, prod1, app):
    """The list renders plain rows for speed; they must match the detail serializer's output."""
    RepositoryFactory(registry=prod1, name="team-b/tool", write_enabled=False)
    rows = admin_client.get(_list("PROD1")).json()["results"]
    assert [row["name"] for row in rows] == ["team-a/app", "team-b/tool"]
    assert rows[0]["scope"] == "/registries/prod1/repositories/team-a/app"
    for row in rows:
        assert admin_client.get(_detail(row["name"])).json() == row


def test_an_empty_registry_lists_no_repositories(admin_client, prod1):
    response = admin_client.get(_list())
    assert response.status_code == 200
    assert response.json()["results"] == []
