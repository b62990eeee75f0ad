#!/usr/bin/env python
"""Catalog benchmark: the portal's repository and tag listings against the registry's own.

It starts a real ``docker-registry`` (distribution), pushes N repositories × M tags into it over
the OCI distribution API (one shared layer, cross-repository blob mounts, concurrent pushes) plus
one repository with many tags, writes the same content into the portal's index, serves the portal
with gunicorn (``DEBUG=0``), and then times, in one run and over keep-alive connections:

- the API's first page of repositories      vs  ``GET /v2/_catalog?n=100``
- the API's search and namespace pages      vs  ``GET /v2/_catalog?n=100`` (the registry has no
  search; its first page is the floor)
- the API's first page of tags of the big repository  vs  ``GET /v2/<big>/tags/list?n=100``
- the API's full walk of those tags (``next`` links)  vs  ``GET /v2/<big>/tags/list`` (all)

It prints median and p95 latencies, the ratio portal/registry for each pair and PASS (every
median ratio ≤ 1.0) or FAIL; the exit status is 1 on FAIL.

    .venv/bin/python bench/catalog.py                     # 10,000 × 10 + 1,000 tags, SQLite
    .venv/bin/python bench/catalog.py --repos 500         # a quick run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portcullis_bench \\
        .venv/bin/python bench/catalog.py --data-dir var/bench   # PostgreSQL, data kept for re-runs

See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

REGISTRY_NAME = "benchregistry"  # the portal's name for the registry (5-50 letters and digits)
BIG_REPOSITORY = "bench/big"
TEAMS = 20  # repositories are spread over team-00/ … team-19/
SEARCH_TEXT = "app-0123"
SEARCH_NAMESPACE = "team-07"
BENCH_USER = "bench-admin"
BASE_CREATED = datetime(2025, 1, 1, tzinfo=UTC)
POPULATION_FORMAT = 1  # bump when the pushed content changes, so old data dirs are not reused
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


# --------------------------------------------------------------------------------------------
# Content: one layer, a shared config, one config per tag of the big repository, and manifests
# that differ only by an annotation. Everything is deterministic, so the index can be written
# from the same bytes the registry stores, and a kept data dir matches on the next run.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes = field(repr=False)

    @cached_property
    def digest(self) -> str:
        return sha256(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def make_layer() -> tuple[Blob, str]:
    """A tiny gzipped tarball and its diff id (the digest of the uncompressed tar)."""
    content = b"portcullis catalog benchmark\n"
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("etc/portcullis-bench")
        info.size = len(content)
        info.mtime = int(BASE_CREATED.timestamp())
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    raw = tar_buffer.getvalue()
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=gz_buffer, mode="wb", mtime=0) as gz:
        gz.write(raw)
    return Blob(OCI_LAYER_GZIP, gz_buffer.getvalue()), sha256(raw)


def make_config(diff_id: str, created: datetime) -> Blob:
    return Blob(
        OCI_CONFIG,
        canonical_json(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "config": {"Cmd": ["/bin/true"]},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ),
    )


@dataclass(frozen=True)
class Image:
    """One manifest as pushed: its bytes, and what the index stores about it."""

    repository: str
    tag: str
    config: Blob
    created: datetime
    manifest: bytes = field(repr=False)

    @cached_property
    def digest(self) -> str:
        return sha256(self.manifest)


@dataclass(frozen=True)
class Plan:
    repos: int
    tags: int
    big_tags: int

    @cached_property
    def layer(self) -> Blob:
        return make_layer()[0]

    @cached_property
    def diff_id(self) -> str:
        return make_layer()[1]

    @cached_property
    def shared_config(self) -> Blob:
        return make_config(self.diff_id, BASE_CREATED)

    def repository_names(self) -> list[str]:
        return [f"team-{i % TEAMS:02d}/app-{i:05d}" for i in range(self.repos)]

    def tag_names(self) -> list[str]:
        return [f"v{i}" for i in range(1, self.tags + 1)]

    def big_tag_names(self) -> list[str]:
        return [f"build-{i:04d}" for i in range(self.big_tags)]

    def big_created(self, index: int) -> datetime:
        return BASE_CREATED + timedelta(minutes=index)

    def big_configs(self) -> list[Blob]:
        """One config per tag of the big repository, so its tags have distinct build times."""
        return [make_config(self.diff_id, self.big_created(i)) for i in range(self.big_tags)]

    def image(self, repository: str, tag: str, config: Blob, created: datetime) -> Image:
        manifest = canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": config.descriptor(),
                "layers": [self.layer.descriptor()],
                "annotations": {
                    "io.portcullis.bench.repository": repository,
                    "org.opencontainers.image.ref.name": tag,
                },
            }
        )
        return Image(repository, tag, config, created, manifest)

    def images(self, repository: str) -> list[Image]:
        return [
            self.image(repository, tag, self.shared_config, BASE_CREATED)
            for tag in self.tag_names()
        ]

    def big_images(self, configs: list[Blob] | None = None) -> list[Image]:
        configs = configs or self.big_configs()
        return [
            self.image(BIG_REPOSITORY, tag, configs[i], self.big_created(i))
            for i, tag in enumerate(self.big_tag_names())
        ]

    @property
    def total_repositories(self) -> int:
        return self.repos + 1

    @property
    def total_tags(self) -> int:
        return self.repos * self.tags + self.big_tags

    def marker(self) -> dict[str, int]:
        return {
            "format": POPULATION_FORMAT,
            "repos": self.repos,
            "tags": self.tags,
            "big_tags": self.big_tags,
        }


# --------------------------------------------------------------------------------------------
# Processes: the registry and gunicorn, always stopped on the way out.
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Child processes started by the benchmark; ``stop_all`` ends each one by its own id."""

    def __init__(self) -> None:
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, label: str, argv: list[str], *, log: Path, **kwargs: Any) -> subprocess.Popen:
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own session: Ctrl-C reaches only the benchmark, which then stops the children
                # in order (gunicorn first, then the registry).
                start_new_session=True,
                **kwargs,
            )
        self._children.append((label, process))
        return process

    def stop_all(self) -> None:
        while self._children:
            label, process = self._children.pop()
            if process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"  {label} (pid {process.pid}) did not stop; killing it", file=sys.stderr)
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)


def wait_until_up(
    url: str, process: subprocess.Popen, log: Path, label: str, expect: int = 200
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{label} exited with {process.returncode}; log:\n{tail(log)}")
        try:
            response = httpx.get(url, timeout=2.0)
        except httpx.TransportError as exc:
            last = str(exc)
        else:
            if response.status_code == expect:
                return
            last = f"HTTP {response.status_code}: {response.text[:300]}"
        time.sleep(0.1)
    raise RuntimeError(f"{label} did not answer on {url} ({last}); log:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start_registry(processes: Processes, data_dir: Path) -> str:
    """The benchmark's registry (deletes enabled, no auth) under ``data_dir``: its URL."""
    return launch_registry(processes, data_dir / "registry", free_port(), delete=True)


def launch_registry(
    processes: Processes,
    workdir: Path,
    port: int,
    *,
    delete: bool = False,
    auth: str = "",
    label: str = "docker-registry",
) -> str:
    """A docker-registry on ``port`` with filesystem storage under ``workdir``, once it
    answers: its URL. ``auth`` is the YAML of its ``auth`` section (empty: none)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise SystemExit("docker-registry is not installed: apt-get install docker-registry")
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yml"
    # The registry's shipped defaults (in-memory blob descriptor cache), no access log: the
    # benchmarks measure serving, not logging.
    config.write_text(
        "version: 0.1\n"
        "log:\n"
        "  level: warn\n"
        "  accesslog:\n"
        "    disabled: true\n"
        "storage:\n"
        "  cache:\n"
        "    blobdescriptor: inmemory\n"
        "  filesystem:\n"
        f"    rootdirectory: {json.dumps(str(storage))}\n"
        + ("  delete:\n    enabled: true\n" if delete else "")
        + "http:\n"
        f"  addr: 127.0.0.1:{port}\n"
        "  headers:\n"
        "    X-Content-Type-Options: [nosniff]\n"
        f"{auth}"
    )
    log = workdir / "registry.log"
    process = processes.start(label, [binary, "serve", str(config)], log=log)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/v2/", process, log, label, expect=401 if auth else 200)
    return url


def start_portal(
    processes: Processes,
    data_dir: Path,
    workers: int,
    *,
    name: str = "gunicorn",
    settings: dict[str, str] | None = None,
) -> str:
    """The portal's URL, once ``launch_portal`` has it up."""
    url, _process = launch_portal(processes, data_dir, workers, name=name, settings=settings)
    return url


def launch_portal(
    processes: Processes,
    data_dir: Path,
    workers: int,
    *,
    port: int | None = None,
    name: str = "gunicorn",
    settings: dict[str, str] | None = None,
) -> tuple[str, subprocess.Popen]:
    """``gunicorn -c gunicorn.conf.py portal.wsgi`` (threaded workers with keep-alive), as
    docs/configuration.md deploys it, under
    production settings over plain HTTP (``settings`` override them), once it answers
    ``/healthz`` and ``/readyz``: its URL and process."""
    port = port if port is not None else free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "PORTAL_URL": url,
        "LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    log = data_dir / f"{name}.log"
    # With DEBUG=0 the static storage is whitenoise's manifest storage: without collectstatic
    # every HTML page (error pages included) fails with a 500. The API does not need it, but the
    # portal should run here as it runs in production.
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--no-input", "-v", "0"],
        check=True,
        cwd=ROOT,
        env=env,
    )
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "portal.wsgi",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--error-logfile",
        "-",
    ]
    process = processes.start(name, argv, log=log, cwd=ROOT, env=env)
    wait_until_up(f"{url}/healthz", process, log, name)
    wait_until_up(f"{url}/readyz", process, log, name)
    return url, process


# --------------------------------------------------------------------------------------------
# Registry population over the OCI distribution API.
# --------------------------------------------------------------------------------------------


class Pusher:
    def __init__(self, url: str, threads: int) -> None:
        self.client = httpx.Client(
            base_url=url,
            timeout=120.0,
            limits=httpx.Limits(max_connections=threads, max_keepalive_connections=threads),
        )
        self.requests = 0
        self._lock = threading.Lock()

    def _count(self, n: int = 1) -> None:
        with self._lock:
            self.requests += n

    def upload(self, repository: str, blob: Blob) -> None:
        """A monolithic upload: POST opens it, one PUT with the bytes and the digest closes it."""
        opened = self.client.post(f"/v2/{repository}/blobs/uploads/")
        expect(opened, 202, f"open upload in {repository}")
        location = urljoin(str(self.client.base_url), opened.headers["Location"])
        separator = "&" if "?" in location else "?"
        closed = self.client.put(
            f"{location}{separator}digest={blob.digest}",
            content=blob.data,
            headers={"Content-Type": "application/octet-stream"},
        )
        expect(closed, 201, f"upload {blob.digest} to {repository}")
        self._count(2)

    def mount(self, repository: str, blob: Blob, source: str) -> None:
        response = self.client.post(
            f"/v2/{repository}/blobs/uploads/", params={"mount": blob.digest, "from": source}
        )
        # 202 would mean the registry refused the mount and opened an upload instead.
        expect(response, 201, f"mount {blob.digest} from {source} into {repository}")
        self._count()

    def put_manifest(self, image: Image) -> None:
        response = self.client.put(
            f"/v2/{image.repository}/manifests/{image.tag}",
            content=image.manifest,
            headers={"Content-Type": OCI_MANIFEST},
        )
        expect(response, 201, f"put {image.repository}:{image.tag}")
        if response.headers.get("Docker-Content-Digest") != image.digest:
            raise RuntimeError(
                f"registry stored {image.repository}:{image.tag} as "
                f"{response.headers.get('Docker-Content-Digest')}, expected {image.digest}"
            )
        self._count()

    def close(self) -> None:
        self.client.close()


def expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{what}: HTTP {response.status_code} (expected {status}): {response.text[:300]}"
        )


def populate_registry(url: str, plan: Plan, data_dir: Path, threads: int) -> None:
    marker_path = data_dir / "registry" / "populated.json"
    if marker_path.exists():
        found = json.loads(marker_path.read_text())
        if found == plan.marker():
            print(f"registry: reusing the pushed data in {marker_path.parent}")
            return
        raise SystemExit(
            f"{marker_path.parent} holds a different population ({found}); "
            "use another --data-dir or delete it"
        )
    print(
        f"registry: pushing {plan.repos:,} repositories × {plan.tags} tags "
        f"+ {BIG_REPOSITORY} × {plan.big_tags:,} tags with {threads} threads …"
    )
    pusher = Pusher(url, threads)
    started = time.perf_counter()
    done = 0
    done_lock = threading.Lock()
    stop = threading.Event()

    def report_progress() -> None:
        while not stop.wait(5.0):
            elapsed = time.perf_counter() - started
            print(
                f"  … {done:,}/{plan.repos:,} repositories, {pusher.requests:,} requests, "
                f"{pusher.requests / elapsed:,.0f} requests/s",
                flush=True,
            )

    reporter = threading.Thread(target=report_progress, daemon=True)
    reporter.start()
    try:
        # The big repository holds the source copies of the shared blobs.
        pusher.upload(BIG_REPOSITORY, plan.layer)
        pusher.upload(BIG_REPOSITORY, plan.shared_config)
        big_configs = plan.big_configs()

        def push_repository(name: str) -> None:
            nonlocal done
            pusher.mount(name, plan.layer, BIG_REPOSITORY)
            pusher.mount(name, plan.shared_config, BIG_REPOSITORY)
            for image in plan.images(name):
                pusher.put_manifest(image)
            with done_lock:
                done += 1

        pool = ThreadPoolExecutor(max_workers=threads)
        try:
            # ``list`` re-raises the first failure.
            list(pool.map(lambda blob: pusher.upload(BIG_REPOSITORY, blob), big_configs))
            list(pool.map(pusher.put_manifest, plan.big_images(big_configs)))
            list(pool.map(push_repository, plan.repository_names()))
        finally:
            # On a failure or Ctrl-C, drop the queued pushes instead of waiting for them all.
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        stop.set()
        pusher.close()
    elapsed = time.perf_counter() - started
    manifests = plan.total_tags
    print(
        f"registry: pushed {manifests:,} manifests into {plan.total_repositories:,} repositories "
        f"in {elapsed:.1f} s: {pusher.requests:,} requests, "
        f"{pusher.requests / elapsed:,.0f} requests/s, {manifests / elapsed:,.0f} manifests/s"
    )
    marker_path.write_text(json.dumps(plan.marker()))


# --------------------------------------------------------------------------------------------
# Django: settings, database, the index, a user and a token.
# --------------------------------------------------------------------------------------------


def configure_django(data_dir: Path) -> None:
    portal_dir = data_dir / "portal"
    portal_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("PORTAL_DATA_DIR", str(portal_dir))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{portal_dir / 'bench.sqlite3'}")
    ensure_postgres_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # DEBUG=1 only lets the settings load without a SECRET_KEY here; keeping every bulk INSERT
    # in ``connection.queries`` would cost hundreds of megabytes.
    settings.DEBUG = False

    call_command("migrate", interactive=False, verbosity=0)


def ensure_postgres_database(database_url: str) -> None:
    """Create the PostgreSQL database named in ``DATABASE_URL`` when it does not exist yet."""
    import dj_database_url

    config = dj_database_url.parse(database_url)
    if "postgresql" not in config["ENGINE"]:
        return
    import psycopg
    from psycopg import sql

    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    params = {k: v for k, v in params.items() if v}
    try:
        psycopg.connect(dbname=config["NAME"], **params).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    print(f"database: created {config['NAME']}")


def database_description() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            return f"PostgreSQL {version} ({connection.settings_dict['NAME']})"
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]} ({connection.settings_dict['NAME']})"
    return connection.vendor


def index_matches(registry: Any, plan: Plan) -> bool:
    from registry.models import Repository, Tag

    if Repository.objects.filter(registry=registry).count() != plan.total_repositories:
        return False
    if Tag.objects.filter(repository__registry=registry).count() != plan.total_tags:
        return False
    # Spot-check one digest of each kind: the content must be what this plan pushes.
    checks = [plan.big_images()[-1]] if plan.big_tags else []
    if plan.repos and plan.tags:
        checks.append(plan.images(plan.repository_names()[-1])[-1])
    return all(
        Tag.objects.filter(
            repository__registry=registry,
            repository__name=image.repository,
            name=image.tag,
            manifest__digest=image.digest,
        ).exists()
        for image in checks
    )


def wipe_index(registry: Any) -> None:
    from django.db import transaction

    from registry.models import Manifest, Repository, Tag

    with transaction.atomic():
        Tag.objects.filter(repository__registry=registry).delete()
        Manifest.children.through.objects.filter(
            from_manifest__repository__registry=registry
        ).delete()
        Manifest.objects.filter(repository__registry=registry).delete()
        Repository.objects.filter(registry=registry).delete()
        registry.delete()


def bench_registry(registry_url: str, *, fresh: bool) -> Any:
    from registry.models import Registry

    registry = Registry.objects.filter(name=REGISTRY_NAME).first()
    if registry is not None and fresh:
        wipe_index(registry)
        registry = None
    if registry is None:
        return Registry.objects.create(
            name=REGISTRY_NAME,
            login_server=registry_url,
            description="Created by bench/catalog.py",
        )
    if registry.login_server != registry_url:
        registry.login_server = registry_url
        registry.service = ""
        registry.save()
    return registry


def populate_index(plan: Plan, registry_url: str, batch: int = 2000) -> None:
    """Write the index rows for exactly what was pushed (what ``sync_registry`` would write)."""
    from django.db import transaction

    from registry.models import Manifest, Registry, Repository, Tag

    existing = Registry.objects.filter(name=REGISTRY_NAME).first()
    if existing is not None and index_matches(existing, plan):
        bench_registry(registry_url, fresh=False)
        analyze()
        print(f"index: reusing {plan.total_repositories:,} repositories already in the database")
        return
    started = time.perf_counter()
    layer_rows = [
        {"digest": plan.layer.digest, "size": plan.layer.size, "media_type": OCI_LAYER_GZIP}
    ]

    def manifest_row(repository: Any, image: Image) -> Any:
        return Manifest(
            repository=repository,
            digest=image.digest,
            media_type=OCI_MANIFEST,
            size=len(image.manifest) + image.config.size + plan.layer.size,
            config_digest=image.config.digest,
            architecture="amd64",
            os="linux",
            layers=layer_rows,
            created_at=image.created,
        )

    def write(repositories: list[Any], images_of: Callable[[str], list[Image]]) -> None:
        Repository.objects.bulk_create(repositories, batch_size=batch)
        pairs = [(repo, image) for repo in repositories for image in images_of(repo.name)]
        manifests = Manifest.objects.bulk_create(
            [manifest_row(repo, image) for repo, image in pairs], batch_size=batch
        )
        Tag.objects.bulk_create(
            [
                Tag(
                    repository=repo,
                    name=image.tag,
                    manifest=manifest,
                    updated_at=image.created,
                )
                for (repo, image), manifest in zip(pairs, manifests, strict=True)
            ],
            batch_size=batch,
        )

    with transaction.atomic():
        registry = bench_registry(registry_url, fresh=True)
        big_images = plan.big_images()
        write([Repository(registry=registry, name=BIG_REPOSITORY)], lambda _: big_images)
        names = plan.repository_names()
        for start in range(0, len(names), 1000):
            write(
                [Repository(registry=registry, name=name) for name in names[start : start + 1000]],
                plan.images,
            )
    analyze()
    elapsed = time.perf_counter() - started
    print(
        f"index: wrote {plan.total_repositories:,} repositories, {plan.total_tags:,} manifests "
        f"and tags in {elapsed:.1f} s"
    )


def analyze() -> None:
    """Planner statistics and (PostgreSQL) the visibility map, as on a settled database.

    Right after bulk inserts autovacuum has not run yet: without VACUUM, PostgreSQL cannot use
    index-only scans, and the figures would describe a database nobody runs in production.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def sync_index(plan: Plan, registry_url: str) -> None:
    """Build the index with ``manage.py sync_registry`` instead, and time it."""
    from registry.models import Registry

    bench_registry(registry_url, fresh=True)
    print(f"index: manage.py sync_registry {REGISTRY_NAME} …", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "sync_registry", REGISTRY_NAME, "--restart"],
        check=True,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - started
    registry = Registry.objects.get(name=REGISTRY_NAME)
    if not index_matches(registry, plan):
        raise RuntimeError("sync_registry finished, but the index does not match what was pushed")
    analyze()
    print(
        f"index: sync_registry read {plan.total_repositories:,} repositories and "
        f"{plan.total_tags:,} tags in {elapsed:.1f} s "
        f"({plan.total_repositories / elapsed:,.1f} repositories/s, "
        f"{plan.total_tags / elapsed:,.0f} manifests/s)"
    )


def issue_token() -> str:
    from accounts.models import User
    from accounts.services import personal_access_token_create

    user, _ = User.objects.update_or_create(
        username=BENCH_USER,
        defaults={"is_staff": True, "is_superuser": True, "is_active": True},
    )
    return personal_access_token_create(user=user, name="bench/catalog.py").token


# --------------------------------------------------------------------------------------------
# Measurement.
# --------------------------------------------------------------------------------------------


def results_of(body: Any) -> list[Any]:
    return body["results"] if isinstance(body, dict) else body


def names_of(body: Any) -> list[str]:
    return [item["name"] for item in results_of(body)]


@dataclass
class Pair:
    label: str
    portal_label: str
    registry_label: str
    portal: Callable[[], Any]
    registry: Callable[[], Any]
    # Informational pairs are printed but do not decide PASS or FAIL.
    informational: bool = False
    portal_times: list[float] = field(default_factory=list)
    registry_times: list[float] = field(default_factory=list)


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def run_pair(pair: Pair, requests: int, warmup: int) -> None:
    for _ in range(warmup):
        pair.portal()
        pair.registry()
    # Interleaved, so drift on the machine (other load, CPU frequency) hits both sides alike.
    for _ in range(requests):
        pair.portal_times.append(timed(pair.portal))
        pair.registry_times.append(timed(pair.registry))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


class Measurement:
    def __init__(
        self, portal_url: str, uncached_url: str, registry_url: str, token: str, plan: Plan
    ) -> None:
        self.plan = plan
        self.portal_url = portal_url
        self.portal, self.uncached = (
            httpx.Client(
                base_url=f"{url}/api/v1/registries/{REGISTRY_NAME}",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=60.0,
            )
            for url in (portal_url, uncached_url)
        )
        self.registry = httpx.Client(base_url=registry_url, timeout=60.0)

    def close(self) -> None:
        self.portal.close()
        self.uncached.close()
        self.registry.close()

    def get(self, client: httpx.Client, url: str, **params: Any) -> Any:
        response = client.get(url, params=params or None)
        if response.status_code != 200:
            raise RuntimeError(
                f"GET {response.request.url}: HTTP {response.status_code}: {response.text[:500]}"
            )
        return response.json()

    def portal_walk(self, url: str, page_size: int) -> list[Any]:
        items: list[Any] = []
        body = self.get(self.portal, url, page_size=page_size)
        items.extend(results_of(body))
        while isinstance(body, dict) and body.get("next"):
            body = self.get(self.portal, body["next"])
            items.extend(results_of(body))
        return items

    def check(self, walk_page_size: int) -> None:
        """The portal and the registry list the same data: compare once before timing."""
        plan = self.plan
        catalog = self.get(self.registry, "/v2/_catalog", n=100)["repositories"]
        first = names_of(self.get(self.portal, "/repositories/", page_size=100))
        uncached = names_of(self.get(self.uncached, "/repositories/", page_size=100))
        if uncached != first:
            raise RuntimeError("the portal without kept pages lists another first page")
        if first != catalog:
            raise RuntimeError(
                "the portal's first page differs from the registry's catalog: "
                f"{first[:3]}… vs {catalog[:3]}…"
            )
        names = plan.repository_names()
        expected = sorted(n for n in names if SEARCH_TEXT in n)[:100]
        found = names_of(self.get(self.portal, "/repositories/", search=SEARCH_TEXT, page_size=100))
        if found != expected:
            raise RuntimeError(f"search {SEARCH_TEXT!r}: got {found[:5]}…, want {expected[:5]}…")
        expected = sorted(n for n in names if n.startswith(f"{SEARCH_NAMESPACE}/"))[:100]
        found = names_of(
            self.get(self.portal, "/repositories/", namespace=SEARCH_NAMESPACE, page_size=100)
        )
        if found != expected:
            raise RuntimeError(f"namespace {SEARCH_NAMESPACE!r}: got {found[:5]}…")
        registry_tags = self.get(self.registry, f"/v2/{BIG_REPOSITORY}/tags/list")["tags"]
        walked = [t["name"] for t in self.portal_walk(self.tags_url, walk_page_size)]
        if sorted(walked) != sorted(registry_tags) or len(walked) != plan.big_tags:
            raise RuntimeError(
                f"tag walk: the portal listed {len(walked)} tags, the registry "
                f"{len(registry_tags)}, expected {plan.big_tags}"
            )

    @property
    def tags_url(self) -> str:
        return f"/repositories/{BIG_REPOSITORY}/_tags/"

    def pairs(self, walk_page_size: int) -> list[Pair]:
        portal, registry, get = self.portal, self.registry, self.get
        catalog_label = "GET /v2/_catalog?n=100"

        def catalog() -> Any:
            return get(registry, "/v2/_catalog", n=100)

        return [
            Pair(
                "floor: an empty answer",
                "GET /healthz (no auth, no database)",
                "GET /v2/",
                lambda: get(portal, f"{self.portal_url}/healthz"),
                lambda: get(registry, "/v2/"),
                informational=True,
            ),
            Pair(
                "repositories, first page",
                "repositories/?page_size=100",
                catalog_label,
                lambda: get(portal, "/repositories/", page_size=100),
                catalog,
            ),
            Pair(
                "repositories, search",
                f"repositories/?search={SEARCH_TEXT}&page_size=100",
                catalog_label,
                lambda: get(portal, "/repositories/", search=SEARCH_TEXT, page_size=100),
                catalog,
            ),
            Pair(
                "repositories, namespace",
                f"repositories/?namespace={SEARCH_NAMESPACE}&page_size=100",
                catalog_label,
                lambda: get(portal, "/repositories/", namespace=SEARCH_NAMESPACE, page_size=100),
                catalog,
            ),
            Pair(
                f"tags of {BIG_REPOSITORY}, first page",
                f"{BIG_REPOSITORY}/_tags/?page_size=100",
                f"GET /v2/{BIG_REPOSITORY}/tags/list?n=100",
                lambda: get(portal, self.tags_url, page_size=100),
                lambda: get(registry, f"/v2/{BIG_REPOSITORY}/tags/list", n=100),
            ),
            Pair(
                f"tags of {BIG_REPOSITORY}, whole list",
                f"{BIG_REPOSITORY}/_tags/?page_size=100",
                f"GET /v2/{BIG_REPOSITORY}/tags/list",
                lambda: get(portal, self.tags_url, page_size=100),
                lambda: get(registry, f"/v2/{BIG_REPOSITORY}/tags/list"),
            ),
            Pair(
                f"tags of {BIG_REPOSITORY}, all {self.plan.big_tags:,}",
                f"walk _tags/?page_size={walk_page_size} via next",
                f"GET /v2/{BIG_REPOSITORY}/tags/list",
                lambda: self.portal_walk(self.tags_url, walk_page_size),
                lambda: get(registry, f"/v2/{BIG_REPOSITORY}/tags/list"),
                informational=True,
            ),
            *self.uncached_pairs(),
        ]

    def uncached_pairs(self) -> list[Pair]:
        """The same pages from a portal that keeps none (``INDEX_LIST_CACHE_SECONDS=0``): what
        a question costs when it is first asked after the index changed."""
        uncached, registry, get = self.uncached, self.registry, self.get
        tags = f"/v2/{BIG_REPOSITORY}/tags/list"

        def catalog() -> Any:
            return get(registry, "/v2/_catalog", n=100)

        pages: list[tuple[str, dict[str, Any], str, Callable[[], Any]]] = [
            ("repositories", {}, "GET /v2/_catalog?n=100", catalog),
            ("search", {"search": SEARCH_TEXT}, "GET /v2/_catalog?n=100", catalog),
            ("namespace", {"namespace": SEARCH_NAMESPACE}, "GET /v2/_catalog?n=100", catalog),
        ]
        pairs = [
            Pair(
                f"uncached: {label}",
                f"repositories/?{'&'.join(f'{k}={v}' for k, v in query.items())}"
                f"{'&' if query else ''}page_size=100",
                registry_label,
                lambda query=query: get(uncached, "/repositories/", page_size=100, **query),
                registry_call,
                informational=True,
            )
            for label, query, registry_label, registry_call in pages
        ]
        pairs.append(
            Pair(
                "uncached: tags, first page",
                f"{BIG_REPOSITORY}/_tags/?page_size=100",
                f"GET {tags}",
                lambda: get(uncached, self.tags_url, page_size=100),
                lambda: get(registry, tags),
                informational=True,
            )
        )
        return pairs


def print_table(pairs: list[Pair]) -> bool:
    print()
    header = (
        f"{'pair':<34} {'side':<8} {'median ms':>9} {'p95 ms':>9}  {'ratio med':>9} "
        f"{'ratio p95':>9}  request"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for pair in pairs:
        portal_med = statistics.median(pair.portal_times)
        registry_med = statistics.median(pair.registry_times)
        ratio = portal_med / registry_med
        ratio95 = p95(pair.portal_times) / p95(pair.registry_times)
        if pair.informational:
            verdict = "info"
        else:
            verdict = "ok" if ratio <= 1.0 else "SLOWER"
            ok = ok and ratio <= 1.0
        print(
            f"{pair.label:<34} {'portal':<8} {ms(portal_med):>9} {ms(p95(pair.portal_times)):>9}"
            f"  {ratio:>9.2f} {ratio95:>9.2f}  {pair.portal_label}  [{verdict}]"
        )
        print(
            f"{'':<34} {'registry':<8} {ms(registry_med):>9} "
            f"{ms(p95(pair.registry_times)):>9}  {'':>9} {'':>9}  {pair.registry_label}"
        )
    print()
    return ok


# --------------------------------------------------------------------------------------------
# Main.
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the portal's repository and tag listings against the registry's own.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--repos", type=int, default=10_000, help="repositories to push")
    parser.add_argument("--tags", type=int, default=10, help="tags per repository")
    parser.add_argument(
        "--big-tags", type=int, default=1_000, help=f"tags of the repository {BIG_REPOSITORY}"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the registry storage (and the SQLite index) here and reuse them on the next "
        "run (default: a temporary directory, removed at the end unless --keep)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the temporary data behind")
    parser.add_argument("--threads", type=int, default=24, help="concurrent pushes")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per side")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per side")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--walk-page-size",
        type=int,
        default=500,
        help="page size of the portal's tag walk (default: the API's largest)",
    )
    parser.add_argument(
        "--sync",
        action="store_true",
        help="build the index with manage.py sync_registry (timed) instead of bulk inserts; "
        "pair it with a small --repos",
    )
    args = parser.parse_args(argv)
    if args.repos < 1 or args.tags < 1 or args.big_tags < 1:
        parser.error("--repos, --tags and --big-tags must be at least 1")
    if args.requests < 2:
        parser.error("--requests must be at least 2")
    return args


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}"


def registry_version() -> str:
    try:
        out = subprocess.run(
            ["docker-registry", "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "docker-registry"
    return out.stdout.strip() or "docker-registry"


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the ``finally`` blocks stop the children."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(repos=args.repos, tags=args.tags, big_tags=args.big_tags)
    temporary = args.data_dir is None
    data_dir = (
        Path(tempfile.mkdtemp(prefix="portcullis-bench-")) if temporary else args.data_dir
    ).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    processes = Processes()
    measurement: Measurement | None = None
    try:
        with terminate_as_interrupt():
            started = time.perf_counter()
            registry_url = start_registry(processes, data_dir)
            populate_registry(registry_url, plan, data_dir, args.threads)
            configure_django(data_dir)
            if args.sync:
                sync_index(plan, registry_url)
            else:
                populate_index(plan, registry_url)
            token = issue_token()
            database = database_description()
            from django.db import connections

            connections.close_all()

            portal_url = start_portal(processes, data_dir, args.workers)
            print(f"portal: gunicorn -w {args.workers} on {portal_url} (DEBUG=0)")
            # The same portal keeping no pages, for the cost of a first question.
            uncached_url = start_portal(
                processes,
                data_dir,
                args.workers,
                name="gunicorn-uncached",
                settings={"INDEX_LIST_CACHE_SECONDS": "0"},
            )
            print(f"portal: the same with INDEX_LIST_CACHE_SECONDS=0 on {uncached_url}")
            print(f"setup took {time.perf_counter() - started:.1f} s\n")

            measurement = Measurement(portal_url, uncached_url, registry_url, token, plan)
            measurement.check(args.walk_page_size)
            pairs = measurement.pairs(args.walk_page_size)
            for pair in pairs:
                run_pair(pair, args.requests, args.warmup)

            print(f"date:      {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
            print(f"machine:   {machine_description()}")
            print(f"database:  {database}")
            print(f"registry:  {registry_version()}, filesystem storage")
            print(
                f"data:      {plan.repos:,} repositories × {plan.tags} tags "
                f"+ {BIG_REPOSITORY} × {plan.big_tags:,} tags"
            )
            print(
                f"requests:  {args.requests} timed per side after {args.warmup} warm-up, "
                "one keep-alive client per side, interleaved"
            )
            ok = print_table(pairs)
            print(
                "PASS: every portal median ≤ the registry's (rows marked info aside)"
                if ok
                else "FAIL: see SLOWER rows"
            )
            return 0 if ok else 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if measurement is not None:
            measurement.close()
        processes.stop_all()
        if temporary and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif temporary:
            print(f"data kept in {data_dir}")


if __name__ == "__main__":
    sys.exit(main())
