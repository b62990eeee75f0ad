"""Who decides which access request, and who sees it (reads only).

**Approvers** of a request are the people who hold ``roleAssignments/write`` at its scope or
above (directly or through a group, unexpired), the owners of every namespace that covers the
scope (a namespace's owners are its team leads: they decide requests at the namespace, its
nested namespaces and the repositories under it, even without holding ``roleAssignments/write``
themselves), and superusers — never the requester, nor the principal the request is for.

A request is **readable** by its requester and by everyone with authority at its scope. The
authority test runs in SQL (``_authority``), so the inbox, the navigation's count and every
"may this person decide?" check are one query each and agree with each other; ``approvers_of``
answers the same question the other way round, for emails.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Concat, Lower
from django.db.models.lookups import Contains

from accounts.models import GroupMembership, User
from registry.models import AccessRequest, Namespace, RoleAssignment, RoleDefinition
from registry.permissions.actions import ROLE_ASSIGNMENTS_WRITE
from registry.permissions.scopes import parse_scope


def is_person(actor: Any) -> bool:
    """Access requests are asked and decided by people (signed-in, active users)."""
    return isinstance(actor, User) and actor.is_authenticated and actor.is_active


def deciding_roles() -> QuerySet[RoleDefinition]:
    """Roles that hold ``roleAssignments/write`` (built-in Owner and any custom one)."""
    # JSON containment differs between PostgreSQL and SQLite; the list's text does not.
    return RoleDefinition.objects.annotate(text=Cast("actions", TextField())).filter(
        text__contains=f'"{ROLE_ASSIGNMENTS_WRITE}"'
    )


def _authority(user: Any) -> Q | None:
    """A filter on ``AccessRequest`` for the requests ``user`` may decide; None: all of them."""
    if not is_person(user):
        return Q(pk__in=[])
    if user.is_superuser:
        return None
    groups = GroupMembership.objects.filter(user=user).values("group_id")
    assignments = (
        RoleAssignment.objects.unexpired()
        .filter(Q(user=user) | Q(group_id__in=groups))
        .filter(role_id__in=deciding_roles().values("pk"))
        .filter(
            Contains(OuterRef("scope_ancestry"), Concat(Value("|"), Lower("scope"), Value("|")))
        )
    )
    owned = Namespace.objects.filter(owners=user).filter(
        Contains(
            OuterRef("scope_ancestry"),
            Concat(
                Value("|/registries/"),
                Lower("registry__name"),
                Value("/namespaces/"),
                F("name"),
                Value("|"),
                output_field=TextField(),
            ),
        )
    )
    return Q(Exists(assignments)) | Q(Exists(owned))


def decidable_by(user: Any, queryset: QuerySet[AccessRequest] | None = None) -> QuerySet:
    """Requests at scopes where ``user`` may decide (their own included: see ``inbox``)."""
    queryset = queryset if queryset is not None else AccessRequest.objects.all()
    condition = _authority(user)
    return queryset if condition is None else queryset.filter(condition)


def readable_by(user: Any) -> QuerySet[AccessRequest]:
    """Requests ``user`` asked for or may decide."""
    if not is_person(user):
        return AccessRequest.objects.none()
    condition = _authority(user)
    if condition is None:
        return AccessRequest.objects.all()
    return AccessRequest.objects.filter(Q(requested_by=user) | condition)


def inbox(user: Any) -> QuerySet[AccessRequest]:
    """Pending requests waiting for ``user``'s decision: not their own, not yet approved by
    them."""
    if not is_person(user):
        return AccessRequest.objects.none()
    return (
        decidable_by(user, AccessRequest.objects.pending())
        .exclude(requested_by=user)
        .exclude(user=user)
        .exclude(approvals__approver=user)
    )


def inbox_count(user: Any) -> int:
    """The navigation's number: one query."""
    return inbox(user).count()


def with_details(queryset: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    """What lists and pages show of each request, without a query per row."""
    return queryset.select_related(
        "requested_by", "user", "service_principal", "role", "decided_by", "assignment"
    ).prefetch_related("approvals")


def may_decide(user: Any, access_request: AccessRequest) -> bool:
    return decidable_by(user).filter(pk=access_request.pk).exists()


def approvers_of(access_request: AccessRequest) -> list[User]:
    """The people who may decide ``access_request`` (for emails), by name; the superusers only
    when nobody else may, so a request never goes unseen."""
    keys = [key for key in access_request.scope_ancestry.split("|") if key]
    assignments = (
        RoleAssignment.objects.unexpired()
        .filter(role_id__in=deciding_roles().values("pk"))
        .annotate(key=Lower("scope"))
        .filter(key__in=keys)
    )
    scope = parse_scope(access_request.scope)
    namespaces = [a.name for a in scope.ancestors() if a.kind == "namespace"]
    owners = Namespace.owners.through.objects.filter(
        namespace__registry__name__iexact=scope.registry, namespace__name__in=namespaces
    )
    people = User.objects.filter(is_active=True).filter(
        Q(pk__in=assignments.filter(user__isnull=False).values("user_id"))
        | Q(
            pk__in=GroupMembership.objects.filter(
                group_id__in=assignments.filter(group__isnull=False).values("group_id")
            ).values("user_id")
        )
        | Q(pk__in=owners.values("user_id"))
    )
    not_involved = ~Q(pk=access_request.requested_by_id)
    if access_request.user_id:
        not_involved &= ~Q(pk=access_request.user_id)
    found = list(people.filter(not_involved).order_by("username"))
    if found:
        return found
    return list(
        User.objects.filter(is_active=True, is_superuser=True)
        .filter(not_involved)
        .order_by("username")
    )
