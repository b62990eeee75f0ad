"""The site shell's pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from registry import selectors
from registry.models import AuditEvent, Registry
from registry.views import access

DASHBOARD_REGISTRIES = 24
RECENT_ACTIVITY = 15


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Registries at a glance (health, size) and the latest changes, in a fixed number of queries.

    Everyone signed in lands here: they see the registries where they hold something, or an
    explanation of how to get access when they hold nothing.
    """
    # Counts of what the user can see in each registry, not of everything it holds.
    visible = selectors.registry_list(visible_to=access.grants(request))
    registries = list(visible[:DASHBOARD_REGISTRIES])
    can_add = access.is_allowed(request, "registry/write", access.ROOT_SCOPE)
    can_read = bool(registries) or can_add
    context: dict[str, object] = {"can_read": can_read, "can_add": can_add}
    if can_read:
        context.update(
            registries=registries,
            registry_total=access.visible_registries(request, Registry.objects.all()).count(),
            unhealthy=[r for r in registries if r.is_healthy is False],
            repository_total=sum(r.repository_count for r in registries),
            tag_total=sum(r.tag_count for r in registries),
            can_read_audit=access.is_allowed(request, "auditLog/read", access.ROOT_SCOPE),
        )
        if context["can_read_audit"]:
            context["recent_events"] = list(AuditEvent.objects.all()[:RECENT_ACTIVITY])
    return render(request, "portal/dashboard.html", context)
