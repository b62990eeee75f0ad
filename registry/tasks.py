"""Background work for the registry domain (django-tasks; ``manage.py db_worker`` runs it).

Tasks take ids, load fresh rows and call services, so a retried task sees current data.
"""

from __future__ import annotations

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
