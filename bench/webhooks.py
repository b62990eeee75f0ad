#!/usr/bin/env python
"""Webhook fan-out benchmark: events in, signed deliveries out, through real workers.

It stores N registry events the way ``/registry-events/`` does (envelopes of 100, each followed
by the task that applies them), with W webhooks listening to all of them, and lets K real
``manage.py db_worker`` processes apply the events and send the N × W deliveries to a local
receiver. It prints deliveries per second (from the first event stored to the last delivery
received) and the p50 / p99 time from an event being stored to its delivery arriving.

Events are pulls (``GET`` of a manifest), which apply without asking the registry, so what is
measured is the portal: applying, the outbox, claiming, signing, posting and recording.

    .venv/bin/python bench/webhooks.py                          # 1,000 × 5, 2 workers, SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portcullis_bench \\
        .venv/bin/python bench/webhooks.py --events 1000 --webhooks 5 --workers 2

See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class Receiver:
    """Answers 200 to every POST and notes when each webhook-id first arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.arrivals.setdefault(self.headers["webhook-id"], time.time())
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


def pull_event(repository: str, index: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "timestamp": "2026-11-29T08:10:11.123456789Z",
        "action": "pull",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + f"{index:064x}",
            "size": 524,
            "repository": repository,
            "tag": f"v{index}",
        },
        "request": {"id": str(uuid.uuid4()), "addr": "127.0.0.1:1", "method": "GET"},
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--webhooks", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="portcullis-bench-webhooks-"))
    os.environ.setdefault("DEBUG", "1")
    os.environ["PORTAL_DATA_DIR"] = str(scratch)
    os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from registry import tasks
    from registry.events.ingest import store
    from registry.models import Registry, WebhookDelivery
    from registry.webhooks import services

    receiver = Receiver()
    registry = Registry.objects.create(
        name=f"bench{uuid.uuid4().hex[:10]}", login_server="http://127.0.0.1:9", tier="Premium"
    )
    for index in range(args.webhooks):
        services.webhook_create(
            actor=None,
            registry=registry,
            name=f"fanout{index:03d}",
            service_uri=receiver.url,
            actions=["push", "delete", "pull"],
        )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                *("--queue-name", "*", "--interval", "0.05", "--no-startup-delay"),
                *("--no-reload", "--verbosity", "0"),
            ],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        for _ in range(args.workers)
    ]
    expected = args.events * args.webhooks
    try:
        started = time.time()
        events = [pull_event("bench/app", index) for index in range(args.events)]
        for first in range(0, len(events), 100):
            store(registry, events[first : first + 100])
            tasks.apply_registry_events.enqueue(registry.pk)
        stored = time.time()
        deadline = started + args.timeout
        while len(receiver.arrivals) < expected and time.time() < deadline:
            time.sleep(0.1)
        finished = max(receiver.arrivals.values(), default=time.time())
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        receiver.server.shutdown()

    rows = WebhookDelivery.objects.filter(webhook__registry=registry).values_list(
        "event_id", "registry_event__received_at"
    )
    latencies = [
        receiver.arrivals[str(event_id)] - received.timestamp()
        for event_id, received in rows
        if str(event_id) in receiver.arrivals
    ]
    database = django.db.connection.vendor
    print(f"{args.events} events × {args.webhooks} webhooks, {args.workers} workers, {database}:")
    print(f"  events stored in {stored - started:.2f}s")
    print(f"  {len(receiver.arrivals)}/{expected} deliveries received")
    if latencies:
        print(f"  {len(receiver.arrivals) / (finished - started):.0f} deliveries/s")
        print(
            f"  event to delivery: p50 {percentile(latencies, 0.5):.2f}s, "
            f"p99 {percentile(latencies, 0.99):.2f}s, max {max(latencies):.2f}s, "
            f"mean {statistics.fmean(latencies):.2f}s"
        )
    return 0 if len(receiver.arrivals) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
