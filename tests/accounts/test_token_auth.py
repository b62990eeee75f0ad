"""REST API authentication with personal access tokens (``Authorization: Bearer pcl_pat_…``)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import PersonalAccessToken
from accounts.services import personal_access_token_create, personal_access_token_revoke
from registry.models import AuditEvent, Registry
from tests.registry.api_support import api_url, assert_problem

pytestmark = pytest.mark.django_db

LIST = "/api/v1/registries/"


def _auth(value):
    return {"HTTP_AUTHORIZATION": value}


def _unauthorized(response):
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    return body


def test_a_valid_token_signs_its_owner_in(client, alice):
    issued = personal_access_token_create(user=alice, name="ci")
    response = client.get(LIST, **_auth(f"Bearer {issued.token}"))
    assert response.status_code == 200, response.content


def test_the_scheme_name_is_case_insensitive(client, alice):
    issued = personal_access_token_create(user=alice, name="ci")
    assert client.get(LIST, **_auth(f"bearer {issued.token}")).status_code == 200


def test_a_token_needs_no_csrf_token_and_writes_as_its_owner(
    client, alice, django_capture_on_commit_callbacks
):
    issued = personal_access_token_create(user=alice, name="ci")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            LIST,
            {"name": "prod1", "login_server": "https://r.example.com"},
            content_type="application/json",
            **_auth(f"Bearer {issued.token}"),
        )
    assert response.status_code == 201, response.content
    assert AuditEvent.objects.get(action="registry.create").actor == alice


def test_use_is_recorded(client, alice):
    issued = personal_access_token_create(user=alice, name="ci")
    client.get(LIST, **_auth(f"Bearer {issued.token}"))
    issued.record.refresh_from_db()
    assert issued.record.last_used_at is not None


def test_an_expired_token_is_a_401(client, alice):
    issued = personal_access_token_create(user=alice, name="ci")
    PersonalAccessToken.objects.filter(pk=issued.record.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    body = _unauthorized(client.get(LIST, **_auth(f"Bearer {issued.token}")))
    assert "expired" in body["detail"]


def test_a_revoked_token_is_a_401(client, alice):
    issued = personal_access_token_create(user=alice, name="ci")
    personal_access_token_revoke(token=issued.record)
    _unauthorized(client.get(LIST, **_auth(f"Bearer {issued.token}")))


def test_a_token_of_a_deactivated_user_is_a_401(client, alice):
    issued = personal_access_token_create(user=alice, name="ci")
    alice.is_active = False
    alice.save()
    _unauthorized(client.get(LIST, **_auth(f"Bearer {issued.token}")))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer pcl_pat_unknown",
        "Bearer not-a-portal-token",
        "Bearer two words",
        "Bearer pcl_pat_é",
    ],
)
def test_malformed_or_unknown_tokens_are_a_401(client, alice, header):
    personal_access_token_create(user=alice, name="ci")
    _unauthorized(client.get(LIST, **_auth(header)))


def test_a_token_is_never_taken_from_another_scheme(client, alice):
    issued = personal_access_token_create(user=alice, name="ci")
    response = client.get(LIST, **_auth(f"Token {issued.token}"))
    _unauthorized(response)


def test_no_credentials_at_all_is_a_401_with_a_bearer_challenge(client):
    body = _unauthorized(client.get(LIST))
    assert "credentials" in body["detail"]


def test_a_bad_token_is_refused_even_with_a_staff_session(client, alice):
    # Presented credentials are checked, never silently replaced by the session's.
    client.force_login(alice)
    _unauthorized(client.get(LIST, **_auth("Bearer pcl_pat_unknown")))


def test_a_token_of_a_user_without_a_role_sees_nothing(client, bob):
    Registry.objects.create(name="prod1", login_server="https://r.example.com")
    issued = personal_access_token_create(user=bob, name="ci")
    listed = client.get(LIST, **_auth(f"Bearer {issued.token}"))
    assert listed.status_code == 200
    assert listed.json()["results"] == []
    detail = api_url("registry-detail", registry="prod1")
    assert_problem(client.get(detail, **_auth(f"Bearer {issued.token}")), 404)
    create = {"name": "prod2", "login_server": "https://r2.example.com"}
    body = assert_problem(
        client.post(
            LIST, create, content_type="application/json", **_auth(f"Bearer {issued.token}")
        ),
        403,
    )
    assert "registry/write" in body["detail"]


def test_a_token_reaches_every_kind_of_endpoint(client, alice):
    Registry.objects.create(name="prod1", login_server="https://r.example.com")
    issued = personal_access_token_create(user=alice, name="ci")
    for url in (
        api_url("registry-detail", registry="prod1"),
        api_url("namespace-list", registry="prod1"),
        api_url("repository-list", registry="prod1"),
    ):
        assert client.get(url, **_auth(f"Bearer {issued.token}")).status_code == 200
