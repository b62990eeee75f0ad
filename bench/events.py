#!/usr/bin/env python
"""Registry event ingestion benchmark: push events in as a registry posts them, index out.

It starts a real docker-registry and pushes one small image to it with skopeo, then posts N push
events for that repository (``bench/app:t0`` … ``t{N-1}``, all naming the pushed manifest, as
``docker push`` of one image under N tags would) to ``/registry-events/<registry>/`` of the
portal under gunicorn, one envelope at a time and waiting for each answer, as distribution does
(it sends serially per endpoint). K real ``manage.py db_worker`` processes apply them. A webhook
listens to pushes, so applying each event also writes its delivery to the outbox.

It prints events per second ingested (from the first post to the last answer) and the time until
the index (every tag) and the outbox (every delivery) reflect all of them.

    .venv/bin/python bench/events.py                               # 5,000 events, SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portcullis_bench_events \\
        .venv/bin/python bench/events.py --events 5000 --workers 2

See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from catalog import (  # noqa: E402 - the repository root joins sys.path first
    Processes,
    configure_django,
    start_portal,
    start_registry,
)
from webhooks import Receiver, percentile  # noqa: E402

ENVELOPE_TYPE = "application/vnd.docker.distribution.events.v1+json"


def push_event(repository: str, tag: str, digest: str, size: int) -> dict:
    """A manifest push as docker-registry 2.8.2 reports it (see registry.events.ingest)."""
    return {
        "id": str(uuid.uuid4()),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "length": size,
            "repository": repository,
            "tag": tag,
        },
        "request": {"id": str(uuid.uuid4()), "addr": "127.0.0.1:1", "method": "PUT"},
        "actor": {"name": "bench"},
        "source": {"addr": "registry:5000", "instanceID": "bench"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--per-envelope", type=int, default=1, help="events per envelope")
    parser.add_argument("--workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    if shutil.which("skopeo") is None:
        raise SystemExit("skopeo is not installed: apt-get install skopeo")

    scratch = Path(tempfile.mkdtemp(prefix="portcullis-bench-events-"))
    os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    os.environ["LOG_LEVEL"] = "WARNING"
    configure_django(scratch)

    from registry.events.secrets import events_secret_create
    from registry.models import Registry, RegistryEvent, Tag, WebhookDelivery
    from registry.webhooks import services as webhook_services
    from tests.fixtures.images import build_image, push

    processes = Processes()
    receiver = Receiver()
    try:
        registry_url = start_registry(processes, scratch)
        image = build_image(scratch / "image", seed="bench-events")
        host = registry_url.removeprefix("http://")
        push(image, host, "bench/app:base")
        manifest = httpx.get(
            f"{registry_url}/v2/bench/app/manifests/base",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        size = len(manifest.content)

        name = f"bench{uuid.uuid4().hex[:10]}"
        registry = Registry.objects.create(name=name, login_server=registry_url, tier="Premium")
        secret = events_secret_create(registry)
        webhook_services.webhook_create(
            actor=None,
            registry=registry,
            name="ingest0001",
            service_uri=receiver.url,
            actions=["push"],
        )
        portal = start_portal(processes, scratch, args.web_workers)
        worker_log = scratch / "workers.log"
        for index in range(args.workers):
            processes.start(
                f"db_worker {index}",
                [
                    sys.executable,
                    "manage.py",
                    "db_worker",
                    *("--queue-name", "*", "--interval", "0.05", "--no-startup-delay"),
                    *("--no-reload", "--verbosity", "0"),
                ],
                log=worker_log,
                cwd=ROOT,
                env={**os.environ, "DEBUG": "1"},
            )

        events = [
            push_event("bench/app", f"t{index}", image.digest, size) for index in range(args.events)
        ]
        url = f"{portal}/registry-events/{name}/"
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": ENVELOPE_TYPE}
        answers: list[float] = []
        started = time.monotonic()
        with httpx.Client(timeout=30.0) as client:
            for first in range(0, len(events), args.per_envelope):
                body = json.dumps({"events": events[first : first + args.per_envelope]})
                sent = time.monotonic()
                response = client.post(url, content=body, headers=headers)
                answers.append(time.monotonic() - sent)
                if response.status_code != 200:
                    raise SystemExit(f"the portal answered {response.status_code}: {response.text}")
        ingested = time.monotonic()

        deadline = started + args.timeout
        index_done = outbox_done = None
        tags = Tag.objects.filter(repository__registry=registry)
        deliveries = WebhookDelivery.objects.filter(webhook__registry=registry)
        while time.monotonic() < deadline and (index_done is None or outbox_done is None):
            now = time.monotonic()
            if index_done is None and tags.count() >= args.events:
                index_done = now
            if outbox_done is None and deliveries.count() >= args.events:
                outbox_done = now
            time.sleep(0.2)
        stored = RegistryEvent.objects.filter(registry=registry).count()
        applied = RegistryEvent.objects.filter(registry=registry, status="applied").count()
    finally:
        processes.stop_all()
        receiver.server.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)

    from django.db import connection

    print(
        f"{args.events} push events, {args.per_envelope} per envelope, posted serially to "
        f"gunicorn ({args.web_workers} workers); {args.workers} db_worker processes; "
        f"{connection.vendor}"
    )
    print(f"  stored {stored}, applied {applied}")
    print(
        f"  ingested: {args.events / (ingested - started):.0f} events/s "
        f"({ingested - started:.1f} s); answer p50 {percentile(answers, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(answers, 0.99) * 1000:.1f} ms"
    )
    for label, done in (("index", index_done), ("outbox", outbox_done)):
        if done is None:
            print(f"  {label}: not complete within {args.timeout:.0f} s")
        else:
            print(
                f"  {label} reflects every event {done - started:.1f} s after the first post "
                f"({done - ingested:.1f} s after the last answer)"
            )
    return 0 if index_done is not None and outbox_done is not None else 1


if __name__ == "__main__":
    sys.exit(main())
