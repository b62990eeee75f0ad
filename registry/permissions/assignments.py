"""Writes to access control: custom roles and role assignments, each audited.

Scopes are checked against what exists and stored in the registry's own spelling, so the
engine's comparisons and the pages' links agree. Built-in roles cannot be changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Group, ServicePrincipal, User
from registry import audit
from registry.models import Namespace, Registry, Repository, RoleAssignment, RoleDefinition
from registry.permissions.actions import ACTIONS, validate_actions
from registry.permissions.scopes import ROOT, Scope, parse_scope

Principal = User | Group | ServicePrincipal


def canonical_scope(text: str) -> Scope:
    """The scope ``text`` names, once what it names exists; ValidationError otherwise."""
    try:
        scope = parse_scope(text.strip())
    except ValueError as exc:
        raise ValidationError({"scope": str(exc)}) from exc
    if scope == ROOT:
        return scope
    registry = Registry.objects.filter(name__iexact=scope.registry).first()
    if registry is None:
        raise ValidationError({"scope": f"There is no registry named {scope.registry!r}."})
    scope = Scope(scope.kind, registry.name, scope.name)
    if (
        scope.kind == "namespace"
        and not Namespace.objects.filter(registry=registry, name=scope.name).exists()
    ):
        raise ValidationError(
            {"scope": f"Registry {registry.name} has no namespace named {scope.name!r}."}
        )
    if (
        scope.kind == "repository"
        and not Repository.objects.filter(registry=registry, name=scope.name).exists()
    ):
        raise ValidationError(
            {"scope": f"Registry {registry.name} has no repository named {scope.name!r}."}
        )
    return scope


@transaction.atomic
def custom_role_create(
    *, actor: Any, name: str, actions: Iterable[str], description: str = ""
) -> RoleDefinition:
    try:
        chosen = validate_actions(actions)
    except ValueError as exc:
        raise ValidationError({"actions": str(exc)}) from exc
    if not chosen:
        raise ValidationError({"actions": "A role needs at least one action."})
    if RoleDefinition.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": f"A role named {name.strip()!r} exists already."})
    role = RoleDefinition(
        name=name.strip(),
        description=description,
        actions=[a for a in ACTIONS if a in chosen],
        is_builtin=False,
    )
    role.full_clean()
    role.save()
    audit.record(
        actor=actor, action="roleDefinition.create", scope="/", role=role.name, actions=role.actions
    )
    return role


@transaction.atomic
def role_assignment_create(
    *,
    actor: Any,
    role: RoleDefinition,
    scope: str,
    principal: Principal,
    expires_at: datetime | None = None,
    reason: str = "",
) -> RoleAssignment:
    canonical = canonical_scope(scope)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "An assignment cannot expire in the past."})
    field = {User: "user", Group: "group", ServicePrincipal: "service_principal"}[type(principal)]
    assignment = RoleAssignment.objects.create(
        role=role,
        scope=str(canonical),
        expires_at=expires_at,
        reason=reason,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **{field: principal},
    )
    audit.record(
        actor=actor,
        action="roleAssignment.create",
        scope=assignment.scope,
        role=role.name,
        principal_type=assignment.principal_type,
        principal=str(principal),
        expires_at=expires_at.isoformat() if expires_at else None,
        assignment=assignment.pk,
    )
    return assignment


@transaction.atomic
def role_assignment_delete(*, actor: Any, assignment: RoleAssignment) -> None:
    details = {
        "role": assignment.role.name,
        "principal_type": assignment.principal_type,
        "principal": str(assignment.principal),
        "assignment": assignment.pk,
    }
    scope = assignment.scope
    assignment.delete()
    audit.record(actor=actor, action="roleAssignment.delete", scope=scope, **details)
