"""Signing out, session expiry and "sign out everywhere", as people expect them to behave."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import RefreshToken
from accounts.services import personal_access_token_create, refresh_token_create

pytestmark = pytest.mark.django_db

SERVICE = "registry.example.test"


def signed_in_client(login: str, password: str, **form) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": login, "password": password, **form})
    assert response.status_code == 302, response.content
    return client


def is_signed_in(client) -> bool:
    return client.get(reverse("portal:dashboard")).status_code == 200


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_sign_out_lands_on_the_sign_in_page_saying_so(bob):
    client = signed_in_client("bob", "bob-password-1")

    response = client.post(reverse("account_logout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert "You have signed out." in text(response)
    assert not is_signed_in(client)


def test_a_session_ends_with_the_browser_unless_kept(bob, settings):
    short = signed_in_client("bob", "bob-password-1")
    kept = signed_in_client("bob", "bob-password-1", remember="on")

    assert short.session.get_expire_at_browser_close()
    assert not kept.session.get_expire_at_browser_close()
    assert kept.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 12 * 3600


def test_an_expired_session_sends_people_to_sign_in_and_back(bob):
    client = signed_in_client("bob", "bob-password-1")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/registries/")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/registries/"


def test_an_htmx_request_after_expiry_reloads_the_whole_page_to_sign_in(bob):
    client = signed_in_client("bob", "bob-password-1")
    Session.objects.all().delete()

    response = client.get(
        "/registries/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/registries/?page=2",
    )

    # Not the sign-in form swapped into a fragment: the browser goes to the sign-in page.
    assert response["HX-Redirect"] == f"{reverse('account_login')}?next=%2Fregistries%2F%3Fpage%3D2"


def test_sign_out_everywhere_ends_every_session_and_revokes_refresh_tokens(bob, alice):
    laptop = signed_in_client("bob", "bob-password-1")
    phone = signed_in_client("bob", "bob-password-1", remember="on")
    someone_else = signed_in_client("alice", "alice-password-1")
    bobs_token = personal_access_token_create(user=bob, name="cli")
    refresh_token_create(parent=bobs_token.record, service=SERVICE)
    refresh_token_create(parent=bobs_token.record, service=SERVICE)
    alices = refresh_token_create(
        parent=personal_access_token_create(user=alice, name="cli").record, service=SERVICE
    )

    response = laptop.post(reverse("profile:sign_out_everywhere"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert "2 sessions ended and 2 registry refresh tokens revoked" in text(response)
    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert is_signed_in(someone_else)
    assert not RefreshToken.objects.active().filter(user=bob).exists()
    assert RefreshToken.objects.active().get() == alices.record
    # Personal access tokens are named credentials, revoked on their own page.
    assert bobs_token.record.is_active


def test_sign_out_everywhere_is_a_post_for_the_signed_in(client, bob):
    url = reverse("profile:sign_out_everywhere")
    assert client.post(url)["Location"].startswith(reverse("account_login"))
    client.force_login(bob)
    assert client.get(url).status_code == 405


def test_the_profile_of_a_local_account(client, bob):
    client.force_login(bob)
    page = client.get(reverse("profile:detail")).content.decode()
    assert "A local account of this portal." in page
    assert reverse("mfa_index") in page
    assert reverse("usersessions_list") in page
    assert "Sign out everywhere" in page
    assert "Entra object id" not in page


def test_the_profile_needs_a_signed_in_person(client):
    response = client.get(reverse("profile:detail"))
    assert response["Location"] == f"{reverse('account_login')}?next={reverse('profile:detail')}"


def test_the_menu_links_the_profile(client, bob):
    client.force_login(bob)
    assert f'href="{reverse("profile:detail")}"' in client.get("/").content.decode()
