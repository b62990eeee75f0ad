"""Chunked request bodies at the token server: containers/image (skopeo, podman) posts its
refresh-token grant that way, with no Content-Length."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import jwt
import pytest
from django.core.handlers.wsgi import LimitedStream, WSGIRequest
from django.test import RequestFactory

from accounts.services import personal_access_token_create, refresh_token_create
from registry.models import Registry, RoleAssignment, RoleDefinition
from registry.tokens.server import token

pytestmark = pytest.mark.django_db

SERVICE = "registry.example.test"


@pytest.fixture
def refresh(token_signing_key, bob):
    Registry.objects.create(name="prod1", login_server="http://127.0.0.1:5999", service=SERVICE)
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPull"), scope="/registries/prod1", user=bob
    )
    parent = personal_access_token_create(user=bob, name="cli").record
    return refresh_token_create(parent=parent, service=SERVICE).token


def chunked(data: bytes, size: int = 7) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def request(body: bytes, *, terminated: bool) -> WSGIRequest:
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO="/oauth2/token",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    environ.pop("CONTENT_LENGTH", None)
    if terminated:  # gunicorn: the server decoded the chunks
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
    else:  # runserver: the raw stream behind a zero-length limit
        environ["wsgi.input"] = LimitedStream(io.BytesIO(chunked(body)), 0)
    return WSGIRequest(environ)


def form(refresh_token: str) -> bytes:
    return urlencode(
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "service": SERVICE,
            "scope": "repository:team-a/app:pull",
            "client_id": "containers/image",
        }
    ).encode()


@pytest.mark.parametrize("terminated", [True, False], ids=["gunicorn", "runserver"])
def test_a_chunked_refresh_grant_is_read(refresh, terminated):
    response = token(request(form(refresh), terminated=terminated))

    assert response.status_code == 200, response.content
    claims = jwt.decode(json.loads(response.content)["token"], options={"verify_signature": False})
    assert claims["access"][0]["actions"] == ["pull"]


@pytest.mark.parametrize(
    "body",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"10\r\nshort\r\n0\r\n\r\n", b"5\r\nabc"],
    ids=["not hex", "cut short", "no end"],
)
def test_a_garbled_chunked_body_is_a_400(token_signing_key, body):
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST", PATH_INFO="/oauth2/token", HTTP_TRANSFER_ENCODING="chunked"
    )
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = LimitedStream(io.BytesIO(body), 0)

    response = token(WSGIRequest(environ))

    assert response.status_code == 400
    assert "Unreadable body" in json.loads(response.content)["errors"][0]["message"]


def test_a_chunked_body_larger_than_the_upload_limit_is_a_400(token_signing_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = token(request(b"a=" + b"x" * 200, terminated=False))
    assert response.status_code == 400
    assert "too large" in json.loads(response.content)["errors"][0]["message"]
