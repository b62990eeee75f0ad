"""Role definitions and role assignments: who may do what, where (DESIGN.md rules 1–5)."""

from __future__ import annotations

import functools
import operator

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Group, ServicePrincipal


class RoleDefinition(models.Model):
    """A named set of actions: the built-in roles (read-only) or a custom one."""

    name = models.CharField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    actions = models.JSONField(default=list)
    is_builtin = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_builtin", "name"]

    def __str__(self) -> str:
        return self.name


def _exactly_one(*fields: str) -> models.Q:
    """Exactly one of the nullable ``fields`` is set."""
    return functools.reduce(
        operator.or_,
        (models.Q(**{f"{other}__isnull": other != field for other in fields}) for field in fields),
    )


class RoleAssignmentQuerySet(models.QuerySet):
    def unexpired(self) -> RoleAssignmentQuerySet:
        now = timezone.now()
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class RoleAssignment(models.Model):
    """A role for one principal (user, group or service principal) at one scope string."""

    class PrincipalType(models.TextChoices):
        USER = "user", "User"
        GROUP = "group", "Group"
        SERVICE_PRINCIPAL = "service_principal", "Service principal"

    role = models.ForeignKey(RoleDefinition, on_delete=models.PROTECT, related_name="assignments")
    # "/", "/registries/{r}", "…/namespaces/{ns}" or "…/repositories/{repo}"; the engine compares
    # it ignoring case, as registry names are unique ignoring case.
    scope = models.CharField(max_length=400)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments"
    )
    service_principal = models.ForeignKey(
        ServicePrincipal,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["scope", "id"]
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one("user", "group", "service_principal"),
                name="role_assignment_one_principal",
            )
        ]
        indexes = [models.Index(Lower("scope"), name="role_assignment_scope")]

    def __str__(self) -> str:
        return f"{self.role} for {self.principal} at {self.scope}"

    @property
    def principal_type(self) -> str:
        if self.user_id:
            return self.PrincipalType.USER
        return self.PrincipalType.GROUP if self.group_id else self.PrincipalType.SERVICE_PRINCIPAL

    @property
    def principal(self) -> object:
        return self.user or self.group or self.service_principal

    @property
    def has_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()
