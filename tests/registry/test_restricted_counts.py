"""Counts show what the viewer can see: someone holding one namespace of a registry sees the
registry, but its repository, tag, namespace and storage figures cover that namespace alone,
on the dashboard, the registry list and page, namespace pages and in the REST API.

Registry ``prod1`` holds namespaces ``team-a``, ``team-a/backend``, ``team-b``, ``team-c`` and
``tools`` and five repositories: two under ``team-a`` (three tags, 210 bytes), two under
``team-b`` and ``tools`` at the top (four tags, 1000 bytes each); the namespace ``tools`` is not
the repository ``tools``, so a grant on the repository does not show it. Registry ``other1``
holds one tagged repository in each of ``team-a`` and ``team-b``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse

from registry.models import Namespace, Registry, Repository
from tests.factories import RegistryFactory, RepositoryFactory, TagFactory, UserFactory
from tests.registry.access_support import assign
from tests.registry.api_support import api_url

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Counts:
    repositories: int
    tags: int
    namespaces: int
    storage_bytes: int = 0


PROD_WHOLE = Counts(repositories=5, tags=7, namespaces=5, storage_bytes=4210)
PROD_TEAM_A = Counts(repositories=2, tags=3, namespaces=2, storage_bytes=210)
# ``team-a`` is visible above the repository, so it counts as a namespace too.
PROD_TEAM_A_APP = Counts(repositories=1, tags=2, namespaces=1, storage_bytes=200)
PROD_TOOLS = Counts(repositories=1, tags=1, namespaces=0, storage_bytes=1000)
OTHER_WHOLE = Counts(repositories=2, tags=2, namespaces=2, storage_bytes=2000)
OTHER_TEAM_B = Counts(repositories=1, tags=1, namespaces=1, storage_bytes=1000)

PROD = "/registries/prod1"
OTHER = "/registries/other1"

# Each persona's assignments, and what they should count in each registry they can see.
PERSONAS = {
    "namespace": ([("AcrPull", f"{PROD}/namespaces/team-a")], {"prod1": PROD_TEAM_A}),
    "repository": ([("AcrPull", f"{PROD}/repositories/team-a/app")], {"prod1": PROD_TEAM_A_APP}),
    "top-level repository": ([("AcrPull", f"{PROD}/repositories/tools")], {"prod1": PROD_TOOLS}),
    "registry": ([("AcrPull", PROD)], {"prod1": PROD_WHOLE}),
    "registry and namespace": (
        [("Reader", PROD), ("AcrPush", f"{PROD}/namespaces/team-a")],
        {"prod1": PROD_WHOLE},
    ),
    "root": ([("Reader", "/")], {"other1": OTHER_WHOLE, "prod1": PROD_WHOLE}),
    "namespaces of two registries": (
        [("AcrPull", f"{PROD}/namespaces/team-a"), ("AcrPush", f"{OTHER}/namespaces/team-b")],
        {"other1": OTHER_TEAM_B, "prod1": PROD_TEAM_A},
    ),
    "superuser": ([], {"other1": OTHER_WHOLE, "prod1": PROD_WHOLE}),
}


def _tag(repository: Repository, size: int, count: int = 1) -> None:
    for _ in range(count):
        TagFactory(manifest__repository=repository, manifest__size=size)


@pytest.fixture
def registries(db):
    prod = RegistryFactory(name="prod1")
    for name in ("team-a", "team-a/backend", "team-b", "team-c", "tools"):
        Namespace.objects.create(registry=prod, name=name)
    _tag(RepositoryFactory(registry=prod, name="team-a/app"), 100, count=2)
    _tag(RepositoryFactory(registry=prod, name="team-a/backend/api"), 10)
    _tag(RepositoryFactory(registry=prod, name="team-b/app"), 1000, count=2)
    _tag(RepositoryFactory(registry=prod, name="team-b/web"), 1000)
    _tag(RepositoryFactory(registry=prod, name="tools"), 1000)
    other = RegistryFactory(name="other1")
    for name in ("team-a", "team-b"):
        Namespace.objects.create(registry=other, name=name)
        _tag(RepositoryFactory(registry=other, name=f"{name}/app"), 1000)
    return prod, other


@pytest.fixture(params=list(PERSONAS))
def viewer(request, client, registries, alice):
    """A client signed in as one persona, and the counts it should see per registry."""
    assignments, expected = PERSONAS[request.param]
    if request.param == "superuser":
        user = alice
    else:
        user = UserFactory(username="viewer")
        for role, scope in assignments:
            assign(role, scope, user=user)
    client.force_login(user)
    return client, expected


def _row_counts(row) -> Counts:
    return Counts(row.repository_count, row.tag_count, row.namespace_count)


def _without_storage(counts: Counts) -> Counts:
    return Counts(counts.repositories, counts.tags, counts.namespaces)


# HTML -------------------------------------------------------------------------------------


def test_the_registry_list_counts_what_the_viewer_sees(viewer):
    client, expected = viewer
    response = client.get(reverse("registry:registry_list"))
    assert response.status_code == 200
    rows = {row.name: _row_counts(row) for row in response.context["registries"]}
    assert rows == {name: _without_storage(counts) for name, counts in expected.items()}


def test_the_dashboard_counts_what_the_viewer_sees(viewer):
    client, expected = viewer
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 200
    rows = {row.name: _row_counts(row) for row in response.context["registries"]}
    assert rows == {name: _without_storage(counts) for name, counts in expected.items()}
    assert response.context["repository_total"] == sum(c.repositories for c in expected.values())
    assert response.context["tag_total"] == sum(c.tags for c in expected.values())
    prod = expected["prod1"].repositories
    assert f">{prod} repositor{'y' if prod == 1 else 'ies'}</a>" in response.content.decode()


def test_the_registry_page_counts_what_the_viewer_sees(viewer):
    client, expected = viewer
    response = client.get(reverse("registry:registry_detail", args=["prod1"]))
    assert response.status_code == 200
    context = response.context
    shown = Counts(
        context["repository_count"],
        context["tag_count"],
        context["namespace_count"],
        context["storage_bytes"],
    )
    assert shown == expected["prod1"]
    assert len(context["namespaces"]) == expected["prod1"].namespaces


@pytest.mark.parametrize(
    ("persona", "count"), [("namespace", 2), ("repository", 1), ("registry", 2), ("superuser", 2)]
)
def test_a_namespace_page_counts_the_visible_repositories_under_it(
    client, registries, alice, persona, count
):
    assignments, _ = PERSONAS[persona]
    user = alice if persona == "superuser" else UserFactory(username="viewer")
    for role, scope in assignments:
        assign(role, scope, user=user)
    client.force_login(user)
    response = client.get(reverse("registry:namespace_detail", args=["prod1", "team-a"]))
    assert response.status_code == 200
    assert response.context["repository_count"] == count


def test_the_usage_panel_shows_the_storage_of_the_visible_repositories(client, registries):
    user = UserFactory(username="viewer")
    assign("AcrPull", f"{PROD}/namespaces/team-a", user=user)
    client.force_login(user)
    response = client.get(reverse("registry:registry_detail", args=["prod1"]))
    html = response.content.decode()
    assert "210\xa0bytes of" in html
    assert "4.1\xa0KB" not in html
    assert "These figures cover the namespaces and repositories you have access to." in html


def test_whoever_sees_the_whole_registry_is_not_told_the_figures_are_partial(client, registries):
    user = UserFactory(username="viewer")
    assign("AcrPull", PROD, user=user)
    client.force_login(user)
    response = client.get(reverse("registry:registry_detail", args=["prod1"]))
    html = response.content.decode()
    assert "4.1\xa0KB of" in html
    assert "you have access to" not in html


# REST API ---------------------------------------------------------------------------------


def test_the_api_registry_list_counts_what_the_caller_sees(viewer):
    client, expected = viewer
    response = client.get(api_url("registry-list"))
    assert response.status_code == 200, response.content
    rows = {
        row["name"]: (row["repository_count"], row["namespace_count"])
        for row in response.json()["results"]
    }
    assert rows == {name: (c.repositories, c.namespaces) for name, c in expected.items()}


def test_the_api_registry_detail_counts_what_the_caller_sees(viewer):
    client, expected = viewer
    response = client.get(api_url("registry-detail", registry="prod1"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["repository_count"], body["namespace_count"]) == (
        expected["prod1"].repositories,
        expected["prod1"].namespaces,
    )


# Cost -------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_restricted_counts_cost_the_same_queries_however_many_registries_and_grants(
    client, django_assert_max_num_queries, count
):
    user = UserFactory(username="viewer")
    for registry in RegistryFactory.create_batch(count):
        _tag(RepositoryFactory(registry=registry, name="team-a/app"), 100)
        _tag(RepositoryFactory(registry=registry, name="team-a/api"), 100)
        _tag(RepositoryFactory(registry=registry, name="team-b/app"), 100, count=2)
        Namespace.objects.create(registry=registry, name="team-b")
        assign("AcrPull", f"{registry.scope}/repositories/team-a/app", user=user)
        assign("AcrPush", f"{registry.scope}/repositories/team-a/api", user=user)
    client.force_login(user)

    with django_assert_max_num_queries(5):
        response = client.get(reverse("registry:registry_list"))
    assert [_row_counts(r) for r in response.context["registries"]] == [Counts(2, 2, 0)] * count
    with django_assert_max_num_queries(6):
        response = client.get(reverse("portal:dashboard"))
    assert response.context["repository_total"] == 2 * min(count, 24)
    with django_assert_max_num_queries(4):
        response = client.get(api_url("registry-list") + "?page_size=100")
    results = response.json()["results"]
    assert [(r["repository_count"], r["namespace_count"]) for r in results] == [(2, 0)] * count
    registry = Registry.objects.order_by("name").first()
    # The usage figures are kept per index stamp: one more query reads the stamp.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("registry:registry_detail", args=[registry.name]))
    assert (response.context["repository_count"], response.context["tag_count"]) == (2, 2)
