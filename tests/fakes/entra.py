"""A fake Microsoft Entra ID (and the part of Microsoft Graph the portal reads), for tests.

A real HTTP server on a free port of 127.0.0.1 (stdlib ``http.server`` in a thread) that
speaks the protocol the portal and allauth speak to the real thing:

- ``GET /{tenant}/oauth2/v2.0/authorize``: a consent page (pick an account, Accept or Cancel);
  ``POST`` to it redirects back with a code (or ``error=access_denied``);
- ``POST /{tenant}/oauth2/v2.0/token``: the code for an ID token (RS256, signed with the fake's
  key) and a Graph access token; the on-behalf-of grant (``jwt-bearer``) for a Graph token;
- ``GET /{tenant}/discovery/v2.0/keys``: the signing keys (JWKS);
- ``GET /graph/v1.0/me`` and ``/graph/v1.0/me/transitiveMemberOf`` (paged with
  ``@odata.nextLink``, groups through nested groups, plus a directory role to skip).

Tests arrange people, groups and failures on the ``FakeEntra`` object, and mint access tokens
for the portal's API with ``access_token()`` (what ``az account get-access-token`` returns).
``ENTRA_LOGIN_URL`` is ``fake.url``, ``ENTRA_GRAPH_URL`` is ``fake.graph_url``.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

GROUP_TYPE = "#microsoft.graph.group"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=secrets.token_urlsafe(16), private=key)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class FakeUser:
    username: str  # the UPN
    name: str
    email: str
    tenant_id: str
    object_id: str = field(default_factory=new_id)


@dataclass
class FakeGroup:
    display_name: str
    object_id: str = field(default_factory=new_id)
    # Members: user and group object ids (groups nest).
    members: set[str] = field(default_factory=set)


class FakeEntra:
    """The fake's state: tenant, app registration, keys, people, groups and failure knobs."""

    def __init__(self) -> None:
        self.tenant_id = new_id()
        self.client_id = new_id()
        self.client_secret = "fake-entra-secret-" + secrets.token_urlsafe(16)
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self.reset()

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def graph_url(self) -> str:
        return f"{self.url}/graph"

    def reset(self) -> None:
        """Forget every person, group, code and failure; one fresh signing key."""
        with self._lock:
            self.keys = [SigningKey.generate()]
            self.users: dict[str, FakeUser] = {}
            self.groups: dict[str, FakeGroup] = {}
            self.codes: dict[str, dict[str, Any]] = {}
            self.graph_tokens: dict[str, str] = {}  # token → user object id
            self.requests: list[tuple[str, str]] = []  # (method, path)
            self.page_size = 100
            # Failure knobs: the group list answers this status (None: it works) from page
            # ``graph_failure_page`` on (0: the first); the token endpoint refuses
            # on-behalf-of with this error.
            self.graph_failure: int | None = None
            self.graph_failure_page = 0
            self.obo_failure: str | None = None
            self.directory_roles: list[str] = ["Global Reader"]

    # Arranging ---------------------------------------------------------------------------

    def add_user(
        self, username: str, name: str = "", *, email: str = "", tenant_id: str = ""
    ) -> FakeUser:
        user = FakeUser(
            username=username,
            name=name or username.split("@")[0].title(),
            email=email or username,
            tenant_id=tenant_id or self.tenant_id,
        )
        self.users[user.object_id] = user
        return user

    def add_group(self, display_name: str, *members: FakeUser | FakeGroup) -> FakeGroup:
        group = FakeGroup(display_name)
        self.groups[group.object_id] = group
        for member in members:
            self.add_member(group, member)
        return group

    def add_member(self, group: FakeGroup, member: FakeUser | FakeGroup) -> None:
        group.members.add(member.object_id)

    def remove_member(self, group: FakeGroup, member: FakeUser | FakeGroup) -> None:
        group.members.discard(member.object_id)

    def rotate_key(self, *, keep_old: bool = True) -> SigningKey:
        """A new signing key, published first (the old one too unless ``keep_old`` is off)."""
        key = SigningKey.generate()
        self.keys = [key, *self.keys] if keep_old else [key]
        return key

    def transitive_groups(self, object_id: str) -> list[FakeGroup]:
        """Every group ``object_id`` is in, directly or through nested groups."""
        found: dict[str, FakeGroup] = {}
        frontier = {object_id}
        while frontier:
            frontier = {
                g.object_id
                for g in self.groups.values()
                if g.members & frontier and g.object_id not in found
            }
            for oid in frontier:
                found[oid] = self.groups[oid]
        return sorted(found.values(), key=lambda g: g.display_name)

    # Tokens ------------------------------------------------------------------------------

    def issuer(self, tenant_id: str) -> str:
        return f"{self.url}/{tenant_id}/v2.0"

    def sign(self, claims: dict[str, Any], *, key: SigningKey | None = None, **header: Any) -> str:
        key = key or self.keys[0]
        return jwt.encode(
            claims, key.private, algorithm="RS256", headers={"kid": key.kid, **header}
        )

    def _claims(self, user: FakeUser, *, audience: str, lifetime: int) -> dict[str, Any]:
        now = int(time.time())
        return {
            "aud": audience,
            "iss": self.issuer(user.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "tid": user.tenant_id,
            "oid": user.object_id,
            "sub": base64.urlsafe_b64encode(user.object_id.encode()).decode().rstrip("="),
            "preferred_username": user.username,
            "name": user.name,
            "ver": "2.0",
        }

    def id_token(self, user: FakeUser) -> str:
        return self.sign(self._claims(user, audience=self.client_id, lifetime=3600))

    def access_token(
        self,
        user: FakeUser,
        *,
        audience: str | None = None,
        lifetime: int = 3600,
        groups: bool = False,
        overage: bool = False,
        key: SigningKey | None = None,
        without: tuple[str, ...] = (),
        **extra: Any,
    ) -> str:
        """An access token for the portal's API, as Entra issues for ``user``.

        ``groups``: carry the ``groups`` claim (the app registration's group claims);
        ``overage``: point at Graph instead, as Entra does for people in many groups;
        ``without``: leave these claims out; ``extra``: add or replace claims.
        """
        claims = self._claims(
            user, audience=audience or f"api://{self.client_id}", lifetime=lifetime
        )
        claims["scp"] = "access_as_user"
        if groups:
            claims["groups"] = [g.object_id for g in self.transitive_groups(user.object_id)]
        if overage:
            claims["_claim_names"] = {"groups": "src1"}
            claims["_claim_sources"] = {
                "src1": {
                    "endpoint": f"{self.graph_url}/v1.0/users/{user.object_id}/getMemberObjects"
                }
            }
        claims.update(extra)
        for name in without:
            claims.pop(name, None)
        return self.sign(claims, key=key)

    def _graph_token_for(self, user_object_id: str) -> str:
        token = "graph-" + secrets.token_urlsafe(24)
        self.graph_tokens[token] = user_object_id
        return token

    def count(self, path_part: str) -> int:
        return sum(1 for _, path in self.requests if path_part in path)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEntra
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # Plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _redirect(self, location: str) -> None:
        self._send(302, b"", "text/plain", Location=location)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(length).decode()
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def _route(self) -> tuple[list[str], dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.fake.requests.append((self.command, parts.path))
        return [p for p in parts.path.split("/") if p], query

    # Verbs -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        segments, query = self._route()
        if segments == ["favicon.ico"]:
            return self._send(204, b"", "image/x-icon")
        if segments[:1] == ["graph"]:
            return self._graph(segments[1:], query)
        if segments[1:] == ["discovery", "v2.0", "keys"]:
            return self._json(200, {"keys": [k.jwk() for k in self.fake.keys]})
        if segments[1:] == ["oauth2", "v2.0", "authorize"]:
            return self._consent_page(segments[0], query)
        self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        segments, _ = self._route()
        form = self._form()
        if segments[1:] == ["oauth2", "v2.0", "authorize"]:
            return self._consent(segments[0], form)
        if segments[1:] == ["oauth2", "v2.0", "token"]:
            return self._token(segments[0], form)
        self._json(404, {"error": "not_found"})

    # The authorize endpoint --------------------------------------------------------------

    def _consent_page(self, tenant: str, query: dict[str, str]) -> None:
        fake = self.fake
        if query.get("client_id") != fake.client_id:
            return self._send(400, b"AADSTS700016: unknown application", "text/plain")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        options = "".join(
            f'<option value="{u.object_id}">{html.escape(f"{u.name} ({u.username})")}</option>'
            for u in fake.users.values()
        )
        page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign in to your account</title></head><body>
<h1>Fake Entra ID</h1>
<form method="post">{hidden}
<p>Portcullis wants to sign you in and read your group memberships
({html.escape(query.get("scope", ""))}).</p>
<label>Account <select name="account">{options}</select></label>
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form></body></html>"""
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _consent(self, tenant: str, form: dict[str, str]) -> None:
        fake = self.fake
        redirect_uri = form.get("redirect_uri", "")
        state = form.get("state", "")
        if form.get("decision") != "accept":
            return self._redirect(
                f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}"
            )
        user = fake.users[form["account"]]
        code = secrets.token_urlsafe(24)
        fake.codes[code] = {
            "user": user.object_id,
            "redirect_uri": redirect_uri,
            "client_id": form.get("client_id"),
            "code_challenge": form.get("code_challenge", ""),
        }
        self._redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    # The token endpoint ------------------------------------------------------------------

    def _client_ok(self, form: dict[str, str]) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        return client_id == self.fake.client_id and secret == self.fake.client_secret

    def _token(self, tenant: str, form: dict[str, str]) -> None:
        fake = self.fake
        if not self._client_ok(form):
            return self._json(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            found = fake.codes.pop(form.get("code", ""), None)
            if found is None or found["redirect_uri"] != form.get("redirect_uri"):
                return self._json(400, {"error": "invalid_grant", "error_description": "bad code"})
            user = fake.users[found["user"]]
            return self._json(
                200,
                {
                    "token_type": "Bearer",
                    "scope": "openid profile email User.Read GroupMember.Read.All",
                    "expires_in": 3600,
                    "access_token": fake._graph_token_for(user.object_id),
                    "id_token": fake.id_token(user),
                },
            )
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            if fake.obo_failure:
                return self._json(
                    400, {"error": fake.obo_failure, "error_description": "AADSTS65001: no consent"}
                )
            try:
                kid = jwt.get_unverified_header(form.get("assertion", "")).get("kid")
                key = next(k for k in fake.keys if k.kid == kid)
                claims = jwt.decode(
                    form["assertion"],
                    key.private.public_key(),
                    algorithms=["RS256"],
                    audience=[fake.client_id, f"api://{fake.client_id}"],
                )
            except (jwt.PyJWTError, StopIteration, KeyError):
                return self._json(
                    400, {"error": "invalid_grant", "error_description": "bad assertion"}
                )
            return self._json(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "access_token": fake._graph_token_for(claims["oid"]),
                },
            )
        self._json(400, {"error": "unsupported_grant_type"})

    # Graph -------------------------------------------------------------------------------

    def _graph(self, segments: list[str], query: dict[str, str]) -> None:
        fake = self.fake
        auth = self.headers.get("Authorization", "")
        user_id = fake.graph_tokens.get(auth.removeprefix("Bearer "))
        if user_id is None:
            return self._json(
                401, {"error": {"code": "InvalidAuthenticationToken", "message": "Bad token"}}
            )
        user = fake.users[user_id]
        if segments == ["v1.0", "me"]:
            first, _, last = user.name.partition(" ")
            return self._json(
                200,
                {
                    "id": user.object_id,
                    "displayName": user.name,
                    "givenName": first,
                    "surname": last,
                    "userPrincipalName": user.username,
                    "mail": user.email,
                    "mailNickname": user.username.split("@")[0],
                },
            )
        if segments == ["v1.0", "me", "transitiveMemberOf"]:
            items = [
                {"@odata.type": GROUP_TYPE, "id": g.object_id, "displayName": g.display_name}
                for g in fake.transitive_groups(user.object_id)
            ] + [
                {"@odata.type": "#microsoft.graph.directoryRole", "id": new_id(), "displayName": r}
                for r in fake.directory_roles
            ]
            size = min(int(query.get("$top", "100")), fake.page_size)
            start = int(query.get("$skiptoken", "0"))
            if fake.graph_failure is not None and start >= fake.graph_failure_page * size:
                return self._json(
                    fake.graph_failure,
                    {"error": {"code": "serviceNotAvailable", "message": "Graph is unwell"}},
                )
            page: dict[str, Any] = {"value": items[start : start + size]}
            if start + size < len(items):
                rest = urlencode({"$top": str(size), "$skiptoken": str(start + size)})
                page["@odata.nextLink"] = f"{fake.graph_url}/v1.0/me/transitiveMemberOf?{rest}"
            return self._json(200, page)
        self._json(404, {"error": {"code": "Request_ResourceNotFound", "message": "no"}})


@pytest.fixture(scope="session")
def entra_server() -> Iterator[FakeEntra]:
    fake = FakeEntra()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def entra(entra_server: FakeEntra, settings: Any) -> Iterator[FakeEntra]:
    """The fake Entra ID, emptied, with the portal configured to trust its tenant."""
    from accounts.entra.tokens import forget_signing_keys
    from portal.settings import microsoft_provider

    entra_server.reset()
    settings.ENTRA_TENANT_ID = entra_server.tenant_id
    settings.ENTRA_CLIENT_ID = entra_server.client_id
    settings.ENTRA_CLIENT_SECRET = entra_server.client_secret
    settings.ENTRA_LOGIN_URL = entra_server.url
    settings.ENTRA_GRAPH_URL = entra_server.graph_url
    settings.ENTRA_ALLOW_MULTI_TENANT = False
    settings.SOCIALACCOUNT_PROVIDERS = {
        "microsoft": microsoft_provider(
            tenant=entra_server.tenant_id,
            client_id=entra_server.client_id,
            secret=entra_server.client_secret,
            login_url=entra_server.url,
            graph_url=entra_server.graph_url,
        )
    }
    forget_signing_keys()
    yield entra_server
    forget_signing_keys()


def sign_in_with_microsoft(
    client: Any, fake: FakeEntra, user: FakeUser, *, decision: str = "accept", next_url: str = ""
) -> Any:
    """The whole round trip with Django's test client: the portal's "Sign in with Microsoft"
    button, the fake's consent page, back to the portal's callback. Returns the callback's
    response (a redirect when signed in, the error page when refused)."""
    import httpx

    data = {"process": "login", **({"next": next_url} if next_url else {})}
    start = client.post("/accounts/microsoft/login/", data)
    assert start.status_code == 302, start
    authorize = start["Location"]
    assert authorize.startswith(f"{fake.url}/{fake.tenant_id}/oauth2/v2.0/authorize?"), authorize
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    consent_page = httpx.get(authorize)
    assert consent_page.status_code == 200 and "Accept" in consent_page.text
    back = httpx.post(
        authorize.split("?")[0], data={**query, "account": user.object_id, "decision": decision}
    )
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")
