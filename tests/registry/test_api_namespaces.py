"""REST API: namespaces (``/api/v1/registries/{r}/namespaces/``)."""

import pytest

from registry.models import AuditEvent, Namespace, Repository
from tests.factories import NamespaceFactory, RegistryFactory, RepositoryFactory, UserFactory
from tests.registry.api_support import (
    all_pages,
    api_url,
    assert_hidden_from_strangers,
    assert_problem,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod1(db):
    return RegistryFactory(name="prod1")


@pytest.fixture
def backend(prod1, bob):
    namespace = NamespaceFactory(registry=prod1, name="team-a/backend", description="Backend")
    namespace.owners.set([bob])
    return namespace


def _detail(namespace="team-a/backend", registry="prod1"):
    return api_url("namespace-detail", registry=registry, namespace=namespace)


def _list(registry="prod1"):
    return api_url("namespace-list", registry=registry)


def test_a_nested_namespace_has_a_slash_in_its_url(backend):
    assert _detail() == "/api/v1/registries/prod1/namespaces/team-a/backend/"


@pytest.mark.parametrize(
    ("method", "detail", "data"),
    [
        ("get", False, None),
        ("post", False, {"name": "team-b"}),
        ("get", True, None),
        ("patch", True, {"description": "x"}),
        ("delete", True, None),
    ],
)
def test_namespace_endpoints_are_hidden_from_users_without_a_role(
    client, bob, backend, method, detail, data
):
    assert_hidden_from_strangers(client, bob, method, _detail() if detail else _list(), data)
    assert list(Namespace.objects.values_list("name", "description")) == [
        ("team-a/backend", "Backend")
    ]


def test_staff_lists_namespaces_with_owners(admin_client, prod1, backend, alice):
    team_b = NamespaceFactory(registry=prod1, name="team-b")
    team_b.owners.set([alice, UserFactory(username="carol")])
    NamespaceFactory(name="elsewhere")

    response = admin_client.get(_list())

    assert response.status_code == 200
    results = response.json()["results"]
    assert [n["name"] for n in results] == ["team-a/backend", "team-b"]
    assert results[0]["description"] == "Backend"
    assert results[0]["owners"] == ["bob"]
    assert sorted(results[1]["owners"]) == ["alice", "carol"]
    assert results[0]["scope"] == "/registries/prod1/namespaces/team-a/backend"
    assert results[0]["created"] and results[0]["updated"]


def test_namespace_list_uses_a_bounded_number_of_queries(
    admin_client, prod1, django_assert_max_num_queries
):
    owners = UserFactory.create_batch(3)

    def make(count):
        for _ in range(count):
            NamespaceFactory(registry=prod1).owners.set(owners)

    make(5)
    with django_assert_max_num_queries(5):
        assert len(admin_client.get(_list()).json()["results"]) == 5
    make(45)
    with django_assert_max_num_queries(5):
        assert len(admin_client.get(_list()).json()["results"]) == 50


def test_namespace_list_pages_through_every_namespace_once(admin_client, prod1):
    NamespaceFactory.create_batch(11, registry=prod1)
    rows = all_pages(admin_client, _list() + "?page_size=4")
    assert [row["name"] for row in rows] == sorted(prod1.namespaces.values_list("name", flat=True))


def test_staff_creates_a_namespace_with_owners(admin_client, alice, bob, prod1):
    response = admin_client.post(
        _list(),
        {"name": "team-a/frontend", "description": "Web", "owners": ["bob", "alice"]},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "team-a/frontend"
    assert sorted(body["owners"]) == ["alice", "bob"]
    assert response["Location"].endswith(_detail("team-a/frontend"))
    namespace = Namespace.objects.get(name="team-a/frontend")
    assert set(namespace.owners.all()) == {alice, bob}
    event = AuditEvent.objects.get(action="namespace.create")
    assert event.actor == alice
    assert event.details == {"owners": ["alice", "bob"]}


def test_owners_and_description_are_optional(admin_client, prod1):
    response = admin_client.post(_list(), {"name": "team-c"}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["owners"] == []
    assert response.json()["description"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Team-A"}, "name"),
        ({"name": "team_a/"}, "name"),
        ({"name": "/team-a"}, "name"),
        ({"name": "team a"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "a" * 256}, "name"),
        ({"description": "no name"}, "name"),
        ({"name": "team-c", "owners": ["nobody"]}, "owners"),
        ({"name": "team-c", "owners": "bob"}, "owners"),
        ({"name": "team-c", "registry": "other1"}, "registry"),
        ({"name": "team-c", "description": "nul\x00"}, "description"),
    ],
)
def test_bad_namespace_input_is_a_400(admin_client, bob, prod1, body, field):
    problem = assert_problem(admin_client.post(_list(), body, content_type="application/json"), 400)
    assert field in problem["errors"]
    assert not Namespace.objects.exists()


def test_an_unknown_owner_is_named_in_the_error(admin_client, prod1):
    response = admin_client.post(
        _list(), {"name": "team-c", "owners": ["nobody"]}, content_type="application/json"
    )
    assert assert_problem(response, 400)["errors"]["owners"] == ["There is no user named 'nobody'."]


def test_a_duplicate_namespace_is_a_409(admin_client, backend):
    response = admin_client.post(
        _list(), {"name": "team-a/backend"}, content_type="application/json"
    )
    assert "team-a/backend" in assert_problem(response, 409)["detail"]
    assert Namespace.objects.count() == 1


def test_the_same_namespace_in_another_registry_is_fine(admin_client, backend):
    RegistryFactory(name="other1")
    response = admin_client.post(
        _list("other1"), {"name": "team-a/backend"}, content_type="application/json"
    )
    assert response.status_code == 201


def test_the_tier_limit_on_namespaces_is_a_409(admin_client):
    basic = RegistryFactory(name="basic1", tier="Basic")
    NamespaceFactory.create_batch(10, registry=basic)
    response = admin_client.post(
        _list("basic1"), {"name": "one-more"}, content_type="application/json"
    )
    assert "Basic tier allows 10 namespaces" in assert_problem(response, 409)["detail"]


def test_staff_shows_a_namespace(admin_client, backend):
    response = admin_client.get(_detail(registry="PROD1"))
    assert response.status_code == 200
    assert response.json()["owners"] == ["bob"]


@pytest.mark.parametrize(
    ("registry", "namespace", "parameter"),
    [
        ("prod1", "Team-A", "namespace"),
        ("prod1", "team-a//backend", "namespace"),
        ("prod1", "team-a/_backend", "namespace"),
        ("bad-name", "team-a", "registry"),
    ],
)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_malformed_names_in_the_path_are_a_400(
    admin_client, backend, method, registry, namespace, parameter
):
    url = f"/api/v1/registries/{registry}/namespaces/{namespace}/"
    response = getattr(admin_client, method)(url, {}, content_type="application/json")
    assert parameter in assert_problem(response, 400)["errors"]


@pytest.mark.parametrize(
    ("registry", "namespace"), [("prod1", "team-a"), ("prod1", "team-a/backend/x"), ("prod2", "x")]
)
def test_unknown_namespaces_are_a_404(admin_client, backend, registry, namespace):
    assert_problem(admin_client.get(_detail(namespace, registry)), 404)


def test_staff_changes_description_and_owners(admin_client, alice, backend):
    response = admin_client.patch(
        _detail(), {"description": "Services", "owners": ["alice"]}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["owners"] == ["alice"]
    assert response.json()["description"] == "Services"
    backend.refresh_from_db()
    assert list(backend.owners.all()) == [alice]
    changes = AuditEvent.objects.get(action="namespace.update").details["changes"]
    assert changes["owners"] == {"from": ["bob"], "to": ["alice"]}


def test_a_patch_without_owners_keeps_them(admin_client, bob, backend):
    response = admin_client.patch(
        _detail(), {"description": "Only this"}, content_type="application/json"
    )
    assert response.json()["owners"] == ["bob"]
    assert list(backend.owners.all()) == [bob]


def test_an_empty_owner_list_removes_every_owner(admin_client, backend):
    response = admin_client.patch(_detail(), {"owners": []}, content_type="application/json")
    assert response.json()["owners"] == []
    assert not backend.owners.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "team-z"}, "name"), ({"owners": ["nobody"]}, "owners"), ({"x": 1}, "x")],
)
def test_bad_namespace_changes_are_a_400(admin_client, bob, backend, body, field):
    response = admin_client.patch(_detail(), body, content_type="application/json")
    assert field in assert_problem(response, 400)["errors"]
    backend.refresh_from_db()
    assert backend.name == "team-a/backend"
    assert list(backend.owners.all()) == [bob]


def test_staff_deletes_a_namespace_and_its_repositories_stay(admin_client, prod1, backend):
    RepositoryFactory(registry=prod1, name="team-a/backend/api")

    response = admin_client.delete(_detail())

    assert response.status_code == 204
    assert not Namespace.objects.exists()
    assert Repository.objects.filter(name="team-a/backend/api").exists()
    assert AuditEvent.objects.filter(action="namespace.delete").count() == 1
