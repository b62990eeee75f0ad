"""Checking Entra ID access tokens (``accounts.entra.tokens``) against the fake's keys."""

from __future__ import annotations

import time

import jwt
import pytest
from django.core.checks import Error, Warning

from accounts.entra import tokens
from accounts.entra.checks import check_entra_settings
from accounts.entra.tokens import EntraTokenError, EntraUnavailable, check_access_token
from tests.fakes.entra import SigningKey

OTHER_TENANT = "4c1f6b6e-0000-4000-8000-000000000002"


@pytest.fixture
def alice(entra):
    return entra.add_user("alice@contoso.com", "Alice Smith")


def refused(token: str) -> str:
    with pytest.raises(EntraTokenError) as caught:
        check_access_token(token)
    return str(caught.value)


def test_a_good_token_names_the_person(entra, alice):
    platform = entra.add_group("Platform", alice)

    identity, claims = check_access_token(entra.access_token(alice, groups=True))

    assert identity.object_id == alice.object_id
    assert identity.tenant_id == entra.tenant_id
    assert identity.username == "alice@contoso.com"
    assert identity.name == "Alice Smith"
    assert identity.groups == (platform.object_id,)
    assert claims["scp"] == "access_as_user"


def test_both_audiences_of_the_app_registration_are_accepted(entra, alice):
    for audience in (entra.client_id, f"api://{entra.client_id}"):
        assert check_access_token(entra.access_token(alice, audience=audience))


def test_without_a_groups_claim_graph_must_be_asked(entra, alice):
    assert check_access_token(entra.access_token(alice))[0].groups is None
    # Too many groups for the token: Entra points at Graph instead of listing them.
    overage = entra.access_token(alice, groups=True, overage=True)
    assert check_access_token(overage)[0].groups is None


def test_the_keys_are_fetched_once_and_cached(entra, alice):
    for _ in range(3):
        check_access_token(entra.access_token(alice))
    assert entra.count("/discovery/v2.0/keys") == 1


def test_a_token_signed_with_a_new_key_makes_the_portal_fetch_the_keys_again(
    entra, alice, monkeypatch
):
    monkeypatch.setattr(tokens, "JWKS_REFETCH_COOLDOWN", 0.0)
    tokens.forget_signing_keys()
    check_access_token(entra.access_token(alice))

    entra.rotate_key()
    identity, _ = check_access_token(entra.access_token(alice))

    assert identity.object_id == alice.object_id
    assert entra.count("/discovery/v2.0/keys") == 2


def test_a_token_from_another_tenant_is_refused(entra):
    mallory = entra.add_user("mallory@fabrikam.com", tenant_id=OTHER_TENANT)
    message = refused(entra.access_token(mallory))
    assert f"issued by tenant {OTHER_TENANT}, not by this portal's tenant" in message
    assert entra.count("/discovery/v2.0/keys") == 0  # refused before any key is fetched


def test_a_tid_that_disagrees_with_the_issuer_is_refused(entra, alice):
    forged = entra.access_token(alice, iss=f"{entra.url}/{OTHER_TENANT}/v2.0")
    assert "authority this portal does not trust" in refused(forged)


def test_an_expired_token_is_refused(entra, alice):
    now = int(time.time())
    expired = entra.access_token(alice, iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    assert "has expired" in refused(expired)


def test_a_token_not_valid_yet_is_refused(entra, alice):
    later = int(time.time()) + 3600
    assert "not valid yet" in refused(entra.access_token(alice, nbf=later, iat=later))


def test_a_token_for_another_application_is_refused(entra, alice):
    token = entra.access_token(alice, audience="https://graph.microsoft.com")
    assert "meant for another application" in refused(token)


def test_a_token_with_a_bad_signature_is_refused(entra, alice):
    impostor = SigningKey(kid=entra.keys[0].kid, private=SigningKey.generate().private)
    assert "signature does not verify" in refused(entra.access_token(alice, key=impostor))


def test_a_token_signed_with_a_key_the_tenant_does_not_publish_is_refused(
    entra, alice, monkeypatch
):
    monkeypatch.setattr(tokens, "JWKS_REFETCH_COOLDOWN", 0.0)
    tokens.forget_signing_keys()
    check_access_token(entra.access_token(alice))

    message = refused(entra.access_token(alice, key=SigningKey.generate()))

    assert "signed with a key the tenant does not publish" in message
    assert entra.count("/discovery/v2.0/keys") == 2  # looked again before refusing


@pytest.mark.parametrize("claim", ["oid", "tid", "exp", "aud", "iss", "scp"])
def test_a_token_missing_a_claim_is_refused(entra, alice, claim):
    assert f"lacks the {claim} claim" in refused(entra.access_token(alice, without=(claim,)))


def test_a_token_naming_no_user_name_is_refused(entra, alice):
    token = entra.access_token(alice, without=("preferred_username",))
    assert "lacks the preferred_username claim" in refused(token)


def test_an_applications_own_token_is_refused(entra, alice):
    # Client credentials: roles, no scp; not a person.
    app_token = entra.access_token(alice, without=("scp",), roles=["Registry.Push"], idtyp="app")
    assert "lacks the scp claim" in refused(app_token)


def test_a_v1_token_is_refused_with_the_fix(entra, alice):
    v1 = entra.access_token(alice, ver="1.0", iss=f"https://sts.windows.net/{entra.tenant_id}/")
    assert "accessTokenAcceptedVersion" in refused(v1)


def test_only_rs256_is_accepted(entra, alice):
    claims = jwt.decode(entra.access_token(alice), options={"verify_signature": False})
    hs256 = jwt.encode(claims, "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256")
    assert "not signed with RS256" in refused(hs256)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_garbage_is_refused(entra, garbage):
    assert refused(garbage)


def test_unreachable_keys_are_an_outage_not_a_bad_token(entra, alice, settings):
    token = entra.access_token(alice)
    settings.ENTRA_LOGIN_URL = "http://127.0.0.1:9"  # nothing listens there
    settings.ENTRA_TIMEOUT = 2
    tokens.forget_signing_keys()
    with pytest.raises(EntraUnavailable):
        tokens.check_token(token, audiences=[f"api://{entra.client_id}"], access_token=True)


def test_tokens_are_refused_while_single_sign_on_is_not_configured(entra, alice, settings):
    token = entra.access_token(alice)
    settings.ENTRA_CLIENT_SECRET = ""
    assert "not configured" in refused(token)


# Multi-tenant --------------------------------------------------------------------------------


def test_common_is_refused_unless_explicitly_allowed(entra, settings):
    settings.ENTRA_TENANT_ID = "common"
    mallory = entra.add_user("mallory@fabrikam.com", tenant_id=OTHER_TENANT)

    assert "not configured" in refused(entra.access_token(mallory))
    problems = check_entra_settings()
    assert [p.id for p in problems] == ["accounts.E001"]
    assert isinstance(problems[0], Error)


def test_common_allowed_accepts_any_tenant(entra, settings):
    settings.ENTRA_TENANT_ID = "common"
    settings.ENTRA_ALLOW_MULTI_TENANT = True
    mallory = entra.add_user("mallory@fabrikam.com", tenant_id=OTHER_TENANT)
    # The fake publishes the same keys under every tenant, as Entra does under common.

    identity, _ = check_access_token(entra.access_token(mallory))

    assert identity.tenant_id == OTHER_TENANT
    assert check_entra_settings() == []


def test_a_half_configuration_is_a_warning(settings):
    settings.ENTRA_TENANT_ID, settings.ENTRA_CLIENT_ID, settings.ENTRA_CLIENT_SECRET = "t", "", ""
    problems = check_entra_settings()
    assert [p.id for p in problems] == ["accounts.W001"] and isinstance(problems[0], Warning)


def test_no_configuration_is_fine(settings):
    settings.ENTRA_TENANT_ID, settings.ENTRA_CLIENT_ID, settings.ENTRA_CLIENT_SECRET = "", "", ""
    assert check_entra_settings() == []


def test_a_tenant_named_by_its_domain_is_refused_with_the_fix(settings):
    settings.ENTRA_TENANT_ID = "contoso.onmicrosoft.com"
    settings.ENTRA_CLIENT_ID, settings.ENTRA_CLIENT_SECRET = "client", "secret"
    (problem,) = check_entra_settings()
    assert problem.id == "accounts.E002" and "not a domain name" in problem.msg
