"""Who may do what in the HTML views: the permissions engine, asked once per request.

Every view asks here before it reads or changes anything. What the signed-in user holds is read
once per request (``grants``), so a page costs one permission query however many questions it
asks. Something the user cannot see at all is a 404, exactly as if it did not exist, so names
leak nothing; something visible that the user may not do is a 403 that says which action is
missing (DESIGN.md rule 1).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from registry.models import Namespace, Registry, Repository
from registry.permissions import engine
from registry.permissions.scopes import ROOT, Scope

# Where registries are created and the audit log of everything lives.
ROOT_SCOPE = str(ROOT)
_CACHE_ATTRIBUTE = "_portcullis_grants"


def registry_scope(name: str) -> str:
    return str(Scope("registry", name))


def repository_scope(registry_name: str, repository_name: str) -> str:
    return str(Scope("repository", registry_name, repository_name))


def namespace_scope(registry_name: str, namespace_name: str) -> str:
    return str(Scope("namespace", registry_name, namespace_name))


def grants(request: HttpRequest) -> engine.Grants:
    """What the signed-in user holds, read on the first question of the request."""
    # DRF wraps the Django request; keep one answer for both.
    target = getattr(request, "_request", request)
    found = getattr(target, _CACHE_ATTRIBUTE, None)
    if found is None:
        found = engine.grants_of(request.user)
        setattr(target, _CACHE_ATTRIBUTE, found)
    return found


def is_allowed(request: HttpRequest, action: str, scope: str) -> bool:
    """Whether the signed-in user may do ``action`` at ``scope``."""
    return grants(request).allows(action, scope)


def authorize(request: HttpRequest, action: str | None, scope: str) -> None:
    """Return when the user may do ``action`` at ``scope`` (with no action: may see it); 404
    when they cannot see the scope, 403 when they can but may not do this."""
    held = grants(request)
    if not held.can_see(scope):
        raise Http404("Not found.")
    if action is not None and not held.allows(action, scope):
        raise PermissionDenied(f"You are not allowed to do {action} at {scope}.")


def authorize_any(request: HttpRequest, actions: Sequence[str], scope: str) -> None:
    """``authorize`` for what any one of ``actions`` allows (reviewing access: managing it,
    ``roleAssignments/write``, or auditing it, ``auditLog/read``)."""
    held = grants(request)
    if not held.can_see(scope):
        raise Http404("Not found.")
    if not any(held.allows(action, scope) for action in actions):
        raise PermissionDenied(f"You are not allowed to do {' or '.join(actions)} at {scope}.")


def registry_for(request: HttpRequest, name: str, action: str | None) -> Registry:
    """The registry called ``name`` (any case), once the user may do ``action`` on it (with no
    action: once they can see it, holding something in it)."""
    # The scope is a string, so the check needs no row: outsiders learn nothing about names.
    authorize(request, action, registry_scope(name))
    return get_object_or_404(Registry, name__iexact=name)


def repository_for(
    request: HttpRequest, registry_name: str, repository_name: str, action: str
) -> Repository:
    """The repository ``repository_name`` of a registry, once the user may do ``action`` on it."""
    authorize(request, action, repository_scope(registry_name, repository_name))
    return get_object_or_404(
        Repository.objects.select_related("registry"),
        registry__name__iexact=registry_name,
        name=repository_name,
    )


def visible_registries(request: HttpRequest, queryset: QuerySet[Registry]) -> QuerySet[Registry]:
    return _restricted(queryset, grants(request).registry_filter())


def visible_repositories(
    request: HttpRequest, registry_name: str, queryset: QuerySet, field: str = "name"
) -> QuerySet:
    """``queryset`` (rows of the registry ``registry_name`` whose ``field`` is a repository
    name) cut to the visible repositories."""
    return _restricted(queryset, grants(request).name_filter(registry_name, field=field))


def visible_namespaces(
    request: HttpRequest, registry: Registry, queryset: QuerySet[Namespace]
) -> QuerySet[Namespace]:
    return _restricted(queryset, grants(request).name_filter(registry.name, namespaces=True))


def _restricted(queryset: QuerySet, condition: Q | None) -> QuerySet:
    return queryset if condition is None else queryset.filter(condition)
