"""The access tokens page (``/account/tokens/``): my tokens, a new one shown once, revoked in
place."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.services import personal_access_token_create
from registry.models import AuditEvent
from tests.accounts.conftest import assign
from tests.factories import RegistryFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TOKEN_RE = re.compile(r"pcl_pat_[A-Za-z0-9_-]{43}")
PAGE = "/account/tokens/"


def revoke_url(token: PersonalAccessToken) -> str:
    return reverse("accounts:token_revoke", args=[token.pk])


def test_the_page_is_where_the_account_menu_says(client, bob):
    assert reverse("accounts:token_list") == PAGE
    client.force_login(bob)
    html = client.get(PAGE).content.decode()
    assert f'<a href="{PAGE}" aria-current="page">Access tokens</a>' in html


@pytest.mark.parametrize(
    ("method", "path"), [("get", PAGE), ("post", PAGE), ("post", f"{PAGE}1/revoke/")]
)
def test_anonymous_is_sent_to_sign_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_lists_my_tokens_only_without_their_values(client, alice, bob):
    personal_access_token_create(user=alice, name="alices-laptop")
    mine = personal_access_token_create(user=bob, name="bobs-laptop")
    client.force_login(bob)

    html = client.get(PAGE).content.decode()

    assert "bobs-laptop" in html
    assert f"{mine.record.hint}…" in html
    assert "alices-laptop" not in html
    assert not TOKEN_RE.search(html)


def test_a_new_token_is_shown_once_with_examples(client, bob, prod1):
    assign("AcrPull", prod1.scope, user=bob)
    RegistryFactory(name="hidden1", login_server="https://hidden1.example.com")
    client.force_login(bob)

    response = client.post(PAGE, {"name": "laptop", "expires_in": "30"}, **HTMX)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="tokens"')
    [token] = set(TOKEN_RE.findall(html))
    record = PersonalAccessToken.find(token)
    assert record.user == bob and record.name == "laptop"
    assert timedelta(days=29) < record.expires_at - timezone.now() <= timedelta(days=30)
    assert "it will not be shown again" in html
    assert f"Authorization: Bearer {token}" in html
    assert f"docker login prod1.example.com -u bob -p {token}" in html
    assert "hidden1" not in html  # only registries bob can see
    assert "tokenCreated" in response["HX-Trigger"]
    assert AuditEvent.objects.get(action="token.create").actor == bob

    again = client.get(PAGE).content.decode()
    assert token not in again
    assert f"{record.hint}…" in again


def test_without_javascript_the_token_is_shown_on_the_page(client, bob):
    client.force_login(bob)
    response = client.post(PAGE, {"name": "laptop", "expires_in": "7"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert len(set(TOKEN_RE.findall(html))) == 1


def test_a_token_may_expire_on_a_chosen_date(client, bob):
    day = timezone.now().date() + timedelta(days=100)
    client.force_login(bob)
    client.post(PAGE, {"name": "x", "expires_in": "date", "expires_on": day.isoformat()})
    assert PersonalAccessToken.objects.get().expires_at.date() == day


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"expires_in": "30"}, "This field is required."),
        ({"name": "x", "expires_in": "730"}, "Select a valid choice."),
        ({"name": "x", "expires_in": "date"}, "Pick the date it should expire on."),
        ({"name": "x", "expires_in": "date", "expires_on": "yesterday"}, "Enter a valid date."),
        ({"name": "x", "expires_in": "date", "expires_on": "2001-01-01"}, "after today"),
        ({"name": "x", "expires_in": "date", "expires_on": "2999-01-01"}, "no later than"),
    ],
)
def test_bad_input_is_shown_on_the_form(client, bob, data, message):
    client.force_login(bob)
    response = client.post(PAGE, data, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PersonalAccessToken.objects.exists()


def test_the_date_picker_offers_tomorrow_to_a_year_from_today(client, bob):
    client.force_login(bob)
    html = client.get(PAGE).content.decode()
    today = timezone.now().date()
    assert f'min="{(today + timedelta(days=1)).isoformat()}"' in html
    assert f'max="{(today + timedelta(days=365)).isoformat()}"' in html


def test_revoking_asks_in_place_then_stops_the_token(client, bob):
    issued = personal_access_token_create(user=bob, name="laptop")
    client.force_login(bob)

    confirm = client.get(revoke_url(issued.record), **HTMX).content.decode()
    assert confirm.lstrip().startswith(f'<tr id="token-{issued.record.pk}" class="confirm-row"')
    cancelled = client.get(PAGE, HTTP_HX_TARGET=f"token-{issued.record.pk}", **HTMX)
    assert cancelled.content.decode().lstrip().startswith(f'<tr id="token-{issued.record.pk}">')

    revoked = client.post(revoke_url(issued.record), **HTMX)

    assert "Revoked" in revoked.content.decode()
    assert PersonalAccessToken.find(issued.token) is None
    response = client.get("/api/v1/registries/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 401


def test_another_users_token_is_a_404(client, alice, bob):
    theirs = personal_access_token_create(user=alice, name="alices")
    client.force_login(bob)
    assert client.get(revoke_url(theirs.record)).status_code == 404
    assert client.post(revoke_url(theirs.record)).status_code == 404
    assert client.get(PAGE, HTTP_HX_TARGET=f"token-{theirs.record.pk}", **HTMX).status_code == 404
    theirs.record.refresh_from_db()
    assert theirs.record.revoked_at is None


def test_the_page_costs_a_fixed_number_of_queries(client, bob, django_assert_max_num_queries):
    for n in range(30):
        personal_access_token_create(user=bob, name=f"t{n}")
    client.force_login(bob)
    with django_assert_max_num_queries(5):
        response = client.get(PAGE)
    assert response.content.decode().count("Revoke token") == 30
