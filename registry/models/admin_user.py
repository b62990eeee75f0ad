"""The registry admin user (ACR's): the registry's name as user name, two passwords.

Disabled by default. While enabled it may pull, push and delete anything in its own registry
and list its catalog, through the token server; nowhere else. Its passwords are machine secrets
(DESIGN.md rule 6): generated, shown once, kept as a SHA-256 digest.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models

from accounts import secrets
from accounts.models import MachineSecret
from registry.models.registries import Registry


class RegistryAdminPassword(MachineSecret):
    """One of the admin user's two passwords (``password``, ``password2``), for rotation.

    ACR's admin passwords do not expire; these last ten years unless regenerated, and are
    revoked, never kept, when the admin user is disabled.
    """

    PREFIX = "pcl_adm_"
    DEFAULT_LIFETIME = timedelta(days=3650)
    MAX_LIFETIME = DEFAULT_LIFETIME

    class Name(models.TextChoices):
        PASSWORD = "password", "password"
        PASSWORD2 = "password2", "password2"

    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="admin_passwords")
    name = models.CharField(max_length=16, choices=Name.choices)

    class Meta(MachineSecret.Meta):
        abstract = False
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="admin_password_one_current_per_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.registry} {self.name} ({self.hint}…)"

    @classmethod
    def find(cls, registry: Registry, password: str) -> RegistryAdminPassword | None:
        """The current password row of ``registry``'s enabled admin user matching ``password``."""
        if not registry.admin_user_enabled or not password.startswith(cls.PREFIX):
            return None
        rows = cls.objects.filter(registry=registry, digest=secrets.digest(password))
        found = next(iter(rows[:1]), None)
        if found is None or not found.is_active or not secrets.matches(password, found.digest):
            return None
        return found
