"""REST API: one error shape everywhere (RFC 9457 problem details)."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404
from django.test import Client

from registry.api.errors import problem_exception_handler
from registry.backend import NotFound, RegistryError, RegistryUnavailable, Unauthorized, Unsupported
from registry.services import ActionRefused
from tests.factories import NamespaceFactory, RegistryFactory, TagFactory
from tests.registry.api_support import PROBLEM, api_url, assert_problem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("exc", "status", "title"),
    [
        (RegistryUnavailable("Cannot connect to registry http://r:5000."), 503, None),
        (NotFound("Manifest a@sha256:x was not found on http://r:5000."), 404, None),
        (Unsupported("Deletes are disabled on http://r:5000."), 409, None),
        (Unauthorized("Registry http://r:5000 denied access."), 502, None),
        (RegistryError("Registry http://r:5000 refused the request."), 502, None),
        (ActionRefused("The Basic tier allows 10 namespaces."), 409, "Action refused"),
        (IntegrityError("UNIQUE constraint failed"), 409, "Conflict"),
        (Http404("No such thing."), 404, "Not Found"),
    ],
)
def test_domain_errors_become_problems(exc, status, title):
    response = problem_exception_handler(exc, {})
    assert response.status_code == status
    assert response.content_type == PROBLEM
    assert response.data["status"] == status
    assert response.data["type"] == "about:blank"
    if title:
        assert response.data["title"] == title
    if isinstance(exc, RegistryError | ActionRefused):
        # The message a person can act on reaches the caller unchanged.
        assert response.data["detail"] == str(exc)


def test_django_validation_errors_become_400_with_field_errors():
    exc = ValidationError({"login_server": ["Enter a valid URL."]})
    response = problem_exception_handler(exc, {})
    assert response.status_code == 400
    assert response.data["errors"] == {"login_server": ["Enter a valid URL."]}
    assert response.data["detail"] == "The request has invalid fields."


def test_an_unknown_api_path_is_a_404_problem(admin_client):
    body = assert_problem(admin_client.get("/api/v1/no/such/thing/"), 404)
    assert "/api/v1/no/such/thing/" in body["detail"]


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_a_path_without_its_trailing_slash_is_a_404_that_says_so(admin_client, method):
    RegistryFactory(name="prod1")
    response = getattr(admin_client, method)("/api/v1/registries/prod1", {}, "application/json")
    body = assert_problem(response, 404)
    assert "API paths end with a slash: /api/v1/registries/prod1/" in body["detail"]


def test_an_unknown_path_is_a_404_for_anonymous_callers_too(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404)


def test_a_disallowed_method_is_a_405_with_allow(admin_client):
    response = admin_client.delete(api_url("registry-list"))
    body = assert_problem(response, 405)
    assert "DELETE" in body["detail"]
    assert set(response["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_body_in_another_format_is_a_415(admin_client):
    response = admin_client.post(api_url("registry-list"), "name=x", content_type="text/plain")
    assert_problem(response, 415)


def test_malformed_json_is_a_400(admin_client):
    response = admin_client.post(
        api_url("registry-list"), '{"name": "prod1",', content_type="application/json"
    )
    assert "JSON" in assert_problem(response, 400)["detail"]


def test_a_session_write_without_the_csrf_token_is_a_403(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(
        api_url("registry-list"),
        json.dumps({"name": "prod1", "login_server": "https://r.example.com"}),
        content_type="application/json",
    )
    assert "CSRF" in assert_problem(response, 403)["detail"]


def test_a_session_write_with_the_csrf_token_works(alice, django_capture_on_commit_callbacks):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    token = "abcdefghijklmnopqrstuvwxyz012345"  # a CSRF secret: 32 letters and digits
    client.cookies["csrftoken"] = token
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            api_url("registry-list"),
            json.dumps({"name": "prod1", "login_server": "https://r.example.com"}),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=token,
        )
    assert response.status_code == 201, response.content


@pytest.fixture
def content(db):
    tag = TagFactory(
        name="v1",
        manifest__repository__name="team-a/app",
        manifest__repository__registry__name="prod1",
    )
    NamespaceFactory(registry=tag.repository.registry, name="team-a")
    return tag


def _every_endpoint(tag):
    repository = {"registry": "prod1", "repository": "team-a/app"}
    return [
        api_url("registry-list"),
        api_url("registry-detail", registry="prod1"),
        api_url("namespace-list", registry="prod1"),
        api_url("namespace-detail", registry="prod1", namespace="team-a"),
        api_url("repository-list", registry="prod1"),
        api_url("repository-detail", **repository),
        api_url("tag-list", **repository),
        api_url("tag-detail", **repository, tag="v1"),
        api_url("manifest-list", **repository),
        api_url("manifest-detail", **repository, digest=tag.manifest.digest),
    ]


def test_every_endpoint_answers_options(admin_client, content):
    for url in _every_endpoint(content):
        response = admin_client.options(url)
        assert response.status_code == 200, (url, response.content)
        assert response.json()["renders"]


def test_every_endpoint_renders_for_a_browser_in_development(admin_client, content):
    # The browsable API is on only with DEBUG (as in the test settings).
    for url in _every_endpoint(content):
        response = admin_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, (url, response.content[:500])
        assert response["Content-Type"].startswith("text/html")


def test_a_bug_is_a_500_problem_and_a_logged_traceback(admin_client, settings, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("a bug in the portal")

    settings.DEBUG = False
    monkeypatch.setattr("registry.selectors.registry_list", broken)
    admin_client.raise_request_exception = False

    response = admin_client.get(api_url("registry-list"))

    problem = assert_problem(response, 500)
    assert "a bug" not in json.dumps(problem)  # internals stay in the log
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error in the API")
    assert record.exc_info[1].args == ("a bug in the portal",)
