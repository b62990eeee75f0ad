"""Helpers shared by the REST API tests (``test_api_*.py``)."""

from __future__ import annotations

import base64
import socket
from typing import Any

from django.test import Client
from django.urls import reverse

from accounts.services import personal_access_token_create

PROBLEM = "application/problem+json"


def api_url(name: str, **kwargs: str) -> str:
    return reverse(f"api:{name}", kwargs=kwargs)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["detail"]
    return body


def basic(client_id: object, secret: str) -> dict[str, str]:
    """Request headers signing in as a service principal (HTTP Basic)."""
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {encoded}"}


def bearer(user: Any, name: str = "tests") -> dict[str, str]:
    """Request headers carrying a fresh personal access token of ``user``."""
    token = personal_access_token_create(user=user, name=name).token
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def send(client: Client, method: str, url: str, data: Any = None, **headers: Any) -> Any:
    if method in {"post", "patch", "put"}:
        return getattr(client, method)(
            url, data if data is not None else {}, content_type="application/json", **headers
        )
    return getattr(client, method)(url, **headers)


def assert_hidden_from_strangers(
    client: Client, bob: Any, method: str, url: str, data: Any = None, status: int = 404
) -> None:
    """Anonymous callers get 401 with a Bearer challenge; a signed-in user who holds no role
    gets ``status`` (404: what they cannot see does not exist for them), by session and by
    token alike."""
    client.logout()
    anonymous = send(client, method, url, data)
    assert_problem(anonymous, 401)
    assert anonymous["WWW-Authenticate"].startswith("Bearer")

    client.force_login(bob)
    assert_problem(send(client, method, url, data), status)
    client.logout()
    assert_problem(send(client, method, url, data, **bearer(bob)), status)


def all_pages(client: Client, url: str, max_pages: int = 1000) -> list[dict[str, Any]]:
    """Every row of a paginated list, following ``next`` links to the end."""
    rows: list[dict[str, Any]] = []
    for _ in range(max_pages):
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        url = body["next"]
        if url is None:
            return rows
    raise AssertionError(f"more than {max_pages} pages: the cursor does not move")


def closed_port_url() -> str:
    """The URL of a local port nothing listens on: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
