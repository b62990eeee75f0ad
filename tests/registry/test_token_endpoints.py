"""``/oauth2/token`` and ``/oauth2/exchange`` without a registry process: refresh tokens, the
exchange, the admin user's grants, limits on failed sign-ins, their audit, and bad input."""

from __future__ import annotations

import base64
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from accounts.models import LoginFailure, RefreshToken, ServicePrincipal
from accounts.services import (
    machine_secret_revoke,
    personal_access_token_create,
    refresh_token_create,
    service_principal_secret_create,
)
from registry import services
from registry.models import AuditEvent, Registry, RoleAssignment, RoleDefinition

pytestmark = pytest.mark.django_db

SERVICE = "registry.example.test"
NULL_ACCOUNT = "00000000-0000-0000-0000-000000000000"
TOKEN = "/oauth2/token"
EXCHANGE = "/oauth2/exchange"


@pytest.fixture
def registry(token_signing_key):
    return Registry.objects.create(
        name="prod1", login_server="http://127.0.0.1:5999", service=SERVICE
    )


@pytest.fixture
def pat(bob):
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"), scope="/registries/prod1", user=bob
    )
    return personal_access_token_create(user=bob, name="cli")


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {encoded}"}


def claims(response) -> dict:
    return jwt.decode(response.json()["token"], options={"verify_signature": False})


def error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    (only,) = response.json()["errors"]
    assert only["code"] == code
    return only["message"]


def exchange_pat(client, username, password, service=SERVICE):
    return client.post(
        EXCHANGE,
        {"grant_type": "password", "service": service, "username": username, "password": password},
    )


# Refresh tokens -------------------------------------------------------------------------------


def test_a_refresh_token_comes_only_when_asked(client, registry, pat):
    plain = client.post(
        TOKEN,
        {"grant_type": "password", "service": SERVICE, "username": "bob", "password": pat.token},
    )
    offline = client.post(
        TOKEN,
        {
            "grant_type": "password",
            "service": SERVICE,
            "username": "bob",
            "password": pat.token,
            "access_type": "offline",
        },
    )
    assert plain.status_code == 200 and "refresh_token" not in plain.json()
    assert offline.json()["refresh_token"].startswith("pcl_rt_")


def test_the_refresh_token_grant_gives_a_scoped_token(client, registry, pat):
    refresh = exchange_pat(client, "bob", pat.token).json()["refresh_token"]

    response = client.post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": SERVICE,
            "scope": "repository:team-a/app:pull,push repository:other/app:delete",
        },
    )

    assert response.status_code == 200, response.content
    assert claims(response)["sub"] == "bob"
    assert claims(response)["access"] == [
        {"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]},
        {"type": "repository", "name": "other/app", "actions": []},
    ]
    assert "refresh_token" not in response.json()


def test_refreshing_offline_never_extends_the_original(client, registry, pat):
    first = refresh_token_create(parent=pat.record, service=SERVICE)
    response = client.post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": first.token,
            "service": SERVICE,
            "access_type": "offline",
        },
    )
    second = RefreshToken.find(response.json()["refresh_token"])
    assert second is not None and second.pk != first.record.pk
    assert second.expires_at <= first.record.expires_at
    assert second.personal_access_token == pat.record


@pytest.mark.parametrize("how", ["GET basic", "POST password"])
def test_the_null_account_signs_in_with_a_refresh_token(client, registry, pat, how):
    refresh = refresh_token_create(parent=pat.record, service=SERVICE).token
    scope = "repository:team-a/app:pull"
    if how == "GET basic":
        response = client.get(
            TOKEN, {"service": SERVICE, "scope": scope}, **basic(NULL_ACCOUNT, refresh)
        )
    else:
        response = client.post(
            TOKEN,
            {
                "grant_type": "password",
                "service": SERVICE,
                "scope": scope,
                "username": NULL_ACCOUNT,
                "password": refresh,
            },
        )
    assert response.status_code == 200, response.content
    assert claims(response)["access"][0]["actions"] == ["pull"]


def test_a_refresh_token_needs_the_null_account_and_its_own_registry(client, registry, pat):
    refresh = refresh_token_create(parent=pat.record, service=SERVICE).token
    Registry.objects.create(name="prod2", login_server="http://127.0.0.1:5998", service="other")

    as_bob = client.get(TOKEN, {"service": SERVICE}, **basic("bob", refresh))
    elsewhere = client.get(TOKEN, {"service": "other"}, **basic(NULL_ACCOUNT, refresh))

    error(as_bob, 401, "UNAUTHORIZED")
    error(elsewhere, 401, "UNAUTHORIZED")


def test_refresh_tokens_last_three_hours_and_never_outlive_their_parent(bob, settings):
    long = personal_access_token_create(user=bob, name="long")
    short = personal_access_token_create(user=bob, name="short", lifetime=timedelta(minutes=10))

    default = refresh_token_create(parent=long.record, service=SERVICE).record
    capped = refresh_token_create(parent=short.record, service=SERVICE).record
    settings.TOKEN_REFRESH_LIFETIME = 60
    configured = refresh_token_create(parent=long.record, service=SERVICE).record

    assert default.expires_at - default.created_at == pytest.approx(
        timedelta(hours=3), abs=timedelta(seconds=5)
    )
    assert capped.expires_at <= short.record.expires_at
    assert configured.expires_at - configured.created_at <= timedelta(seconds=61)
    assert default.digest != default.hint and len(default.digest) == 64


@pytest.mark.parametrize(
    "case",
    ["token revoked", "token expired", "user deactivated", "secret revoked", "principal disabled"],
)
def test_a_refresh_token_dies_with_what_minted_it(bob, case):
    if case in {"secret revoked", "principal disabled"}:
        principal = ServicePrincipal.objects.create(name="ci")
        parent = service_principal_secret_create(service_principal=principal).record
    else:
        parent = personal_access_token_create(user=bob, name="cli").record
    refresh = refresh_token_create(parent=parent, service=SERVICE).token
    assert RefreshToken.find(refresh) is not None

    if case in {"token revoked", "secret revoked"}:
        machine_secret_revoke(record=parent)
    elif case == "token expired":
        type(parent).objects.filter(pk=parent.pk).update(expires_at=timezone.now())
    elif case == "user deactivated":
        type(bob).objects.filter(pk=bob.pk).update(is_active=False)
    else:
        ServicePrincipal.objects.update(enabled=False)

    assert RefreshToken.find(refresh) is None


# The exchange ---------------------------------------------------------------------------------


def test_the_exchange_turns_a_personal_access_token_into_a_refresh_token(client, registry, pat):
    response = exchange_pat(client, "bob", pat.token)
    assert response.status_code == 200
    assert set(response.json()) == {"refresh_token"}
    found = RefreshToken.find(response.json()["refresh_token"])
    assert found is not None and found.user.username == "bob" and found.service == SERVICE


def test_the_exchange_takes_a_service_principal_secret_too(client, registry):
    principal = ServicePrincipal.objects.create(name="ci")
    secret = service_principal_secret_create(service_principal=principal).secret
    response = exchange_pat(client, str(principal.client_id), secret)
    assert RefreshToken.find(response.json()["refresh_token"]).service_principal == principal


def test_entra_access_tokens_need_single_sign_on_configured(client, registry):
    # The Entra exchange itself: tests/registry/test_token_exchange_entra.py.
    response = client.post(
        EXCHANGE,
        {"grant_type": "access_token", "service": SERVICE, "tenant": "t", "access_token": "x"},
    )
    assert "Entra ID" in error(response, 400, "UNSUPPORTED_GRANT_TYPE")


@pytest.mark.parametrize("what", ["wrong token", "refresh token", "admin password", "nothing"])
def test_the_exchange_refuses_anything_else(client, registry, pat, alice, what):
    password = {
        "wrong token": pat.token[:-3] + "abc",
        "refresh token": refresh_token_create(parent=pat.record, service=SERVICE).token,
        "admin password": "",
        "nothing": "",
    }[what]
    username = NULL_ACCOUNT if what == "refresh token" else "bob"
    if what == "admin password":
        username = "prod1"
        password = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)[
            "password"
        ]
    error(exchange_pat(client, username, password), 401, "UNAUTHORIZED")


def test_the_exchange_is_post_only_and_knows_its_grants(client, registry):
    assert client.get(EXCHANGE).status_code == 405
    error(client.post(EXCHANGE, {"grant_type": "magic"}), 400, "UNSUPPORTED_GRANT_TYPE")
    error(
        client.post(EXCHANGE, {"grant_type": "password", "service": "nope"}),
        400,
        "UNKNOWN_SERVICE",
    )


# The admin user -------------------------------------------------------------------------------


def test_the_admin_user_gets_content_actions_and_the_catalog_in_its_registry(
    client, registry, alice
):
    passwords = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    response = client.get(
        TOKEN,
        {
            "service": SERVICE,
            "scope": ["repository:any/thing:*", "registry:catalog:*"],
            "offline_token": "true",
        },
        **basic("prod1", passwords["password"]),
    )
    assert response.status_code == 200
    assert claims(response)["sub"] == "prod1"
    assert claims(response)["access"] == [
        {"type": "repository", "name": "any/thing", "actions": ["pull", "push", "delete"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]
    assert "refresh_token" not in response.json()  # it signs in with its password each time


def test_the_admin_user_is_nobody_while_disabled_or_under_another_name(client, registry, alice):
    passwords = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    wrong_name = client.get(TOKEN, {"service": SERVICE}, **basic("prod2", passwords["password"]))
    services.admin_user_set_enabled(actor=alice, registry=registry, enabled=False)
    disabled = client.get(TOKEN, {"service": SERVICE}, **basic("prod1", passwords["password"]))
    error(wrong_name, 401, "UNAUTHORIZED")
    error(disabled, 401, "UNAUTHORIZED")


# Failed sign-ins: limits and audit ------------------------------------------------------------


@pytest.fixture
def limits(settings):
    settings.TOKEN_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.TOKEN_LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.TOKEN_LOGIN_FAILURE_WINDOW = 60
    return settings


def fail(client, username="bob", address="10.0.0.1"):
    return client.get(
        TOKEN, {"service": SERVICE}, REMOTE_ADDR=address, **basic(username, "pcl_pat_wrong")
    )


def test_too_many_failures_from_an_address_are_a_429(client, registry, limits):
    for n in range(5):
        error(fail(client, username=f"user{n}"), 401, "UNAUTHORIZED")

    response = fail(client, username="someone-else")

    message = error(response, 429, "TOO_MANY_REQUESTS")
    assert 0 < int(response["Retry-After"]) <= 60
    assert f"{response['Retry-After']} seconds" in message
    assert fail(client, username="someone-else", address="10.0.0.2").status_code == 401


def test_too_many_failures_for_an_account_are_a_429_from_anywhere(client, registry, pat, limits):
    for n in range(3):
        fail(client, address=f"10.0.1.{n}")

    response = client.get(
        TOKEN, {"service": SERVICE}, REMOTE_ADDR="10.0.2.1", **basic("bob", pat.token)
    )

    error(response, 429, "TOO_MANY_REQUESTS")
    assert client.get(TOKEN, {"service": SERVICE}, **basic("carol", "x")).status_code == 401


def test_successes_do_not_count_and_the_window_moves_on(client, registry, pat, limits):
    for _ in range(8):
        ok = client.get(
            TOKEN, {"service": SERVICE}, REMOTE_ADDR="10.0.0.1", **basic("bob", pat.token)
        )
        assert ok.status_code == 200
    for _ in range(3):
        fail(client)
    assert fail(client).status_code == 429

    LoginFailure.objects.update(at=timezone.now() - timedelta(seconds=61))

    ok = client.get(TOKEN, {"service": SERVICE}, REMOTE_ADDR="10.0.0.1", **basic("bob", pat.token))
    assert ok.status_code == 200


def test_the_counts_are_shared_through_the_database(client, registry, limits):
    # Another web process's failures are rows like these.
    LoginFailure.objects.bulk_create(LoginFailure(key="address:10.9.9.9") for _ in range(5))
    assert fail(client, address="10.9.9.9").status_code == 429


def test_refresh_token_sign_ins_share_no_account_limit(client, registry, pat, limits):
    refresh = refresh_token_create(parent=pat.record, service=SERVICE).token
    for n in range(4):
        fail(client, username=NULL_ACCOUNT, address=f"10.0.3.{n}")
    ok = client.get(
        TOKEN, {"service": SERVICE}, REMOTE_ADDR="10.0.4.1", **basic(NULL_ACCOUNT, refresh)
    )
    assert ok.status_code == 200


def test_the_exchange_is_limited_too(client, registry, pat, limits):
    for _ in range(3):
        error(exchange_pat(client, "bob", "pcl_pat_wrong"), 401, "UNAUTHORIZED")
    error(exchange_pat(client, "bob", pat.token), 429, "TOO_MANY_REQUESTS")


def test_every_failed_sign_in_is_audited_without_the_secret(client, registry, limits):
    fail(client, username="mallory", address="10.0.5.1")
    exchange_pat(client, "mallory", "pcl_pat_guess")
    client.get(TOKEN, {"service": SERVICE})  # no credentials at all: not a sign-in

    events = list(AuditEvent.objects.filter(action="token.signIn.failed").order_by("pk"))
    assert [(e.details["account"], e.details["endpoint"]) for e in events] == [
        ("mallory", "token"),
        ("mallory", "exchange"),
    ]
    assert events[0].details["client_address"] == "10.0.5.1"
    assert events[0].actor_name == "anonymous" and events[0].scope == "/registries/prod1"
    assert all("pcl_pat_" not in str(e.details) for e in events)


def test_the_client_address_is_read_through_trusted_proxies(client, registry, limits):
    limits.TRUSTED_PROXY_COUNT = 1
    client.get(
        TOKEN,
        {"service": SERVICE},
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
        **basic("bob", "pcl_pat_wrong"),
    )
    assert AuditEvent.objects.get().details["client_address"] == "203.0.113.7"


# Bad input ------------------------------------------------------------------------------------

BIG = "a" * 100_000


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"service": SERVICE, "scope": "junk"}, "INVALID_SCOPE"),
        ({"service": SERVICE, "scope": "repository:team-a/app"}, "INVALID_SCOPE"),
        ({"service": SERVICE, "scope": ":name:pull"}, "INVALID_SCOPE"),
        ({"service": SERVICE, "scope": BIG}, "PARAMETER_TOO_LARGE"),
        ({"service": SERVICE, "scope": " ".join(["repository:a/b:pull"] * 65)}, "INVALID_SCOPE"),
        ({"service": "nowhere"}, "UNKNOWN_SERVICE"),
        ({}, "UNKNOWN_SERVICE"),
        ({"service": BIG}, "PARAMETER_TOO_LARGE"),
    ],
)
def test_bad_token_requests_are_a_400(client, registry, pat, params, code):
    get = client.get(TOKEN, params, **basic("bob", pat.token))
    post = client.post(
        TOKEN, {"grant_type": "password", "username": "bob", "password": pat.token, **params}
    )
    error(get, 400, code)
    error(post, 400, code)


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xfa").decode(),
        "Bearer something",
        "Basic",
    ],
)
def test_garbled_credentials_are_a_401(client, registry, header):
    response = client.get(TOKEN, {"service": SERVICE}, HTTP_AUTHORIZATION=header)
    error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("where", ["basic", "form", "exchange"])
def test_an_oversized_username_is_a_400(client, registry, where):
    if where == "basic":
        response = client.get(TOKEN, {"service": SERVICE}, **basic("u" * 5000, "p"))
    elif where == "form":
        data = {"grant_type": "password", "service": SERVICE, "username": BIG, "password": "p"}
        response = client.post(TOKEN, data)
    else:
        response = exchange_pat(client, BIG, "p")
    error(response, 400, "PARAMETER_TOO_LARGE")
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_unknown_grant_types_and_methods(client, registry):
    error(
        client.post(TOKEN, {"grant_type": "magic", "service": SERVICE}),
        400,
        "UNSUPPORTED_GRANT_TYPE",
    )
    error(client.post(TOKEN, {"service": SERVICE}), 400, "UNSUPPORTED_GRANT_TYPE")
    assert client.put(TOKEN).status_code == 405


@pytest.mark.parametrize(
    "case", ["wrong secret", "disabled", "expired secret", "another user's token", "inactive user"]
)
def test_bad_credentials_are_a_401(client, registry, bob, alice, case):
    principal = ServicePrincipal.objects.create(name="ci")
    secret = service_principal_secret_create(service_principal=principal).secret
    username, password = str(principal.client_id), secret
    if case == "wrong secret":
        password = secret[:-2] + "xx"
    elif case == "disabled":
        ServicePrincipal.objects.update(enabled=False)
    elif case == "expired secret":
        principal.secrets.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "another user's token":
        username, password = "alice", personal_access_token_create(user=bob, name="x").token
    else:
        username, password = "bob", personal_access_token_create(user=bob, name="x").token
        type(bob).objects.filter(pk=bob.pk).update(is_active=False)
    response = client.get(TOKEN, {"service": SERVICE}, **basic(username, password))
    error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith("Basic")
