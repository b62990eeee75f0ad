"""``POST /registry-events/<registry>/``: where a registry sends its notifications.

The registry retries an envelope serially until it gets a 2xx, and holds back every later one
meanwhile; so this view only checks who is calling, stores the events and answers. Applying them
to the index is the worker's job (``registry.tasks.apply_registry_events``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from registry import tasks
from registry.events.ingest import EnvelopeError, parse_envelope, store
from registry.events.secrets import events_secret_valid
from registry.models import Registry
from registry.validation import REGISTRY_NAME_RE


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="registry-events"'
    return response


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` (read no further than that)."""
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@require_POST
def receive(request: HttpRequest, registry: str) -> JsonResponse:
    found = (
        Registry.objects.filter(name__iexact=registry).first()
        if REGISTRY_NAME_RE.fullmatch(registry)
        else None
    )
    if found is None:
        return _error(404, f"No registry named {registry!r} takes events here.")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not events_secret_valid(found, presented.strip()):
        return _error(401, "Send the registry's events secret as 'Authorization: Bearer …'.")
    limit = settings.REGISTRY_EVENTS_MAX_BYTES
    body = _read_body(request, limit)
    if body is None:
        return _error(413, f"An envelope may hold at most {limit} bytes.")
    try:
        events = parse_envelope(body)
    except EnvelopeError as exc:
        return _error(400, str(exc))
    with transaction.atomic():
        stored, duplicates = store(found, events)
        if stored:
            transaction.on_commit(lambda: tasks.apply_registry_events.enqueue(found.pk))
    return JsonResponse({"stored": stored, "duplicates": duplicates})
