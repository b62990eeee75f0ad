"""The whole access-request flow through the API, proved on a real registry with skopeo.

A developer asks for AcrPush on ``team-a``; the team lead approves from their inbox; the
developer pushes with skopeo through the portal's token server; the grant ends (its expiry
moved into the past: tokens must stay valid on the registry's real clock, so the test moves
the grant rather than the clock), ``expire_access_requests`` marks it expired, and the next
push is refused.
"""

from __future__ import annotations

import datetime
import io
import uuid

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.services import personal_access_token_create
from registry.models import AccessRequest, Namespace, Registry, RoleAssignment
from tests.fixtures.access_requests import person
from tests.fixtures.images import build_image
from tests.fixtures.registry import guarded_registry
from tests.registry.test_token_server import push, refused

NAME = "requested1"
SERVICE = "requested-registry"
TEAM_A = f"/registries/{NAME}/namespaces/team-a"

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def portal_registry(live_server, django_db_setup, django_db_blocker, tmp_path_factory):
    """docker-registry configured by ``registry_config``, its realm this test's live server."""
    workdir = tmp_path_factory.mktemp("requested")
    with guarded_registry(
        live_server, django_db_blocker, workdir, name=NAME, service=SERVICE
    ) as server:
        yield server


@pytest.fixture
def team_a(portal_registry):
    registry = Registry.objects.create(name=NAME, login_server=portal_registry.url, service=SERVICE)
    Namespace.objects.create(registry=registry, name="team-b")
    return Namespace.objects.create(registry=registry, name="team-a")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return build_image(tmp_path_factory.mktemp("image"), seed="access-requests")


def api(client, method, path, token, data=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, data or {}, content_type="application/json", **headers)


def test_request_approve_push_expire_refused(client, portal_registry, team_a, image, tmp_path):
    dave, linda = person("dave"), person("linda")
    team_a.owners.set([linda])
    dave_token = personal_access_token_create(user=dave, name="laptop").token
    linda_token = personal_access_token_create(user=linda, name="laptop").token
    creds = f"dave:{dave_token}"
    run = uuid.uuid4().hex[:8]
    host = portal_registry.host

    before = push(image, host, f"team-a/app-{run}", creds, tmp_path)
    assert refused(before), before.stderr

    # The developer asks ...
    asked = api(
        client,
        "post",
        "/api/v1/access-requests/",
        dave_token,
        {"role": "AcrPush", "scope": TEAM_A, "justification": "Ship app", "duration_days": 7},
    )
    assert asked.status_code == 201, asked.content
    request_id = asked.json()["id"]
    assert any(m.to == ["linda@example.com"] for m in mail.outbox)

    # ... the team lead finds it in the inbox and approves it ...
    inbox = api(client, "get", "/api/v1/access-requests/?inbox=true", linda_token).json()
    assert [row["id"] for row in inbox["results"]] == [request_id]
    approved = api(client, "post", f"/api/v1/access-requests/{request_id}/approve/", linda_token)
    assert approved.json()["status"] == "approved", approved.content

    # ... and the developer pushes to team-a, and still nowhere else.
    pushed = push(image, host, f"team-a/app-{run}", creds, tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    elsewhere = push(image, host, f"team-b/app-{run}", creds, tmp_path)
    assert refused(elsewhere), elsewhere.stderr

    # A week later the grant has ended.
    past = timezone.now() - datetime.timedelta(minutes=1)
    request = AccessRequest.objects.get(pk=request_id)
    RoleAssignment.objects.filter(pk=request.assignment_id).update(expires_at=past)
    AccessRequest.objects.filter(pk=request_id).update(grant_expires_at=past)
    out = io.StringIO()
    call_command("expire_access_requests", stdout=out)
    assert "1 grants ended" in out.getvalue()
    assert (
        api(client, "get", f"/api/v1/access-requests/{request_id}/", dave_token).json()["status"]
        == "expired"
    )

    after = push(image, host, f"team-a/app-{run}", creds, tmp_path, tag="2.0")
    assert refused(after), after.stderr
