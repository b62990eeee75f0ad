"""REST API: registries (``/api/v1/registries/``)."""

import pytest

from registry.models import AuditEvent, Registry, Repository
from tests.factories import NamespaceFactory, RegistryFactory, RepositoryFactory, TagFactory
from tests.registry.api_support import (
    all_pages,
    api_url,
    assert_hidden_from_strangers,
    assert_problem,
)

pytestmark = pytest.mark.django_db

NEW_REGISTRY = {"name": "prod1", "login_server": "https://registry.example.com/"}


@pytest.fixture
def prod1(db):
    return RegistryFactory(name="prod1", login_server="https://registry.example.com", tier="Basic")


@pytest.mark.parametrize(
    ("method", "route", "data", "status"),
    [
        # Adding a registry happens at "/", which everyone sees: a 403 that names the action.
        ("post", "registry-list", NEW_REGISTRY, 403),
        ("get", "registry-detail", None, 404),
        ("patch", "registry-detail", {"description": "x"}, 404),
        ("delete", "registry-detail", None, 404),
    ],
)
def test_registry_endpoints_are_hidden_from_users_without_a_role(
    client, bob, prod1, method, route, data, status
):
    kwargs = {"registry": "prod1"} if route == "registry-detail" else {}
    assert_hidden_from_strangers(client, bob, method, api_url(route, **kwargs), data, status)
    assert Registry.objects.filter(name="prod1", description="").exists()
    # Nothing but the access tokens the check signed in with was written.
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_a_user_without_a_role_lists_no_registries(client, bob, prod1):
    client.force_login(bob)
    response = client.get(api_url("registry-list"))
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_staff_lists_registries_with_their_fields(admin_client, prod1):
    RepositoryFactory.create_batch(2, registry=prod1)
    NamespaceFactory(registry=prod1, name="team-a")
    RegistryFactory(name="other1")

    response = admin_client.get(api_url("registry-list"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["next"] is None
    assert body["previous"] is None
    assert [r["name"] for r in body["results"]] == ["other1", "prod1"]
    registry = body["results"][1]
    assert registry["login_server"] == "https://registry.example.com"
    assert registry["service"] == "registry.example.com"
    assert registry["tier"] == "Basic"
    assert registry["scope"] == "/registries/prod1"
    assert registry["repository_count"] == 2
    assert registry["namespace_count"] == 1
    assert registry["limits"] == {"webhooks": 2, "included_storage_gib": 10, "namespaces": 10}
    assert registry["health"] == {"checked_at": None, "healthy": None, "detail": ""}
    assert registry["created"] and registry["updated"]


def test_registry_list_uses_a_bounded_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    def make(count):
        for _ in range(count):
            registry = RegistryFactory()
            RepositoryFactory.create_batch(2, registry=registry)
            NamespaceFactory(registry=registry)

    make(5)
    with django_assert_max_num_queries(3):
        assert len(admin_client.get(api_url("registry-list")).json()["results"]) == 5
    make(45)
    with django_assert_max_num_queries(3):
        assert len(admin_client.get(api_url("registry-list")).json()["results"]) == 50


def test_registry_list_pages_through_every_registry_once(admin_client):
    RegistryFactory.create_batch(7)
    rows = all_pages(admin_client, api_url("registry-list") + "?page_size=3")
    names = [row["name"] for row in rows]
    assert names == sorted(Registry.objects.values_list("name", flat=True))
    assert len(names) == 7


def test_staff_creates_a_registry(admin_client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            api_url("registry-list"),
            {**NEW_REGISTRY, "tier": "Premium", "description": "Production"},
            content_type="application/json",
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "prod1"
    assert body["login_server"] == "https://registry.example.com"
    assert body["service"] == "registry.example.com"
    assert body["tier"] == "Premium"
    assert body["repository_count"] == 0
    assert response["Location"] == "http://testserver" + api_url(
        "registry-detail", registry="prod1"
    )
    registry = Registry.objects.get(name="prod1")
    assert registry.description == "Production"
    event = AuditEvent.objects.get(action="registry.create")
    assert event.actor == alice


def test_tier_defaults_to_standard(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            api_url("registry-list"), NEW_REGISTRY, content_type="application/json"
        )
    assert response.json()["tier"] == "Standard"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "ab", "login_server": "https://r.example.com"}, "name"),
        ({"name": "bad-name", "login_server": "https://r.example.com"}, "name"),
        ({"name": "a" * 51, "login_server": "https://r.example.com"}, "name"),
        ({"name": "prod1", "login_server": "ftp://r.example.com"}, "login_server"),
        ({"name": "prod1", "login_server": "not a url"}, "login_server"),
        ({"name": "prod1", "login_server": "https://r.example.com", "tier": "Gold"}, "tier"),
        ({"login_server": "https://r.example.com"}, "name"),
        ({"name": "prod1"}, "login_server"),
        ({"name": 5, "login_server": ["x"]}, "login_server"),
        ({"name": "prod1", "login_server": "https://r.example.com", "admin": True}, "admin"),
        ({"name": "prod1", "login_server": "https://r.example.com", "scope": "/x"}, "scope"),
    ],
)
def test_bad_registry_input_is_a_400_naming_the_field(admin_client, body, field):
    response = admin_client.post(api_url("registry-list"), body, content_type="application/json")
    problem = assert_problem(response, 400)
    assert field in problem["errors"]
    assert not Registry.objects.exists()


def test_unknown_and_read_only_fields_are_refused_not_ignored(admin_client):
    response = admin_client.post(
        api_url("registry-list"),
        {**NEW_REGISTRY, "loginServer": "https://x.example.com", "created": "2020-01-01"},
        content_type="application/json",
    )
    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "created": ["This field is read-only."],
        "loginServer": ["Unknown field."],
    }


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null", '"prod1"'])
def test_a_body_that_is_not_a_json_object_is_a_400(admin_client, body):
    response = admin_client.post(api_url("registry-list"), body, content_type="application/json")
    assert_problem(response, 400)


def test_a_duplicate_name_in_any_case_is_a_409(admin_client, prod1):
    response = admin_client.post(
        api_url("registry-list"),
        {"name": "PROD1", "login_server": "https://other.example.com"},
        content_type="application/json",
    )
    problem = assert_problem(response, 409)
    assert "prod1" in problem["detail"]
    assert Registry.objects.count() == 1


def test_staff_shows_a_registry_by_name_in_any_case(admin_client, prod1):
    response = admin_client.get(api_url("registry-detail", registry="PROD1"))
    assert response.status_code == 200
    assert response.json()["name"] == "prod1"


def test_an_unknown_registry_is_a_404_problem(admin_client):
    problem = assert_problem(admin_client.get(api_url("registry-detail", registry="nosuch1")), 404)
    assert "nosuch1" in problem["detail"]


@pytest.mark.parametrize("name", ["ab", "bad-name", "a" * 51, "bad_name", "x%00yzzy", "prod1%0A"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_malformed_registry_name_in_the_path_is_a_400(admin_client, method, name):
    url = f"/api/v1/registries/{name}/"
    response = getattr(admin_client, method)(url, {}, content_type="application/json")
    problem = assert_problem(response, 400)
    assert "registry" in problem["errors"]


def test_staff_updates_a_registry(admin_client, alice, prod1, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.patch(
            api_url("registry-detail", registry="prod1"),
            {"tier": "Premium", "login_server": "https://new.example.com/", "service": ""},
            content_type="application/json",
        )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tier"] == "Premium"
    assert body["login_server"] == "https://new.example.com"
    assert body["service"] == "new.example.com"
    assert body["limits"]["webhooks"] == 500
    prod1.refresh_from_db()
    assert prod1.tier == "Premium"
    event = AuditEvent.objects.get(action="registry.update")
    assert event.actor == alice
    assert event.details["changes"]["tier"] == {"from": "Basic", "to": "Premium"}
    # A new login server gets a fresh health check.
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "prod2"}, "name", "This field is read-only."),
        ({"login_server": "gopher://x"}, "login_server", None),
        ({"tier": "Gold"}, "tier", None),
        ({"writeEnabled": False}, "writeEnabled", "Unknown field."),
    ],
)
def test_bad_registry_changes_are_a_400(admin_client, prod1, body, field, message):
    response = admin_client.patch(
        api_url("registry-detail", registry="prod1"), body, content_type="application/json"
    )
    problem = assert_problem(response, 400)
    assert field in problem["errors"]
    if message:
        assert problem["errors"][field] == [message]
    prod1.refresh_from_db()
    assert (prod1.name, prod1.tier) == ("prod1", "Basic")


def test_put_is_not_allowed(admin_client, prod1):
    response = admin_client.put(
        api_url("registry-detail", registry="prod1"), NEW_REGISTRY, content_type="application/json"
    )
    assert_problem(response, 405)
    assert "PATCH" in response["Allow"]


def test_staff_deletes_a_registry_and_its_index_only(admin_client, alice, prod1):
    TagFactory(manifest__repository__registry=prod1)

    response = admin_client.delete(api_url("registry-detail", registry="prod1"))

    assert response.status_code == 204
    assert response.content == b""
    assert not Registry.objects.exists()
    assert not Repository.objects.exists()
    assert AuditEvent.objects.get(action="registry.delete").details == {"repositories": 1}
    assert_problem(admin_client.delete(api_url("registry-detail", registry="prod1")), 404)
