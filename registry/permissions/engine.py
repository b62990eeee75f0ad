"""The permissions engine: effective actions of a principal at a scope, an explanation of a
decision, and querysets restricted to what a principal may see (DESIGN.md rule 1).

A principal is a user (their own assignments and their groups') or a service principal.
Assignments apply at their scope and everything it covers (registry → namespace → nested
namespace → repository); expired ones grant nothing. Superusers may do everything. Each answer
costs one query, however many assignments there are.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Lower

from accounts.models import GroupMembership, ServicePrincipal
from registry.models import Registry, Repository, RoleAssignment
from registry.permissions.actions import ACTIONS
from registry.permissions.scopes import Scope, parse_scope


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explanation: str
    via: tuple[int, ...] = ()  # the ids of the assignments that grant the action


def _as_scope(scope: Scope | str) -> Scope:
    return scope if isinstance(scope, Scope) else parse_scope(scope)


def _is_superuser(principal: Any) -> bool:
    return bool(getattr(principal, "is_superuser", False) and principal.is_active)


def _principal_assignments(principal: Any) -> QuerySet[RoleAssignment] | None:
    """The unexpired assignments that apply to ``principal``, or None if it can hold none."""
    if isinstance(principal, ServicePrincipal):
        if not principal.enabled:
            return None
        return RoleAssignment.objects.unexpired().filter(service_principal=principal)
    if not getattr(principal, "is_authenticated", False) or not principal.is_active:
        return None
    groups = GroupMembership.objects.filter(user=principal).values("group_id")
    return RoleAssignment.objects.unexpired().filter(
        Q(user=principal) | Q(group_id__in=Subquery(groups))
    )


def assignments_at(principal: Any, scope: Scope | str) -> list[RoleAssignment]:
    """The assignments of ``principal`` that apply at ``scope`` (at it or above it)."""
    assignments = _principal_assignments(principal)
    if assignments is None:
        return []
    keys = [str(s).lower() for s in _as_scope(scope).ancestors()]
    return list(
        assignments.annotate(scope_key=Lower("scope"))
        .filter(scope_key__in=keys)
        .select_related("role", "user", "group", "service_principal")
        .order_by("id")
    )


def effective_actions(principal: Any, scope: Scope | str) -> frozenset[str]:
    if _is_superuser(principal):
        return frozenset(ACTIONS)
    return frozenset(
        action
        for assignment in assignments_at(principal, scope)
        for action in assignment.role.actions
    )


def is_allowed(principal: Any, action: str, scope: Scope | str) -> bool:
    return action in effective_actions(principal, scope)


def explain(principal: Any, action: str, scope: Scope | str) -> Decision:
    """Whether ``principal`` may do ``action`` at ``scope``, and why, for people to read."""
    scope = _as_scope(scope)
    if _is_superuser(principal):
        return Decision(True, f"allowed: {principal} is a superuser")
    granting = [a for a in assignments_at(principal, scope) if action in a.role.actions]
    if not granting:
        return Decision(False, f"denied: no assignment grants {action} at {scope}")
    reasons = "; ".join(f"{a.role.name} assigned to {_describe(a)} at {a.scope}" for a in granting)
    return Decision(True, f"allowed via {reasons}", tuple(a.pk for a in granting))


def _describe(assignment: RoleAssignment) -> str:
    kind = RoleAssignment.PrincipalType(assignment.principal_type).label.lower()
    return f"{kind} {assignment.principal}"


# Visibility -----------------------------------------------------------------------------------


def _held_scopes(principal: Any) -> list[Scope]:
    assignments = _principal_assignments(principal)
    if assignments is None:
        return []
    scopes = []
    for text in assignments.values_list("scope", flat=True):
        try:
            scopes.append(parse_scope(text))
        except ValueError:
            continue  # a malformed stored scope grants nothing
    return scopes


def visible_registries(
    principal: Any, queryset: QuerySet[Registry] | None = None
) -> QuerySet[Registry]:
    """Registries where ``principal`` holds some action, at the registry or anywhere in it."""
    queryset = queryset if queryset is not None else Registry.objects.all()
    if _is_superuser(principal):
        return queryset
    scopes = _held_scopes(principal)
    if any(s.kind == "root" for s in scopes):
        return queryset
    names = {s.registry.lower() for s in scopes}
    return queryset.annotate(name_key=Lower("name")).filter(name_key__in=names)


def visible_repositories(
    principal: Any, registry: Registry, queryset: QuerySet[Repository] | None = None
) -> QuerySet[Repository]:
    """Repositories of ``registry`` that an assignment of ``principal`` covers."""
    queryset = queryset if queryset is not None else registry.repositories.all()
    if _is_superuser(principal):
        return queryset
    terms: list[Q] = []
    for scope in _held_scopes(principal):
        if scope.kind == "root" or (
            scope.kind == "registry" and scope.registry.lower() == registry.name.lower()
        ):
            return queryset
        if scope.registry.lower() != registry.name.lower():
            continue
        if scope.kind == "namespace":
            terms.append(Q(name__startswith=f"{scope.name}/"))
        elif scope.kind == "repository":
            terms.append(Q(name=scope.name))
    if not terms:
        return queryset.none()
    return queryset.filter(functools.reduce(operator.or_, terms))
