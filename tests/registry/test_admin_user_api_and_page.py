"""The registry admin user through the REST API (``registries/{r}/admin-user/``) and its page.

Passwords are answered once, by the request that generates them; both surfaces need
``registry/write`` on the registry (404 for those who cannot see it, 403 for those who can).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.services import personal_access_token_create
from registry.models import (
    AuditEvent,
    Registry,
    RegistryAdminPassword,
    RoleAssignment,
    RoleDefinition,
)
from registry.tokens.credentials import authenticate

pytestmark = pytest.mark.django_db

API = "/api/v1/registries/prod1/admin-user/"
REGENERATE = API + "regenerate/"


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="https://prod1.example.com")


def put(client, data, **headers):
    return client.put(API, data, content_type="application/json", **headers)


def signs_in(registry: Registry, password: str) -> bool:
    registry.refresh_from_db()
    return authenticate(registry, registry.name, password) is not None


def test_enabling_answers_two_passwords_once_and_they_sign_in(admin_client, prod1):
    assert admin_client.get(API).json() == {"enabled": False, "username": "prod1", "passwords": []}

    response = put(admin_client, {"enabled": True})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["enabled"] is True and body["username"] == "prod1"
    values = {p["name"]: p["value"] for p in body["passwords"]}
    assert set(values) == {"password", "password2"}
    assert all(signs_in(prod1, value) for value in values.values())
    shown = admin_client.get(API).json()["passwords"]
    assert [p["name"] for p in shown] == ["password", "password2"]
    assert all("value" not in p and p["hint"] for p in shown)
    assert not any(v in str(list(RegistryAdminPassword.objects.values())) for v in values.values())


def test_regenerating_one_keeps_the_other_and_disabling_revokes_both(admin_client, prod1):
    first = {
        p["name"]: p["value"] for p in put(admin_client, {"enabled": True}).json()["passwords"]
    }

    response = admin_client.post(REGENERATE, {"name": "password2"}, content_type="application/json")

    assert response.status_code == 200
    (new,) = [p["value"] for p in response.json()["passwords"] if "value" in p]
    assert signs_in(prod1, first["password"]) and signs_in(prod1, new)
    assert not signs_in(prod1, first["password2"])

    assert put(admin_client, {"enabled": False}).json() == {
        "enabled": False,
        "username": "prod1",
        "passwords": [],
    }
    assert not signs_in(prod1, first["password"]) and not signs_in(prod1, new)
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [
        "registry.adminUser.enable",
        "registry.adminUser.regenerate",
        "registry.adminUser.disable",
    ]


def test_bad_input_and_a_disabled_admin_user(admin_client, prod1):
    refused = admin_client.post(REGENERATE, {"name": "password"}, content_type="application/json")
    assert refused.status_code == 409 and "disabled" in refused.json()["detail"]
    put(admin_client, {"enabled": True})
    bad = admin_client.post(REGENERATE, {"name": "password3"}, content_type="application/json")
    assert bad.status_code == 400 and "name" in bad.json()["errors"]
    assert put(admin_client, {"enabled": "maybe"}).status_code == 400
    assert put(admin_client, {"enabled": True, "username": "x"}).status_code == 400
    assert admin_client.get("/api/v1/registries/nosuch1/admin-user/").status_code == 404


@pytest.mark.parametrize(
    ("role", "scope", "status"),
    [
        (None, None, 404),
        ("Reader", "/registries/prod1", 403),
        ("AcrPush", "/registries/prod1", 403),
        ("Owner", "/registries/prod1/namespaces/team-a", 403),
        ("Contributor", "/registries/prod1", 200),
        ("Owner", "/registries/prod1", 200),
        ("Owner", "/registries/prod2", 404),
    ],
)
def test_who_may_manage_the_admin_user(client, prod1, bob, role, scope, status):
    Registry.objects.create(name="prod2", login_server="https://prod2.example.com")
    prod1.namespaces.create(name="team-a")
    if role:
        RoleAssignment.objects.create(
            role=RoleDefinition.objects.get(name=role), scope=scope, user=bob
        )
    token = personal_access_token_create(user=bob, name="t").token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    assert client.get(API, **auth).status_code == status
    assert put(client, {"enabled": True}, **auth).status_code == status
    client.force_login(bob)
    page = reverse("registry:admin_user", args=["prod1"])
    assert client.get(page).status_code == status
    assert client.post(page, {"action": "password"}).status_code in {status, 409}
    prod1.refresh_from_db()
    assert prod1.admin_user_enabled is (status == 200)


def test_the_page_shows_passwords_once_with_the_login_command(admin_client, prod1):
    page = reverse("registry:admin_user", args=["prod1"])
    assert "Disabled" in admin_client.get(page).content.decode()

    enabled = admin_client.post(page, {"action": "enable"}, HTTP_HX_REQUEST="true")

    html = enabled.content.decode()
    assert enabled.status_code == 200 and enabled["Cache-Control"] == "no-store"
    assert "shown only this once" in html
    assert "docker login prod1.example.com -u prod1 -p pcl_adm_" in html
    reloaded = admin_client.get(page).content.decode()
    assert "pcl_adm_" in reloaded and "docker login prod1.example.com -u prod1 -p" not in reloaded

    regenerated = admin_client.post(page, {"action": "password2"}).content.decode()
    assert regenerated.count("<code>docker login prod1.example.com -u prod1 -p pcl_adm_") == 1
    assert admin_client.post(page, {"action": "nonsense"}).status_code == 400
    admin_client.post(page, {"action": "disable"})
    prod1.refresh_from_db()
    assert not prod1.admin_user_enabled
    assert (
        "Manage"
        in admin_client.get(reverse("registry:registry_detail", args=["prod1"])).content.decode()
    )
