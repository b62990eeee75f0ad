"""The bearer secret a registry sends with its notifications (DESIGN.md rule 6)."""

from __future__ import annotations

from django.db import transaction

from accounts import secrets
from registry.models import EventsSecret, Registry

PREFIX = "pcl_evt_"


def events_secret_create(registry: Registry) -> str:
    """A new secret for ``registry``'s notifications config; the one before it stays valid."""
    secret = secrets.generate(PREFIX)
    with transaction.atomic():
        EventsSecret.objects.create(registry=registry, digest=secrets.digest(secret))
        kept = registry.events_secrets.order_by("-created_at", "-pk")[: EventsSecret.KEPT_SECRETS]
        registry.events_secrets.exclude(pk__in=[s.pk for s in kept]).delete()
    return secret


def events_secret_valid(registry: Registry, presented: str) -> bool:
    """Whether ``presented`` is a current events secret of ``registry`` (one indexed lookup)."""
    if not presented.startswith(PREFIX):
        return False
    return EventsSecret.objects.filter(registry=registry, digest=secrets.digest(presented)).exists()
