"""Personal access tokens: shown once, stored as a digest, found in one lookup."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts import secrets
from accounts.models import PersonalAccessToken
from accounts.services import personal_access_token_create, personal_access_token_revoke

pytestmark = pytest.mark.django_db


def test_token_is_stored_only_as_its_digest(alice):
    issued = personal_access_token_create(user=alice, name="ci")
    assert issued.token.startswith("pcl_pat_")
    # 32 random bytes, base64url: at least 43 characters after the prefix.
    assert len(issued.token) - len("pcl_pat_") >= 43
    row = PersonalAccessToken.objects.get(pk=issued.record.pk)
    assert row.digest == secrets.digest(issued.token)
    assert issued.token not in {row.digest, row.hint, row.name}
    assert issued.token[len("pcl_pat_") :].startswith(row.hint)


def test_find_returns_the_active_token(alice):
    issued = personal_access_token_create(user=alice, name="ci")
    assert PersonalAccessToken.find(issued.token) == issued.record
    assert PersonalAccessToken.find(issued.token + "x") is None
    assert PersonalAccessToken.find("not-a-token") is None


def test_expired_and_revoked_tokens_are_not_found(alice):
    expired = personal_access_token_create(user=alice, name="old", lifetime=timedelta(days=1))
    PersonalAccessToken.objects.filter(pk=expired.record.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = personal_access_token_create(user=alice, name="revoked")
    personal_access_token_revoke(token=revoked.record)
    assert PersonalAccessToken.find(expired.token) is None
    assert PersonalAccessToken.find(revoked.token) is None


def test_tokens_are_unique(alice):
    tokens = {personal_access_token_create(user=alice, name=f"t{i}").token for i in range(20)}
    assert len(tokens) == 20


def test_issue_token_command_prints_a_working_token(alice, capsys):
    call_command("issue_token", "--user", "alice", "--name", "deploy")
    printed = capsys.readouterr().out.strip()
    found = PersonalAccessToken.find(printed)
    assert found is not None
    assert found.user == alice
    assert found.name == "deploy"
