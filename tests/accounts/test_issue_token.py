"""``manage.py issue_token --user NAME [--name LABEL] [--days N]``."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import PersonalAccessToken

pytestmark = pytest.mark.django_db


def _issue(*args):
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_token_that_authenticates_against_the_api(client, alice):
    token = _issue("--user", "alice")

    assert token.startswith("pcl_pat_")
    assert "\n" not in token
    response = client.get("/api/v1/registries/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content


def test_it_labels_the_token_and_sets_its_lifetime(alice):
    token = _issue("--user", "alice", "--name", "deploy", "--days", "7")
    record = PersonalAccessToken.find(token)
    assert record.user == alice
    assert record.name == "deploy"
    expected = timezone.now() + timedelta(days=7)
    assert abs(record.expires_at - expected) < timedelta(minutes=1)


def test_each_run_prints_a_new_token(alice):
    assert _issue("--user", "alice") != _issue("--user", "alice")
    assert PersonalAccessToken.objects.filter(user=alice).count() == 2


def test_a_token_carries_only_what_its_user_holds(client, bob):
    token = _issue("--user", "bob")
    response = client.post(
        "/api/v1/registries/",
        {"name": "prod1", "login_server": "https://r.example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403


def test_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        _issue("--user", "nobody")
    assert not PersonalAccessToken.objects.exists()


@pytest.mark.parametrize("days", ["0", "-1", "3651"])
def test_a_lifetime_out_of_range_is_an_error(alice, days):
    with pytest.raises(CommandError, match="--days"):
        _issue("--user", "alice", "--days", days)
    assert not PersonalAccessToken.objects.exists()


def test_the_user_is_required(db):
    with pytest.raises(CommandError):
        _issue()
