"""Writes for Entra ID identities: the portal user a person maps to, and their groups.

``entra_user_sign_in`` runs at every single sign-on and every Entra token exchange, after
everything that can fail outside the database (the token checks, Graph) has succeeded, in
one transaction: a refused or failed sign-in leaves no user, group or membership behind.

A person is found by their Entra object id; the first time, by a placeholder an administrator
made in advance, so that the roles assigned to it apply at once:

- a user whose ``entra_object_id`` is already the person's (assigned by object id);
- a user without an object id whose username or email is the person's UPN or email (assigned
  by email or UPN), or whose username is the object id, and who cannot sign in with a
  password: a local account with a password is never taken over by an address match.

Groups are matched by object id: assignments made to an Entra group before anyone of it
signed in (a group row named after its object id) attach, and take the group's display name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import django.dispatch
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import changes
from accounts.entra.graph import DirectoryGroup
from accounts.entra.tokens import OBJECT_ID_RE, EntraIdentity
from accounts.models import Group, GroupMembership, User

# Sent within a successful Entra sign-in or token exchange's transaction: ``user``, ``created``,
# ``via`` ("sign-in" or "token exchange"), ``groups_added`` and ``groups_removed`` (names).
entra_user_signed_in = django.dispatch.Signal()

USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length
GROUP_DESCRIPTION = "A Microsoft Entra ID group; members come from the directory at sign-in."


class SignInRefused(Exception):
    """The person cannot be mapped to a portal user; the message says why and what to do."""


@dataclass(frozen=True)
class SignInResult:
    user: User
    created: bool
    groups_added: list[str] = field(default_factory=list)
    groups_removed: list[str] = field(default_factory=list)


def _candidates(identity: EntraIdentity) -> list[User]:
    names = {n.lower() for n in (identity.username, identity.email) if n}
    matches = Q(username__iexact=identity.object_id)
    for name in names:
        matches |= Q(username__iexact=name) | Q(email__iexact=name)
    return list(
        User.objects.select_for_update().filter(matches, entra_object_id="").order_by("pk")[:3]
    )


def _find_user(identity: EntraIdentity) -> tuple[User | None, bool]:
    """(the user the person maps to, whether it was a placeholder), or (None, False)."""
    user = User.objects.select_for_update().filter(entra_object_id=identity.object_id).first()
    if user is not None:
        return user, False
    candidates = _candidates(identity)
    if len(candidates) > 1:
        raise SignInRefused(
            f"Several portal accounts match {identity.username}; an administrator must set "
            "the Entra object id on the right one (Django admin → Users)."
        )
    if not candidates:
        return None, False
    candidate = candidates[0]
    if candidate.has_usable_password():
        raise SignInRefused(
            f"The local account {candidate.get_username()} already uses {identity.username}. "
            "To let it sign in with Microsoft, an administrator sets its Entra object id "
            f"to {identity.object_id} (Django admin → Users)."
        )
    return candidate, True


def _username_for(identity: EntraIdentity, user: User | None) -> str:
    """The person's UPN as their username, unless another account holds it already."""
    wanted = identity.username.lower()
    if len(wanted) > USERNAME_MAX_LENGTH:
        wanted = identity.object_id
    taken = User.objects.filter(username__iexact=wanted)
    if user is not None:
        taken = taken.exclude(pk=user.pk)
    if not taken.exists():
        return wanted
    if user is not None:
        return user.username  # keep the old name rather than clash
    raise SignInRefused(
        f"The username {wanted} belongs to another account; an administrator must rename it "
        "or set its Entra object id."
    )


def _first_and_last(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first[:150], last[:150]


def _save_user(identity: EntraIdentity, user: User | None) -> tuple[User, bool]:
    created = user is None
    if user is None:
        user = User(is_active=True)
        user.set_unusable_password()
    user.username = _username_for(identity, None if created else user)
    user.entra_object_id = identity.object_id
    user.entra_tenant_id = identity.tenant_id
    address = (identity.email or identity.username).strip().lower()
    if "@" in address and len(address) <= 254:
        user.email = address
    if identity.name:
        user.first_name, user.last_name = _first_and_last(identity.name)
    user.groups_refreshed_at = timezone.now()
    user.save()
    return user, created


def _upsert_groups(groups: Sequence[DirectoryGroup]) -> dict[str, Group]:
    """The portal groups for ``groups`` by object id, created or renamed as needed."""
    wanted = {g.object_id.lower(): g for g in groups}
    if not wanted:
        return {}
    existing = {g.object_id: g for g in Group.objects.filter(object_id__in=list(wanted))}
    missing = [
        Group(name=g.display_name or oid, object_id=oid, description=GROUP_DESCRIPTION)
        for oid, g in wanted.items()
        if oid not in existing
    ]
    if missing:
        # Another sign-in may create the same group at the same moment: its row wins.
        Group.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {g.object_id: g for g in Group.objects.filter(object_id__in=list(wanted))}
    renamed = []
    for oid, group in existing.items():
        name = wanted[oid].display_name
        if name and group.name != name:
            group.name = name
            renamed.append(group)
    if renamed:
        Group.objects.bulk_update(renamed, ["name"])
    return existing


def _replace_memberships(user: User, groups: dict[str, Group]) -> tuple[list[str], list[str]]:
    """Make the user's Entra memberships exactly ``groups``; local ones stay as they are."""
    current = {
        m.group_id: m for m in GroupMembership.objects.filter(user=user).select_related("group")
    }
    wanted_ids = {g.pk for g in groups.values()}
    stale = [
        m
        for m in current.values()
        if m.source == GroupMembership.Source.ENTRA and m.group_id not in wanted_ids
    ]
    if stale:
        GroupMembership.objects.filter(pk__in=[m.pk for m in stale]).delete()
    new = [g for g in groups.values() if g.pk not in current]
    GroupMembership.objects.bulk_create(
        [GroupMembership(user=user, group=g, source=GroupMembership.Source.ENTRA) for g in new],
        ignore_conflicts=True,
    )
    if stale or new:
        changes.forget_on_commit(changes.CREDENTIALS)
    return sorted(g.name for g in new), sorted(m.group.name for m in stale)


def entra_user_sign_in(
    *, identity: EntraIdentity, groups: Sequence[DirectoryGroup], via: str = "sign-in"
) -> SignInResult:
    """The portal user for ``identity``, created or updated, with exactly ``groups`` as their
    Entra memberships; SignInRefused when the person cannot be mapped to one user."""
    try:
        return _sign_in(identity=identity, groups=groups, via=via)
    except IntegrityError:
        # The same person's first sign-in in two places at once: the other one created the
        # user (unique object id); this one now finds it.
        return _sign_in(identity=identity, groups=groups, via=via)


@transaction.atomic
def _sign_in(
    *, identity: EntraIdentity, groups: Sequence[DirectoryGroup], via: str
) -> SignInResult:
    found, _ = _find_user(identity)
    user, created = _save_user(identity, found)
    added, removed = _replace_memberships(user, _upsert_groups(groups))
    result = SignInResult(user=user, created=created, groups_added=added, groups_removed=removed)
    # Inside the transaction: the audit rows the receivers write commit with the change.
    entra_user_signed_in.send(
        sender=User,
        user=user,
        created=created,
        via=via,
        groups_added=added,
        groups_removed=removed,
    )
    return result


@transaction.atomic
def entra_user_invite(*, object_id: str, upn: str = "") -> User:
    """A placeholder for an Entra user who has not signed in yet, named by object id (and
    UPN, when known), so that roles can be assigned to them now; it becomes their account at
    their first sign-in. Idempotent; ValidationError for a malformed object id or a name that
    belongs to someone else."""
    object_id = object_id.strip().lower()
    upn = upn.strip().lower()
    if not OBJECT_ID_RE.fullmatch(object_id):
        raise ValidationError(f"{object_id!r} is not an Entra object id (a GUID).")
    existing = User.objects.filter(entra_object_id=object_id).first()
    if existing is not None:
        return existing
    username = upn or object_id
    taken = User.objects.select_for_update().filter(username__iexact=username).first()
    if taken is not None:
        if taken.entra_object_id or taken.has_usable_password():
            raise ValidationError(
                f"The username {username} belongs to another account; to link a local account, "
                "set its Entra object id in the Django admin."
            )
        taken.entra_object_id = object_id  # an email placeholder: now named by object id too
        taken.save(update_fields=["entra_object_id"])
        return taken
    user = User(username=username, email=upn if "@" in upn else "", entra_object_id=object_id)
    user.set_unusable_password()
    user.save()
    return user
