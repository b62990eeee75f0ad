"""Registries the portal manages, and namespaces inside them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models.functions import Lower

from registry.validation import (
    REPOSITORY_NAME_MAX_LENGTH,
    validate_registry_name,
    validate_repository_name,
)


@dataclass(frozen=True)
class TierLimits:
    """What a tier allows, after ACR's service tiers."""

    webhooks: int
    included_storage_gib: int
    namespaces: int | None  # None: unlimited


class Tier(models.TextChoices):
    BASIC = "Basic", "Basic"
    STANDARD = "Standard", "Standard"
    PREMIUM = "Premium", "Premium"

    @property
    def limits(self) -> TierLimits:
        return TIER_LIMITS[self]


TIER_LIMITS: dict[str, TierLimits] = {
    Tier.BASIC: TierLimits(webhooks=2, included_storage_gib=10, namespaces=10),
    Tier.STANDARD: TierLimits(webhooks=10, included_storage_gib=100, namespaces=100),
    Tier.PREMIUM: TierLimits(webhooks=500, included_storage_gib=500, namespaces=None),
}

validate_login_server = URLValidator(schemes=["http", "https"])


class Registry(models.Model):
    """A distribution registry managed by the portal.

    Deleting the row forgets the registry; it never deletes anything stored in it.
    """

    name = models.CharField(max_length=50, validators=[validate_registry_name])
    login_server = models.CharField(
        max_length=255,
        validators=[validate_login_server],
        help_text="The registry's base URL, e.g. https://registry.example.com",
    )
    service = models.CharField(
        max_length=255,
        blank=True,
        help_text="The service name the registry puts in token requests (defaults to its host).",
    )
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # ACR's admin user (the registry's name, two passwords); see registry.models.admin_user.
    admin_user_enabled = models.BooleanField(default=False)

    health_checked_at = models.DateTimeField(null=True, blank=True)
    is_healthy = models.BooleanField(null=True, blank=True)
    health_detail = models.CharField(max_length=500, blank=True)

    last_synced_at = models.DateTimeField(null=True, blank=True)
    # The last repository a sync finished, so an interrupted sync resumes after it.
    sync_cursor = models.CharField(max_length=REPOSITORY_NAME_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registries"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="registry_name_unique_ci",
                violation_error_message="A registry with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.login_server = self.login_server.rstrip("/")
        if not self.service:
            self.service = self.host
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.login_server = self.login_server.rstrip("/")
        if not self.service and self.login_server:
            self.service = self.host

    @property
    def host(self) -> str:
        """The host[:port] that clients put in image references."""
        return urlsplit(self.login_server).netloc

    @property
    def scope(self) -> str:
        return f"/registries/{self.name}"

    @property
    def limits(self) -> TierLimits:
        return TIER_LIMITS[self.tier]

    @property
    def is_insecure(self) -> bool:
        return self.login_server.startswith("http://")


class Namespace(models.Model):
    """A repository-name prefix inside a registry (``team-a``, ``team-a/backend``).

    A namespace covers every repository whose name starts with ``<name>/``; namespaces nest.
    """

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="namespaces")
    name = models.CharField(
        max_length=REPOSITORY_NAME_MAX_LENGTH, validators=[validate_repository_name]
    )
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_namespaces"
    )
    # The policy for access requests at this namespace and inside it (registry.access_requests);
    # where namespaces nest, the strictest of them applies.
    approvals_required = models.PositiveSmallIntegerField(
        choices=[(1, "One team lead"), (2, "Two team leads")],
        default=1,
        help_text="How many team leads must approve an access request here.",
    )
    permanent_grants_allowed = models.BooleanField(
        default=False,
        help_text="Whether access requests here may ask for a grant that never expires.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["registry__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "name"],
                name="namespace_unique_per_registry",
                violation_error_message="This registry already has a namespace with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.name and not self.name.islower():
            raise ValidationError({"name": "Namespace names are lowercase."})

    @property
    def scope(self) -> str:
        return f"{self.registry.scope}/namespaces/{self.name}"

    @property
    def prefix(self) -> str:
        return f"{self.name}/"

    def covers(self, repository_name: str) -> bool:
        return repository_name.startswith(self.prefix)
