"""Registries: list, create, show, edit, delete, check health."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from registry import index_cache, selectors, services
from registry.forms import RegistryCreateForm, RegistryEditForm, add_service_error
from registry.models import Registry, Tier
from registry.models.registries import TIER_LIMITS
from registry.views import access
from registry.views.namespaces import namespaces_context
from registry.views.rendering import announce, htmx_target, render_page, wants_fragment

GIB = 1024**3


@require_GET
@login_required
def registry_list(request: HttpRequest) -> HttpResponse:
    registries = list(selectors.registry_list(visible_to=access.grants(request)))
    return render_page(request, "registry/registry_list.html", {"registries": registries})


@require_http_methods(["GET", "POST"])
@login_required
def registry_create(request: HttpRequest) -> HttpResponse:
    access.authorize(request, "registry/write", access.ROOT_SCOPE)
    form = RegistryCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registry = services.registry_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, f"Registry {registry.name} added. Its health check runs in a moment."
            )
            return redirect("registry:registry_detail", registry=registry.name)
    return render_page(request, "registry/registry_form.html", _form_context(form, None))


def _form_context(form: RegistryEditForm, registry: Registry | None) -> dict[str, Any]:
    return {
        "form": form,
        "registry": registry,
        "tiers": [(label, TIER_LIMITS[value]) for value, label in Tier.choices],
    }


def _registry_detail_context(request: HttpRequest, registry: Registry) -> dict[str, Any]:
    # Counts of what the user can see: someone holding one namespace learns nothing of the
    # size of the others.
    held = access.grants(request)
    # Summing a large registry's manifests takes a while; the figures are kept while its
    # index stands, per set of grants (registry.index_cache).
    usage = index_cache.kept(
        registry.name,
        ("usage", held.fingerprint()),
        lambda: selectors.registry_usage(registry=registry, visible_to=held),
    )
    storage_bytes = usage.storage_bytes
    included_bytes = registry.limits.included_storage_gib * GIB
    return {
        "registry": registry,
        "sees_part": held.name_filter(registry.name) is not None,
        "repository_count": usage.repository_count,
        "tag_count": usage.tag_count,
        "storage_bytes": storage_bytes,
        "included_bytes": included_bytes,
        "storage_percent": min(100, round(100 * storage_bytes / included_bytes))
        if included_bytes
        else 0,
        **namespaces_context(request, registry),
    }


# Regions of the registry page that htmx may ask for by their element id.
DETAIL_FRAGMENTS = {"health": "health", "usage": "usage", "namespaces": "namespaces"}


@require_GET
@login_required
def registry_detail(request: HttpRequest, registry: str) -> HttpResponse:
    # Anyone who holds something in the registry sees its page: it is how a developer with
    # AcrPush on one namespace finds the login server and the way to their repositories.
    found = access.registry_for(request, registry, None)
    fragment = DETAIL_FRAGMENTS.get(htmx_target(request))
    return render_page(
        request,
        "registry/registry_detail.html",
        _registry_detail_context(request, found),
        fragment=fragment,
    )


@require_http_methods(["GET", "POST"])
@login_required
def registry_edit(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, "registry/write")
    initial = {field: getattr(found, field) for field in services.REGISTRY_FIELDS}
    form = RegistryEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.registry_update(actor=request.user, registry=found, **form.cleaned_data)
        except ValidationError as exc:
            found.refresh_from_db()
            add_service_error(form, exc)
        else:
            messages.success(request, f"Registry {found.name} saved.")
            return redirect("registry:registry_detail", registry=found.name)
    return render_page(request, "registry/registry_form.html", _form_context(form, found))


@require_http_methods(["GET", "POST"])
@login_required
def registry_delete(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, "registry/delete")
    if request.method == "POST":
        name = found.name
        services.registry_delete(actor=request.user, registry=found)
        messages.success(
            request,
            f"Registry {name} was removed from the portal. "
            "Nothing stored in the registry itself was touched.",
        )
        target = reverse("registry:registry_list")
        return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)
    # Only someone holding the whole registry gets here; counting what they can see keeps every
    # count on the pages one rule.
    repositories = access.visible_repositories(request, found.name, found.repositories.all())
    namespaces = access.visible_namespaces(request, found, found.namespaces.all())
    context = {
        "registry": found,
        "repository_count": repositories.count(),
        "namespace_count": namespaces.count(),
    }
    return render_page(
        request, "registry/registry_confirm_delete.html", context, fragment="confirm"
    )


@require_POST
@login_required
def registry_sync(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, "registry/write")
    services.registry_sync_request(actor=request.user, registry=found)
    found.refresh_from_db()  # a worker that runs tasks at once has synced already
    messages.info(
        request,
        f"Sync of {found.name} queued: the index catches up with the registry in the background.",
    )
    if not wants_fragment(request):
        return redirect("registry:registry_detail", registry=found.name)
    response = render_page(
        request, "registry/registry_detail.html", {"registry": found}, fragment="health"
    )
    return announce(response, "registrySyncQueued", registry=found.name)


@require_POST
@login_required
def registry_check_health(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, "registry/read")
    services.registry_check_health(registry=found)
    if not wants_fragment(request):
        if found.is_healthy:
            messages.success(request, f"Registry {found.name} answered: {found.health_detail}.")
        else:
            messages.error(request, f"Registry {found.name} did not answer: {found.health_detail}")
        return redirect("registry:registry_detail", registry=found.name)
    response = render_page(
        request, "registry/registry_detail.html", {"registry": found}, fragment="health"
    )
    return announce(
        response, "registryHealthChecked", registry=found.name, is_healthy=found.is_healthy
    )
