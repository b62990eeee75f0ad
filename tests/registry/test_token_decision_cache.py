"""The token server remembers decisions for a few seconds per process
(``TOKEN_DECISION_CACHE_SECONDS``): a client asking again costs no query, and a revocation
shows in new tokens once the remembered decision runs out."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import jwt
import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ServicePrincipal
from accounts.services import service_principal_secret_create, service_principal_secret_revoke
from registry.models import Registry, RoleAssignment, RoleDefinition
from registry.tokens import server as token_server
from registry.tokens.keys import generate_signing_key

pytestmark = pytest.mark.django_db

SCOPE = "repository:team-a/app:pull,push"


@pytest.fixture
def remembering(settings, tmp_path):
    settings.TOKEN_DECISION_CACHE_SECONDS = 1
    settings.TOKEN_SIGNING_KEY_FILE = str(tmp_path / "key.pem")
    generate_signing_key(Path(settings.TOKEN_SIGNING_KEY_FILE))
    token_server.signing_key.cache_clear()
    caches[token_server.DECISIONS_CACHE].clear()
    yield
    caches[token_server.DECISIONS_CACHE].clear()
    token_server.signing_key.cache_clear()


@pytest.fixture
def ci(db):
    registry = Registry.objects.create(
        name="prod1", login_server="https://prod1.example.com", service="prod1"
    )
    registry.namespaces.create(name="team-a")
    principal = ServicePrincipal.objects.create(name="ci")
    issued = service_principal_secret_create(service_principal=principal)
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope="/registries/prod1/namespaces/team-a",
        service_principal=principal,
    )
    return principal, issued


def ask(client, principal, secret, **params):
    basic = base64.b64encode(f"{principal.client_id}:{secret}".encode()).decode()
    response = client.get(
        "/oauth2/token",
        {"service": "prod1", "scope": SCOPE, **params},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    return response


def actions(response) -> list[str]:
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    return claims["access"][0]["actions"]


def test_asking_again_costs_no_query_and_gets_a_fresh_token(client, remembering, ci):
    principal, issued = ci
    first = ask(client, principal, issued.secret)
    with CaptureQueriesContext(connection) as queries:
        second = ask(client, principal, issued.secret)
    assert actions(first) == actions(second) == ["pull", "push"]
    assert len(queries) == 0


def test_a_wrong_secret_is_never_answered_from_memory(client, remembering, ci):
    principal, issued = ci
    actions(ask(client, principal, issued.secret))
    assert ask(client, principal, issued.secret + "x").status_code == 401


def test_a_revocation_shows_once_the_remembered_decision_runs_out(client, remembering, ci):
    principal, issued = ci
    actions(ask(client, principal, issued.secret))
    service_principal_secret_revoke(actor=None, secret=issued.record)
    RoleAssignment.objects.all().delete()

    time.sleep(1.1)

    assert ask(client, principal, issued.secret).status_code == 401


def test_refresh_tokens_are_never_answered_from_memory(client, remembering, ci):
    principal, issued = ci
    actions(ask(client, principal, issued.secret))
    with_refresh = ask(client, principal, issued.secret, offline_token="true")
    assert with_refresh.json()["refresh_token"].startswith("pcl_rt_")
