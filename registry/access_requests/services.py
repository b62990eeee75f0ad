"""Every write of the access-request workflow, one function per action.

Each runs in a transaction, writes its audit event and schedules its emails after the commit
(``notify``). Deciding functions lock the request row (``select_for_update``) and re-check who
may decide inside the transaction, so two people acting on the same request at once see each
other's result: the second approval of a one-approval request changes nothing and says so,
a cancel that lost to an approval is refused. The approval rows' unique constraints back this
up where locks cannot reach (see ``registry.models.requests``).

Services raise ``ValidationError`` for bad input, ``PermissionDenied`` for someone who may not
act, and ``ActionRefused`` for a request whose state forbids it (approving a cancelled one);
the views and the API turn them into 400, 403 and 409.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ServicePrincipal, User
from registry import audit
from registry.access_requests import policy, selectors
from registry.access_requests.notifications import notify
from registry.models import (
    AccessRequest,
    AccessRequestApproval,
    Namespace,
    RoleAssignment,
    RoleDefinition,
)
from registry.permissions import engine
from registry.permissions.actions import ROLE_ASSIGNMENTS_WRITE
from registry.permissions.assignments import canonical_scope, role_assignment_create
from registry.permissions.scopes import ROOT, Scope
from registry.services import ActionRefused

logger = logging.getLogger(__name__)

Status = AccessRequest.Status
JUSTIFICATION_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 2000


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


# "Not given": the requested duration then defaults, an approval keeps the requested one.
DEFAULT: Any = _Default()


@dataclass(frozen=True)
class ScopePolicy:
    approvals_required: int
    permanent_grants_allowed: bool


def scope_policy(scope: Scope) -> ScopePolicy:
    """The strictest policy of the namespaces that cover ``scope``; a scope that no namespace
    covers (a registry, a repository outside every namespace) needs one approval and gets no
    permanent grants."""
    if scope.kind not in {"namespace", "repository"}:
        return ScopePolicy(1, False)
    names = [ancestor.name for ancestor in scope.ancestors() if ancestor.kind == "namespace"]
    covering = list(
        Namespace.objects.filter(registry__name__iexact=scope.registry, name__in=names).values(
            "approvals_required", "permanent_grants_allowed"
        )
    )
    if not covering:
        return ScopePolicy(1, False)
    return ScopePolicy(
        approvals_required=max(row["approvals_required"] for row in covering),
        permanent_grants_allowed=all(row["permanent_grants_allowed"] for row in covering),
    )


def _require_person(actor: Any) -> User:
    if not selectors.is_person(actor):
        raise PermissionDenied("Access requests are made and decided by people signed in.")
    return actor


def _clean_days(value: Any, *, field: str = "duration_days") -> int | None:
    """None (permanent) or a whole number of days from 1 to ``ACCESS_REQUEST_MAX_DAYS``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: "A number of days, or null for a permanent grant."})
    if not 1 <= value <= policy.max_days():
        raise ValidationError({field: f"From 1 to {policy.max_days()} days."})
    return value


def _clean_text(value: str, *, field: str, what: str, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: f"Say {what}."})
    if len(text) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    return text


def _audit(actor: Any, action: str, access_request: AccessRequest, **details: Any) -> None:
    audit.record(
        actor=actor,
        action=f"accessRequest.{action}",
        scope=access_request.scope,
        request=access_request.pk,
        role=access_request.role.name,
        principal_type=access_request.principal_type,
        principal=str(access_request.principal),
        **details,
    )


# Asking ----------------------------------------------------------------------------------


@transaction.atomic
def access_request_create(
    *,
    actor: Any,
    role: RoleDefinition,
    scope: str,
    justification: str,
    principal: User | ServicePrincipal | None = None,
    duration_days: int | None = DEFAULT,
    extends: AccessRequest | None = None,
) -> AccessRequest:
    """Ask for ``role`` at ``scope`` for oneself or a service principal one owns.

    ``duration_days`` defaults to ``ACCESS_REQUEST_DEFAULT_DAYS``; None asks for a permanent
    grant, which only a scope whose policy allows it accepts.
    """
    requester = _require_person(actor)
    principal = principal if principal is not None else requester
    if isinstance(principal, User):
        if principal.pk != requester.pk:
            raise ValidationError({"principal": "Ask for yourself or a service principal you own."})
    elif isinstance(principal, ServicePrincipal):
        if principal.owner_id != requester.pk:
            raise ValidationError(
                {"principal": f"You do not own the service principal {principal.name}."}
            )
        if not principal.enabled:
            raise ValidationError({"principal": f"Service principal {principal.name} is disabled."})
    else:
        raise ValidationError({"principal": "Ask for yourself or a service principal you own."})

    canonical = canonical_scope(scope)
    if canonical == ROOT:
        raise ValidationError({"scope": "Ask for a registry, a namespace or a repository."})
    text = _clean_text(
        justification,
        field="justification",
        what="why the access is needed",
        max_length=JUSTIFICATION_MAX_LENGTH,
    )
    days = policy.default_days() if duration_days is DEFAULT else _clean_days(duration_days)
    rules = scope_policy(canonical)
    if days is None and not rules.permanent_grants_allowed:
        raise ValidationError(
            {
                "duration_days": f"Grants at {canonical} expire: ask for at most "
                f"{policy.max_days()} days."
            }
        )
    if extends is None:
        held = engine.effective_actions(principal, canonical)
        if held >= set(role.actions):
            raise ActionRefused(
                f"{principal} already holds every action of {role.name} at {canonical}."
            )
    pending = AccessRequest.objects.pending().filter(
        role=role,
        scope__iexact=str(canonical),
        **{"user" if isinstance(principal, User) else "service_principal": principal},
    )
    if pending.exists():
        raise ActionRefused(
            f"A request for {role.name} at {canonical} for {principal} is already pending."
        )

    now = timezone.now()
    access_request = AccessRequest(
        requested_by=requester,
        role=role,
        scope=str(canonical),
        scope_ancestry=policy.scope_ancestry(canonical),
        justification=text,
        duration_days=days,
        approvals_required=rules.approvals_required,
        pending_until=now + policy.pending_lifetime(),
        extends=extends,
        **{"user" if isinstance(principal, User) else "service_principal": principal},
    )
    access_request.save()
    _audit(
        requester,
        "extend" if extends else "create",
        access_request,
        duration_days=days,
        approvals_required=rules.approvals_required,
        **({"extends": extends.pk} if extends else {}),
    )
    notify(access_request, "extension_requested" if extends else "created")
    return access_request


def access_request_extend(
    *,
    actor: Any,
    access_request: AccessRequest,
    justification: str,
    duration_days: int = DEFAULT,
) -> AccessRequest:
    """Ask for more time on an approved, time-bound grant that is still running: a new request
    that, once approved, moves the same assignment's expiry on by ``duration_days``."""
    requester = _require_person(actor)
    if access_request.requested_by_id != requester.pk:
        raise PermissionDenied("Only the person who asked for this access can extend it.")
    if not access_request.can_be_extended:
        raise ActionRefused(
            "Only a grant that is approved, still running and not permanent can be extended."
        )
    if access_request.extensions.filter(status=Status.PENDING).exists():
        raise ActionRefused("An extension of this grant is already pending.")
    if duration_days is None:
        raise ValidationError({"duration_days": "An extension is a number of days."})
    return access_request_create(
        actor=requester,
        role=access_request.role,
        scope=access_request.scope,
        principal=access_request.principal,
        justification=justification,
        duration_days=duration_days,
        extends=access_request,
    )


# Deciding --------------------------------------------------------------------------------


def _locked(access_request: AccessRequest) -> AccessRequest:
    return (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("role", "user", "service_principal", "requested_by", "extends")
        .get(pk=access_request.pk)
    )


def _check_decider(actor: User, access_request: AccessRequest) -> None:
    if actor.pk in {access_request.requested_by_id, access_request.user_id}:
        raise PermissionDenied("Nobody decides their own access request.")
    if not selectors.may_decide(actor, access_request):
        raise PermissionDenied(
            f"You are not allowed to do {ROLE_ASSIGNMENTS_WRITE} at {access_request.scope}."
        )


def _expire_if_overdue(access_request: AccessRequest, now: datetime.datetime) -> bool:
    """Expire a pending request nobody touched in time (the sweep may not have run yet)."""
    if access_request.status != Status.PENDING or access_request.pending_until > now:
        return False
    access_request.status = Status.EXPIRED
    access_request.decided_at = now
    access_request.reason = "Nobody decided within the time allowed."
    access_request.save(update_fields=["status", "decided_at", "reason"])
    _audit(None, "expire", access_request)
    notify(access_request, "expired")
    return True


def _refusal(access_request: AccessRequest, doing: str) -> ActionRefused:
    return ActionRefused(
        f"Access request {access_request.pk} is {access_request.get_status_display().lower()}; "
        f"it can no longer be {doing}."
    )


@dataclass(frozen=True)
class Outcome:
    """What a decision did: ``changed`` is False when it had been done already."""

    access_request: AccessRequest
    changed: bool
    message: str


def access_request_approve(
    *, actor: Any, access_request: AccessRequest, duration_days: int | None = DEFAULT
) -> Outcome:
    """Approve (one step of) a request; the last required approval creates the assignment.

    ``duration_days`` may shorten the grant (never lengthen it); left out, the grant lasts as
    requested. Approving a request that is already approved, or that one has already approved
    and that waits for a second approver, changes nothing.
    """
    approver = _require_person(actor)
    offered = DEFAULT if duration_days is DEFAULT else _clean_days(duration_days)
    try:
        with transaction.atomic():
            outcome, overdue = _approve(approver, access_request, offered)
    except IntegrityError:
        # Another approval took the same step at the same moment (only possible where the
        # database cannot lock the row); it won, this one changed nothing.
        logger.info("approval of access request %s lost a race", access_request.pk)
        fresh = AccessRequest.objects.get(pk=access_request.pk)
        if fresh.status == Status.APPROVED:
            return Outcome(fresh, False, f"Access request {fresh.pk} is already approved.")
        raise ActionRefused(
            "Someone else approved this request at the same time; reload."
        ) from None
    if overdue:
        raise _refusal(outcome.access_request, "approved")
    return outcome


def _lengthens(offered: int | None, asked: int | None) -> bool:
    """Whether an approval offers more than was asked for (a permanent grant counts as most)."""
    if asked is None or offered is DEFAULT:
        return False
    return offered is None or offered > asked


def _approve(
    approver: User, access_request: AccessRequest, offered: int | None
) -> tuple[Outcome, bool]:
    now = timezone.now()
    locked = _locked(access_request)
    _check_decider(approver, locked)
    if locked.status == Status.APPROVED:
        return Outcome(locked, False, f"Access request {locked.pk} is already approved."), False
    if locked.status != Status.PENDING:
        raise _refusal(locked, "approved")
    if _expire_if_overdue(locked, now):
        return Outcome(locked, True, ""), True
    approvals = list(locked.approvals.all())
    if any(a.approver_id == approver.pk for a in approvals):
        return (
            Outcome(
                locked,
                False,
                f"You have approved access request {locked.pk} already; it needs another "
                "team lead's approval.",
            ),
            False,
        )
    if _lengthens(offered, locked.duration_days):
        raise ValidationError(
            {
                "duration_days": f"At most the {locked.duration_days} days asked for; "
                "an approval can shorten a grant, not lengthen it."
            }
        )
    step = len(approvals) + 1
    AccessRequestApproval.objects.create(
        request=locked,
        approver=approver,
        approver_name=approver.get_username(),
        step=step,
        duration_days=None if offered is DEFAULT else offered,
    )
    if step < locked.approvals_required:
        locked.pending_until = now + policy.pending_lifetime()
        locked.save(update_fields=["pending_until"])
        _audit(approver, "approve", locked, step=step, of=locked.approvals_required)
        notify(locked, "approval")
        message = (
            f"Approved access request {locked.pk}: {step} of {locked.approvals_required} "
            "approvals; it needs another team lead's approval."
        )
        return Outcome(locked, True, message), False

    offers = [a.duration_days for a in approvals] + [None if offered is DEFAULT else offered]
    days = min(
        (d for d in [locked.duration_days, *offers] if d is not None),
        default=None,
    )
    base = now
    if locked.extends_id and locked.extends.grant_expires_at:
        base = max(now, locked.extends.grant_expires_at)
    expires_at = base + datetime.timedelta(days=days) if days is not None else None
    assignment = _grant(approver, locked, expires_at)
    locked.status = Status.APPROVED
    locked.decided_at = now
    locked.decided_by = approver
    locked.assignment = assignment
    locked.granted_days = days
    locked.grant_expires_at = expires_at
    locked.remind_at = (
        expires_at - policy.reminder_lead(expires_at - now) if expires_at is not None else None
    )
    locked.save(
        update_fields=[
            "status",
            "decided_at",
            "decided_by",
            "assignment",
            "granted_days",
            "grant_expires_at",
            "remind_at",
        ]
    )
    _audit(
        approver,
        "approve",
        locked,
        step=step,
        of=locked.approvals_required,
        assignment=assignment.pk,
        granted_days=days,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    notify(locked, "approved")
    until = f" until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else " without an end"
    return Outcome(
        locked, True, f"Approved: {locked.principal} holds {locked.role.name}{until}."
    ), False


def _grant(
    approver: User, access_request: AccessRequest, expires_at: datetime.datetime | None
) -> RoleAssignment:
    """The role assignment an approval gives: a new one, or for an extension the extended
    grant's own assignment with a later expiry."""
    original = access_request.extends
    if original is not None and original.assignment_id is not None:
        assignment = RoleAssignment.objects.select_for_update().get(pk=original.assignment_id)
        before = assignment.expires_at
        assignment.expires_at = expires_at
        assignment.save(update_fields=["expires_at"])
        audit.record(
            actor=approver,
            action="roleAssignment.extend",
            scope=assignment.scope,
            role=access_request.role.name,
            principal_type=assignment.principal_type,
            principal=str(assignment.principal),
            assignment=assignment.pk,
            expires_at=expires_at.isoformat() if expires_at else None,
            previous_expires_at=before.isoformat() if before else None,
            request=access_request.pk,
        )
        # The extension holds the grant from now on: the earlier request's period ends here,
        # so it is neither reminded nor reported as ending later.
        AccessRequest.objects.filter(pk=original.pk, status=Status.APPROVED).update(
            status=Status.EXPIRED, reason=f"Extended by access request {access_request.pk}."
        )
        return assignment
    try:
        return role_assignment_create(
            actor=approver,
            role=access_request.role,
            scope=access_request.scope,
            principal=access_request.principal,
            expires_at=expires_at,
            reason=f"Access request {access_request.pk}: {access_request.justification}",
        )
    except ValidationError as exc:
        messages = "; ".join(exc.messages)
        raise ActionRefused(f"The role assignment could not be created: {messages}") from exc


def access_request_deny(*, actor: Any, access_request: AccessRequest, reason: str) -> Outcome:
    """Deny a pending request, saying why; one team lead's no is enough."""
    decider = _require_person(actor)
    text = _clean_text(
        reason, field="reason", what="why the request is denied", max_length=REASON_MAX_LENGTH
    )
    with transaction.atomic():
        now = timezone.now()
        locked = _locked(access_request)
        _check_decider(decider, locked)
        if locked.status == Status.DENIED:
            return Outcome(locked, False, f"Access request {locked.pk} is already denied.")
        if locked.status != Status.PENDING:
            raise _refusal(locked, "denied")
        overdue = _expire_if_overdue(locked, now)
        if not overdue:
            locked.status = Status.DENIED
            locked.decided_at = now
            locked.decided_by = decider
            locked.reason = text
            locked.save(update_fields=["status", "decided_at", "decided_by", "reason"])
            _audit(decider, "deny", locked, reason=text)
            notify(locked, "denied")
    if overdue:
        raise _refusal(locked, "denied")
    return Outcome(locked, True, f"Denied access request {locked.pk}.")


def access_request_cancel(*, actor: Any, access_request: AccessRequest) -> Outcome:
    """The requester withdraws a pending request."""
    requester = _require_person(actor)
    with transaction.atomic():
        locked = _locked(access_request)
        if locked.requested_by_id != requester.pk:
            raise PermissionDenied("Only the person who asked can cancel a request.")
        if locked.status == Status.CANCELLED:
            return Outcome(locked, False, f"Access request {locked.pk} is already cancelled.")
        if locked.status != Status.PENDING:
            raise _refusal(locked, "cancelled")
        locked.status = Status.CANCELLED
        locked.decided_at = timezone.now()
        locked.decided_by = requester
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        _audit(requester, "cancel", locked)
        notify(locked, "cancelled")
    return Outcome(locked, True, f"Cancelled access request {locked.pk}.")


# Time ------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    expired_requests: int = 0
    expired_grants: int = 0
    reminders: int = 0

    def summary(self) -> str:
        return (
            f"{self.expired_requests} unanswered requests expired, "
            f"{self.expired_grants} grants ended, {self.reminders} reminders sent"
        )


def access_requests_sweep(*, now: datetime.datetime | None = None) -> SweepReport:
    """The periodic work: expire requests nobody decided in time, mark the requests whose grant
    has ended (expired, or the assignment removed) as expired, remind holders before their
    grant ends. Each row is handled in a transaction of its own; rows another sweep holds are
    skipped, so several workers can sweep at once."""
    now = now or timezone.now()
    report = SweepReport()
    overdue = AccessRequest.objects.pending().filter(pending_until__lte=now)
    for pk in overdue.values_list("pk", flat=True):
        with transaction.atomic():
            row = _claim(pk, Status.PENDING)
            if row is not None and _expire_if_overdue(row, now):
                report.expired_requests += 1

    ended = AccessRequest.objects.filter(status=Status.APPROVED).filter(
        grant_expires_at__lte=now
    ) | AccessRequest.objects.filter(status=Status.APPROVED, assignment__isnull=True)
    for pk in ended.values_list("pk", flat=True):
        with transaction.atomic():
            row = _claim(pk, Status.APPROVED)
            if row is not None and _end_grant(row, now):
                report.expired_grants += 1

    due = AccessRequest.objects.filter(
        status=Status.APPROVED,
        reminded_at__isnull=True,
        remind_at__lte=now,
        grant_expires_at__gt=now,
        assignment__isnull=False,
    )
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            row = _claim(pk, Status.APPROVED)
            if row is None or row.reminded_at is not None:
                continue
            if row.extensions.filter(status__in=[Status.PENDING, Status.APPROVED]).exists():
                continue  # already asked for more time
            row.reminded_at = now
            row.save(update_fields=["reminded_at"])
            _audit(None, "remind", row, expires_at=row.grant_expires_at.isoformat())
            notify(row, "reminder")
            report.reminders += 1
    return report


def _claim(pk: int, status: str) -> AccessRequest | None:
    return (
        AccessRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("role", "user", "service_principal")
        .filter(pk=pk, status=status)
        .first()
    )


def _end_grant(row: AccessRequest, now: datetime.datetime) -> bool:
    if row.assignment_id is None:
        reason = "The role assignment was removed."
    elif row.grant_expires_at is not None and row.grant_expires_at <= now:
        reason = "The grant reached its expiry."
    else:
        return False
    row.status = Status.EXPIRED
    row.reason = reason
    row.save(update_fields=["status", "reason"])
    _audit(None, "grantExpire", row, reason=reason)
    notify(row, "grant_expired")
    return True
