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

    Signed-in users without access to registries still land here after signing in, so they see
    an explanation instead of a 403.
    """
    can_read = access.is_allowed(request.user, "registry/read", access.REGISTRIES_SCOPE)
    context: dict[str, object] = {"can_read": can_read}
    if can_read:
        registries = list(selectors.registry_list()[:DASHBOARD_REGISTRIES])
        context.update(
            registries=registries,
            registry_total=Registry.objects.count(),
            unhealthy=[r for r in registries if r.is_healthy is False],
            repository_total=sum(r.repository_count for r in registries),
            tag_total=sum(r.tag_count for r in registries),
            can_read_audit=access.is_allowed(request.user, "auditLog/read", "/"),
        )
        if context["can_read_audit"]:
            context["recent_events"] = list(AuditEvent.objects.all()[:RECENT_ACTIVITY])
    return render(request, "portal/dashboard.html", context)
