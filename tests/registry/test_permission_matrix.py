"""The permission matrix: for every built-in role × scope level × operation, the engine, the REST
API, the HTML views and the token server give the same answer.

The expected answer is computed from the permission model itself (the role's actions and which
scope covers which), not from the engine, so a bug in the engine fails here too. An operation
the principal may do is allowed everywhere; one on something visible but not allowed is a 403 in
the API and the pages; one on something the principal cannot see at all is a 404, as if it did
not exist. The token server grants exactly the docker actions the engine allows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.services import personal_access_token_create
from registry.models import (
    AuditEvent,
    Namespace,
    Registry,
    Repository,
    RoleAssignment,
    RoleDefinition,
)
from registry.permissions import BUILTIN_ROLES, engine, parse_scope
from registry.tokens import server as token_server
from registry.tokens.keys import generate_signing_key
from tests.registry.api_support import api_url

pytestmark = pytest.mark.django_db

REGISTRY = "prod1"
SERVICE = "prod1.example.com"
# Nothing listens on port 9: an operation that reaches the registry answers 503, which shows
# that the portal let the caller through.
LOGIN_SERVER = "http://127.0.0.1:9"

LEVELS = {
    "registry": f"/registries/{REGISTRY}",
    "namespace": f"/registries/{REGISTRY}/namespaces/team-a",
    "repository": f"/registries/{REGISTRY}/repositories/team-a/app",
}


@dataclass(frozen=True)
class Operation:
    """One thing a person can try, with the action it needs at the scope it names."""

    name: str
    action: str | None  # None: only needs to see the scope
    scope: str
    api: tuple[str, str, dict[str, str], dict | None]  # method, route, kwargs, body
    html: tuple[str, str, tuple[str, ...], dict | None]  # method, route, args, form data
    allowed_api: frozenset[int] = frozenset({200})
    allowed_html: frozenset[int] = frozenset({200})


APP = ("team-a/app",)
OTHER = ("team-b/app",)
LOCKS_FORM = {"write_enabled": "on", "delete_enabled": "on", "read_enabled": "on"}


def _repository_kwargs(name: str) -> dict[str, str]:
    return {"registry": REGISTRY, "repository": name}


OPERATIONS = [
    Operation(
        "see the registry",
        None,
        LEVELS["registry"],
        ("get", "registry-detail", {"registry": REGISTRY}, None),
        ("get", "registry_detail", (REGISTRY,), None),
    ),
    Operation(
        "edit the registry",
        "registry/write",
        LEVELS["registry"],
        ("patch", "registry-detail", {"registry": REGISTRY}, {"description": "changed"}),
        ("get", "registry_edit", (REGISTRY,), None),
    ),
    Operation(
        "remove the registry",
        "registry/delete",
        LEVELS["registry"],
        ("delete", "registry-detail", {"registry": REGISTRY}, None),
        ("get", "registry_delete", (REGISTRY,), None),
        allowed_api=frozenset({204}),
    ),
    Operation(
        "add a registry",
        "registry/write",
        "/",
        ("post", "registry-list", {}, {"name": "prod2", "login_server": "https://p2.example.com"}),
        ("get", "registry_create", (), None),
        allowed_api=frozenset({201}),
    ),
    Operation(
        "see namespace team-a",
        None,
        LEVELS["namespace"],
        ("get", "namespace-detail", {"registry": REGISTRY, "namespace": "team-a"}, None),
        ("get", "namespace_detail", (REGISTRY, "team-a"), None),
    ),
    Operation(
        "edit namespace team-a",
        "registry/write",
        LEVELS["namespace"],
        ("patch", "namespace-detail", {"registry": REGISTRY, "namespace": "team-a"}, {}),
        ("get", "namespace_edit", (REGISTRY, "team-a"), None),
    ),
    Operation(
        "see namespace team-b",
        None,
        f"/registries/{REGISTRY}/namespaces/team-b",
        ("get", "namespace-detail", {"registry": REGISTRY, "namespace": "team-b"}, None),
        ("get", "namespace_detail", (REGISTRY, "team-b"), None),
    ),
    Operation(
        "show team-a/app",
        "metadata/read",
        LEVELS["repository"],
        ("get", "repository-detail", _repository_kwargs("team-a/app"), None),
        ("get", "repository_detail", (REGISTRY, *APP), None),
    ),
    Operation(
        "lock team-a/app",
        "metadata/write",
        LEVELS["repository"],
        ("patch", "repository-detail", _repository_kwargs("team-a/app"), {"write_enabled": True}),
        ("post", "repository_locks", (REGISTRY, *APP), LOCKS_FORM),
        allowed_html=frozenset({302}),
    ),
    Operation(
        "delete team-a/app",
        "content/delete",
        LEVELS["repository"],
        ("delete", "repository-detail", _repository_kwargs("team-a/app"), None),
        ("get", "repository_delete", (REGISTRY, *APP), None),
        allowed_api=frozenset({204, 503}),
    ),
    Operation(
        "show team-b/app",
        "metadata/read",
        f"/registries/{REGISTRY}/repositories/team-b/app",
        ("get", "repository-detail", _repository_kwargs("team-b/app"), None),
        ("get", "repository_detail", (REGISTRY, *OTHER), None),
    ),
]


def expected(assigned: str, role: str, operation: Operation) -> str:
    """``allowed``, ``forbidden`` (403) or ``hidden`` (404), from the model's own rules."""
    held, target = parse_scope(assigned), parse_scope(operation.scope)
    visible = target.kind == "root" or held.covers(target) or target.covers(held)
    if operation.action is None:
        return "allowed" if visible else "hidden"
    if held.covers(target) and operation.action in BUILTIN_ROLES[role]:
        return "allowed"
    return "forbidden" if visible else "hidden"


@pytest.fixture
def world(db, tmp_path, settings):
    settings.TOKEN_SIGNING_KEY_FILE = str(tmp_path / "token-signing-key.pem")
    generate_signing_key(Path(settings.TOKEN_SIGNING_KEY_FILE))
    token_server.signing_key.cache_clear()
    registry = Registry.objects.create(name=REGISTRY, login_server=LOGIN_SERVER, service=SERVICE)
    for name in ("team-a", "team-b"):
        Namespace.objects.create(registry=registry, name=name)
        Repository.objects.create(registry=registry, name=f"{name}/app")
    yield registry
    token_server.signing_key.cache_clear()


def assign(role: str, scope: str, **principal) -> RoleAssignment:
    return RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=scope, **principal
    )


def api_status(client, token: str, operation: Operation) -> int:
    method, route, kwargs, body = operation.api
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    url = api_url(route, **kwargs)
    if body is None:
        return getattr(client, method)(url, **headers).status_code
    return getattr(client, method)(
        url, body, content_type="application/json", **headers
    ).status_code


def html_status(client, operation: Operation) -> int:
    method, route, args, data = operation.html
    url = reverse(f"registry:{route}", args=args)
    return getattr(client, method)(url, data or {}).status_code


def token_grants(client, username: str, token: str, repository: str) -> set[str]:
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    response = client.get(
        "/oauth2/token",
        {"service": SERVICE, "scope": f"repository:{repository}:pull,push,delete"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    return set(claims["access"][0]["actions"])


DOCKER_ACTIONS = {"pull": "content/read", "push": "content/write", "delete": "content/delete"}


def assert_agreement(client, user, token: str, operation: Operation, outcome: str) -> None:
    """The engine, the API and the HTML view all give ``outcome`` for ``operation``."""
    held = engine.grants_of(user)
    engine_outcome = (
        "allowed"
        if (operation.action is None and held.can_see(operation.scope))
        or (operation.action is not None and held.allows(operation.action, operation.scope))
        else ("forbidden" if held.can_see(operation.scope) else "hidden")
    )
    assert engine_outcome == outcome, f"engine: {operation.name}"

    # The page first: its GETs change nothing, while the API's DELETE removes what it names.
    statuses = {"forbidden": {403}, "hidden": {404}}
    client.force_login(user)
    status = html_status(client, operation)
    client.logout()
    assert status in statuses.get(outcome, operation.allowed_html), f"HTML: {operation.name}"

    status = api_status(client, token, operation)
    assert status in statuses.get(outcome, operation.allowed_api), f"API: {operation.name}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name.replace(" ", "-"))
@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
def test_engine_api_and_pages_agree(client, world, bob, role, level, operation):
    assign(role, LEVELS[level], user=bob)
    token = personal_access_token_create(user=bob, name="matrix").token

    assert_agreement(client, bob, token, operation, expected(LEVELS[level], role, operation))

    if expected(LEVELS[level], role, operation) != "allowed":
        assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
def test_the_token_server_grants_what_the_engine_allows(client, world, bob, role, level):
    assign(role, LEVELS[level], user=bob)
    token = personal_access_token_create(user=bob, name="matrix").token
    for repository in ("team-a/app", "team-b/app"):
        scope = f"/registries/{REGISTRY}/repositories/{repository}"
        covered = parse_scope(LEVELS[level]).covers(parse_scope(scope))
        want = {
            docker
            for docker, action in DOCKER_ACTIONS.items()
            if covered and action in BUILTIN_ROLES[role]
        }
        assert token_grants(client, "bob", token, repository) == want, repository
        allowed = engine.effective_actions(bob, scope)
        assert want == {d for d, a in DOCKER_ACTIONS.items() if a in allowed}


def test_superusers_may_do_everything_everywhere(client, world, alice):
    token = personal_access_token_create(user=alice, name="matrix").token
    for operation in OPERATIONS:
        if operation.api[0] != "delete":
            assert_agreement(client, alice, token, operation, "allowed")
    assert token_grants(client, "alice", token, "team-b/app") == {"pull", "push", "delete"}


# Random sets of assignments -------------------------------------------------------------------

SCOPES = [
    *LEVELS.values(),
    f"/registries/{REGISTRY}/namespaces/team-b",
    f"/registries/{REGISTRY}/repositories/team-b/app",
]
READ_ONLY = [o for o in OPERATIONS if o.api[0] == "get"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    assignments=st.lists(
        st.tuples(st.sampled_from(sorted(BUILTIN_ROLES)), st.sampled_from(SCOPES)),
        max_size=4,
    )
)
def test_random_assignments_never_make_the_enforcement_points_disagree(
    client, world, bob, assignments
):
    RoleAssignment.objects.all().delete()
    for role, scope in assignments:
        assign(role, scope, user=bob)
    token = personal_access_token_create(user=bob, name="matrix").token

    for operation in READ_ONLY:
        outcomes = {expected(scope, role, operation) for role, scope in assignments} or {"hidden"}
        outcome = next(o for o in ("allowed", "forbidden", "hidden") if o in outcomes)
        if operation.scope == "/" and outcome == "hidden":
            outcome = "forbidden"
        assert_agreement(client, bob, token, operation, outcome)
    for repository in ("team-a/app", "team-b/app"):
        allowed = engine.effective_actions(bob, f"/registries/{REGISTRY}/repositories/{repository}")
        want = {d for d, a in DOCKER_ACTIONS.items() if a in allowed}
        assert token_grants(client, "bob", token, repository) == want


def _queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured)


def test_a_request_costs_the_same_queries_however_many_assignments(client, world, bob, settings):
    """Permission checks read the caller's assignments once per request, in one query."""
    # Every request reads the index: a kept page (registry.api.list_cache) would make the
    # first measurement cheaper than the second, whose new grants ask for a page of their own.
    settings.INDEX_LIST_CACHE_SECONDS = 0
    assign("AcrPull", f"/registries/{REGISTRY}/namespaces/team-a", user=bob)
    token = personal_access_token_create(user=bob, name="matrix").token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.force_login(bob)
    urls = [
        reverse("registry:repository_list", args=[REGISTRY]),
        reverse("registry:registry_detail", args=[REGISTRY]),
        reverse("registry:repository_detail", args=[REGISTRY, "team-a/app"]),
    ]
    api = [api_url("repository-list", registry=REGISTRY), api_url("registry-list")]

    def measure() -> list[int]:
        return [_queries(client, url) for url in urls] + [_queries(client, u, **auth) for u in api]

    measure()  # the token's first use records its last-use time; later ones within a minute do not
    before = measure()

    for index in range(60):
        Namespace.objects.create(registry=world, name=f"extra-{index}")
        assign("Reader", f"/registries/{REGISTRY}/namespaces/extra-{index}", user=bob)
    after = measure()

    assert after == before
