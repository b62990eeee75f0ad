"""REST API: the caller's personal access tokens (``/api/v1/tokens/``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import secrets
from accounts.models import PersonalAccessToken
from accounts.services import personal_access_token_create
from registry.models import AuditEvent
from tests.registry.api_support import api_url, assert_problem, bearer, send

pytestmark = pytest.mark.django_db

LIST = "/api/v1/tokens/"


def detail(token_id: object) -> str:
    return api_url("token-detail", id=str(token_id))


def test_the_paths_are_the_promised_ones():
    assert api_url("token-list") == LIST
    assert detail(7) == "/api/v1/tokens/7/"


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [("get", LIST, None), ("post", LIST, {"name": "x"}), ("delete", "/api/v1/tokens/1/", None)],
)
def test_anonymous_callers_are_asked_to_sign_in(client, method, url, data):
    response = send(client, method, url, data)
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_the_list_holds_only_the_callers_tokens(client, alice, bob):
    personal_access_token_create(user=alice, name="alice's")
    personal_access_token_create(user=bob, name="old")
    headers = bearer(bob, name="current")

    rows = client.get(LIST, **headers).json()["results"]

    assert [row["name"] for row in rows] == ["current", "old"]
    assert set(rows[0]) == {
        "id",
        "name",
        "hint",
        "created",
        "expires_at",
        "last_used",
        "revoked",
        "status",
    }
    assert rows[0]["last_used"] is not None  # the token of this very request
    assert "token" not in rows[0]


def test_creating_answers_the_token_once_with_the_promised_fields(client, bob):
    response = send(client, "post", LIST, {"name": "laptop"}, **bearer(bob))

    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert {"id", "token", "expires_at"} <= set(body)
    stored = PersonalAccessToken.objects.get(pk=body["id"])
    assert stored.user == bob
    assert stored.digest == secrets.digest(body["token"])
    lifetime = stored.expires_at - timezone.now()
    assert timedelta(days=89) < lifetime <= timedelta(days=90)
    assert response["Location"] == f"http://testserver{detail(stored.pk)}"
    assert AuditEvent.objects.filter(action="token.create", actor=bob).count() == 2

    # The new token works, and the list never shows it again.
    listed = client.get(LIST, HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert listed.status_code == 200
    assert body["token"] not in listed.content.decode()


def test_a_session_may_create_tokens_with_its_csrf_token(client, bob):
    client.force_login(bob)
    response = send(client, "post", LIST, {"name": "from the browser", "expires_in_days": 7})
    assert response.status_code == 201
    lifetime = PersonalAccessToken.objects.get().expires_at - timezone.now()
    assert timedelta(days=6) < lifetime <= timedelta(days=7)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field may not be blank."),
        ({"name": "x" * 101}, "name", "no more than 100"),
        ({"name": "x", "expires_in_days": 0}, "expires_in_days", "greater than or equal to 1"),
        ({"name": "x", "expires_in_days": 366}, "expires_in_days", "less than or equal to 365"),
        (
            {"name": "x", "expires_in_days": 7, "expires_at": "2099-01-01T00:00:00Z"},
            "expires_at",
            "not both",
        ),
        ({"name": "x", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at", "in the future"),
        ({"name": "x", "expires_at": "2999-01-01T00:00:00Z"}, "expires_at", "at most 365 days"),
        ({"name": "x", "user": "alice"}, "user", "Unknown field."),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(client, bob, data, field, message):
    headers = bearer(bob)
    body = assert_problem(send(client, "post", LIST, data, **headers), 400)
    assert message in body["errors"][field][0]
    assert PersonalAccessToken.objects.count() == 1  # the caller's own


def test_revoking_stops_the_token_at_once(client, bob):
    issued = personal_access_token_create(user=bob, name="laptop")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}

    assert send(client, "delete", detail(issued.record.pk), **headers).status_code == 204

    assert_problem(client.get(LIST, **headers), 401)
    assert AuditEvent.objects.get(action="token.revoke").actor == bob


def test_another_users_token_is_a_404_even_to_a_superuser(client, alice, bob):
    theirs = personal_access_token_create(user=bob, name="laptop")
    body = assert_problem(send(client, "delete", detail(theirs.record.pk), **bearer(alice)), 404)
    assert "no access token" in body["detail"]
    theirs.record.refresh_from_db()
    assert theirs.record.revoked_at is None


def test_a_malformed_or_unknown_id(client, bob):
    headers = bearer(bob)
    body = assert_problem(send(client, "delete", detail("abc"), **headers), 400)
    assert body["errors"] == {"id": ["A token's id is a number."]}
    assert_problem(send(client, "delete", detail(999999), **headers), 404)


def test_the_list_costs_a_fixed_number_of_queries(client, bob, django_assert_max_num_queries):
    for n in range(30):
        personal_access_token_create(user=bob, name=f"t{n}")
    headers = bearer(bob)
    with django_assert_max_num_queries(3):
        response = client.get(LIST, **headers)
    assert len(response.json()["results"]) == 31
