"""Who may do what in the HTML views: one place, so the permissions engine can replace it.

Every view asks here before it reads or changes anything. Scopes and actions are already the
permission model's (``/registries/{r}/repositories/{repo}``, ``metadata/read``), so swapping the
rule below for the engine changes no view. For now: signed-in staff users may do everything;
other signed-in users nothing (403).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from registry.models import Registry, Repository

REGISTRIES_SCOPE = "/registries"


def registry_scope(name: str) -> str:
    return f"{REGISTRIES_SCOPE}/{name}"


def repository_scope(registry_name: str, repository_name: str) -> str:
    return f"{registry_scope(registry_name)}/repositories/{repository_name}"


def namespace_scope(registry_name: str, namespace_name: str) -> str:
    return f"{registry_scope(registry_name)}/namespaces/{namespace_name}"


def is_allowed(user: Any, action: str, scope: str) -> bool:
    """Whether ``user`` may do ``action`` at ``scope``."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def authorize(request: HttpRequest, action: str, scope: str) -> None:
    """Raise PermissionDenied (403) unless the signed-in user may do ``action`` at ``scope``."""
    if not is_allowed(request.user, action, scope):
        raise PermissionDenied(f"You are not allowed to do {action} at {scope}.")


def registry_for(request: HttpRequest, name: str, action: str) -> Registry:
    """The registry called ``name`` (any case), once the user may do ``action`` on it."""
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
