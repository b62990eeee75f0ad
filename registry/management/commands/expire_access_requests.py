"""``manage.py expire_access_requests``: the periodic work of access requests.

Expires requests nobody decided within ``ACCESS_REQUEST_PENDING_DAYS``, marks requests whose
grant has ended as expired and reminds holders before their grant ends. Safe to run as often
as you like and from several machines at once; schedule it (cron, a systemd timer, a Kubernetes
CronJob) every few minutes to hourly.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from registry.access_requests.services import access_requests_sweep


class Command(BaseCommand):
    help = "Expire unanswered access requests and ended grants; remind holders before expiry."

    def handle(self, *args: Any, **options: Any) -> None:
        report = access_requests_sweep()
        self.stdout.write(report.summary())
