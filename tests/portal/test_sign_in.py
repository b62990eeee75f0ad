"""Signing in and out with local accounts, on pages that look like the product."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_sign_in_page_is_the_products(client):
    response = client.get(reverse("account_login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sign in to Portcullis" in html
    assert 'href="/static/vendor/pico/pico.min.css"' in html
    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert 'class="skip-link"' in html
    assert "sign up" not in html.lower()


def test_sign_in_with_a_local_account(client, alice):
    response = client.post(
        reverse("account_login"), {"login": "alice", "password": "alice-password-1"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")
    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_wrong_password_is_a_form_error(client, alice):
    response = client.post(reverse("account_login"), {"login": "alice", "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_sign_in_returns_to_the_page_asked_for(client, alice):
    target = reverse("registry:registry_list")
    page = client.get(target)
    login_url = page["Location"]
    response = client.post(login_url, {"login": "alice", "password": "alice-password-1"})
    assert response["Location"] == target


def test_signup_is_closed_in_the_portals_layout(client, django_user_model):
    response = client.get(reverse("account_signup"))
    html = response.content.decode()
    assert "Sign Up Closed" in html
    assert 'class="entrance"' in html
    assert "<form" not in html
    client.post(
        reverse("account_signup"),
        {
            "username": "eve",
            "email": "eve@example.com",
            "password1": "x-Long-pw-123",
            "password2": "x-Long-pw-123",
        },
    )
    assert not django_user_model.objects.filter(username="eve").exists()


def test_sign_out_is_a_post_from_the_menu(admin_client):
    page = admin_client.get(reverse("portal:dashboard")).content.decode()
    assert f'action="{reverse("account_logout")}"' in page
    response = admin_client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert admin_client.get(reverse("portal:dashboard")).status_code == 302


def test_layout_has_navigation_and_landmarks(admin_client):
    html = admin_client.get(reverse("portal:dashboard")).content.decode()
    assert '<nav class="container" aria-label="Main">' in html
    assert 'href="/registries/"' in html
    assert 'href="/api/docs/"' in html
    assert '<main id="main"' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "htmx" in html and "cdn" not in html.lower()
