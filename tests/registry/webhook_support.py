"""Helpers shared by the webhook tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from standardwebhooks import Webhook as ReferenceVerifier

from registry.models import Registry, RegistryEvent, Webhook
from registry.webhooks import services
from tests.fixtures.receiver import ReceivedRequest

DIGEST = "sha256:" + "b" * 64


def make_webhook(
    registry: Registry, url: str, name: str = "hooks1", **fields: Any
) -> tuple[Webhook, str]:
    fields.setdefault("actions", ["push", "delete", "pull"])
    return services.webhook_create(
        actor=None, registry=registry, name=name, service_uri=url, **fields
    )


def signature_is_valid(secret: str, request: ReceivedRequest) -> bool:
    """The Standard Webhooks check written out from the spec, independent of the portal's
    signing code: HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{body}`` with the
    base64-decoded secret after ``whsec_``, compared with each ``v1,`` signature given."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = (
        f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
        + request.body
    )
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = request.headers["webhook-signature"].split(" ")
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (item.partition(",") for item in given)
    )


def verified_payload(secret: str, request: ReceivedRequest) -> Any:
    """The payload, once both the reference library and the spec written out accept it."""
    assert signature_is_valid(secret, request)
    return ReferenceVerifier(secret).verify(request.body, request.headers)


def registry_event(
    registry: Registry,
    event_id: str,
    action: str = "push",
    repository: str = "team-a/app",
    tag: str = "v1",
    method: str = "PUT",
    **fields: Any,
) -> RegistryEvent:
    """A stored event as ingestion makes it, waiting to be applied."""
    from django.utils import timezone

    raw = {
        "id": event_id,
        "action": action,
        "target": {"repository": repository, "tag": tag, "digest": DIGEST},
        "request": {"id": f"req-{event_id}", "host": "registry.example", "method": method},
    }
    return RegistryEvent.objects.create(
        registry=registry,
        event_id=event_id,
        action=action,
        media_type=fields.pop("media_type", "application/vnd.oci.image.manifest.v1+json"),
        digest=fields.pop("digest", DIGEST),
        repository=repository,
        tag=tag,
        size=fields.pop("size", 1234),
        request_method=method,
        user_agent=fields.pop("user_agent", "skopeo/1.13"),
        occurred_at=fields.pop("occurred_at", timezone.now()),
        raw=raw,
        **fields,
    )
