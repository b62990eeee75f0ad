"""Kept pages of the repository and tag lists (``registry.api.list_cache``): the same question
is answered without reading the index again, and never with a page from before a change or
meant for someone who may see other things."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.renderers import BrowsableAPIRenderer

from accounts.models import PersonalAccessToken, ServicePrincipal
from accounts.services import service_principal_secret_create
from registry.api.views import TagList
from registry.models import Registry, RoleAssignment, Tag
from tests.factories import TagFactory
from tests.registry.access_support import APP_A, REGISTRY, TEAM_A, assign
from tests.registry.api_support import api_url, assert_problem, basic, bearer

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def tags(world):
    """Three tags in each of team-a/app and team-b/app."""
    for repository in world.repositories.all():
        for n in range(3):
            TagFactory(manifest__repository=repository, name=f"v{n}")
    return world


def _tags_url(repository="team-a/app", registry=REGISTRY, query=""):
    return api_url("tag-list", registry=registry, repository=repository) + query


def _repos_url(registry=REGISTRY, query=""):
    return api_url("repository-list", registry=registry) + query


def _get(client, url, headers):
    """The response and whether answering it read the index (tags or repositories)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **{**JSON, **headers})
    read_index = any(
        '"registry_tag"' in q["sql"] or '"registry_repository"' in q["sql"]
        for q in queries.captured_queries
    )
    return response, read_index


def _names(response):
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize("url", [_tags_url(), _repos_url(), _repos_url(query="?search=app")])
def test_the_same_question_is_answered_without_reading_the_index_again(client, alice, tags, url):
    headers = bearer(alice)
    first, first_read = _get(client, url, headers)
    second, second_read = _get(client, url, headers)
    assert first_read and not second_read
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json"


def test_a_changed_index_is_read_again(client, alice, tags):
    headers = bearer(alice)
    assert _names(_get(client, _tags_url(query="?orderby=name"), headers)[0]) == ["v0", "v1", "v2"]
    Tag.objects.filter(repository__name="team-a/app", name="v1").delete()
    response, read_index = _get(client, _tags_url(query="?orderby=name"), headers)
    assert read_index
    assert _names(response) == ["v0", "v2"]


def test_a_lock_changed_through_the_api_shows_in_the_next_list(client, alice, tags):
    headers = bearer(alice)
    before = client.get(_repos_url(), **JSON, **headers).json()["results"]
    assert all(row["write_enabled"] for row in before)
    url = api_url("repository-detail", registry=REGISTRY, repository="team-a/app")
    response = client.patch(
        url, {"write_enabled": False}, content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    after = {
        row["name"]: row["write_enabled"]
        for row in _get(client, _repos_url(), headers)[0].json()["results"]
    }
    assert after == {"team-a/app": False, "team-b/app": True}


def test_a_renamed_registry_is_not_answered_from_its_old_pages(client, alice, tags):
    headers = bearer(alice)
    assert _names(client.get(_repos_url(), **JSON, **headers)) == ["team-a/app", "team-b/app"]
    registry = Registry.objects.get(name=REGISTRY)
    registry.name = "renamed1"
    registry.save()
    assert_problem(client.get(_repos_url(), **JSON, **headers), 404)
    response = client.get(_repos_url(registry="renamed1"), **JSON, **headers)
    scopes = [row["scope"] for row in response.json()["results"]]
    assert scopes == [
        "/registries/renamed1/repositories/team-a/app",
        "/registries/renamed1/repositories/team-b/app",
    ]


def test_a_page_kept_for_one_caller_is_never_shown_to_one_who_sees_less(client, alice, bob, tags):
    assign("AcrPull", TEAM_A, user=bob)
    everything = _names(client.get(_repos_url(), **JSON, **bearer(alice)))
    assert everything == ["team-a/app", "team-b/app"]
    response, read_index = _get(client, _repos_url(), bearer(bob))
    assert read_index
    assert _names(response) == ["team-a/app"]
    # and the other way round: bob's page is not alice's
    assert _names(client.get(_repos_url(), **JSON, **bearer(alice))) == everything


def test_callers_who_hold_the_same_grants_share_pages(client, bob, django_user_model, tags):
    carl = django_user_model.objects.create_user("carl1")
    assign("AcrPull", TEAM_A, user=bob)
    assign("AcrPull", TEAM_A, user=carl)
    assert _get(client, _repos_url(), bearer(bob))[1]
    response, read_index = _get(client, _repos_url(), bearer(carl))
    assert not read_index
    assert _names(response) == ["team-a/app"]


def test_authorization_is_checked_before_a_kept_page_is_used(client, bob, tags):
    assignment = assign("AcrPull", APP_A, user=bob)
    headers = bearer(bob)
    assert _names(client.get(_tags_url(), **JSON, **headers)) == ["v2", "v1", "v0"]
    RoleAssignment.objects.filter(pk=assignment.pk).delete()
    assert_problem(client.get(_tags_url(), **JSON, **headers), 404)


def test_a_revoked_token_is_refused_even_with_a_kept_page(client, alice, tags):
    headers = bearer(alice)
    assert client.get(_tags_url(), **JSON, **headers).status_code == 200
    PersonalAccessToken.objects.update(revoked_at="2025-01-01T00:00:00Z")
    assert_problem(client.get(_tags_url(), **JSON, **headers), 401)


def test_the_next_link_of_a_kept_page_names_the_host_that_asked(client, alice, tags, settings):
    settings.ALLOWED_HOSTS = ["one.example.test", "two.example.test"]
    headers = bearer(alice)
    url = _tags_url(query="?page_size=2")
    first = client.get(url, **JSON, **headers, HTTP_HOST="one.example.test").json()
    second = client.get(url, **JSON, **headers, HTTP_HOST="two.example.test").json()
    assert first["next"].startswith("http://one.example.test/")
    assert second["next"].startswith("http://two.example.test/")
    following = client.get(second["next"], **JSON, **headers, HTTP_HOST="two.example.test")
    assert _names(following) == ["v0"]


def test_errors_are_not_kept(client, alice, tags):
    headers = bearer(alice)
    url = _tags_url(query="?orderby=sideways")
    assert_problem(client.get(url, **JSON, **headers), 400)
    assert_problem(client.get(url, **JSON, **headers), 400)
    missing = _tags_url(repository="team-a/none")
    assert_problem(client.get(missing, **JSON, **headers), 404)
    TagFactory(manifest__repository__registry=tags, manifest__repository__name="team-a/none")
    assert len(_names(client.get(missing, **JSON, **headers))) == 1


def test_the_browsable_api_is_not_kept(client, alice, tags):
    # The test settings (DEBUG) offer the browsable API beside JSON.
    assert BrowsableAPIRenderer in TagList.renderer_classes
    client.force_login(alice)
    first, first_read = _get(client, _tags_url(), {"HTTP_ACCEPT": "text/html"})
    second, second_read = _get(client, _tags_url(), {"HTTP_ACCEPT": "text/html"})
    assert first.status_code == second.status_code == 200
    assert first["Content-Type"].startswith("text/html")
    assert first_read and second_read


def test_keeping_can_be_turned_off(client, alice, tags, settings):
    settings.INDEX_LIST_CACHE_SECONDS = 0
    headers = bearer(alice)
    assert _get(client, _tags_url(), headers)[1]
    assert _get(client, _tags_url(), headers)[1]


def test_the_registry_page_keeps_its_usage_figures_until_the_index_changes(client, alice, tags):
    client.force_login(alice)
    url = reverse("registry:registry_detail", args=[REGISTRY])
    first = client.get(url)
    assert (first.context["repository_count"], first.context["tag_count"]) == (2, 6)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert (again.context["repository_count"], again.context["tag_count"]) == (2, 6)
    assert not any('"registry_tag"' in q["sql"] for q in queries.captured_queries)
    Tag.objects.filter(name="v0").delete()
    changed = client.get(url)
    assert (changed.context["repository_count"], changed.context["tag_count"]) == (2, 4)


def test_a_service_principal_gets_the_pages_of_its_own_grants(client, alice, tags):
    robot = ServicePrincipal.objects.create(name="robot")
    secret = service_principal_secret_create(service_principal=robot).secret
    headers = basic(robot.client_id, secret)
    assign("AcrPull", TEAM_A, service_principal=robot)
    assert _names(client.get(_repos_url(), **JSON, **bearer(alice))) == ["team-a/app", "team-b/app"]
    response, read_index = _get(client, _repos_url(), headers)
    assert read_index
    assert _names(response) == ["team-a/app"]
    ServicePrincipal.objects.filter(pk=robot.pk).update(enabled=False)
    assert_problem(client.get(_repos_url(), **JSON, **headers), 401)
