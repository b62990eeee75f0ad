"""Turn a notification envelope into stored ``RegistryEvent`` rows, losing nothing.

Checked against docker-registry 2.8.2: an envelope is ``{"events": [...]}`` with the media type
``application/vnd.docker.distribution.events.v1+json``; each event has ``id``, ``timestamp``,
``action`` (``push``, ``pull``, ``delete``, ``mount``), ``target`` (``mediaType``, ``digest``,
``size``, ``repository``, ``tag``), ``request`` (``addr``, ``method``, ``useragent``) and
``actor`` (``name``, the token's subject, when token auth is on). Blob events carry a blob
media type (``application/octet-stream`` or a layer type); deleting a manifest by digest gives a
``delete`` with the digest and one ``delete`` per tag it carried, with the tag and no digest.

Every event is kept. One the portal cannot read is stored ``malformed`` with what is wrong,
one it has no use for (a blob, an unknown action) ``ignored``; only a body that is not an
envelope at all is refused, since a registry never sends one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from registry.models import Manifest, Registry, RegistryEvent
from registry.tokens.portal import PORTAL_SUBJECT
from registry.validation import is_digest, is_repository_name, is_tag

MANIFEST_MEDIA_TYPES = frozenset(Manifest.MediaType.values)
KNOWN_ACTIONS = frozenset({"push", "pull", "delete", "mount"})
MAX_EVENT_ID_LENGTH = 200


class EnvelopeError(ValueError):
    """The body is not a notification envelope."""


def parse_envelope(body: bytes) -> list[Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"The body is not JSON: {exc}.") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise EnvelopeError('A notification envelope is a JSON object {"events": [...]}.')
    return document["events"]


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _problem(event: dict[str, Any], target: dict[str, Any]) -> str:
    """What makes an event unreadable, or "" when it can be applied."""
    checks = [
        (is_repository_name(target.get("repository") or ""), "target.repository is not a name"),
        (not target.get("digest") or is_digest(str(target["digest"])), "target.digest is bad"),
        (not target.get("tag") or is_tag(str(target["tag"])), "target.tag is not a tag"),
        (target.get("digest") or target.get("tag"), "the target has neither digest nor tag"),
        (_timestamp(event.get("timestamp")) is not None, "timestamp is not an ISO 8601 time"),
    ]
    return "; ".join(message for ok, message in checks if not ok)


def _event_id(event: Any) -> tuple[str, str]:
    """The event's id, or a stand-in derived from its content, and what is wrong with it."""
    value = event.get("id") if isinstance(event, dict) else None
    if isinstance(value, str) and 0 < len(value) <= MAX_EVENT_ID_LENGTH:
        return value, ""
    body = json.dumps(event, sort_keys=True, default=str).encode()
    return f"malformed:{hashlib.sha256(body).hexdigest()}", "the event has no usable id"


def to_row(registry: Registry, event: Any) -> RegistryEvent:
    """One event as a row to store, flagged when it is malformed or of no use to the index."""
    event_id, problem = _event_id(event)
    fields = event if isinstance(event, dict) else {}
    target = fields.get("target") if isinstance(fields.get("target"), dict) else {}
    request = fields.get("request") if isinstance(fields.get("request"), dict) else {}
    actor = fields.get("actor") if isinstance(fields.get("actor"), dict) else {}
    action = _text(fields.get("action"), 20)
    media_type = _text(target.get("mediaType"), 200)
    size = target.get("size")
    row = RegistryEvent(
        registry=registry,
        event_id=event_id,
        action=action,
        media_type=media_type,
        digest=_text(target.get("digest"), 200),
        repository=_text(target.get("repository"), 255),
        tag=_text(target.get("tag"), 128),
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        actor=_text(actor.get("name"), 255),
        client_addr=_text(request.get("addr"), 100),
        request_method=_text(request.get("method"), 10),
        user_agent=_text(request.get("useragent"), 500),
        occurred_at=_timestamp(fields.get("timestamp")),
        raw=event,
    )
    if not isinstance(event, dict):
        problem = "the event is not a JSON object"
    elif not problem and action in KNOWN_ACTIONS:
        problem = _problem(fields, target)
    if problem:
        row.status, row.problem = RegistryEvent.Status.MALFORMED, problem
    elif action not in KNOWN_ACTIONS:
        row.status, row.problem = RegistryEvent.Status.IGNORED, f"unknown action {action!r}"
    elif action == "mount" or (action != "delete" and media_type not in MANIFEST_MEDIA_TYPES):
        row.status, row.problem = RegistryEvent.Status.IGNORED, "a blob event"
    elif action == "pull" and row.actor == PORTAL_SUBJECT:
        # The portal reading a manifest it indexes is no pull by anyone.
        row.status, row.problem = RegistryEvent.Status.IGNORED, "the portal's own read"
    return row


def store(registry: Registry, events: list[Any]) -> tuple[int, int]:
    """Store the events not seen before; (stored, duplicates). A replay changes nothing."""
    rows: dict[str, RegistryEvent] = {}
    for event in events:
        row = to_row(registry, event)
        rows.setdefault(row.event_id, row)
    known = set(
        RegistryEvent.objects.filter(registry=registry, event_id__in=list(rows)).values_list(
            "event_id", flat=True
        )
    )
    new = [row for event_id, row in rows.items() if event_id not in known]
    # Two deliveries of the same envelope racing each other: the unique constraint decides.
    RegistryEvent.objects.bulk_create(new, ignore_conflicts=True)
    return len(new), len(events) - len(new)
