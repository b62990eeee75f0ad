"""``/oauth2/exchange`` with an Entra ID access token (``grant_type=access_token``), against
the fake Entra ID, without a registry process: what the refresh token it answers allows at
``/oauth2/token``, the groups it refreshes, and every refusal (with nothing created)."""

from __future__ import annotations

import time

import jwt
import pytest

from accounts.models import Group, LoginFailure, RefreshToken, User
from accounts.sessions import sign_out_everywhere
from registry.models import AuditEvent, Registry, RoleAssignment, RoleDefinition
from tests.fakes.entra import SigningKey

pytestmark = pytest.mark.django_db

SERVICE = "registry.example.test"
NULL_ACCOUNT = "00000000-0000-0000-0000-000000000000"
OTHER_TENANT = "4c1f6b6e-0000-4000-8000-000000000003"


@pytest.fixture
def registry(token_signing_key):
    return Registry.objects.create(
        name="prod1", login_server="http://127.0.0.1:5999", service=SERVICE
    )


@pytest.fixture
def alice(entra):
    return entra.add_user("alice@contoso.com", "Alice Smith")


@pytest.fixture
def pushers(entra, alice):
    """An Entra group holding AcrPush on prod1 (assigned by object id, before any sign-in)."""
    group = entra.add_group("Pushers", alice)
    waiting = Group.objects.create(name=group.object_id, object_id=group.object_id)
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"), scope="/registries/prod1", group=waiting
    )
    return group


def exchange(client, token: str, *, tenant: str | None = None, service: str = SERVICE, **extra):
    claims = jwt.decode(token, options={"verify_signature": False}) if token.count(".") == 2 else {}
    form = {
        "grant_type": "access_token",
        "service": service,
        "tenant": claims.get("tid", "") if tenant is None else tenant,
        "access_token": token,
    }
    return client.post("/oauth2/exchange", {**form, **extra})


def error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    (only,) = response.json()["errors"]
    assert only["code"] == code
    return only["message"]


def granted(client, refresh_token: str, scope: str = "repository:team-a/app:pull,push") -> list:
    response = client.post(
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "service": SERVICE,
            "refresh_token": refresh_token,
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    return claims["access"][0]["actions"]


# What it answers -----------------------------------------------------------------------------


def test_an_entra_token_becomes_a_refresh_token_for_the_registry(client, registry, entra, alice):
    response = exchange(client, entra.access_token(alice))

    assert response.status_code == 200
    assert set(response.json()) == {"refresh_token"}
    found = RefreshToken.find(response.json()["refresh_token"])
    assert found.service == SERVICE
    assert found.user == User.objects.get(entra_object_id=alice.object_id)
    assert found.personal_access_token is None  # minted from Entra, not from a portal secret


def test_the_first_exchange_creates_the_user_like_a_sign_in(client, registry, entra, alice):
    exchange(client, entra.access_token(alice))

    user = User.objects.get()
    assert (user.username, user.entra_object_id) == ("alice@contoso.com", alice.object_id)
    assert not user.has_usable_password()
    assert AuditEvent.objects.get(action="user.create").details["via"] == "token exchange"


def test_the_groups_claim_carries_the_groups_without_asking_graph(
    client, registry, entra, alice, pushers
):
    refresh = exchange(client, entra.access_token(alice, groups=True)).json()["refresh_token"]

    assert granted(client, refresh) == ["pull", "push"]
    assert entra.count("/transitiveMemberOf") == 0
    # The group's display name is not in the token: the row keeps the name it has.
    assert Group.objects.get(object_id=pushers.object_id).name == pushers.object_id


def test_without_a_groups_claim_graph_is_asked_on_behalf_of_the_person(
    client, registry, entra, alice, pushers
):
    refresh = exchange(client, entra.access_token(alice)).json()["refresh_token"]

    assert granted(client, refresh) == ["pull", "push"]
    assert entra.count("/transitiveMemberOf") == 1
    assert Group.objects.get(object_id=pushers.object_id).name == "Pushers"


def test_a_groups_overage_is_read_from_graph(client, registry, entra, alice, pushers):
    token = entra.access_token(alice, groups=True, overage=True)
    refresh = exchange(client, token).json()["refresh_token"]
    assert granted(client, refresh) == ["pull", "push"]
    assert entra.count("/transitiveMemberOf") == 1


def test_removal_from_the_group_takes_the_access_away_at_the_next_exchange(
    client, registry, entra, alice, pushers
):
    first = exchange(client, entra.access_token(alice)).json()["refresh_token"]
    assert granted(client, first) == ["pull", "push"]

    entra.remove_member(pushers, alice)
    second = exchange(client, entra.access_token(alice)).json()["refresh_token"]

    assert granted(client, second) == []
    # Access is decided at each token request: the earlier refresh token lost it too.
    assert granted(client, first) == []


def test_docker_login_signs_in_with_the_null_account_and_the_refresh_token(
    client, registry, entra, alice, pushers
):
    import base64

    refresh = exchange(client, entra.access_token(alice)).json()["refresh_token"]
    basic = base64.b64encode(f"{NULL_ACCOUNT}:{refresh}".encode()).decode()

    response = client.get(
        "/oauth2/token",
        {"service": SERVICE, "scope": "repository:team-a/app:push"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )

    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["sub"] == "alice@contoso.com"
    assert claims["access"][0]["actions"] == ["push"]


def test_sign_out_everywhere_revokes_the_refresh_tokens(client, registry, entra, alice):
    refresh = exchange(client, entra.access_token(alice)).json()["refresh_token"]

    done = sign_out_everywhere(user=User.objects.get())

    assert done.refresh_tokens == 1
    response = client.post(
        "/oauth2/token",
        {"grant_type": "refresh_token", "service": SERVICE, "refresh_token": refresh},
    )
    assert response.status_code == 401


# Refusals: a clear answer, and nothing created --------------------------------------------


def assert_nothing_created():
    assert not User.objects.exists()
    assert not Group.objects.exists()
    assert not RefreshToken.objects.exists()


def test_a_token_from_another_tenant_is_a_401(client, registry, entra):
    mallory = entra.add_user("mallory@fabrikam.com", tenant_id=OTHER_TENANT)

    message = error(exchange(client, entra.access_token(mallory)), 401, "WRONG_TENANT")

    assert OTHER_TENANT in message
    assert_nothing_created()


def test_a_tenant_parameter_that_is_not_the_tokens_is_a_401(
    client, registry, entra, alice, settings
):
    settings.ENTRA_TENANT_ID = "organizations"
    settings.ENTRA_ALLOW_MULTI_TENANT = True
    message = error(
        exchange(client, entra.access_token(alice), tenant=OTHER_TENANT), 401, "INVALID_TOKEN"
    )
    assert "another tenant" in message
    assert_nothing_created()


@pytest.mark.parametrize(
    "case, words",
    [
        ("expired", "has expired"),
        ("bad signature", "signature does not verify"),
        ("unknown key", "a key the tenant does not publish"),
        ("no oid", "lacks the oid claim"),
        ("no preferred_username", "lacks the preferred_username claim"),
        ("another audience", "meant for another application"),
        ("not a jwt", "not a JWT"),
    ],
)
def test_a_bad_token_is_a_401_that_says_why(client, registry, entra, alice, case, words):
    now = int(time.time())
    token = {
        "expired": lambda: entra.access_token(alice, iat=now - 7200, nbf=now - 7200, exp=now - 60),
        "bad signature": lambda: entra.access_token(
            alice, key=SigningKey(entra.keys[0].kid, SigningKey.generate().private)
        ),
        "unknown key": lambda: entra.access_token(alice, key=SigningKey.generate()),
        "no oid": lambda: entra.access_token(alice, without=("oid",)),
        "no preferred_username": lambda: entra.access_token(alice, without=("preferred_username",)),
        "another audience": lambda: entra.access_token(alice, audience="00000003-0000-0000-c000"),
        "not a jwt": lambda: "definitely-not-a-jwt",
    }[case]()

    response = exchange(client, token, tenant=entra.tenant_id)

    assert words in error(response, 401, "INVALID_TOKEN")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_nothing_created()
    failure = AuditEvent.objects.get(action="token.signIn.failed")
    assert failure.details["grant_type"] == "access_token"
    assert words in failure.details["reason"]
    assert token not in str(failure.details)


def test_a_graph_failure_is_a_503_and_creates_nothing(client, registry, entra, alice):
    entra.add_group("Pushers", alice)
    entra.graph_failure = 503

    message = error(exchange(client, entra.access_token(alice)), 503, "DIRECTORY_UNAVAILABLE")

    assert "503" in message
    assert_nothing_created()
    assert not LoginFailure.objects.exists()  # an outage is not a failed sign-in


def test_a_refused_on_behalf_of_is_a_401(client, registry, entra, alice):
    entra.obo_failure = "invalid_grant"
    message = error(exchange(client, entra.access_token(alice)), 401, "INVALID_TOKEN")
    assert "would not let the portal read this person's groups" in message
    assert_nothing_created()


def test_a_local_account_with_the_same_name_is_not_taken_over(client, registry, entra, bob):
    impostor = entra.add_user("bob@example.com")
    message = error(exchange(client, entra.access_token(impostor)), 403, "DENIED")
    assert "local account bob" in message
    assert not RefreshToken.objects.exists()
    assert User.objects.get().entra_object_id == ""


def test_a_deactivated_user_gets_no_refresh_token(client, registry, entra, alice):
    exchange(client, entra.access_token(alice))
    User.objects.update(is_active=False)
    RefreshToken.objects.all().delete()

    error(exchange(client, entra.access_token(alice)), 401, "UNAUTHORIZED")
    assert not RefreshToken.objects.exists()


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"tenant": ""}, 400, "INVALID_REQUEST"),
        ({"access_token": ""}, 400, "INVALID_REQUEST"),
        ({"service": "nope"}, 400, "UNKNOWN_SERVICE"),
        ({"access_token": "x" * 40000}, 400, "PARAMETER_TOO_LARGE"),
    ],
)
def test_bad_requests_are_a_400(client, registry, entra, alice, change, status, code):
    form = {
        "grant_type": "access_token",
        "service": SERVICE,
        "tenant": entra.tenant_id,
        "access_token": entra.access_token(alice),
        **change,
    }
    error(client.post("/oauth2/exchange", form), status, code)
    assert_nothing_created()
    assert not AuditEvent.objects.exists()


def test_a_token_with_many_groups_fits(client, registry, entra, alice):
    for number in range(200):  # the most Entra lists in a token before pointing at Graph
        entra.add_group(f"group-{number}", alice)
    response = exchange(client, entra.access_token(alice, groups=True))
    assert response.status_code == 200
    assert User.objects.get().portal_groups.count() == 200


def test_repeated_bad_tokens_from_an_address_are_a_429(client, registry, entra, alice, settings):
    settings.TOKEN_LOGIN_FAILURES_PER_ADDRESS = 3
    bad = entra.access_token(
        alice, key=SigningKey(entra.keys[0].kid, SigningKey.generate().private)
    )
    for _ in range(3):
        error(exchange(client, bad), 401, "INVALID_TOKEN")

    response = exchange(client, entra.access_token(alice))

    error(response, 429, "TOO_MANY_REQUESTS")
    assert int(response["Retry-After"]) > 0
    assert_nothing_created()


def test_the_exchange_needs_single_sign_on_configured(client, registry, entra, alice, settings):
    token = entra.access_token(alice)
    settings.ENTRA_CLIENT_ID = ""
    assert "not configured" in error(exchange(client, token), 400, "UNSUPPORTED_GRANT_TYPE")
