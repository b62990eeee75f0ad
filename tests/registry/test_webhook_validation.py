"""Webhook input rules (names, actions, scope globs, headers, URIs), the SSRF guard, and the
encryption of secrets at rest with key rotation."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from registry import encryption
from registry.models import AuditEvent, Registry, Webhook
from registry.services import ActionRefused
from registry.webhooks import network, services, validation
from tests.registry.webhook_support import make_webhook

URL = "http://127.0.0.1:9/hooks"


@pytest.mark.parametrize(
    ("scope", "repository", "tag", "matches"),
    [
        ("", "anything/at-all", "", True),
        ("team-a/app", "team-a/app", "latest", True),
        ("team-a/app", "team-a/app", "v1", False),
        ("team-a/app:*", "team-a/app", "v1", True),
        ("team-a/app:*", "team-a/app", "", True),
        ("team-a/*:*", "team-a/backend/api", "v1", True),
        ("team-a/*:*", "team-b/app", "v1", False),
        ("*:v1.*", "x", "v1.2", True),
        ("*:v1.*", "x", "v12", False),
        ("app:v?", "app", "v7", True),
        ("app:v?", "app", "v77", False),
        ("app:v1", "app", "", False),
    ],
)
def test_scope_globs_match_as_acr_describes(scope, repository, tag, matches):
    validation.validate_scope(scope)
    assert validation.scope_matches(scope, repository, tag) is matches


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("a:b:c", "more than one ':'"),
        ("app:", "leaves a part empty"),
        (":v1", "leaves a part empty"),
        ("Team-A/app", "not a repository name or glob"),
        ("app[0-9]:*", "not a repository name or glob"),
        ("team a", "not a repository name or glob"),
        ("app:.hidden", "not a tag or tag glob"),
        ("app:v1/2", "not a tag or tag glob"),
        ("a" * 401, "longer than 400"),
    ],
)
def test_malformed_scopes_are_refused_with_a_reason(scope, message):
    with pytest.raises(ValidationError) as caught:
        validation.validate_scope(scope)
    assert message in " ".join(caught.value.messages)


@pytest.mark.parametrize("name", ["abcd", "a" * 51, "has-dash", "spa ce", "ümlaut", ""])
def test_names_are_5_to_50_letters_and_digits(name):
    with pytest.raises(ValidationError, match="5 to 50 letters and digits"):
        validation.validate_name(name)


def test_actions_are_cleaned_and_unknown_ones_refused():
    assert validation.clean_actions(["pull", "push", "push"]) == ["push", "pull"]
    assert validation.clean_actions(["quarantine", "chart_push"]) == ["quarantine", "chart_push"]
    with pytest.raises(ValidationError, match=r"Unknown action.*'explode'"):
        validation.clean_actions(["push", "explode"])
    with pytest.raises(ValidationError, match="at least one"):
        validation.clean_actions([])
    with pytest.raises(ValidationError, match="are a list"):
        validation.clean_actions("push")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Bad Name": "x"}, "is not a header name"),
        ({"webhook-signature": "x"}, "set by the portal"),
        ({"Content-Type": "text/plain"}, "set by the portal"),
        ({"X-A": "line\r\nInjected: 1"}, "line break"),
        ({"X-A": ""}, "Give X-A a value"),
        ({"X-A": "1", "x-a": "2"}, "given twice"),
        ({f"X-{i}": "v" for i in range(21)}, "At most 20"),
        (["X-A"], "object of names and values"),
    ],
)
def test_bad_custom_headers_are_refused(headers, message):
    with pytest.raises(ValidationError) as caught:
        validation.clean_custom_headers(headers)
    assert message in " ".join(caught.value.messages)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://example.com/x", "must start with https://"),
        ("https://", "no host"),
        ("https://user:pw@example.com/", "not in the URL"),
        ("https://example.com/a b", "spaces or control characters"),
        ("https://example.com/#frag", "#fragment"),
        ("https://example.com:99999/", "is not a URL"),
        ("not a url", "spaces"),
    ],
)
def test_bad_service_uris_are_refused(uri, message):
    with pytest.raises(ValidationError) as caught:
        validation.validate_service_uri(uri)
    assert message in " ".join(caught.value.messages)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12::1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.251", "a multicast address"),
        ("0.0.0.0", "the unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a globally routable address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("64:ff9b::a00:1", "a private address"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_the_ssrf_guard_refuses_internal_addresses(settings, address, reason):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert network.refusal_reason(ipaddress.ip_address(address)) == reason


def test_allowed_networks_open_exactly_what_they_list(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16", "::1/128"]
    assert network.refusal_reason(ipaddress.ip_address("10.20.3.4")) is None
    assert network.refusal_reason(ipaddress.ip_address("::1")) is None
    assert network.refusal_reason(ipaddress.ip_address("10.21.0.1")) == "a private address"
    settings.WEBHOOK_ALLOWED_NETWORKS = "10.20.0.0/16, 127.0.0.0/8"  # as the environment says it
    assert network.refusal_reason(ipaddress.ip_address("127.0.0.1")) is None


def test_a_name_resolving_to_one_private_address_is_refused_whole(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_NETWORKS = []

    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.8", port)),
        ]

    monkeypatch.setattr("registry.webhooks.network.socket.getaddrinfo", getaddrinfo)
    with pytest.raises(network.DestinationRefused, match=r"resolves to 10\.0\.0\.8"):
        network.check_destination("https://mixed.example.test/")


def test_an_unresolvable_host_is_refused(settings, monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("registry.webhooks.network.socket.getaddrinfo", getaddrinfo)
    with pytest.raises(network.DestinationRefused, match="cannot be resolved"):
        network.check_destination("https://nowhere.invalid/")


# Services ------------------------------------------------------------------------------------


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:9", tier="Basic")


def test_creation_refuses_internal_destinations_unless_allowed(prod1, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(ValidationError) as caught:
        make_webhook(prod1, "http://127.0.0.1:8080/x")
    assert "loopback" in caught.value.message_dict["service_uri"][0]
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    make_webhook(prod1, "http://127.0.0.1:8080/x")


def test_every_bad_field_is_reported_at_once(prod1):
    with pytest.raises(ValidationError) as caught:
        services.webhook_create(
            actor=None,
            registry=prod1,
            name="bad",
            service_uri="ftp://x",
            actions=["nope"],
            scope="a:b:c",
            custom_headers={"Host": "x"},
        )
    assert set(caught.value.message_dict) == {
        "name",
        "service_uri",
        "actions",
        "scope",
        "custom_headers",
    }
    assert not Webhook.objects.exists()


def test_names_are_unique_per_registry_ignoring_case(prod1):
    make_webhook(prod1, URL, name="Hooks1")
    with pytest.raises(ValidationError, match="already has a webhook named"):
        make_webhook(prod1, URL, name="hooks1")
    other = Registry.objects.create(name="prod2", login_server="http://127.0.0.1:9")
    make_webhook(other, URL, name="hooks1")


def test_the_tier_limits_the_number_of_webhooks(prod1):
    assert prod1.limits.webhooks == 2
    make_webhook(prod1, URL, name="first1")
    make_webhook(prod1, URL, name="second2")
    with pytest.raises(ActionRefused, match="Basic tier allows 2 webhooks"):
        make_webhook(prod1, URL, name="third3")


def test_writes_are_audited_without_secrets(prod1, alice):
    webhook, secret = services.webhook_create(
        actor=alice,
        registry=prod1,
        name="hooks1",
        service_uri=URL,
        actions=["push"],
        custom_headers={"Authorization": "Bearer topsecret"},
    )
    services.webhook_update(
        actor=alice,
        webhook=webhook,
        custom_headers={"Authorization": None, "X-Team": "a"},
        scope="team-a/*:*",
    )
    rotated = services.webhook_rotate_secret(actor=alice, webhook=webhook)
    services.webhook_delete(actor=alice, webhook=webhook)

    rows = list(AuditEvent.objects.order_by("pk").values("action", "actor_name", "details"))
    assert [r["action"] for r in rows] == [
        "webhook.create",
        "webhook.update",
        "webhook.secret.rotate",
        "webhook.delete",
    ]
    assert all(r["actor_name"] == "alice" for r in rows)
    text = str(rows)
    assert "topsecret" not in text and secret not in text and rotated not in text
    assert rows[1]["details"]["changes"]["custom_headers"]["to"] == ["Authorization", "X-Team"]


def test_a_header_given_as_none_keeps_its_value(prod1):
    webhook, _ = make_webhook(prod1, URL, custom_headers={"Authorization": "Bearer one"})
    services.webhook_update(
        actor=None, webhook=webhook, custom_headers={"authorization": None, "X-B": "b"}
    )
    webhook.refresh_from_db()
    assert webhook.custom_headers == {"authorization": "Bearer one", "X-B": "b"}
    with pytest.raises(ValidationError, match="Give X-New a value"):
        services.webhook_update(actor=None, webhook=webhook, custom_headers={"X-New": None})


# Encryption ----------------------------------------------------------------------------------


def test_keys_rotate_without_losing_a_secret(prod1, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["old-key-for-tests-0123456789abcdef"]
    _webhook, secret = make_webhook(prod1, URL, custom_headers={"X-Key": "v"})
    before = Webhook.objects.values_list("secret_encrypted", flat=True).get()

    settings.FIELD_ENCRYPTION_KEYS = [
        "new-key-for-tests-0123456789abcdef",
        "old-key-for-tests-0123456789abcdef",
    ]
    assert Webhook.objects.get().signing_secret == secret  # the old key still opens it
    call_command("reencrypt_secrets")
    after = Webhook.objects.values_list("secret_encrypted", flat=True).get()
    assert after != before

    settings.FIELD_ENCRYPTION_KEYS = ["new-key-for-tests-0123456789abcdef"]
    fresh = Webhook.objects.get()
    assert fresh.signing_secret == secret and fresh.custom_headers == {"X-Key": "v"}

    settings.FIELD_ENCRYPTION_KEYS = ["a-key-that-never-encrypted-anything"]
    with pytest.raises(encryption.DecryptionError, match="reencrypt_secrets"):
        Webhook.objects.get().signing_secret


def test_without_own_keys_the_secret_key_and_its_fallbacks_decrypt(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "first-secret-key-0123456789-0123456789-0123456789"
    token = encryption.encrypt("hello")
    settings.SECRET_KEY = "second-secret-key-0123456789-0123456789-012345678"
    settings.SECRET_KEY_FALLBACKS = ["first-secret-key-0123456789-0123456789-0123456789"]
    assert encryption.decrypt(token) == "hello"
