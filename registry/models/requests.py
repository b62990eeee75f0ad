"""Access requests: someone asks for a role at a scope; the scope's team leads decide.

A request is for the requester or for a service principal they own. Approvals are rows of
their own, numbered per request (``step`` 1, then 2 where a namespace wants two): the unique
``(request, step)`` and ``(request, approver)`` constraints make two approvals that race for the
same step collide in the database, so however they interleave only one of them completes the
request and creates its role assignment. The services in ``registry.access_requests`` also lock
the request row while they decide, so the loser sees the winner's result and changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import ServicePrincipal
from registry.models.access import RoleAssignment, RoleDefinition


class AccessRequestQuerySet(models.QuerySet):
    def pending(self) -> AccessRequestQuerySet:
        return self.filter(status=AccessRequest.Status.PENDING)


class AccessRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    class PrincipalType(models.TextChoices):
        USER = "user", "User"
        SERVICE_PRINCIPAL = "service_principal", "Service principal"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests"
    )
    # Who gets the role: the requester themselves, or a service principal they own.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    service_principal = models.ForeignKey(
        ServicePrincipal,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_requests",
    )
    role = models.ForeignKey(RoleDefinition, on_delete=models.PROTECT, related_name="+")
    # The canonical scope string (the registry's own spelling), as role assignments store it.
    scope = models.CharField(max_length=400)
    # Every scope that covers ``scope``, lowercase, as ``|/|/registries/r|…|``: who may approve
    # is then one indexed query (an assignment or namespace whose scope is one of these).
    scope_ancestry = models.TextField(editable=False)
    justification = models.TextField()
    # Days the grant should last from approval; None asks for a permanent grant.
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    # The policy of the scope when the request was made: 1, or 2 for a two-approval namespace.
    approvals_required = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # A pending request nobody touches expires then (each approval moves it on).
    pending_until = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why it was denied, or how it ended (expired unanswered, grant expired, grant removed).
    reason = models.TextField(blank=True)
    # What the approval created; the days granted may be fewer than asked for.
    # (An approved extension lengthens the same assignment, so two requests may name it.)
    assignment = models.ForeignKey(
        RoleAssignment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_requests",
    )
    granted_days = models.PositiveIntegerField(null=True, blank=True)
    grant_expires_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # An extension asks for more time on the grant of an earlier, approved request.
    extends = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="extensions"
    )

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, service_principal__isnull=True)
                    | models.Q(user__isnull=True, service_principal__isnull=False)
                ),
                name="access_request_one_principal",
            ),
            models.CheckConstraint(
                condition=models.Q(duration_days__isnull=True) | models.Q(duration_days__gte=1),
                name="access_request_duration_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(approvals_required__in=[1, 2]),
                name="access_request_one_or_two_approvals",
            ),
            # One open question per principal, role and scope.
            models.UniqueConstraint(
                "user",
                "role",
                Lower("scope"),
                condition=models.Q(status="pending", user__isnull=False),
                name="access_request_one_pending_per_user",
                violation_error_message="This request is already pending.",
            ),
            models.UniqueConstraint(
                "service_principal",
                "role",
                Lower("scope"),
                condition=models.Q(status="pending", service_principal__isnull=False),
                name="access_request_one_pending_per_sp",
                violation_error_message="This request is already pending.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "pending_until"], name="access_request_pending"),
            models.Index(fields=["status", "grant_expires_at"], name="access_request_grants"),
        ]

    def __str__(self) -> str:
        return f"{self.role} for {self.principal} at {self.scope} ({self.status})"

    @property
    def principal(self) -> object:
        return self.user or self.service_principal

    @property
    def principal_type(self) -> str:
        return self.PrincipalType.USER if self.user_id else self.PrincipalType.SERVICE_PRINCIPAL

    @property
    def principal_name(self) -> str:
        """The name the API uses: a username, or a service principal's client id."""
        if self.user_id:
            return self.user.get_username()
        return str(self.service_principal.client_id)

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def is_permanent(self) -> bool:
        return self.duration_days is None

    @property
    def grant_has_expired(self) -> bool:
        return self.grant_expires_at is not None and self.grant_expires_at <= timezone.now()

    @property
    def can_be_extended(self) -> bool:
        """An approved, time-bound grant that is still running."""
        return (
            self.status == self.Status.APPROVED
            and self.grant_expires_at is not None
            and not self.grant_has_expired
            and self.assignment_id is not None
        )


class AccessRequestApproval(models.Model):
    """One approver's yes; the request is approved when its last required step is taken."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so the history still says who it was after the user is deleted.
    approver_name = models.CharField(max_length=150)
    step = models.PositiveSmallIntegerField()
    # The days this approver grants (they may shorten the request); None: as requested.
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "step"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "step"], name="access_approval_one_per_step"
            ),
            models.UniqueConstraint(
                fields=["request", "approver"], name="access_approval_once_per_approver"
            ),
            models.CheckConstraint(
                condition=models.Q(step__in=[1, 2]), name="access_approval_step_one_or_two"
            ),
        ]

    def __str__(self) -> str:
        return f"approval {self.step} of request {self.request_id} by {self.approver_name}"
