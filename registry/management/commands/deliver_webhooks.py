"""``manage.py deliver_webhooks [--loop] [--interval SECONDS]``: send due webhook deliveries.

The worker (``db_worker``) normally does this by itself: every delivery wakes a
``webhooks_deliver`` round, and each round queues the next for when a retry falls due or a
lease could expire. This command runs rounds in this process instead: once (after a restart,
to pick up anything left behind), or with ``--loop`` as the periodic trigger where the task
backend cannot defer work.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from registry.webhooks.delivery import deliver_due


class Command(BaseCommand):
    help = "Send due webhook deliveries (and requeue those whose worker died)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep going, one round every --interval seconds."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="Seconds between rounds with --loop (default: 5).",
        )

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        while True:
            report = deliver_due(limit=None, seconds=None, reschedule=not loop)
            if report.sent or report.requeued or not loop:
                self.stdout.write(report.summary())
            if not loop:
                return
            time.sleep(interval)
