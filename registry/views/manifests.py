"""Manifests and tags: show a manifest (by digest or through a tag), untag, delete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from registry import selectors, services
from registry.models import Manifest, Repository, Tag
from registry.views import access
from registry.views.rendering import announce, htmx_target, render_page, wants_fragment


def _manifest(repository: Repository, **lookup: Any) -> Manifest:
    return get_object_or_404(selectors.manifest_detail_queryset(repository=repository), **lookup)


def _tag(repository: Repository, name: str) -> Tag:
    return get_object_or_404(
        Tag.objects.select_related("manifest", "repository__registry"),
        repository=repository,
        name=name,
    )


def _manifest_page(
    request: HttpRequest, repository: Repository, manifest: Manifest, tag: Tag | None
) -> HttpResponse:
    tags = list(manifest.tags.all())
    children = list(manifest.children.all())
    context = {
        "registry": repository.registry,
        "repository": repository,
        "manifest": manifest,
        "tag": tag,
        "tags": tags,
        "children": children,
        # Indexes that list this manifest (a platform image of a multi-arch tag).
        "parents": list(manifest.parents.order_by("digest")),
        "media_type_label": _media_type_label(manifest.media_type),
        "layers_size": sum(int(layer.get("size") or 0) for layer in manifest.layers),
        "pull_tag": tag or (tags[0] if tags else None),
        "can_edit_locks": access.is_allowed(request, "metadata/write", repository.scope),
    }
    return render_page(request, "registry/manifest_detail.html", context)


def _media_type_label(media_type: str) -> str:
    try:
        return Manifest.MediaType(media_type).label
    except ValueError:
        return media_type or "unknown"


@require_GET
@login_required
def manifest_detail(
    request: HttpRequest, registry: str, repository: str, digest: str
) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "metadata/read")
    manifest = _manifest(found, digest=digest)
    return _manifest_page(request, found, manifest, None)


@require_GET
@login_required
def tag_detail(request: HttpRequest, registry: str, repository: str, tag: str) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "metadata/read")
    tag_row = _tag(found, tag)
    if htmx_target(request) == f"tag-{tag_row.pk}":
        # "Cancel" on an inline untag puts the plain row of the tag list back.
        context = {"registry": found.registry, "repository": found, "tag": tag_row}
        return render_page(request, "registry/repository_detail.html", context, fragment="tag_row")
    return _manifest_page(request, found, _manifest(found, pk=tag_row.manifest_id), tag_row)


@require_http_methods(["GET", "POST"])
@login_required
def tag_delete(request: HttpRequest, registry: str, repository: str, tag: str) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "metadata/write")
    tag_row = _tag(found, tag)
    # The same confirmation serves a row of the tag list and the manifest page's region.
    in_row = htmx_target(request) == f"tag-{tag_row.pk}"
    fragment = "confirm_row" if in_row else "confirm"
    context: dict[str, Any] = {
        "registry": found.registry,
        "repository": found,
        "tag": tag_row,
        "other_tags": tag_row.manifest.tags.exclude(pk=tag_row.pk).count(),
        "error": "",
        "next": _next_url(request, request.POST if request.method == "POST" else request.GET),
    }
    if request.method == "POST":
        try:
            services.tag_delete(actor=request.user, tag=tag_row)
        except services.ActionRefused as exc:
            context["error"] = str(exc)
            return render_page(
                request,
                "registry/tag_confirm_delete.html",
                context,
                fragment=fragment,
                status=409,
            )
        messages.success(request, f"Tag {tag_row.name} removed from {found.name}.")
        manifest_url = reverse(
            "registry:manifest_detail",
            kwargs={
                "registry": found.registry.name,
                "repository": found.name,
                "digest": tag_row.manifest.digest,
            },
        )
        if in_row:
            # An empty answer swapped over the row removes it.
            response = HttpResponse("")
            return announce(response, "tagDeleted", repository=found.name, tag=tag_row.name)
        if wants_fragment(request):
            return HttpResponseClientRedirect(manifest_url)
        return redirect(context["next"] or manifest_url)
    return render_page(request, "registry/tag_confirm_delete.html", context, fragment=fragment)


def _next_url(request: HttpRequest, data: Any) -> str:
    """Where to go after a confirmation, if the page that asked named a place on this site."""
    url = data.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if allowed else ""


@require_http_methods(["GET", "POST"])
@login_required
def manifest_delete(
    request: HttpRequest, registry: str, repository: str, digest: str
) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "content/delete")
    manifest = _manifest(found, digest=digest)
    context = {
        "registry": found.registry,
        "repository": found,
        "manifest": manifest,
        "tags": list(manifest.tags.all()),
        "children": list(manifest.children.all()),
        "error": "",
    }
    if request.method == "POST":
        try:
            tags = services.manifest_delete(actor=request.user, manifest=manifest)
        except services.ActionRefused as exc:
            context["error"] = str(exc)
            return render_page(
                request,
                "registry/manifest_confirm_delete.html",
                context,
                fragment="confirm",
                status=409,
            )
        gone = f" with tag(s) {', '.join(tags)}" if tags else ""
        messages.success(request, f"Manifest {manifest.short_digest} deleted{gone}.")
        target = reverse(
            "registry:repository_detail",
            kwargs={"registry": found.registry.name, "repository": found.name},
        )
        return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)
    return render_page(
        request, "registry/manifest_confirm_delete.html", context, fragment="confirm"
    )
