"""Failures become answers a person can act on: error pages, htmx banners, never a 500."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.http import HttpResponse
from django.test import RequestFactory

from portal.middleware import RegistryErrorMiddleware
from registry.backend import NotFound, RegistryUnavailable, Unsupported
from registry.services import ActionRefused

pytestmark = pytest.mark.django_db


def run(exception: Exception, *, htmx: bool = False) -> HttpResponse:
    from django_htmx.middleware import HtmxMiddleware

    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    request = RequestFactory().post("/somewhere/", **headers)
    HtmxMiddleware(lambda r: HttpResponse())(request)
    middleware = RegistryErrorMiddleware(lambda r: HttpResponse())
    response = middleware.process_exception(request, exception)
    assert response is not None
    return response


@pytest.mark.parametrize(
    ("exception", "status", "title"),
    [
        (
            RegistryUnavailable("Registry 127.0.0.1:9 could not be reached."),
            503,
            "Registry unavailable",
        ),
        (Unsupported("Deletes are disabled on this registry."), 502, "The registry refused"),
        (NotFound("Manifest unknown."), 502, "The registry refused"),
        (ActionRefused("Cannot untag here."), 409, "Not done"),
    ],
)
def test_errors_become_pages_with_the_message(exception, status, title):
    response = run(exception)
    html = response.content.decode()
    assert response.status_code == status
    assert title in html
    assert str(exception) in html
    assert "<html" in html
    assert response["Cache-Control"] == "no-store"


def test_errors_become_banners_for_htmx():
    response = run(RegistryUnavailable("Registry 127.0.0.1:9 could not be reached."), htmx=True)
    html = response.content.decode()
    assert response.status_code == 503
    assert response["HX-Retarget"] == "#messages"
    assert response["HX-Reswap"] == "innerHTML"
    assert "<html" not in html
    assert "could not be reached" in html


def test_other_exceptions_are_left_to_django():
    request = RequestFactory().get("/")
    middleware = RegistryErrorMiddleware(lambda r: HttpResponse())
    assert middleware.process_exception(request, ValueError("boom")) is None


def test_htmx_403_becomes_a_banner(client, bob):
    client.force_login(bob)
    forbidden = client.get("/registries/new/", HTTP_HX_REQUEST="true")
    assert forbidden.status_code == 403
    assert forbidden["HX-Retarget"] == "#messages"
    assert "You are not allowed to do this" in forbidden.content.decode()


def test_htmx_404_becomes_a_banner(admin_client):
    missing = admin_client.get("/registries/nosuchreg/", HTTP_HX_REQUEST="true")
    assert missing.status_code == 404
    assert missing["HX-Retarget"] == "#messages"
    assert "<html" not in missing.content.decode()


def test_messages_ride_along_on_htmx_fragments(rf):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django_htmx.middleware import HtmxMiddleware

    request = rf.get("/", HTTP_HX_REQUEST="true")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    HtmxMiddleware(lambda r: HttpResponse())(request)
    messages.success(request, "Saved it.")
    response = RegistryErrorMiddleware(lambda r: HttpResponse("<tr><td>row</td></tr>"))(request)
    html = response.content.decode()
    assert html.startswith("<tr><td>row</td></tr><template>")
    assert 'hx-swap-oob="innerHTML"' in html
    assert "Saved it." in html
    # Shown now, so the message middleware drops them instead of keeping them for later.
    assert request._messages.used


def test_messages_wait_for_the_next_page_on_redirects(rf):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django_htmx.http import HttpResponseClientRedirect
    from django_htmx.middleware import HtmxMiddleware

    request = rf.post("/", HTTP_HX_REQUEST="true")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    HtmxMiddleware(lambda r: HttpResponse())(request)
    messages.success(request, "Deleted.")
    response = RegistryErrorMiddleware(lambda r: HttpResponseClientRedirect("/next/"))(request)
    assert b"Deleted." not in response.content
    assert not request._messages.used
