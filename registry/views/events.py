"""What a registry reported: who pushed, pulled or deleted what, when, and from where."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from registry.models import RegistryEvent
from registry.validation import is_repository_name
from registry.views import access
from registry.views.pagination import paginate
from registry.views.rendering import htmx_target, render_page

ACTIONS = ("push", "pull", "delete", "mount")


@require_GET
@login_required
def event_list(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, None)
    repository = request.GET.get("repository", "").strip()
    action = request.GET.get("action", "")
    events = RegistryEvent.objects.filter(registry=found)
    if repository and is_repository_name(repository):
        events = events.filter(repository=repository)
    if action in ACTIONS:
        events = events.filter(action=action)
    events = access.visible_repositories(request, found.name, events, field="repository")
    context = {
        "registry": found,
        "page": paginate(request, events.order_by("-received_at", "-pk")),
        "repository": repository,
        "action": action,
        "actions": ACTIONS,
    }
    fragment = "results" if htmx_target(request) == "event-results" else None
    return render_page(request, "registry/event_list.html", context, fragment=fragment)
