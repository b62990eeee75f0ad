"""The outbox: applying a registry event writes the deliveries it causes, in the same
transaction, for the enabled webhooks whose actions and scope match, and never twice."""

from __future__ import annotations

import json

import pytest

from registry.events.apply import apply_pending
from registry.events.ingest import store
from registry.events.secrets import events_secret_create
from registry.models import Registry, RegistryEvent, Webhook, WebhookDelivery
from registry.webhooks import outbox
from tests.factories import ManifestFactory, RepositoryFactory, TagFactory
from tests.registry.webhook_support import DIGEST, make_webhook, registry_event

pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9/hooks"


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:9")


def hooks(prod1) -> dict[str, Webhook]:
    """Webhooks with different actions and scopes, by name."""
    specs = {
        "everything": {"actions": ["push", "delete", "pull"]},
        "pushesonly": {"actions": ["push"]},
        "teama": {"actions": ["push", "delete", "pull"], "scope": "team-a/*:*"},
        "latestonly": {"actions": ["push"], "scope": "team-a/app"},
        "releases": {"actions": ["push", "pull"], "scope": "team-a/app:v?"},
        "chartsonly": {"actions": ["chart_push"]},
    }
    return {name: make_webhook(prod1, URL, name=name, **spec)[0] for name, spec in specs.items()}


def receivers(event: RegistryEvent) -> set[str]:
    return set(event.webhook_deliveries.values_list("webhook__name", flat=True))


@pytest.mark.parametrize(
    ("action", "repository", "tag", "method", "expected"),
    [
        ("push", "team-a/app", "v1", "PUT", {"everything", "pushesonly", "teama", "releases"}),
        (
            "push",
            "team-a/app",
            "latest",
            "PUT",
            {"everything", "pushesonly", "teama", "latestonly"},
        ),
        ("push", "team-a/app", "v10", "PUT", {"everything", "pushesonly", "teama"}),
        ("push", "team-b/app", "v1", "PUT", {"everything", "pushesonly"}),
        ("push", "team-a/app", "", "PUT", {"everything", "pushesonly", "teama"}),  # by digest
        ("pull", "team-a/app", "v1", "GET", {"everything", "teama", "releases"}),
        ("pull", "team-a/app", "v1", "HEAD", set()),  # only asks whether it exists
        ("delete", "team-a/app", "", "DELETE", {"everything", "teama"}),
        ("mount", "team-a/app", "v1", "POST", set()),
    ],
)
def test_deliveries_go_to_the_webhooks_whose_action_and_scope_match(
    prod1, action, repository, tag, method, expected
):
    hooks(prod1)
    event = registry_event(
        prod1, "e1", action=action, repository=repository, tag=tag, method=method
    )

    assert outbox.record_deliveries(prod1, event) == len(expected)
    assert receivers(event) == expected


def test_disabled_webhooks_and_other_registries_get_nothing(prod1):
    _webhook, _ = make_webhook(prod1, URL, name="disabled1", is_enabled=False)
    other = Registry.objects.create(name="prod2", login_server="http://127.0.0.1:9")
    make_webhook(other, URL, name="elsewhere")
    assert outbox.record_deliveries(prod1, registry_event(prod1, "e1")) == 0


def test_the_payload_is_acrs(prod1):
    hooks(prod1)
    event = registry_event(prod1, "e1", tag="v1", user_agent="skopeo/1.13", size=524)
    outbox.record_deliveries(prod1, event)

    sent = WebhookDelivery.objects.get(webhook__name="everything")
    assert sent.payload == {
        "id": str(sent.event_id),
        "timestamp": outbox.iso_time(event.occurred_at),
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 524,
            "digest": DIGEST,
            "length": 524,
            "repository": "team-a/app",
            "tag": "v1",
        },
        "request": {
            "id": "req-e1",
            "host": "registry.example",
            "method": "PUT",
            "useragent": "skopeo/1.13",
        },
    }
    # Each delivery has its own id, the one it is sent under.
    ids = set(WebhookDelivery.objects.values_list("event_id", flat=True))
    assert len(ids) == WebhookDelivery.objects.count() == 4
    assert sent.status == "pending" and sent.next_attempt_at is not None


def test_applying_an_event_and_its_deliveries_happen_together(prod1, monkeypatch):
    """When writing the deliveries fails, the event's change to the index is undone too, and
    the event waits to be applied again."""
    make_webhook(prod1, URL, name="everything")
    tag = TagFactory(
        manifest=ManifestFactory(
            repository=RepositoryFactory(registry=prod1, name="team-a/app"), digest=DIGEST
        ),
        name="v1",
    )
    store(prod1, [json.loads(json.dumps(_delete_event("d1")))])

    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(WebhookDelivery.objects, "bulk_create", broken)
    report = apply_pending(prod1.pk)
    assert report.applied == 0
    assert RegistryEvent.objects.get().status == "pending"
    assert type(tag).objects.filter(pk=tag.pk).exists()  # the delete was rolled back

    monkeypatch.undo()
    assert apply_pending(prod1.pk).applied == 1
    assert not type(tag).objects.filter(pk=tag.pk).exists()
    assert WebhookDelivery.objects.get().action == "delete"


def _delete_event(event_id: str) -> dict:
    return {
        "id": event_id,
        "timestamp": "2026-11-29T08:10:11.123456789Z",
        "action": "delete",
        "target": {"digest": DIGEST, "repository": "team-a/app"},
        "request": {"addr": "10.0.0.7:1", "method": "DELETE", "useragent": "curl/8"},
    }


def test_the_same_envelope_twice_makes_no_duplicate_deliveries(client, prod1):
    make_webhook(prod1, URL, name="everything")
    secret = events_secret_create(prod1)
    pull = _delete_event("p1") | {"action": "pull"}
    pull["target"] |= {"tag": "v1", "mediaType": "application/vnd.oci.image.manifest.v1+json"}
    pull["request"]["method"] = "GET"
    envelope = json.dumps({"events": [_delete_event("d1"), pull]})
    for _ in range(2):
        response = client.post(
            "/registry-events/prod1/",
            envelope,
            content_type="application/vnd.docker.distribution.events.v1+json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code == 200
        apply_pending(prod1.pk)

    assert sorted(WebhookDelivery.objects.values_list("action", flat=True)) == ["delete", "pull"]
    # Even applying an event again would not add one: one delivery per webhook and event.
    event = RegistryEvent.objects.get(event_id="d1")
    assert outbox.record_deliveries(prod1, event) == 1
    assert WebhookDelivery.objects.count() == 2
