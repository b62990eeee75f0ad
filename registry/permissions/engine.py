"""The permissions engine: effective actions of a principal at a scope, an explanation of a
decision, and querysets restricted to what a principal may see (DESIGN.md rule 1).

A principal is a user (their own assignments and their groups'), a group (its own assignments:
what every member gets from it) or a service principal.
Assignments apply at their scope and everything it covers (registry → namespace → nested
namespace → repository); expired ones grant nothing. Superusers may do everything. Each answer
costs one query, however many assignments there are; ``grants_of`` reads everything a principal
holds once, for a request that asks many questions.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.changes import CREDENTIALS, Memo
from accounts.models import Group, GroupMembership, ServicePrincipal
from registry.models import Registry, Repository, RoleAssignment
from registry.permissions.actions import ACTIONS
from registry.permissions.scopes import ROOT, Scope, parse_scope


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
    if isinstance(principal, Group):
        return RoleAssignment.objects.unexpired().filter(group=principal)
    if not getattr(principal, "is_authenticated", False) or not principal.is_active:
        return None
    groups = GroupMembership.objects.filter(user=principal).values("group_id")
    return RoleAssignment.objects.unexpired().filter(
        Q(user=principal) | Q(group_id__in=Subquery(groups))
    )


def _applying_at(principal: Any, scope: Scope | str) -> QuerySet[RoleAssignment] | None:
    """The unexpired assignments of ``principal`` at ``scope`` or above it, unevaluated."""
    assignments = _principal_assignments(principal)
    if assignments is None:
        return None
    keys = [str(s).lower() for s in _as_scope(scope).ancestors()]
    return assignments.annotate(scope_key=Lower("scope")).filter(scope_key__in=keys)


def assignments_at(principal: Any, scope: Scope | str) -> list[RoleAssignment]:
    """The assignments of ``principal`` that apply at ``scope`` (at it or above it)."""
    applying = _applying_at(principal, scope)
    if applying is None:
        return []
    return list(
        applying.select_related("role", "user", "group", "service_principal").order_by("id")
    )


def effective_actions(principal: Any, scope: Scope | str) -> frozenset[str]:
    if _is_superuser(principal):
        return frozenset(ACTIONS)
    applying = _applying_at(principal, scope)
    if applying is None:
        return frozenset()
    # Only the roles' actions: no rows to build (the token server asks this on every miss).
    roles = applying.order_by().values_list("role__actions", flat=True)
    return frozenset(action for actions in roles for action in actions)


def is_allowed(principal: Any, action: str, scope: Scope | str) -> bool:
    return action in effective_actions(principal, scope)


def explain(principal: Any, action: str, scope: Scope | str) -> Decision:
    """Whether ``principal`` may do ``action`` at ``scope``, and why, for people to read."""
    scope = _as_scope(scope)
    if _is_superuser(principal):
        return Decision(True, f"allowed: {principal} is a superuser")
    if isinstance(principal, ServicePrincipal) and not principal.enabled:
        return Decision(False, f"denied: service principal {principal} is disabled")
    if getattr(principal, "is_active", True) is False:
        return Decision(False, f"denied: the account of {principal} is inactive")
    granting = [a for a in assignments_at(principal, scope) if action in a.role.actions]
    if not granting:
        return Decision(False, f"denied: no assignment grants {action} at {scope}")
    reasons = "; ".join(f"{a.role.name} assigned to {_describe(a)} at {a.scope}" for a in granting)
    return Decision(True, f"allowed via {reasons}", tuple(a.pk for a in granting))


def _describe(assignment: RoleAssignment) -> str:
    kind = RoleAssignment.PrincipalType(assignment.principal_type).label.lower()
    return f"{kind} {assignment.principal}"


# Everything a principal holds, read once ------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    scope: Scope
    actions: frozenset[str]


@dataclass(frozen=True)
class Grants:
    """What one principal holds everywhere, read in one query, answered in Python.

    A request asks many questions of the same principal (may they read this registry, which of
    its repositories may they see, may they change locks here); loading the principal's
    assignments once keeps the cost of a page or an API call at one query however many
    questions it asks and however many assignments exist for other principals.
    """

    everything: bool
    grants: tuple[Grant, ...] = ()

    def fingerprint(self) -> str:
        """A text that two principals share only when they hold the same grants: what may be
        seen and done follows from it alone, so answers kept for one fit the other."""
        if self.everything:
            return "everything"
        held = sorted({(str(g.scope), ",".join(sorted(g.actions))) for g in self.grants})
        return "\n".join(f"{scope} {actions}" for scope, actions in held)

    def actions_at(self, scope: Scope | str) -> frozenset[str]:
        """The actions held at ``scope``: those of every grant that covers it."""
        if self.everything:
            return frozenset(ACTIONS)
        target = _as_scope(scope)
        held: set[str] = set()
        for grant in self.grants:
            if grant.scope.covers(target):
                held |= grant.actions
        return frozenset(held)

    def allows(self, action: str, scope: Scope | str) -> bool:
        return action in self.actions_at(scope)

    def scopes_with(self, *actions: str) -> tuple[Scope, ...]:
        """The scopes where any of ``actions`` is held (``/`` alone for everything)."""
        if self.everything:
            return (ROOT,)
        wanted = set(actions)
        return tuple(dict.fromkeys(g.scope for g in self.grants if g.actions & wanted))

    def can_see(self, scope: Scope | str) -> bool:
        """Whether ``scope`` is visible: some action is held at it, above it or inside it.

        A developer with AcrPush on namespace ``team-a`` sees the registry (to reach the
        namespace), the namespace and the repositories under it, and nothing of ``team-b``.
        """
        target = _as_scope(scope)
        if self.everything or target.kind == "root":
            return True  # the portal itself: where registries are listed and added
        return any(g.scope.covers(target) or target.covers(g.scope) for g in self.grants)

    def registry_filter(self) -> Q | None:
        """A filter on ``Registry`` for the visible ones; None when all are."""
        if self.everything or any(g.scope.kind == "root" for g in self.grants):
            return None
        names = {g.scope.registry.lower() for g in self.grants}
        return Q(name__iregex=_any_of(names)) if names else Q(pk__in=[])

    def name_filter(
        self, registry_name: str, *, namespaces: bool = False, field: str = "name"
    ) -> Q | None:
        """A filter on the ``name`` of a registry's repositories (or namespaces) for the
        visible ones; None when all are.

        A repository is visible when a grant covers it. A namespace is also visible when a
        grant lies inside it, so the path down to what someone may use stays reachable.
        ``field`` names the column holding the name (``repository`` on registry events).
        """
        if not self.can_see(Scope("registry", registry_name)):
            return Q(pk__in=[])
        if self.actions_at(Scope("registry", registry_name)) or self.everything:
            return None
        terms: list[Q] = []
        for grant in self.grants:
            scope = grant.scope
            if scope.kind not in {"namespace", "repository"}:
                continue
            if scope.registry.casefold() != registry_name.casefold():
                continue
            if scope.kind == "namespace":
                terms.append(
                    Q(**{field: scope.name}) | Q(**{f"{field}__startswith": f"{scope.name}/"})
                )
            elif not namespaces:
                # A repository grant shows no namespace of the same name (``can_see``): a
                # namespace ``team-a/app`` is not the repository ``team-a/app``.
                terms.append(Q(**{field: scope.name}))
            if namespaces:
                parts = scope.name.split("/")
                prefixes = ["/".join(parts[:i]) for i in range(1, len(parts))]
                terms.append(Q(**{f"{field}__in": prefixes}))
        if not terms:
            return Q(pk__in=[])
        return functools.reduce(operator.or_, terms)


def _any_of(names: set[str]) -> str:
    """A case-insensitive regular expression matching exactly one of ``names``.

    Registry names are alphanumeric (validated), so they need no escaping beyond re.escape.
    """
    return "^(" + "|".join(re.escape(n) for n in sorted(names)) + ")$"


@dataclass(frozen=True)
class _Held:
    """A principal's grants, and when the first of the assignments behind them expires."""

    grants: tuple[Grant, ...]
    until: datetime | None

    def holds(self) -> bool:
        return self.until is None or self.until > timezone.now()


# What each principal's assignments grant, while no assignment, role or group membership
# changes (accounts.changes; registry 0010 and accounts 0006 announce them) and none of them
# has expired.
HELD = Memo(CREDENTIALS)


def grants_of(principal: Any) -> Grants:
    """Everything ``principal`` holds, in one query (none for a superuser; none while the
    change feed vouches for the last answer)."""
    if _is_superuser(principal):
        return Grants(everything=True)
    assignments = _principal_assignments(principal)
    if assignments is None:
        return Grants(everything=False)
    held = HELD.get(
        (principal._meta.label, principal.pk),  # request.user may be a lazy object
        lambda: _held(assignments),
        keep=lambda held: True,  # holding nothing is an answer too
        fresh=_Held.holds,
    )
    return Grants(everything=False, grants=held.grants)


def _held(assignments: QuerySet[RoleAssignment]) -> _Held:
    grants = []
    until = None
    for text, actions, expires in assignments.values_list("scope", "role__actions", "expires_at"):
        try:
            grants.append(Grant(parse_scope(text), frozenset(actions)))
        except ValueError:
            continue  # a malformed stored scope grants nothing
        if expires is not None and (until is None or expires < until):
            until = expires
    return _Held(tuple(grants), until)


def visible_registries(
    principal: Any, queryset: QuerySet[Registry] | None = None
) -> QuerySet[Registry]:
    """Registries where ``principal`` holds some action, at the registry or anywhere in it."""
    queryset = queryset if queryset is not None else Registry.objects.all()
    condition = grants_of(principal).registry_filter()
    return queryset if condition is None else queryset.filter(condition)


def visible_repositories(
    principal: Any, registry: Registry, queryset: QuerySet[Repository] | None = None
) -> QuerySet[Repository]:
    """Repositories of ``registry`` that an assignment of ``principal`` covers."""
    queryset = queryset if queryset is not None else registry.repositories.all()
    condition = grants_of(principal).name_filter(registry.name)
    return queryset if condition is None else queryset.filter(condition)
