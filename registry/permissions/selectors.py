"""Reads of access control, already restricted to what the viewer may see: role assignments,
audit events and the principals that assignments can name.

Who sees which role assignment: everyone sees the assignments that name them (directly or
through a group), so people can learn what they hold. Beyond that, holding
``roleAssignments/write`` (managing access) or ``auditLog/read`` (reviewing it) at a scope shows
the assignments that apply there (at it and above it, inherited) and those inside it (below it).
A namespace owner of ``team-a`` thus sees who holds what on ``team-a`` and its repositories,
including Owners of the whole registry, and nothing of ``team-b``. Superusers and holders of
either action at ``/`` see every assignment.

Who sees which audit event: holding ``auditLog/read`` at a scope shows the events at it and
below it; at ``/`` every event.

Each function costs one query for its rows, whatever the number of assignments.
"""

from __future__ import annotations

import functools
import operator
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Lower

from accounts.models import Group, GroupMembership, ServicePrincipal, User
from registry.models import AuditEvent, RoleAssignment
from registry.permissions.actions import AUDIT_LOG_READ, ROLE_ASSIGNMENTS_WRITE
from registry.permissions.assignments import OBJECT_ID_RE, PrincipalType
from registry.permissions.engine import Grants
from registry.permissions.scopes import Scope

SCOPE_KEY = "scope_key"
# ``?scope_match=``: the scope itself, it and everything inside it, or it and everything above
# it (the assignments that apply there, inherited ones included).
SCOPE_MATCHES = ("exact", "at_and_below", "at_and_above")
# Those who may see the access of others (list assignments, check access, search principals).
ACCESS_REVIEW_ACTIONS = (ROLE_ASSIGNMENTS_WRITE, AUDIT_LOG_READ)


def _key(scope: Scope | str) -> str:
    return str(scope).lower()


def at_and_above(scope: Scope) -> Q:
    """Rows (annotated with ``scope_key``) whose scope covers ``scope``."""
    return Q(**{f"{SCOPE_KEY}__in": [_key(s) for s in scope.ancestors()]})


def at_and_below(scope: Scope) -> Q:
    """Rows (annotated with ``scope_key``) whose scope ``scope`` covers."""
    if scope.kind == "root":
        return Q()
    exact = Q(**{SCOPE_KEY: _key(scope)})
    if scope.kind == "repository":
        return exact
    if scope.kind == "registry":
        return exact | Q(**{f"{SCOPE_KEY}__startswith": f"{_key(scope)}/"})
    base = _key(Scope("registry", scope.registry))
    name = scope.name
    return (
        exact
        | Q(**{f"{SCOPE_KEY}__startswith": f"{base}/namespaces/{name}/"})
        | Q(**{f"{SCOPE_KEY}__startswith": f"{base}/repositories/{name}/"})
    )


def scope_match(scope: Scope, match: str) -> Q:
    if match == "at_and_below":
        return at_and_below(scope)
    if match == "at_and_above":
        return at_and_above(scope)
    return Q(**{SCOPE_KEY: _key(scope)})


def _any(terms: list[Q]) -> Q:
    return functools.reduce(operator.or_, terms) if terms else Q(pk__in=[])


def _with_key(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(**{SCOPE_KEY: Lower("scope")})


# Role assignments ------------------------------------------------------------------------


def _own(viewer: Any) -> Q:
    if not isinstance(viewer, User):
        return Q(pk__in=[])
    groups = GroupMembership.objects.filter(user=viewer).values("group_id")
    return Q(user=viewer) | Q(group_id__in=Subquery(groups))


def own_assignments(viewer: Any) -> QuerySet[RoleAssignment]:
    """The assignments that name ``viewer`` or one of their groups, expired ones included."""
    return (
        _with_key(RoleAssignment.objects.filter(_own(viewer)))
        .select_related("role", "user", "group", "service_principal", "created_by")
        .order_by(SCOPE_KEY, "id")
    )


def reviewable_assignments(grants: Grants) -> Q | None:
    """A filter for the assignments that the holder of ``grants`` may review; None: all."""
    scopes = grants.scopes_with(*ACCESS_REVIEW_ACTIONS)
    if any(s.kind == "root" for s in scopes):
        return None
    return _any([at_and_above(s) | at_and_below(s) for s in scopes])


def role_assignment_list(
    *,
    viewer: Any,
    grants: Grants,
    scope: Scope | None = None,
    match: str = "exact",
    principal: tuple[str, str] | None = None,
) -> QuerySet[RoleAssignment]:
    """The role assignments ``viewer`` may see, optionally at ``scope`` (``match``) and for one
    principal (a ``(principal_type, reference)`` pair, matched by name without a lookup)."""
    queryset = _with_key(RoleAssignment.objects.all()).select_related(
        "role", "user", "group", "service_principal", "created_by"
    )
    reviewable = reviewable_assignments(grants)
    if reviewable is not None:
        queryset = queryset.filter(reviewable | _own(viewer))
    if scope is not None:
        queryset = queryset.filter(scope_match(scope, match))
    if principal is not None:
        queryset = queryset.filter(principal_filter(*principal))
    return queryset


def principal_filter(principal_type: str, reference: str) -> Q:
    """Assignments of the principal ``reference`` names, as ``principal_find`` would find it."""
    if principal_type == PrincipalType.USER:
        condition = Q(user__username=reference)
        if "@" in reference:
            condition |= Q(user__email__iexact=reference)
        return condition
    if principal_type == PrincipalType.GROUP:
        condition = Q(group__name=reference)
        if OBJECT_ID_RE.fullmatch(reference):
            condition |= Q(group__object_id__iexact=reference)
        return condition
    condition = Q(service_principal__name=reference)
    client_id = _uuid(reference)
    if client_id is not None:
        condition |= Q(service_principal__client_id=client_id)
    return condition


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def can_review_someone(grants: Grants) -> bool:
    """Whether ``grants`` let their holder look at the access of others anywhere."""
    return bool(grants.scopes_with(*ACCESS_REVIEW_ACTIONS))


# Audit events ----------------------------------------------------------------------------


def audit_scopes_filter(grants: Grants) -> Q | None:
    """A filter for the audit events ``grants`` may read; None: all of them."""
    scopes = grants.scopes_with(AUDIT_LOG_READ)
    if any(s.kind == "root" for s in scopes):
        return None
    return _any([at_and_below(s) for s in scopes])


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    scope: Scope | None = None
    match: str = "exact"
    action: str = ""  # exact, or a prefix ending in "*": ``roleAssignment.*``
    since: datetime | None = None
    until: datetime | None = None


def audit_event_list(*, grants: Grants, filters: AuditFilters) -> QuerySet[AuditEvent]:
    queryset = _with_key(AuditEvent.objects.all())
    visible = audit_scopes_filter(grants)
    if visible is not None:
        queryset = queryset.filter(visible)
    if filters.actor:
        queryset = queryset.filter(actor_name__iexact=filters.actor)
    if filters.scope is not None:
        queryset = queryset.filter(scope_match(filters.scope, filters.match))
    if filters.action.endswith("*"):
        queryset = queryset.filter(action__startswith=filters.action[:-1])
    elif filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.since is not None:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until is not None:
        queryset = queryset.filter(created_at__lt=filters.until)
    return queryset


# Principals ------------------------------------------------------------------------------


def user_list(*, search: str = "") -> QuerySet[User]:
    queryset = User.objects.all()
    if search:
        queryset = queryset.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    return queryset


def group_list(*, search: str = "") -> QuerySet[Group]:
    queryset = Group.objects.all()
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(object_id__iexact=search))
    return queryset


def service_principal_list(*, search: str = "") -> QuerySet[ServicePrincipal]:
    queryset = ServicePrincipal.objects.all()
    if search:
        condition = Q(name__icontains=search) | Q(description__icontains=search)
        client_id = _uuid(search)
        if client_id is not None:
            condition |= Q(client_id=client_id)
        queryset = queryset.filter(condition)
    return queryset
