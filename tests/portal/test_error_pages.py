"""Error pages look like the product and say what to do next."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

pytestmark = pytest.mark.django_db


def test_404_page(admin_client, settings):
    settings.DEBUG = False
    response = admin_client.get("/registries/nosuchregistry/repositories/team-a/app/")
    html = response.content.decode()
    assert response.status_code == 404
    assert '<h1 id="error-title">Not found</h1>' in html
    assert 'href="/"' in html  # the layout's navigation is there


def test_403_page(client, bob, settings):
    settings.DEBUG = False
    client.force_login(bob)
    response = client.get("/registries/new/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "Ask an administrator" in html


def test_500_page_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert "/static/vendor/pico/pico.min.css" in html
