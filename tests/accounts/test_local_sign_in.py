"""Local accounts: TOTP multi-factor sign-in, and turning password sign-in off for everyone
but superusers (the break-glass administrators)."""

from __future__ import annotations

import html
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp
from django.urls import reverse

from accounts.models import SignInPolicy
from accounts.sign_in import PASSWORD_SIGN_IN_OFF

pytestmark = pytest.mark.django_db


def sign_in(client, login: str, password: str):
    return client.post(reverse("account_login"), {"login": login, "password": password})


def code_for(secret: str, *, at: float | None = None) -> str:
    counter = int(at if at is not None else time.time()) // 30
    return totp.format_hotp_value(totp.hotp_value(secret, counter))


def is_signed_in(client) -> bool:
    return client.get(reverse("portal:dashboard")).status_code == 200


# TOTP ----------------------------------------------------------------------------------------


@pytest.fixture
def with_totp(client, alice, monkeypatch):
    """Alice sets up an authenticator app from her profile; returns its secret. Signed out."""
    sign_in(client, "alice", "alice-password-1")
    profile = client.get(reverse("profile:detail")).content.decode()
    assert reverse("mfa_index") in profile
    # Setting up a second factor asks for the password again first.
    asked = client.get(reverse("mfa_activate_totp"))
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    confirmed = client.post(asked["Location"], {"password": "alice-password-1"})
    assert confirmed["Location"] == reverse("mfa_activate_totp")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    # allauth's clock stands still, so no 30-second boundary falls between code and check.
    now = time.time()
    monkeypatch.setattr(totp.time, "time", lambda: now)
    done = client.post(reverse("mfa_activate_totp"), {"code": code_for(secret, at=now)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()
    client.post(reverse("account_logout"))
    # The next sign-in happens a period later: a code is never accepted twice.
    later = now + 30
    monkeypatch.setattr(totp.time, "time", lambda: later)
    return secret, later


def test_a_password_sign_in_asks_for_the_totp_code(client, with_totp):
    secret, now = with_totp

    response = sign_in(client, "alice", "alice-password-1")

    assert response["Location"] == reverse("mfa_authenticate")
    assert not is_signed_in(client)
    done = client.post(reverse("mfa_authenticate"), {"code": code_for(secret, at=now)})
    assert done["Location"] == reverse("portal:dashboard")
    assert is_signed_in(client)


def test_a_wrong_totp_code_signs_nobody_in(client, with_totp):
    secret, now = with_totp
    sign_in(client, "alice", "alice-password-1")

    wrong = f"{(int(code_for(secret, at=now)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not is_signed_in(client)


def test_the_django_admin_signs_in_through_the_portal_so_totp_applies(client, with_totp):
    response = client.get("/admin/")
    assert response.status_code == 302
    login = client.get(response["Location"])
    assert login.wsgi_request.path == "/admin/login/"
    assert login["Location"].startswith(reverse("account_login"))


# Password sign-in for administrators only ----------------------------------------------------


@pytest.fixture(params=["setting", "policy"])
def passwords_off(request, settings, db):
    """Password sign-in turned off for all but superusers, by the setting or the admin toggle."""
    if request.param == "setting":
        settings.LOCAL_PASSWORD_SIGN_IN = False
    else:
        SignInPolicy(password_sign_in_enabled=False).save()
    return request.param


def test_people_cannot_sign_in_with_a_password_once_it_is_off(client, bob, passwords_off):
    response = sign_in(client, "bob", "bob-password-1")

    assert response.status_code == 200
    assert PASSWORD_SIGN_IN_OFF in html.unescape(response.content.decode())
    assert not is_signed_in(client)


def test_a_wrong_password_gets_the_same_words(client, bob, passwords_off):
    response = sign_in(client, "bob", "wrong-password")
    assert PASSWORD_SIGN_IN_OFF in html.unescape(response.content.decode())


def test_superusers_still_sign_in_with_a_password(client, alice, passwords_off):
    response = sign_in(client, "alice", "alice-password-1")
    assert response["Location"] == reverse("portal:dashboard")
    assert is_signed_in(client)


def test_passwords_work_for_everyone_by_default(client, bob):
    assert sign_in(client, "bob", "bob-password-1")["Location"] == reverse("portal:dashboard")


def test_the_sign_in_page_folds_the_password_form_away_when_it_is_for_administrators(
    client, entra, passwords_off
):
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Microsoft" in page
    assert '<details class="administrator-sign-in">' in page
    assert "Administrator sign-in with a password" in page


def test_the_sign_in_page_shows_both_ways_while_passwords_are_on(client, entra):
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Microsoft" in page
    assert "administrator-sign-in" not in page
    assert "or with a portal account" in page


def test_an_administrator_turns_password_sign_in_off_in_the_django_admin(client, alice, bob):
    sign_in(client, "alice", "alice-password-1")
    response = client.post(
        reverse("admin:accounts_signinpolicy_add"), {"password_sign_in_enabled": ""}
    )
    assert response.status_code == 302
    assert SignInPolicy.current().password_sign_in_enabled is False
    # There is one policy: it can be changed, not added twice or deleted.
    assert client.get(reverse("admin:accounts_signinpolicy_add")).status_code == 403
    client.post(reverse("account_logout"))

    assert PASSWORD_SIGN_IN_OFF in html.unescape(
        sign_in(client, "bob", "bob-password-1").content.decode()
    )
