"""Request bodies sent with ``Transfer-Encoding: chunked`` (no ``Content-Length``).

containers/image (skopeo, podman, buildah) posts its refresh-token grant to ``/oauth2/token``
as a chunked form. Django reads a body only as far as ``Content-Length`` says, so without this
the form arrives empty and the grant is refused. ``accepts_chunked_body`` reads such a body
before the view does:

- behind a server that decodes chunked bodies itself (gunicorn, uWSGI: they mark the input
  ``wsgi.input_terminated``), by reading the input to its end;
- under ``manage.py runserver`` and the test suite's live server, which hand the raw socket
  on behind a zero-length limit, by decoding the chunks itself.

Either way at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes are read; a larger or garbled body
is a 400.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse


class BadChunkedBody(Exception):
    pass


def _limit() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


def _decode(stream: Any, limit: int) -> bytes:
    """The body from a chunked stream (RFC 9112 §7.1), trailers skipped."""
    body = bytearray()
    while True:
        line = stream.readline(1024)
        if not line.endswith(b"\n"):
            raise BadChunkedBody("a chunk size line is cut short")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadChunkedBody("a chunk size is not a number") from None
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            return bytes(body)
        if len(body) + size > limit:
            raise BadChunkedBody("the body is too large")
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(1024) not in (b"\r\n", b"\n"):
            raise BadChunkedBody("a chunk is cut short")
        body += chunk


def _raw_input(request: HttpRequest) -> Any:
    """The socket stream behind the development server's zero-length wrapper."""
    raw = request.environ["wsgi.input"]
    if isinstance(raw, LimitedStream):
        inner = getattr(getattr(raw, "_read", None), "__self__", None)
        if inner is not None:
            return inner
    return raw


def chunked_body(request: HttpRequest) -> bytes | None:
    """The decoded body of a chunked request, or None when the request is not one."""
    meta = request.META
    encoding = meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    if "chunked" not in encoding or meta.get("CONTENT_LENGTH"):
        return None
    limit = _limit()
    if meta.get("wsgi.input_terminated"):
        body = request.environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise BadChunkedBody("the body is too large")
        return body
    return _decode(_raw_input(request), limit)


def accepts_chunked_body(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            body = chunked_body(request)
        except BadChunkedBody as exc:
            return JsonResponse(
                {"errors": [{"code": "BAD_REQUEST", "message": f"Unreadable body: {exc}."}]},
                status=400,
            )
        if body is not None:
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))
            request._read_started = False
        return view(request, *args, **kwargs)

    return wrapped
