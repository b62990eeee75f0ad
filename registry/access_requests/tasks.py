"""Background work of access requests (django-tasks; ``manage.py db_worker`` runs it).

Tasks take ids and load fresh rows, so a retried task sees current data.
"""

from __future__ import annotations

from django_tasks import task

from registry.models import AccessRequest


@task()
def access_request_notify(access_request_id: int, event: str) -> int:
    """Email the people concerned about one step of a request; returns how many mails left."""
    from registry.access_requests.notifications import send

    found = (
        AccessRequest.objects.select_related("requested_by", "user", "service_principal", "role")
        .filter(pk=access_request_id)
        .first()
    )
    return 0 if found is None else send(found, event)


@task()
def expire_access_requests() -> str:
    """The periodic sweep (also ``manage.py expire_access_requests``): expiries and reminders."""
    from registry.access_requests.services import access_requests_sweep

    return access_requests_sweep().summary()
