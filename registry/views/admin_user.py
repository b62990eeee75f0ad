"""The registry's admin user (ACR): enable or disable it, regenerate its passwords.

Passwords are shown once, in the answer to the request that generated them (never stored in
the session or a message), with the commands that use them; a reload shows only their hints.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from registry import services
from registry.models import Registry
from registry.views import access
from registry.views.rendering import render_page


def _context(registry: Registry, generated: dict[str, str], error: str = "") -> dict:
    current = registry.admin_passwords.filter(revoked_at__isnull=True).order_by("name")
    return {
        "registry": registry,
        "passwords": [{"row": row, "value": generated.get(row.name, "")} for row in current],
        "generated": bool(generated),
        "error": error,
    }


@require_http_methods(["GET", "POST"])
@login_required
def admin_user(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, "registry/write")
    generated: dict[str, str] = {}
    error = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in {"enable", "disable"}:
            generated = services.admin_user_set_enabled(
                actor=request.user, registry=found, enabled=action == "enable"
            )
        elif action in services.ADMIN_PASSWORD_NAMES and action:
            try:
                generated = {
                    action: services.admin_user_regenerate(
                        actor=request.user, registry=found, name=action
                    )
                }
            except services.ActionRefused as exc:
                error, status = str(exc), 409
        else:
            error, status = "Choose enable, disable, password or password2.", 400
        found.refresh_from_db()
    response = render_page(
        request,
        "registry/admin_user.html",
        _context(found, generated, error),
        fragment="admin_user",
        status=status,
    )
    if generated:
        patch_cache_control(response, no_store=True)
    return response
