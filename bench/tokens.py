#!/usr/bin/env python
"""Token server benchmark: issuing registry tokens under load, and what token auth costs a client.

1. **Throughput and latency** of ``GET /oauth2/token`` (a service principal's client id and
   secret in HTTP Basic, ``scope=repository:team-a/app:pull,push``) under gunicorn with
   production settings, against the floor of the same app: ``GET /healthz``, a trivial JSON view.
   The database holds the principal's AcrPush assignment on ``team-a`` and 1,000 other role
   assignments of other users, groups and service principals. A fixed number of concurrent
   connections (one thread and one httpx client each) drives each side for a fixed time, after a
   warm-up, in alternating rounds (floor, token, token, floor, …) so that drift on the machine
   hits both alike. Every answer is checked after its round: 200, and for the token side a JWT
   that grants exactly ``pull,push`` on ``team-a/app``, so errors can never pass for speed.
   Printed: requests/s, p50/p95/p99 latency, CPU per request, and the ratio token/floor
   throughput beside its target (≥ 0.5).
2. **End to end**: ``skopeo inspect`` of one small image in a docker-registry configured for
   token auth with the portal as its realm, against the same image in a registry with no auth,
   N times each, alternated. Printed: medians and the ratio (target ≤ 1.3).

The targets are printed, not enforced: the exit status is 0 when the figures were measured
(``--strict`` makes a missed target exit 1), 1 when an answer was wrong, 130 when interrupted.
``--profile`` adds an in-process profile of the token view: queries, the time of each part,
cProfile's top functions.

    .venv/bin/python bench/tokens.py                      # SQLite in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portcullis_bench \\
        .venv/bin/python bench/tokens.py --profile        # PostgreSQL, as in production

It reuses the process and Django helpers of ``bench/catalog.py``. See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.catalog import (  # noqa: E402  (needs ROOT on sys.path)
    Processes,
    analyze,
    configure_django,
    database_description,
    free_port,
    launch_portal,
    launch_registry,
    machine_description,
    registry_version,
    tail,
    terminate_as_interrupt,
)

REGISTRY_NAME = "benchtokens"  # the portal's name for the registry behind token auth
OTHER_REGISTRIES = ("benchtokens2", "benchtokens3", "benchtokens4", "benchtokens5")
SERVICE = "portcullis-bench-tokens"  # the registry's ``auth.token.service``
NAMESPACE = "team-a"
REPOSITORY = "team-a/app"
TAG = "1.0"
SCOPE = f"repository:{REPOSITORY}:pull,push"
EXPECTED_ACCESS = [{"type": "repository", "name": REPOSITORY, "actions": ["pull", "push"]}]
PREFIX = "bench-tokens-"  # names of every principal the benchmark creates
NAMESPACES_PER_REGISTRY = 20  # team-a … team-t
REPOSITORIES_PER_NAMESPACE = 5
# Roles of the other assignments, weighted roughly as a registry's access tends to look:
# many pull-only grants, fewer pushers, a handful of owners.
ROLE_WEIGHTS = {
    "AcrPull": 35,
    "AcrPush": 25,
    "Reader": 15,
    "Contributor": 10,
    "Owner": 5,
    "AcrDelete": 5,
    "Auditor": 5,
}
SKOPEO_TIMEOUT = 60.0


# --------------------------------------------------------------------------------------------
# Database: the registry, the benchmark's service principal, and 1,000 other assignments.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    client_id: str
    secret: str
    assignments: int
    principals: str


def wipe_population() -> None:
    """Remove what an earlier run created (principals cascade to their assignments)."""
    from accounts.models import Group, ServicePrincipal, User
    from registry.models import Registry

    ServicePrincipal.objects.filter(name__startswith=PREFIX).delete()
    Group.objects.filter(name__startswith=PREFIX).delete()
    User.objects.filter(username__startswith=PREFIX).delete()
    Registry.objects.filter(name__in=(REGISTRY_NAME, *OTHER_REGISTRIES)).delete()


def populate(registry_url: str, assignments: int, seed: int) -> Population:
    """Registries, namespaces, repositories, principals and role assignments, then the bench's
    own service principal with a secret and AcrPush on ``team-a``."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Group, GroupMembership, ServicePrincipal, User
    from accounts.services import service_principal_secret_create
    from registry.models import Namespace, Registry, Repository, RoleAssignment, RoleDefinition

    rng = random.Random(seed)
    now = timezone.now()
    with transaction.atomic():
        wipe_population()
        registries = [
            Registry.objects.create(
                name=REGISTRY_NAME,
                login_server=registry_url,
                service=SERVICE,
                description="Created by bench/tokens.py",
            )
        ]
        for index, name in enumerate(OTHER_REGISTRIES):
            registries.append(
                Registry.objects.create(
                    name=name,
                    login_server=f"http://127.0.0.1:{5001 + index}",
                    description="Created by bench/tokens.py",
                )
            )
        namespaces = Namespace.objects.bulk_create(
            Namespace(registry=registry, name=f"team-{chr(ord('a') + i)}")
            for registry in registries
            for i in range(NAMESPACES_PER_REGISTRY)
        )
        repositories = Repository.objects.bulk_create(
            Repository(registry=namespace.registry, name=f"{namespace.name}/app")
            if i == 0
            else Repository(registry=namespace.registry, name=f"{namespace.name}/service-{i}")
            for namespace in namespaces
            for i in range(REPOSITORIES_PER_NAMESPACE)
        )
        # Other principals: people, their groups, and CI systems.
        users = User.objects.bulk_create(
            User(username=f"{PREFIX}user-{i:03d}", password="!") for i in range(200)
        )
        groups = Group.objects.bulk_create(Group(name=f"{PREFIX}group-{i:02d}") for i in range(30))
        GroupMembership.objects.bulk_create(
            GroupMembership(group=group, user=user)
            for group in groups
            for user in rng.sample(users, 10)
        )
        robots = ServicePrincipal.objects.bulk_create(
            ServicePrincipal(name=f"{PREFIX}robot-{i:02d}") for i in range(50)
        )
        roles = {role.name: role for role in RoleDefinition.objects.filter(is_builtin=True)}
        role_names = list(ROLE_WEIGHTS)
        weights = list(ROLE_WEIGHTS.values())
        rows = []
        for _ in range(assignments):
            registry = rng.choices(registries, weights=[40, 15, 15, 15, 15])[0]
            kind = rng.choices(["registry", "namespace", "repository"], weights=[10, 60, 30])[0]
            if kind == "registry":
                scope = registry.scope
            elif kind == "namespace":
                namespace = rng.choice([n for n in namespaces if n.registry_id == registry.pk])
                scope = f"{registry.scope}/namespaces/{namespace.name}"
            else:
                repository = rng.choice([r for r in repositories if r.registry_id == registry.pk])
                scope = f"{registry.scope}/repositories/{repository.name}"
            principal = rng.choices(
                [
                    {"user": rng.choice(users)},
                    {"group": rng.choice(groups)},
                    {"service_principal": rng.choice(robots)},
                ],
                weights=[55, 25, 20],
            )[0]
            lifetime = rng.random()
            expires_at = (
                now - timedelta(days=rng.randint(1, 90))  # expired: grants nothing
                if lifetime < 0.05
                else now + timedelta(days=rng.randint(1, 365))
                if lifetime < 0.15
                else None
            )
            rows.append(
                RoleAssignment(
                    role=roles[rng.choices(role_names, weights=weights)[0]],
                    scope=scope,
                    expires_at=expires_at,
                    **principal,
                )
            )
        RoleAssignment.objects.bulk_create(rows)
        # The benchmark's own principal: a CI pipeline allowed to push to team-a.
        principal = ServicePrincipal.objects.create(name=f"{PREFIX}ci")
        RoleAssignment.objects.create(
            role=roles["AcrPush"],
            scope=f"{registries[0].scope}/namespaces/{NAMESPACE}",
            service_principal=principal,
        )
        secret = service_principal_secret_create(
            service_principal=principal, description="bench/tokens.py"
        ).secret
    analyze()
    return Population(
        client_id=str(principal.client_id),
        secret=secret,
        assignments=RoleAssignment.objects.count(),
        principals=(
            f"{len(users)} users, {len(groups)} groups, {len(robots) + 1} service principals; "
            f"{len(registries)} registries, {len(namespaces)} namespaces, "
            f"{len(repositories)} repositories"
        ),
    )


# --------------------------------------------------------------------------------------------
# Processes: the portal under gunicorn, and two registries.
# --------------------------------------------------------------------------------------------


def portal_environment(data_dir: Path, key_file: Path, url: str) -> dict[str, str]:
    """Production settings over plain HTTP (no TLS terminator in front of it here)."""
    return {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "PORTAL_URL": url,
        "PORTAL_DATA_DIR": str(data_dir / "portal"),
        "TOKEN_SIGNING_KEY_FILE": str(key_file),
        "LOG_LEVEL": "WARNING",
    }


def start_registry(processes: Processes, workdir: Path, port: int, auth: str = "") -> str:
    """One of the two registries, which differ only by ``auth`` (the YAML of the section)."""
    label = f"docker-registry ({workdir.name})"
    return launch_registry(processes, workdir, port, auth=auth, label=label)


def token_auth_section(realm: str, issuer: str, bundle: Path) -> str:
    return (
        "auth:\n"
        "  token:\n"
        f"    realm: {realm}\n"
        f"    service: {SERVICE}\n"
        f"    issuer: {issuer}\n"
        f"    rootcertbundle: {json.dumps(str(bundle))}\n"
    )


# --------------------------------------------------------------------------------------------
# CPU accounting: the client (this process), gunicorn's workers, the database's backends.
# --------------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the command name may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = process_cpu(int(entry.name))
            if info is not None and info[0] == parent:
                found.append(int(entry.name))
    return found


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy since boot (all CPUs)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass
class CpuSnapshot:
    client: float
    gunicorn: dict[int, float]
    database: dict[int, float]
    machine: float


class CpuMeter:
    """CPU seconds spent between two snapshots, by part; database backends only when the
    database is PostgreSQL on this machine (their pids come from ``pg_stat_activity``)."""

    def __init__(self, gunicorn_pid: int) -> None:
        from django.db import connection

        self.gunicorn_pid = gunicorn_pid
        host = connection.settings_dict.get("HOST") or ""
        self.measures_database = connection.vendor == "postgresql" and host in {
            "",
            "127.0.0.1",
            "localhost",
            "::1",
        }

    def _database_pids(self) -> list[int]:
        if not self.measures_database:
            return []
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            return [row[0] for row in cursor.fetchall()]

    def snapshot(self) -> CpuSnapshot:
        def cpu_of(pids: list[int]) -> dict[int, float]:
            return {pid: info[1] for pid in pids if (info := process_cpu(pid)) is not None}

        return CpuSnapshot(
            client=time.process_time(),
            gunicorn=cpu_of(children_of(self.gunicorn_pid)),
            database=cpu_of(self._database_pids()),
            machine=machine_busy(),
        )

    @staticmethod
    def spent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
        def delta(a: dict[int, float], b: dict[int, float]) -> float:
            # A process present at both ends; one that came or went mid-round is not counted.
            return sum(b[pid] - a[pid] for pid in a.keys() & b.keys())

        return {
            "client": after.client - before.client,
            "gunicorn": delta(before.gunicorn, after.gunicorn),
            "database": delta(before.database, after.database),
            "machine": after.machine - before.machine,
        }


# --------------------------------------------------------------------------------------------
# Load: a fixed number of connections per side, fixed-length rounds, every answer checked.
# --------------------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    request_label: str
    url: str
    headers: dict[str, str]
    check: Callable[[int, bytes], str | None]  # what is wrong with an answer, or None
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("client", "gunicorn", "database", "machine"), 0.0)
    )

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.wall

    def per_request_ms(self, part: str) -> float:
        return self.cpu[part] / self.requests * 1000


def check_floor(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    if json.loads(body) != {"status": "ok"}:
        return f"unexpected answer {body[:200]!r}"
    return None


def token_checker(client_id: str) -> Callable[[int, bytes], str | None]:
    def check(status: int, body: bytes) -> str | None:
        if status != 200:
            return f"HTTP {status}: {body[:300]!r}"
        answer = json.loads(body)
        token = answer.get("token")
        if not token or answer.get("access_token") != token:
            return f"no token in {body[:300]!r}"
        claims = jwt.decode(token, options={"verify_signature": False})
        if claims.get("access") != EXPECTED_ACCESS:
            return f"the token grants {claims.get('access')!r}, expected {EXPECTED_ACCESS!r}"
        if claims.get("sub") != client_id or claims.get("aud") != SERVICE:
            return f"sub/aud {claims.get('sub')!r}/{claims.get('aud')!r}"
        return None

    return check


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def run_round(
    side: Side,
    clients: list[httpx.Client],
    duration: float,
    meter: CpuMeter | None,
) -> tuple[list[float], float, dict[str, float] | None]:
    """Each client sends requests back to back for ``duration`` seconds; answers are checked
    afterwards, so checking costs the client nothing while it is timed."""
    answers: list[list[tuple[float, int, bytes]]] = [[] for _ in clients]
    start_line = threading.Barrier(len(clients) + 1)
    deadline = 0.0
    failures: list[BaseException] = []

    def drive(client: httpx.Client, out: list[tuple[float, int, bytes]]) -> None:
        try:
            start_line.wait()
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = client.get(side.url, headers=side.headers)
                out.append((time.perf_counter() - started, response.status_code, response.content))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [
        threading.Thread(target=drive, args=(client, out), daemon=True)
        for client, out in zip(clients, answers, strict=True)
    ]
    for thread in threads:
        thread.start()
    before = meter.snapshot() if meter else None
    started = time.perf_counter()
    deadline = started + duration
    start_line.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    spent = meter.spent(before, meter.snapshot()) if meter and before else None
    if failures:
        raise RuntimeError(f"{side.name}: {failures[0]!r}") from failures[0]
    latencies = []
    for out in answers:
        for latency, status, body in out:
            try:
                problem = side.check(status, body)
            except Exception as exc:  # not JSON, not a JWT: as wrong as a wrong grant
                problem = f"unreadable answer ({exc!r}): {body[:300]!r}"
            if problem is not None:
                raise RuntimeError(f"{side.name} {side.request_label}: {problem}")
            latencies.append(latency)
    return latencies, wall, spent


def run_load(
    sides: tuple[Side, Side],
    meter: CpuMeter,
    connections: int,
    duration: float,
    rounds: int,
    warmup: float,
) -> None:
    clients = [httpx.Client(timeout=30.0) for _ in range(connections)]
    try:
        for side in sides:
            run_round(side, clients, warmup, None)
        for number in range(rounds):
            # ABBA: floor, token, token, floor, … so neither side always goes first.
            order = sides if number % 2 == 0 else sides[::-1]
            for side in order:
                latencies, wall, spent = run_round(side, clients, duration, meter)
                side.latencies.extend(latencies)
                side.wall += wall
                for part, seconds in (spent or {}).items():
                    side.cpu[part] += seconds
    finally:
        for client in clients:
            client.close()


def one_connection(sides: tuple[Side, Side], duration: float) -> dict[str, list[float]]:
    """Latency with no concurrency: what one client waits for its token on an idle portal."""
    latencies: dict[str, list[float]] = {side.name: [] for side in sides}
    with httpx.Client(timeout=30.0) as client:
        for number in range(4):
            for side in sides if number % 2 == 0 else sides[::-1]:
                latencies[side.name].extend(run_round(side, [client], duration / 4, None)[0])
    return latencies


def print_one_connection(latencies: dict[str, list[float]], duration: float) -> None:
    print(f"\none connection, no concurrency ({duration:g} s per side, alternating):")
    for name, values in latencies.items():
        print(
            f"  {name:<6} {len(values):>6,} requests  p50 {percentile(values, 50) * 1000:6.2f} ms"
            f"  p95 {percentile(values, 95) * 1000:6.2f} ms"
        )


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def print_load(
    sides: tuple[Side, Side], measures_database: bool, target: float
) -> tuple[float, bool]:
    header = (
        f"{'side':<6} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  "
        f"{'CPU ms/req: gunicorn':>20} {'database':>8} {'client':>7} {'machine':>7}  request"
    )
    print(header)
    print("-" * len(header))
    for side in sides:
        ms = [percentile(side.latencies, q) * 1000 for q in (50, 95, 99)]
        database = f"{side.per_request_ms('database'):8.2f}" if measures_database else f"{'-':>8}"
        print(
            f"{side.name:<6} {side.requests:>8,} {side.throughput:>8,.0f} "
            f"{ms[0]:>7.2f} {ms[1]:>7.2f} {ms[2]:>7.2f}  "
            f"{side.per_request_ms('gunicorn'):>20.2f} {database} "
            f"{side.per_request_ms('client'):>7.2f} {side.per_request_ms('machine'):>7.2f}  "
            f"{side.request_label}"
        )
    floor, token = sides
    ratio = token.throughput / floor.throughput
    met = ratio >= target
    print(
        f"\nthroughput token/floor: {ratio:.2f}   target ≥ {target:.2f}   "
        f"[{'met' if met else 'MISSED'}]"
    )
    busy = sum(s.cpu["machine"] for s in sides) / sum(s.wall for s in sides)
    print(
        f"machine CPU busy during the timed rounds: {busy:.2f} of {os.cpu_count()} CPUs; "
        f"load average now {load_average()}"
    )
    return ratio, met


# --------------------------------------------------------------------------------------------
# End to end: skopeo inspect through token auth against the same image with no auth.
# --------------------------------------------------------------------------------------------


def skopeo(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("skopeo")
    if binary is None:
        raise SystemExit("skopeo is not installed: apt-get install skopeo")
    return subprocess.run(
        [binary, *argv], capture_output=True, text=True, env=env, timeout=SKOPEO_TIMEOUT
    )


def push_image(layout: Path, host: str, creds: str | None, env: dict[str, str]) -> None:
    credentials = [f"--dest-creds={creds}"] if creds else ["--dest-no-creds"]
    result = skopeo(
        [
            "--insecure-policy",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            *credentials,
            f"oci:{layout}",
            f"docker://{host}/{REPOSITORY}:{TAG}",
        ],
        env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"skopeo copy to {host} failed: {result.stderr.strip()}")


def inspect_command(host: str, creds: str | None) -> list[str]:
    credentials = [f"--creds={creds}"] if creds else ["--no-creds"]
    return ["inspect", "--tls-verify=false", *credentials, f"docker://{host}/{REPOSITORY}:{TAG}"]


def timed_inspect(command: list[str], digest: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = skopeo(command, env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(command)}: {result.stderr.strip()}")
    found = json.loads(result.stdout).get("Digest")
    if found != digest:
        raise RuntimeError(f"skopeo inspect saw {found}, expected {digest}")
    return elapsed


def run_end_to_end(
    guarded_host: str,
    open_host: str,
    creds: str,
    digest: str,
    runs: int,
    warmup: int,
    env: dict[str, str],
) -> tuple[list[float], list[float]]:
    refused = skopeo(inspect_command(guarded_host, None), env)
    if refused.returncode == 0:
        raise RuntimeError("the registry behind token auth answered an anonymous inspect")
    guarded_cmd = inspect_command(guarded_host, creds)
    open_cmd = inspect_command(open_host, None)
    for _ in range(warmup):
        timed_inspect(guarded_cmd, digest, env)
        timed_inspect(open_cmd, digest, env)
    guarded_times: list[float] = []
    open_times: list[float] = []
    for number in range(runs):
        pair = [(guarded_cmd, guarded_times), (open_cmd, open_times)]
        for command, times in pair if number % 2 == 0 else pair[::-1]:
            times.append(timed_inspect(command, digest, env))
    return guarded_times, open_times


def print_end_to_end(
    guarded_times: list[float], open_times: list[float], target: float
) -> tuple[float, bool]:
    header = f"{'registry':<40} {'runs':>4} {'median ms':>9} {'min ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for label, times in (
        ("token auth (realm: the portal, gunicorn)", guarded_times),
        ("no auth", open_times),
    ):
        print(
            f"{label:<40} {len(times):>4} {statistics.median(times) * 1000:>9.1f} "
            f"{min(times) * 1000:>8.1f} {max(times) * 1000:>8.1f}"
        )
    ratio = statistics.median(guarded_times) / statistics.median(open_times)
    met = ratio <= target
    print(
        f"\nmedian token auth/no auth: {ratio:.2f}   target ≤ {target:.2f}   "
        f"[{'met' if met else 'MISSED'}]; load average now {load_average()}"
    )
    return ratio, met


# --------------------------------------------------------------------------------------------
# In-process profile of the token view (--profile).
# --------------------------------------------------------------------------------------------


def wall_and_cpu_ms(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """The median wall time of ``call`` and this process's mean CPU time for it: the wall
    time includes waiting for the database (and, on a busy machine, for a CPU)."""
    times = []
    cpu_started = time.process_time()
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    cpu = (time.process_time() - cpu_started) / repeat
    return statistics.median(times) * 1000, cpu * 1000


def profile_in_process(population: Population, repeat: int) -> None:
    """Where a token request's time goes, in this process (no HTTP, no gunicorn)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client, RequestFactory

    from registry.models import Registry
    from registry.permissions import engine
    from registry.permissions.docker import parse_token_scope
    from registry.tokens import server
    from registry.tokens.issue import sign_registry_token

    host = {"HTTP_HOST": "127.0.0.1"}
    auth = {"HTTP_AUTHORIZATION": basic(population.client_id, population.secret)}
    params = {"service": SERVICE, "scope": SCOPE}
    client = Client(**host)
    factory = RequestFactory(**host)

    def token_request() -> Any:
        return client.get("/oauth2/token", params, **auth)

    def view_only() -> None:
        server.token(factory.get("/oauth2/token", params, **auth))

    registry = Registry.objects.get(service=SERVICE)
    principal = server.authenticate(population.client_id, population.secret)
    scope = parse_token_scope(SCOPE)
    target = f"{registry.scope}/repositories/{REPOSITORY}"
    key = server.signing_key()
    access = [{"type": scope.type, "name": scope.name, "actions": ["pull", "push"]}]
    check = token_checker(population.client_id)
    response = token_request()
    if (problem := check(response.status_code, response.content)) is not None:
        raise RuntimeError(f"in-process token request: {problem}")
    for _ in range(50):  # warm caches: compiled regexes, the signing key, the connection
        token_request()

    # Each query's execute (the round trip to the database and its work), beside the request.
    executed: list[tuple[str, float]] = []

    def timing(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            executed.append((sql, time.perf_counter() - started))

    samples: list[list[tuple[str, float]]] = []
    with connection.execute_wrapper(timing):
        for _ in range(repeat):
            executed = []
            token_request()
            samples.append(executed)
    counts = {len(sample) for sample in samples}
    print(f"queries per token request: {sorted(counts)} (Django's connection health check aside)")
    for index, (sql, _) in enumerate(samples[-1]):
        sql = " ".join(sql.split())
        shown = sql if len(sql) <= 140 else sql[:140] + "…"
        times = [sample[index][1] for sample in samples if len(sample) > index]
        print(f"  {statistics.median(times) * 1000:6.3f} ms  {shown}")
    in_database = statistics.median(sum(t for _, t in sample) for sample in samples)
    print(f"  {in_database * 1000:6.3f} ms  all executes (median per request)")

    parts = [
        ("GET /healthz through the middleware", lambda: client.get("/healthz")),
        ("GET /oauth2/token through the middleware", token_request),
        ("the token view alone (RequestFactory)", view_only),
        ("  Registry by service", lambda: Registry.objects.filter(service=SERVICE).first()),
        (
            "  authenticate (secret by digest)",
            lambda: server.authenticate(population.client_id, population.secret),
        ),
        ("  grant: engine + lock lookup", lambda: server.grant(principal, registry, scope)),
        ("    engine.effective_actions", lambda: engine.effective_actions(principal, target)),
        (
            "  sign_registry_token (ES256)",
            lambda: sign_registry_token(
                key,
                issuer=settings.TOKEN_ISSUER,
                subject=population.client_id,
                audience=SERVICE,
                access=access,
            ),
        ),
    ]
    print(f"\n{repeat} calls each, in-process:{'':<13} {'median wall ms':>14} {'mean CPU ms':>11}")
    for label, call in parts:
        wall, cpu = wall_and_cpu_ms(call, repeat)
        print(f"  {label:<45} {wall:>14.3f} {cpu:>11.3f}")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        token_request()
    profiler.disable()
    print(f"\ncProfile of {repeat} token requests through the middleware (top 20 by own time):")
    print_stats(profiler, "tottime", 20)
    print("\nthe portal's own functions in it (by cumulative time):")
    print_stats(profiler, "cumulative", rf"{ROOT}/(registry|accounts|portal)/", 15)


def print_stats(profiler: cProfile.Profile, order: str, *restrictions: Any) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(*restrictions)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    for line in lines[start:]:
        if line.strip():
            print("  " + line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", ""))


# --------------------------------------------------------------------------------------------
# Main.
# --------------------------------------------------------------------------------------------


def default_workers() -> int:
    """gunicorn's rule of thumb for workers: 2 × CPUs + 1 (each with gunicorn.conf.py's threads)."""
    return 2 * len(os.sched_getaffinity(0)) + 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the token server under gunicorn against a trivial view, and skopeo "
        "through token auth against a registry without auth.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="signing key, registries' storage, OCI layout, logs (and the SQLite database) go "
        "here and stay (default: a temporary directory, removed at the end unless --keep)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the temporary data behind")
    parser.add_argument(
        "--assignments", type=int, default=1_000, help="role assignments of other principals"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="gunicorn workers (threaded: gunicorn.conf.py)",
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="concurrent client connections (threads)"
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per side and round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds (each runs both sides)")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per side")
    parser.add_argument("--inspect-runs", type=int, default=20, help="skopeo inspects per side")
    parser.add_argument("--inspect-warmup", type=int, default=2, help="untimed inspects per side")
    parser.add_argument("--skip-load", action="store_true", help="skip the throughput part")
    parser.add_argument("--skip-inspect", action="store_true", help="skip the skopeo part")
    parser.add_argument(
        "--profile",
        nargs="?",
        type=int,
        const=500,
        default=0,
        metavar="N",
        help="profile the token view in-process over N calls (default N: 500)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the assignments' spread")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed (for CI)"
    )
    args = parser.parse_args(argv)
    if args.connections < 1 or args.workers < 1 or args.rounds < 1:
        parser.error("--connections, --workers and --rounds must be at least 1")
    if args.duration <= 0 or args.inspect_runs < 2:
        parser.error("--duration must be positive and --inspect-runs at least 2")
    return args


THROUGHPUT_TARGET = 0.5  # token/floor requests per second, at least
END_TO_END_TARGET = 1.3  # skopeo inspect with token auth / without, at most


def prepare_signing_key(data_dir: Path) -> Path:
    from registry.tokens.keys import generate_signing_key, load_signing_key

    key_file = data_dir / "keys" / "token-signing-key.pem"
    if key_file.exists():
        load_signing_key(key_file)  # a kept data dir: the same key, checked
    else:
        generate_signing_key(key_file)
    return key_file


@contextlib.contextmanager
def data_directory(args: argparse.Namespace) -> Iterator[Path]:
    temporary = args.data_dir is None
    path = (
        Path(tempfile.mkdtemp(prefix="portcullis-bench-tokens-")) if temporary else args.data_dir
    ).resolve()
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    finally:
        if temporary and not args.keep:
            shutil.rmtree(path, ignore_errors=True)
        elif temporary:
            print(f"data kept in {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    processes = Processes()
    results: list[bool] = []
    with data_directory(args) as data_dir:
        cleanup_database = False
        try:
            with terminate_as_interrupt():
                started = time.perf_counter()
                key_file = prepare_signing_key(data_dir)
                portal_port, guarded_port = free_port(), free_port()
                portal_url = f"http://127.0.0.1:{portal_port}"
                # This process runs with the same settings as gunicorn (production ones), so
                # the in-process profile measures the same middleware and storage.
                environment = portal_environment(data_dir, key_file, portal_url)
                os.environ.update(environment)
                configure_django(data_dir)
                from django.conf import settings
                from django.db import connection

                cleanup_database = True
                population = populate(
                    f"http://127.0.0.1:{guarded_port}", args.assignments, args.seed
                )
                database = database_description()
                connection.close()
                _url, gunicorn = launch_portal(
                    processes,
                    data_dir,
                    args.workers,
                    port=portal_port,
                    settings=environment,
                )
                print(f"date:      {datetime.now(UTC):%Y-%m-%d %H:%M UTC}")
                print(f"machine:   {machine_description()}")
                print(f"load:      {load_average()} before the run")
                print(f"database:  {database}")
                print(
                    f"data:      {population.assignments:,} role assignments in all: "
                    f"{population.principals}"
                )
                print(
                    f"portal:    gunicorn {gunicorn_version()} --workers {args.workers} "
                    "(threaded: gunicorn.conf.py) "
                    f"on {portal_url}, DEBUG=0"
                )
                print(f"setup took {time.perf_counter() - started:.1f} s")
                creds = f"{population.client_id}:{population.secret}"
                if not args.skip_load:
                    sides = (
                        Side(
                            "floor",
                            "GET /healthz",
                            f"{portal_url}/healthz",
                            {},
                            check_floor,
                        ),
                        Side(
                            "token",
                            f"GET /oauth2/token?scope={SCOPE} (Basic client id:secret)",
                            f"{portal_url}/oauth2/token?"
                            + urlencode({"service": SERVICE, "scope": SCOPE}),
                            {"Authorization": basic(population.client_id, population.secret)},
                            token_checker(population.client_id),
                        ),
                    )
                    print(
                        f"\n== 1. token issuance under load: {args.connections} connections, "
                        f"{args.rounds} rounds × {args.duration:g} s per side (alternating), "
                        f"{args.warmup:g} s warm-up per side"
                    )
                    meter = CpuMeter(gunicorn.pid)
                    run_load(
                        sides, meter, args.connections, args.duration, args.rounds, args.warmup
                    )
                    results.append(print_load(sides, meter.measures_database, THROUGHPUT_TARGET)[1])
                    print_one_connection(one_connection(sides, args.duration), args.duration)
                if not args.skip_inspect:
                    results.append(
                        end_to_end(
                            processes, data_dir, guarded_port, portal_url, creds, args, settings
                        )
                    )
                if args.profile:
                    print(f"\n== in-process profile of the token view ({args.profile} calls)")
                    profile_in_process(population, args.profile)
                if not all(results):
                    print("\nsome target was missed (see above)")
                return 1 if args.strict and not all(results) else 0
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except RuntimeError as exc:
            print(f"\nbenchmark failed: {exc}", file=sys.stderr)
            log = data_dir / "gunicorn.log"
            if log.exists():
                print(f"gunicorn log:\n{tail(log)}", file=sys.stderr)
            return 1
        finally:
            processes.stop_all()
            if cleanup_database and not args.keep:
                remove_population()


def end_to_end(
    processes: Processes,
    data_dir: Path,
    guarded_port: int,
    portal_url: str,
    creds: str,
    args: argparse.Namespace,
    settings: Any,
) -> bool:
    from registry.tokens.keys import certificate_path
    from tests.fixtures.images import build_image

    key_file = Path(settings.TOKEN_SIGNING_KEY_FILE)
    guarded_url = start_registry(
        processes,
        data_dir / "registry-token-auth",
        guarded_port,
        token_auth_section(
            f"{portal_url}/oauth2/token", settings.TOKEN_ISSUER, certificate_path(key_file)
        ),
    )
    open_url = start_registry(processes, data_dir / "registry-no-auth", free_port())
    guarded_host, open_host = urlsplit(guarded_url).netloc, urlsplit(open_url).netloc
    layout = data_dir / "image"
    shutil.rmtree(layout, ignore_errors=True)
    image = build_image(layout, seed="bench/tokens.py", layer_count=2)
    # A private auth file: a developer's own registry credentials stay out of it.
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(data_dir / "skopeo-auth.json")}
    push_image(layout, guarded_host, creds, env)  # itself a push through the token server
    push_image(layout, open_host, None, env)
    print(
        f"\n== 2. end to end: skopeo inspect docker://HOST/{REPOSITORY}:{TAG} "
        f"({image.digest[:19]}…, {len(image.layers)} layers), {args.inspect_runs} runs per side "
        f"after {args.inspect_warmup} warm-up, alternating"
    )
    print(f"skopeo:    {skopeo(['--version'], env).stdout.strip()}; registry: {registry_version()}")
    guarded_times, open_times = run_end_to_end(
        guarded_host,
        open_host,
        creds,
        image.digest,
        args.inspect_runs,
        args.inspect_warmup,
        env,
    )
    return print_end_to_end(guarded_times, open_times, END_TO_END_TARGET)[1]


def load_average() -> str:
    """The machine's load (1, 5, 15 minutes): other work on it shows in the figures."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def gunicorn_version() -> str:
    import gunicorn

    return gunicorn.__version__


def remove_population() -> None:
    """The benchmark's rows leave the database with it (SQLite goes with the data dir anyway)."""
    from django.db import connection

    try:
        connection.close()
        wipe_population()
    except Exception as exc:  # cleanup must not hide the figures
        print(f"could not remove the benchmark's rows: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
