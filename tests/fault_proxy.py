"""A reverse proxy in front of a real registry that fails chosen requests.

Used to test what the portal does when a registry errors part way through a read: the proxy
forwards every request to the registry unchanged (the registry's ``Link`` headers are
relative, so pagination stays on the proxy); a request that matches ``fail_when`` gets
``fail_status`` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.fail_when: Callable[[str, str], bool] = lambda method, path: False
        self.fail_status = 500
        self.requests: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                proxy.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.fail_when(self.command, self.path):
                    payload = b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}'
                    self.send_response(proxy.fail_status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream = httpx.request(
                    self.command,
                    proxy.upstream + self.path,
                    headers=headers,
                    content=body,
                    timeout=30,
                )
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.items():
                    if key.lower() in HOP_BY_HOP:
                        continue
                    self.send_header(key, value)
                content = upstream.content if self.command != "HEAD" else b""
                length_header = upstream.headers.get("content-length", str(len(upstream.content)))
                self.send_header("Content-Length", length_header)
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
