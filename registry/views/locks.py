"""Editing ACR's locks (``write_enabled``, ``delete_enabled``, ``read_enabled``, ``list_enabled``)
of a repository or a tag: one form, swapped in place with htmx."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from registry import services
from registry.forms import LocksForm
from registry.models import Repository, Tag
from registry.views import access
from registry.views.rendering import announce, render_page, wants_fragment

TEMPLATE = "registry/locks.html"


@require_POST
@login_required
def repository_locks(request: HttpRequest, registry: str, repository: str) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "metadata/write")
    page = reverse("registry:repository_detail", args=[found.registry.name, found.name])
    return _update(request, found, page, services.repository_update_locks, repository=found)


@require_POST
@login_required
def tag_locks(request: HttpRequest, registry: str, repository: str, tag: str) -> HttpResponse:
    found = access.repository_for(request, registry, repository, "metadata/write")
    tag_row = get_object_or_404(Tag, repository=found, name=tag)
    page = reverse("registry:tag_detail", args=[found.registry.name, found.name, tag_row.name])
    return _update(request, tag_row, page, services.tag_update_locks, tag=tag_row)


def _update(
    request: HttpRequest, obj: Repository | Tag, page: str, update: Any, **target: Any
) -> HttpResponse:
    form = LocksForm(request.POST)
    form.is_valid()  # four optional booleans: always valid
    update(actor=request.user, **target, **form.cleaned_data)
    what = f"tag {obj.name}" if isinstance(obj, Tag) else f"repository {obj.name}"
    messages.success(request, f"Locks of {what} saved.")
    if not wants_fragment(request):
        return redirect(page)
    context = {"object": obj, "action": request.path, "can_edit": True}
    return announce(render_page(request, TEMPLATE, context), "locksChanged", scope=page)
