"""The repository browser: search and filter a registry's repositories, show one with its tags."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from registry import selectors, services
from registry.models import RegistryEvent
from registry.views import access
from registry.views.pagination import paginate
from registry.views.rendering import htmx_target, render_page, wants_fragment

UNTAGGED_SHOWN = 50
RECENT_EVENTS = 10
TAG_ORDER_LABELS = {"time_desc": "Newest first", "time_asc": "Oldest first", "name": "Name"}
# Longer input is no search a person typed; cut it rather than send it to the database.
MAX_SEARCH_LENGTH = 255


@require_GET
@login_required
def repository_list(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, None)
    search = request.GET.get("q", "").strip()[:MAX_SEARCH_LENGTH]
    namespace = request.GET.get("namespace", "").strip()[:MAX_SEARCH_LENGTH]
    repositories = selectors.repository_list(registry=found, search=search, namespace=namespace)
    page = paginate(request, access.visible_repositories(request, found.name, repositories))
    namespaces = access.visible_namespaces(request, found, found.namespaces.order_by("name"))
    context = {
        "registry": found,
        "page": page,
        "search": search,
        "namespace": namespace,
        "namespace_names": list(namespaces.values_list("name", flat=True)),
    }
    fragment = "results" if htmx_target(request) in {"", "repository-results"} else None
    return render_page(request, "registry/repository_list.html", context, fragment=fragment)


@require_GET
@login_required
def repository_detail(request: HttpRequest, registry: str, repository: str) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "metadata/read")
    order = request.GET.get("orderby", selectors.DEFAULT_TAG_ORDER)
    if order not in selectors.TAG_ORDERINGS:
        order = selectors.DEFAULT_TAG_ORDER
    page = paginate(request, selectors.tag_list(repository=found, order=order))
    context = {
        "registry": found.registry,
        "repository": found,
        "page": page,
        "order": order,
        "order_labels": TAG_ORDER_LABELS,
        "manifest_count": found.manifests.count(),
        "can_edit_locks": access.is_allowed(request, "metadata/write", found.scope),
    }
    fragment = "tags" if htmx_target(request) == "tags" else None
    if fragment is None:
        # Images that no tag and no index point at are reachable only by digest: list them.
        untagged = found.manifests.filter(tags__isnull=True, parents__isnull=True)
        shown = list(untagged.order_by("-created_at", "digest")[: UNTAGGED_SHOWN + 1])
        context["untagged"] = shown[:UNTAGGED_SHOWN]
        context["untagged_more"] = len(shown) > UNTAGGED_SHOWN
        context["recent_events"] = list(
            RegistryEvent.objects.filter(registry=found.registry, repository=found.name)
            .exclude(status=RegistryEvent.Status.IGNORED)
            .order_by("-received_at", "-pk")[:RECENT_EVENTS]
        )
    return render_page(request, "registry/repository_detail.html", context, fragment=fragment)


@require_http_methods(["GET", "POST"])
@login_required
def repository_delete(request: HttpRequest, registry: str, repository: str) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "content/delete")
    context = {
        "registry": found.registry,
        "repository": found,
        "manifest_count": found.manifests.count(),
        "tag_count": found.tags.count(),
        "error": "",
    }
    if request.method == "POST":
        name = found.name
        try:
            deleted = services.repository_delete(actor=request.user, repository=found)
        except services.ActionRefused as exc:
            context["error"] = str(exc)
            return render_page(
                request,
                "registry/repository_confirm_delete.html",
                context,
                fragment="confirm",
                status=409,
            )
        messages.success(
            request,
            f"Repository {name} deleted: {deleted} manifest(s) removed from the registry.",
        )
        target = reverse("registry:repository_list", kwargs={"registry": found.registry.name})
        return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)
    return render_page(
        request, "registry/repository_confirm_delete.html", context, fragment="confirm"
    )
