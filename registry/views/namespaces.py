"""Namespaces of a registry: created, edited and deleted in place on the registry page (htmx),
each with a page of its own for browsers without JavaScript."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from registry import selectors, services
from registry.forms import NamespaceCreateForm, NamespaceEditForm, add_service_error
from registry.models import Namespace, Registry
from registry.views import access
from registry.views.rendering import announce, htmx_target, render_page, wants_fragment

DETAIL_TEMPLATE = "registry/registry_detail.html"


def namespaces_context(
    request: HttpRequest, registry: Registry, form: NamespaceCreateForm | None = None
) -> dict:
    """What the registry page's namespaces region needs: the namespaces the user can see."""
    every = selectors.namespace_list(registry=registry)
    namespaces = list(access.visible_namespaces(request, registry, every))
    limit = registry.limits.namespaces
    # Of the visible ones: those who may add a namespace see them all, so the limit still
    # reads right for them, and others learn nothing of namespaces they cannot see.
    count = len(namespaces)
    return {
        "registry": registry,
        "namespaces": namespaces,
        "namespace_count": count,
        "namespace_limit": limit,
        "namespace_limit_reached": limit is not None and count >= limit,
        "namespace_form": form or NamespaceCreateForm(registry=registry),
    }


def _namespace_for(
    request: HttpRequest, registry: str, namespace: str, action: str | None
) -> Namespace:
    access.authorize(request, action, access.namespace_scope(registry, namespace))
    return get_object_or_404(
        Namespace.objects.select_related("registry").prefetch_related("owners"),
        registry__name__iexact=registry,
        name=namespace,
    )


def _visible_repository_count(request: HttpRequest, namespace: Namespace) -> int:
    """How many repositories under ``namespace`` the user can see (someone who sees it for a
    grant on one repository inside it counts that one)."""
    inside = namespace.registry.repositories.in_namespace(namespace.name)
    return access.visible_repositories(request, namespace.registry.name, inside).count()


def _registry_page(namespace_or_registry: Namespace | Registry) -> str:
    registry = getattr(namespace_or_registry, "registry", namespace_or_registry)
    return reverse("registry:registry_detail", kwargs={"registry": registry.name}) + "#namespaces"


def _changed(response: HttpResponse, registry: Registry, name: str, change: str) -> HttpResponse:
    return announce(
        response, "namespaceChanged", registry=registry.name, namespace=name, change=change
    )


@require_http_methods(["GET", "POST"])
@login_required
def namespace_create(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, "registry/write")
    form = NamespaceCreateForm(request.POST or None, registry=found)
    if request.method == "POST" and form.is_valid():
        try:
            namespace = services.namespace_create(
                actor=request.user,
                registry=found,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                owners=form.cleaned_data["owners"],
                approvals_required=form.cleaned_data["approvals_required"] or 1,
                permanent_grants_allowed=form.cleaned_data["permanent_grants_allowed"],
            )
        except (ValidationError, services.ActionRefused) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Namespace {namespace.name} created.")
            if not wants_fragment(request):
                return redirect(_registry_page(found))
            response = render_page(
                request, DETAIL_TEMPLATE, namespaces_context(request, found), fragment="namespaces"
            )
            return _changed(response, found, namespace.name, "created")
    if wants_fragment(request):
        return render_page(
            request,
            DETAIL_TEMPLATE,
            namespaces_context(request, found, form),
            fragment="namespaces",
        )
    context = {"registry": found, "form": form, "namespace": None}
    return render_page(request, "registry/namespace_form.html", context)


@require_GET
@login_required
def namespace_detail(request: HttpRequest, registry: str, namespace: str) -> HttpResponse:
    found = _namespace_for(request, registry, namespace, None)
    if htmx_target(request) == f"namespace-{found.pk}":
        # "Cancel" on an inline edit or delete puts the plain row back.
        return render_page(
            request,
            DETAIL_TEMPLATE,
            {"registry": found.registry, "namespace": found},
            fragment="namespace_row",
        )
    context: dict[str, Any] = {
        "registry": found.registry,
        "namespace": found,
        "repository_count": _visible_repository_count(request, found),
    }
    return render_page(request, "registry/namespace_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def namespace_edit(request: HttpRequest, registry: str, namespace: str) -> HttpResponse:
    found = _namespace_for(request, registry, namespace, "registry/write")
    initial = {
        "description": found.description,
        "owners": list(found.owners.all()),
        "approvals_required": found.approvals_required,
        "permanent_grants_allowed": found.permanent_grants_allowed,
    }
    form = NamespaceEditForm(request.POST or None, initial=initial, auto_id=f"ns{found.pk}_%s")
    # The form replaces the row the focus was on; take the focus along.
    form.fields["description"].widget.attrs["autofocus"] = True
    if request.method == "POST" and form.is_valid():
        try:
            services.namespace_update(
                actor=request.user,
                namespace=found,
                description=form.cleaned_data["description"],
                owners=form.cleaned_data["owners"],
                approvals_required=form.cleaned_data["approvals_required"],
                permanent_grants_allowed=form.cleaned_data["permanent_grants_allowed"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Namespace {found.name} saved.")
            if not wants_fragment(request):
                return redirect(_registry_page(found))
            found = _namespace_for(request, registry, namespace, None)
            response = render_page(
                request,
                DETAIL_TEMPLATE,
                {"registry": found.registry, "namespace": found},
                fragment="namespace_row",
            )
            return _changed(response, found.registry, found.name, "updated")
    context = {"registry": found.registry, "namespace": found, "form": form}
    return render_page(request, "registry/namespace_form.html", context, fragment="edit_row")


@require_http_methods(["GET", "POST"])
@login_required
def namespace_delete(request: HttpRequest, registry: str, namespace: str) -> HttpResponse:
    found = _namespace_for(request, registry, namespace, "registry/write")
    if request.method == "POST":
        owner = found.registry
        name = found.name
        services.namespace_delete(actor=request.user, namespace=found)
        messages.success(request, f"Namespace {name} deleted. Its repositories are untouched.")
        if not wants_fragment(request):
            return redirect(_registry_page(owner))
        response = render_page(
            request, DETAIL_TEMPLATE, namespaces_context(request, owner), fragment="namespaces"
        )
        return _changed(response, owner, name, "deleted")
    context = {
        "registry": found.registry,
        "namespace": found,
        "repository_count": _visible_repository_count(request, found),
    }
    return render_page(
        request, "registry/namespace_confirm_delete.html", context, fragment="confirm_row"
    )
