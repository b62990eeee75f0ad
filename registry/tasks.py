"""Background work for the registry domain (django-tasks; ``manage.py db_worker`` runs it).

Tasks take ids, load fresh rows and call services, so a retried task sees current data.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_tasks import task

from registry import services
from registry.models import Registry


@task()
def registry_check_health(registry_id: int) -> bool | None:
    """Ping a registry and store the result; returns whether it answered."""
    registry = Registry.objects.filter(pk=registry_id).first()
    if registry is None:
        return None
    return services.registry_check_health(registry=registry).is_healthy


@task()
def registry_sync(registry_id: int) -> str | None:
    """Reconcile the index of one registry; returns the sync's summary line."""
    from registry.sync import registry_sync as run_sync

    registry = Registry.objects.filter(pk=registry_id).first()
    if registry is None:
        return None
    return run_sync(registry=registry).summary()


# A registry that could not be reached is asked again after this long.
EVENTS_RETRY_DELAY = datetime.timedelta(seconds=30)


@task()
def apply_registry_events(registry_id: int) -> str:
    """Apply a registry's pending events to the index; retried later while it is unreachable."""
    from registry.events.apply import apply_pending

    report = apply_pending(registry_id)
    if report.waiting and apply_registry_events.get_backend().supports_defer:
        later = timezone.now() + EVENTS_RETRY_DELAY
        apply_registry_events.using(run_after=later).enqueue(registry_id)
    return f"{report.applied} applied, {report.failed} failed, {report.waiting} waiting"


@task()
def webhooks_deliver() -> str:
    """A round of webhook deliveries (``registry.webhooks.delivery``); it queues the next."""
    from registry.webhooks.delivery import deliver_due

    return deliver_due().summary()
