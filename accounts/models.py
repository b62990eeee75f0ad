"""Identity: users and their personal access tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from accounts import secrets


class User(AbstractUser):
    """A person who signs in to the portal (local account now, Entra ID later)."""

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username


class PersonalAccessTokenQuerySet(models.QuerySet):
    def active(self) -> PersonalAccessTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class PersonalAccessToken(models.Model):
    """A token a user presents to the REST API (``Authorization: Bearer``) and to ``docker login``.

    Only the SHA-256 digest is stored; the token itself is shown once, when it is created.
    """

    PREFIX = "pcl_pat_"
    DEFAULT_LIFETIME = timedelta(days=90)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters after the prefix, so a user can tell their tokens apart in a list.
    hint = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PersonalAccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def has_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.has_expired

    @classmethod
    def find(cls, token: str) -> PersonalAccessToken | None:
        """The active token row for a presented token, or None."""
        if not token.startswith(cls.PREFIX):
            return None
        # One row by its unique digest, checked for expiry and revocation here: the simplest
        # query for the one every API request makes.
        rows = cls.objects.select_related("user").filter(digest=secrets.digest(token))[:1]
        found = next(iter(rows), None)
        if found is None or not found.is_active or not secrets.matches(token, found.digest):
            return None
        return found
