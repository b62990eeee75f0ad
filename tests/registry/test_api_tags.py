"""REST API: tags (``/api/v1/registries/{r}/repositories/{repo}/_tags/``)."""

from datetime import UTC, datetime, timedelta

import pytest

from registry.models import AuditEvent, Manifest, Tag
from tests.factories import ManifestFactory, RegistryFactory, RepositoryFactory, TagFactory
from tests.registry.api_support import (
    all_pages,
    api_url,
    assert_hidden_from_strangers,
    assert_problem,
    closed_port_url,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def app(db):
    registry = RegistryFactory(name="prod1", login_server=closed_port_url())
    return RepositoryFactory(registry=registry, name="team-a/app")


@pytest.fixture
def v1(app):
    return TagFactory(manifest__repository=app, name="v1", updated_at=T0)


def _list(query="", repository="team-a/app", registry="prod1"):
    return api_url("tag-list", registry=registry, repository=repository) + query


def _detail(tag="v1", repository="team-a/app", registry="prod1"):
    return api_url("tag-detail", registry=registry, repository=repository, tag=tag)


def test_tag_urls_use_the_tags_marker(v1):
    assert _list() == "/api/v1/registries/prod1/repositories/team-a/app/_tags/"
    assert _detail() == "/api/v1/registries/prod1/repositories/team-a/app/_tags/v1/"


@pytest.mark.parametrize(
    ("method", "detail", "data"),
    [
        ("get", False, None),
        ("get", True, None),
        ("patch", True, {"delete_enabled": False}),
        ("delete", True, None),
    ],
)
def test_tag_endpoints_are_hidden_from_users_without_a_role(client, bob, v1, method, detail, data):
    assert_hidden_from_strangers(client, bob, method, _detail() if detail else _list(), data)
    v1.refresh_from_db()
    assert v1.delete_enabled
    # Nothing but the access tokens the check signed in with was written.
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_staff_lists_tags_with_their_fields(admin_client, v1):
    response = admin_client.get(_list())

    assert response.status_code == 200
    [tag] = response.json()["results"]
    assert tag["name"] == "v1"
    assert tag["digest"] == v1.manifest.digest
    assert tag["media_type"] == v1.manifest.media_type
    assert tag["size"] == 1234
    assert tag["updated"] == "2025-01-01T00:00:00.000000Z"
    assert tag["created"]
    assert {k: tag[k] for k in Tag.LOCK_FIELDS} == dict.fromkeys(Tag.LOCK_FIELDS, True)


@pytest.fixture
def three_tags(app):
    manifest = ManifestFactory(repository=app)
    for name, hours in (("b", 2), ("a", 1), ("c", 3)):
        TagFactory(manifest=manifest, name=name, updated_at=T0 + timedelta(hours=hours))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["c", "b", "a"]),
        ("?orderby=", ["c", "b", "a"]),
        ("?orderby=time_desc", ["c", "b", "a"]),
        ("?orderby=time_asc", ["a", "b", "c"]),
        ("?orderby=name", ["a", "b", "c"]),
    ],
)
def test_tags_are_ordered_as_asked(admin_client, three_tags, query, expected):
    rows = admin_client.get(_list(query)).json()["results"]
    assert [row["name"] for row in rows] == expected


@pytest.mark.parametrize("query", ["?orderby=size", "?orderby=time", "?orderby=NAME"])
def test_an_unknown_ordering_is_a_400(admin_client, three_tags, query):
    assert "orderby" in assert_problem(admin_client.get(_list(query)), 400)["errors"]


@pytest.fixture
def many_tags(app):
    """40 tags, 25 of them updated in the same microsecond, the rest an hour apart."""
    manifest = ManifestFactory(repository=app)
    for i in range(25):
        TagFactory(manifest=manifest, name=f"same-{i:02d}", updated_at=T0)
    for i in range(15):
        TagFactory(manifest=manifest, name=f"hour-{i:02d}", updated_at=T0 + timedelta(hours=i))


@pytest.mark.parametrize(
    ("orderby", "key", "reverse"),
    [
        ("time_desc", lambda t: (-t.updated_at.timestamp(), t.name), False),
        # Oldest first is newest first read backwards, ties included (one index serves both).
        ("time_asc", lambda t: (-t.updated_at.timestamp(), t.name), True),
        ("name", lambda t: t.name, False),
    ],
)
@pytest.mark.parametrize("page_size", [1, 4, 7, 40, 100])
def test_paging_sees_every_tag_once_in_order(
    admin_client, app, many_tags, orderby, key, reverse, page_size
):
    rows = all_pages(admin_client, _list(f"?orderby={orderby}&page_size={page_size}"))
    expected = [t.name for t in sorted(app.tags.all(), key=key, reverse=reverse)]
    assert [row["name"] for row in rows] == expected


def test_paging_survives_more_ties_than_an_offset_could_skip(admin_client, app):
    # A sync can store thousands of tags in the same instant; an offset-based cursor gives up
    # after 1000 equal values, a keyset cursor never does.
    manifest = ManifestFactory(repository=app)
    Tag.objects.bulk_create(
        Tag(repository=app, manifest=manifest, name=f"t{i:04d}", updated_at=T0) for i in range(1201)
    )
    rows = all_pages(admin_client, _list("?orderby=time_desc&page_size=500"))
    assert [row["name"] for row in rows] == [f"t{i:04d}" for i in range(1201)]


@pytest.mark.parametrize("orderby", ["time_desc", "time_asc", "name"])
def test_previous_links_lead_back_through_the_same_pages(admin_client, many_tags, orderby):
    url = _list(f"?orderby={orderby}&page_size=6")
    pages = []
    while url:
        body = admin_client.get(url).json()
        pages.append([row["name"] for row in body["results"]])
        url = body["next"]
    assert len(pages) == 7
    assert body["previous"] is not None

    back = [pages[-1]]
    url = body["previous"]
    while url:
        body = admin_client.get(url).json()
        back.append([row["name"] for row in body["results"]])
        url = body["previous"]
    assert back[::-1] == pages


def test_tag_paging_survives_tags_added_while_reading(admin_client, app, many_tags):
    first = admin_client.get(_list("?orderby=name&page_size=10")).json()
    seen = [row["name"] for row in first["results"]]
    TagFactory(manifest=app.manifests.first(), name="aaa-new")
    TagFactory(manifest=app.manifests.first(), name="zzz-new")
    seen += [row["name"] for row in all_pages(admin_client, first["next"])]
    assert len(seen) == len(set(seen)) == 41
    assert "zzz-new" in seen


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "%00",
        "e30=",  # {}
        # {"o": ["name"], "p": [1], "r": false}: made for another ordering
        "eyJvIjpbIm5hbWUiXSwicCI6WzFdLCJyIjpmYWxzZX0=",
        # {"o": ["-updated_at", "name"], "p": ["yesterday", "x"], "r": false}
        "eyJvIjpbIi11cGRhdGVkX2F0IiwibmFtZSJdLCJwIjpbInllc3RlcmRheSIsIngiXSwiciI6ZmFsc2V9",
        # {"o": ["-updated_at", "name"], "p": [{"a": 1}, "x"], "r": false}
        "eyJvIjpbIi11cGRhdGVkX2F0IiwibmFtZSJdLCJwIjpbeyJhIjoxfSwieCJdLCJyIjpmYWxzZX0=",
    ],
)
def test_a_bad_cursor_is_a_400(admin_client, many_tags, cursor):
    response = admin_client.get(_list(f"?orderby=time_desc&cursor={cursor}"))
    assert "cursor" in assert_problem(response, 400)["errors"]


def test_a_cursor_from_another_ordering_is_a_400(admin_client, many_tags):
    next_link = admin_client.get(_list("?orderby=name&page_size=5")).json()["next"]
    other = next_link.replace("orderby=name", "orderby=time_desc")
    assert "cursor" in assert_problem(admin_client.get(other), 400)["errors"]


def test_tag_list_uses_a_bounded_number_of_queries(
    admin_client, app, django_assert_max_num_queries
):
    def make(count):
        for _ in range(count):
            TagFactory(manifest__repository=app)

    make(5)
    with django_assert_max_num_queries(5):
        assert len(admin_client.get(_list()).json()["results"]) == 5
    make(45)
    with django_assert_max_num_queries(5):
        assert len(admin_client.get(_list()).json()["results"]) == 50


def test_staff_shows_a_tag(admin_client, v1):
    response = admin_client.get(_detail())
    assert response.status_code == 200
    assert response.json()["digest"] == v1.manifest.digest


@pytest.mark.parametrize("tag", ["-v1", ".v1", "v1!", "a" * 129, "v%201"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_malformed_tag_is_a_400(admin_client, v1, method, tag):
    url = f"/api/v1/registries/prod1/repositories/team-a/app/_tags/{tag}/"
    response = getattr(admin_client, method)(url, {}, content_type="application/json")
    assert "tag" in assert_problem(response, 400)["errors"]
    assert Tag.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/registries/prod1/repositories/Team-A/app/_tags/v1/", "repository"),
        ("/api/v1/registries/prod-1/repositories/team-a/app/_tags/v1/", "registry"),
        ("/api/v1/registries/prod1/repositories/team-a/app/_tags/", None),
        ("/api/v1/registries/prod1/repositories/_tags/_tags/", "repository"),
    ],
)
def test_malformed_names_before_the_tag_are_a_400(admin_client, v1, url, parameter):
    response = admin_client.get(url)
    if parameter is None:
        assert response.status_code == 200
    else:
        assert parameter in assert_problem(response, 400)["errors"]


@pytest.mark.parametrize(
    ("tag", "repository", "registry"),
    [("v2", "team-a/app", "prod1"), ("v1", "team-a/other", "prod1"), ("v1", "x", "prod2")],
)
def test_unknown_tags_are_a_404(admin_client, v1, tag, repository, registry):
    assert_problem(admin_client.get(_detail(tag, repository, registry)), 404)


def test_staff_locks_a_tag(admin_client, alice, v1):
    response = admin_client.patch(
        _detail(),
        {"delete_enabled": False, "write_enabled": False},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["delete_enabled"] is False
    assert response.json()["write_enabled"] is False
    v1.refresh_from_db()
    assert (v1.delete_enabled, v1.write_enabled, v1.read_enabled) == (False, False, True)
    event = AuditEvent.objects.get(action="locks.update")
    assert event.actor == alice
    assert event.details["tag"] == "v1"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"deleteEnabled": False}, "deleteEnabled"), ({"read_enabled": []}, "read_enabled")],
)
def test_bad_tag_lock_changes_are_a_400(admin_client, v1, body, field):
    response = admin_client.patch(_detail(), body, content_type="application/json")
    assert field in assert_problem(response, 400)["errors"]


def test_untagging_while_the_registry_is_down_is_a_503(admin_client, v1):
    problem = assert_problem(admin_client.delete(_detail()), 503)
    assert "Cannot connect to registry" in problem["detail"]
    assert Tag.objects.filter(pk=v1.pk).exists()
    assert Manifest.objects.filter(pk=v1.manifest.pk).exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_each_listed_tag_reads_the_same_as_its_own_endpoint(admin_client, app, many_tags):
    """The list renders plain rows for speed; they must match the detail serializer's output."""
    rows = admin_client.get(_list("?page_size=500")).json()["results"]
    assert len(rows) == 40
    for row in rows:
        assert admin_client.get(_detail(row["name"])).json() == row


def test_an_empty_repository_lists_no_tags_and_an_unknown_one_is_a_404(admin_client, app):
    assert admin_client.get(_list()).json()["results"] == []
    assert_problem(admin_client.get(_list(repository="team-a/nothing")), 404)
    assert_problem(admin_client.get(_list(registry="other1")), 404)
