"""Writes to access control: custom roles and role assignments, each audited.

Scopes are checked against what exists and stored in the registry's own spelling, so the
engine's comparisons and the pages' links agree. Built-in roles cannot be changed.

Principals are named the way people and scripts know them (``principal_find``): a user by
username (or email), a group by name or directory object id, a service principal by client id
(or name). An administrator may assign a role before its holder has ever signed in
(``principal_get_or_invite``, as in ACR): to an email address no account has yet, which becomes
a placeholder user with that email and no usable password, or to a directory (Entra ID) group
object id, which becomes a group named after its id until a sign-in tells its display name.
Entra sign-in (a later issue) attaches to these rows by email and by object id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.entra.directory import entra_user_invite
from accounts.models import Group, ServicePrincipal, User
from registry import audit
from registry.models import Namespace, Registry, Repository, RoleAssignment, RoleDefinition
from registry.permissions.actions import ACTIONS, validate_actions
from registry.permissions.scopes import ROOT, Scope, parse_scope
from registry.services import ActionRefused

Principal = User | Group | ServicePrincipal

PrincipalType = RoleAssignment.PrincipalType
# How a principal is written where one string names it (``?principal=``, check-access):
# ``user:alice``, ``group:platform``, ``group:<object id>``, ``service_principal:<client id>``.
PRINCIPAL_PREFIXES = {
    "user": PrincipalType.USER,
    "group": PrincipalType.GROUP,
    "service_principal": PrincipalType.SERVICE_PRINCIPAL,
    "sp": PrincipalType.SERVICE_PRINCIPAL,
}
# A directory (Entra ID) object id.
OBJECT_ID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Role names appear in URLs (``role-definitions/{name}/``) and in scripts.
ROLE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ROLE_NAME_MESSAGE = (
    "Use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
    "(for example TagManager)."
)


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
    if not ROLE_NAME_RE.fullmatch(name.strip()):
        raise ValidationError({"name": ROLE_NAME_MESSAGE})
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
def custom_role_delete(*, actor: Any, role: RoleDefinition) -> None:
    """Remove a custom role nobody holds; built-in roles are read-only."""
    if role.is_builtin:
        raise ActionRefused(f"{role.name} is a built-in role: built-in roles are read-only.")
    # Locked, so an assignment cannot be added to the role between the count and the delete.
    role = RoleDefinition.objects.select_for_update().get(pk=role.pk)
    in_use = role.assignments.count()
    if in_use:
        raise ActionRefused(
            f"Role {role.name} is used by {in_use} role assignment(s), expired ones included; "
            "remove them first."
        )
    name = role.name
    role.delete()
    audit.record(actor=actor, action="roleDefinition.delete", scope="/", role=name)


# Principals ------------------------------------------------------------------------------


def parse_principal_reference(text: str) -> tuple[str, str]:
    """``user:alice`` → (``user``, ``alice``); ValidationError saying the grammar otherwise."""
    kind, colon, value = text.strip().partition(":")
    principal_type = PRINCIPAL_PREFIXES.get(kind.strip().lower())
    if not colon or principal_type is None or not value.strip():
        raise ValidationError(
            {
                "principal": f"{text!r} does not name a principal: write user:<username or "
                "email>, group:<name or object id> or service_principal:<client id or name>."
            }
        )
    return str(principal_type), value.strip()


def _not_found(message: str) -> ValidationError:
    return ValidationError({"principal": message})


def _find_user(reference: str) -> User | None:
    found = User.objects.filter(username=reference).first()
    if found is not None:
        return found
    if OBJECT_ID_RE.fullmatch(reference):
        found = User.objects.filter(entra_object_id=reference.lower()).first()
        if found is not None:
            return found
    lookups = ["username__iexact"] + (["email__iexact"] if "@" in reference else [])
    for lookup in lookups:
        matches = list(User.objects.filter(**{lookup: reference})[:2])
        if len(matches) > 1:
            raise _not_found(f"Several users match {reference!r}; use the exact username.")
        if matches:
            return matches[0]
    return None


def _find_group(reference: str) -> Group | None:
    if OBJECT_ID_RE.fullmatch(reference):
        found = Group.objects.filter(object_id__iexact=reference).first()
        if found is not None:
            return found
    matches = list(Group.objects.filter(name=reference)[:2])
    if len(matches) > 1:
        raise _not_found(f"Several groups are named {reference!r}; use the group's object id.")
    return matches[0] if matches else None


def _find_service_principal(reference: str) -> ServicePrincipal | None:
    try:
        client_id = uuid.UUID(reference)
    except ValueError:
        return ServicePrincipal.objects.filter(name=reference).first()
    return ServicePrincipal.objects.filter(client_id=client_id).first()


_FINDERS = {
    PrincipalType.USER: _find_user,
    PrincipalType.GROUP: _find_group,
    PrincipalType.SERVICE_PRINCIPAL: _find_service_principal,
}


def _lookup(principal_type: str, reference: str) -> Principal | None:
    """The principal, None when there is none; ValidationError when several match."""
    finder = _FINDERS.get(principal_type)
    if finder is None:
        raise ValidationError({"principal_type": "Use one of: user, group, service_principal."})
    return finder(reference)


def _missing(principal_type: str, reference: str, *, invitations: bool) -> ValidationError:
    if principal_type == PrincipalType.USER:
        message = f"There is no user with the username or email {reference!r}."
        hint = " To give access to someone who has not signed in yet, give their email address."
    elif principal_type == PrincipalType.GROUP:
        message = f"There is no group named {reference!r} and none with that object id."
        hint = (
            " To give access to a directory group before anyone of it signs in, give its object id."
        )
    else:
        message = f"There is no service principal with the client id or name {reference!r}."
        hint = ""
    return _not_found(message + (hint if invitations else ""))


def _invitable(principal_type: str, reference: str) -> bool:
    """Whether an unknown ``reference`` may become a placeholder (an email, an object id)."""
    if principal_type == PrincipalType.GROUP:
        return bool(OBJECT_ID_RE.fullmatch(reference))
    if principal_type != PrincipalType.USER:
        return False
    if OBJECT_ID_RE.fullmatch(reference):
        return True  # an Entra user's object id
    try:
        validate_email(reference)
    except ValidationError:
        return False
    return True


def principal_find(*, principal_type: str, reference: str) -> Principal:
    """The principal ``reference`` names; ValidationError on ``principal`` if none (or several).

    A user by username (exact, then ignoring case) or email; a group by object id or name; a
    service principal by client id or name.
    """
    reference = reference.strip()
    found = _lookup(principal_type, reference)
    if found is None:
        raise _missing(principal_type, reference, invitations=False)
    return found


def principal_get_or_invite(
    *, actor: Any, principal_type: str, reference: str, scope: str = "/"
) -> Principal:
    """The principal ``reference`` names, or a placeholder for one who has not signed in yet.

    An email address that no account has becomes a user (username and email: the address, in
    lowercase; no usable password, so nobody can sign in as it with a password); a user's Entra
    object id becomes a user named by it (``accounts.entra.directory.entra_user_invite``); a
    directory object id that no group has becomes a group named after the id. Entra sign-in
    attaches to them by email and object id. Each placeholder is audited at ``scope`` (where the
    access it is created for is given). Anything else unknown is refused.
    """
    reference = reference.strip()
    found = _lookup(principal_type, reference)
    if found is not None:
        return found
    if not _invitable(principal_type, reference):
        raise _missing(principal_type, reference, invitations=True)
    if principal_type == PrincipalType.USER and OBJECT_ID_RE.fullmatch(reference):
        return _entra_user_placeholder_create(actor=actor, object_id=reference, scope=scope)
    if principal_type == PrincipalType.USER:
        return _user_placeholder_create(actor=actor, email=reference.lower(), scope=scope)
    return _group_placeholder_create(actor=actor, object_id=reference.lower(), scope=scope)


@transaction.atomic
def _user_placeholder_create(*, actor: Any, email: str, scope: str) -> User:
    if len(email) > User._meta.get_field("username").max_length:
        raise _not_found("This email address is too long to become a username.")
    user = User(username=email, email=email)
    user.set_unusable_password()
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        problems = " ".join(" ".join(messages) for messages in exc.message_dict.values())
        raise _not_found(f"{email!r} cannot become a username: {problems}") from exc
    user.save()
    audit.record(actor=actor, action="user.invite", scope=scope, username=email, email=email)
    return user


@transaction.atomic
def _entra_user_placeholder_create(*, actor: Any, object_id: str, scope: str) -> User:
    """An Entra user named by directory object id; it becomes their account at first sign-in."""
    user = entra_user_invite(object_id=object_id)
    audit.record(actor=actor, action="user.invite", scope=scope, object_id=user.entra_object_id)
    return user


@transaction.atomic
def _group_placeholder_create(*, actor: Any, object_id: str, scope: str) -> Group:
    group = Group.objects.create(
        name=object_id,
        object_id=object_id,
        description="A directory group, added by its object id before anyone of it signed in.",
    )
    audit.record(actor=actor, action="group.invite", scope=scope, object_id=object_id)
    return group


def principal_reference(principal: Principal) -> str:
    """How API callers name ``principal``: username, group object id (or local name), client id."""
    if isinstance(principal, Group):
        return principal.object_id or principal.name
    if isinstance(principal, ServicePrincipal):
        return str(principal.client_id)
    return principal.get_username()


def is_placeholder(principal: Any) -> bool:
    """A user added by email who has never signed in (no password, no last sign-in)."""
    return (
        isinstance(principal, User)
        and principal.last_login is None
        and not principal.has_usable_password()
    )


# Assignments -----------------------------------------------------------------------------


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
    # The principal's row is locked, so two requests cannot both add the same assignment.
    type(principal).objects.select_for_update().filter(pk=principal.pk).first()
    existing = (
        RoleAssignment.objects.unexpired()
        .filter(role=role, scope__iexact=str(canonical), **{field: principal})
        .first()
    )
    if existing is not None:
        raise ValidationError(
            {
                "principal": f"{principal} already holds {role.name} at {canonical} "
                f"(assignment {existing.pk}); remove it first to change its expiry."
            }
        )
    assignment = RoleAssignment.objects.create(
        role=role,
        scope=str(canonical),
        expires_at=expires_at,
        reason=reason,
        # A user row only: a service principal acting through the API is named in the audit.
        created_by=actor if isinstance(actor, User) and actor.is_authenticated else None,
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
def role_assignment_create_by_reference(
    *,
    actor: Any,
    role: RoleDefinition,
    scope: str,
    principal_type: str,
    principal: str,
    expires_at: datetime | None = None,
    reason: str = "",
) -> RoleAssignment:
    """``role_assignment_create`` for a principal named by a string (see
    ``principal_get_or_invite``): a placeholder it needs is created in the same transaction,
    so a refused assignment leaves none behind. Every problem with the input is reported at
    once."""
    errors: dict[str, Any] = {}
    canonical = None
    try:
        canonical = canonical_scope(scope)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["An assignment cannot expire in the past."]
    reference = principal.strip()
    try:
        found = _lookup(principal_type, reference)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    else:
        if found is None and not _invitable(principal_type, reference):
            errors.update(_missing(principal_type, reference, invitations=True).message_dict)
    if errors:
        raise ValidationError(errors)
    if found is None:
        found = principal_get_or_invite(
            actor=actor, principal_type=principal_type, reference=reference, scope=str(canonical)
        )
    return role_assignment_create(
        actor=actor,
        role=role,
        scope=scope,
        principal=found,
        expires_at=expires_at,
        reason=reason,
    )


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
