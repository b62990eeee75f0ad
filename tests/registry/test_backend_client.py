"""The registry backend client against a real docker-registry, and against small local servers
that misbehave in the ways a real registry can (silence, 5xx, nonsense, Bearer challenges)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from registry.backend import (
    OCI_INDEX,
    OCI_MANIFEST,
    NotFound,
    Platform,
    RegistryClient,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
    Unsupported,
)
from registry.backend.auth import EXPIRY_MARGIN_SECONDS, parse_challenges, token_expiry
from registry.backend.client import _parse_created
from tests.fixtures import images
from tests.fixtures.registry import RegistryServer, free_port

# Helpers -------------------------------------------------------------------------------------


class RecordingTransport(httpx.HTTPTransport):
    """A real transport that remembers every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


class ScriptedServer:
    """A local HTTP server whose answers a test writes: ``respond(request) -> Reply``."""

    def __init__(self, respond: Callable[[SeenRequest], Reply]) -> None:
        self.requests: list[SeenRequest] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                seen = SeenRequest(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}
                )
                server.requests.append(seen)
                reply = respond(seen)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_HEAD = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def registry_errors(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options) -> RegistryClient:
    return RegistryClient("http://registry.test", transport=httpx.MockTransport(handler), **options)


def jwt_with_exp(exp: float) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'ES256'})}.{part({'exp': int(exp)})}.c2lnbmF0dXJl"


@pytest.fixture
def client(registry_server: RegistryServer) -> Iterator[RegistryClient]:
    with RegistryClient(registry_server.url) as registry_client:
        yield registry_client


@dataclass(frozen=True)
class Pushed:
    single: images.BuiltImage
    single_repository: str
    multi: images.BuiltIndex
    multi_repository: str


@pytest.fixture(scope="module")
def pushed(registry_server: RegistryServer, image_workdir: Path) -> Pushed:
    """A single image and a multi-arch index, pushed once into the shared registry."""
    run = str(time.monotonic_ns())
    result = Pushed(
        single=images.build_image(image_workdir / f"single-{run}", seed=f"single-{run}"),
        single_repository=f"backend-client-{run}/single",
        multi=images.build_index(image_workdir / f"multi-{run}", seed=f"multi-{run}"),
        multi_repository=f"backend-client-{run}/multi",
    )
    images.push(result.single, registry_server.host, f"{result.single_repository}:v1")
    images.push(result.multi, registry_server.host, f"{result.multi_repository}:v1")
    return result


# Against the real registry -------------------------------------------------------------------


@pytest.mark.integration
def test_ping_reports_the_api_version(client: RegistryClient) -> None:
    result = client.ping()

    assert result.api_version == "registry/2.0"
    assert 0 < result.latency_ms < 10_000


@pytest.mark.integration
def test_catalog_follows_link_headers_page_by_page(
    registry_server_fresh: RegistryServer, image_workdir: Path
) -> None:
    names = ["team-b/api", "alpha", "team-a/web", "team-a/app", "zeta"]
    image = images.build_image(image_workdir / "catalog", seed="catalog")
    for name in names:
        images.push(image, registry_server_fresh.host, f"{name}:latest")
    transport = RecordingTransport()

    with RegistryClient(registry_server_fresh.url, transport=transport) as registry_client:
        pages = list(registry_client.iter_catalog(page_size=2))

    assert pages == [["alpha", "team-a/app"], ["team-a/web", "team-b/api"], ["zeta"]]
    queries = [dict(request.url.params) for request in transport.requests]
    assert queries == [
        {"n": "2"},
        {"last": "team-a/app", "n": "2"},
        {"last": "team-b/api", "n": "2"},
    ]
    assert {request.url.host for request in transport.requests} == {"127.0.0.1"}


@pytest.mark.integration
def test_catalog_resumes_after_last(
    registry_server_fresh: RegistryServer, image_workdir: Path
) -> None:
    image = images.build_image(image_workdir / "resume", seed="resume")
    for name in ["a", "b", "c", "d"]:
        images.push(image, registry_server_fresh.host, f"{name}:1")

    with RegistryClient(registry_server_fresh.url) as registry_client:
        pages = list(registry_client.iter_catalog(page_size=2, last="b"))
        everything = [n for page in registry_client.iter_catalog(page_size=1000) for n in page]

    assert pages == [["c", "d"]]
    assert everything == ["a", "b", "c", "d"]


@pytest.mark.integration
def test_catalog_page_size_above_the_registry_limit_is_refused(
    registry_server: RegistryServer, client: RegistryClient
) -> None:
    # distribution's catalog.maxentries defaults to 1000.
    with pytest.raises(RegistryError) as caught:
        list(client.iter_catalog(page_size=1001))

    assert caught.value.status_code == 400
    assert caught.value.code == "PAGINATION_NUMBER_INVALID"
    assert registry_server.url in caught.value.message


@pytest.mark.integration
def test_list_tags_returns_every_tag_sorted(
    registry_server: RegistryServer,
    client: RegistryClient,
    image_workdir: Path,
    unique_repository: Callable[[str], str],
) -> None:
    repository = unique_repository("team-a/tags")
    image = images.build_image(image_workdir / repository, seed=repository)
    tags = ["v2", "b", "v10", "A", "v1", "_x", "1"]
    images.push_many(image, registry_server.host, [f"{repository}:{t}" for t in tags])

    # distribution 2.8 ignores ``n`` for tags and answers them all, in storage directory
    # order; the client sorts them.
    assert client.list_tags(repository, page_size=2) == ["1", "A", "_x", "b", "v1", "v10", "v2"]


@pytest.mark.integration
def test_head_manifest_resolves_a_tag_to_the_pushed_digest(
    client: RegistryClient, pushed: Pushed
) -> None:
    single = pushed.single

    ref = client.head_manifest(pushed.single_repository, "v1")

    assert ref.digest == single.digest
    assert ref.media_type == OCI_MANIFEST
    assert ref.size == single.size


@pytest.mark.integration
def test_head_manifest_of_an_index(client: RegistryClient, pushed: Pushed) -> None:
    ref = client.head_manifest(pushed.multi_repository, "v1")

    assert (ref.digest, ref.media_type, ref.size) == (
        pushed.multi.digest,
        OCI_INDEX,
        pushed.multi.size,
    )


@pytest.mark.integration
def test_get_manifest_of_a_single_image(client: RegistryClient, pushed: Pushed) -> None:
    single = pushed.single

    document = client.get_manifest(pushed.single_repository, "v1")

    assert document.digest == single.digest
    assert document.media_type == OCI_MANIFEST
    assert document.size == single.size
    assert document.raw == single.manifest.data
    assert not document.is_index
    assert document.children == []
    assert document.config is not None
    assert (document.config.digest, document.config.size) == (
        single.config.digest,
        single.config.size,
    )
    assert [(layer.digest, layer.size, layer.media_type) for layer in document.layers] == [
        (layer.digest, layer.size, layer.media_type) for layer in single.layers
    ]


@pytest.mark.integration
def test_get_manifest_of_a_multi_arch_index(client: RegistryClient, pushed: Pushed) -> None:
    multi = pushed.multi
    repository = pushed.multi_repository

    document = client.get_manifest(repository, "v1")
    by_digest = client.get_manifest(repository, multi.digest)

    assert document.is_index
    assert document.media_type == OCI_INDEX
    assert document.digest == by_digest.digest == multi.digest
    assert document.config is None
    assert document.layers == []
    assert [(c.digest, c.size, c.platform) for c in document.children] == [
        (multi.children[0].digest, multi.children[0].size, Platform("amd64", "linux")),
        (multi.children[1].digest, multi.children[1].size, Platform("arm64", "linux", "v8")),
    ]
    child = client.get_manifest(repository, document.children[1].digest)
    assert child.digest == multi.children[1].digest
    assert child.config is not None
    assert child.config.digest == multi.children[1].config.digest


@pytest.mark.integration
def test_get_image_config(client: RegistryClient, pushed: Pushed) -> None:
    multi = pushed.multi
    arm = multi.children[1]

    config = client.get_image_config(pushed.multi_repository, arm.config.digest)

    assert (config.architecture, config.os, config.variant) == ("arm64", "linux", "v8")
    assert config.created == images.DEFAULT_CREATED


@pytest.mark.integration
def test_get_image_config_of_unknown_blob_is_not_found(
    client: RegistryClient, pushed: Pushed
) -> None:
    with pytest.raises(NotFound) as caught:
        client.get_image_config(pushed.single_repository, "sha256:" + "0" * 64)

    assert caught.value.code == "BLOB_UNKNOWN"


@pytest.mark.integration
def test_delete_manifest_removes_it_and_its_tags(
    registry_server: RegistryServer,
    client: RegistryClient,
    image_workdir: Path,
    unique_repository: Callable[[str], str],
) -> None:
    repository = unique_repository("team-a/delete")
    image = images.build_image(image_workdir / repository, seed=repository)
    images.push_many(image, registry_server.host, [f"{repository}:a", f"{repository}:b"])
    assert client.head_manifest(repository, "a").digest == image.digest

    client.delete_manifest(repository, image.digest)

    with pytest.raises(NotFound):
        client.head_manifest(repository, image.digest)
    with pytest.raises(NotFound) as caught:
        client.get_manifest(repository, "a")
    assert caught.value.code == "MANIFEST_UNKNOWN"
    assert client.list_tags(repository) == []  # distribution answers "tags": null
    with pytest.raises(NotFound):
        client.delete_manifest(repository, image.digest)


@pytest.mark.integration
def test_delete_on_a_registry_with_deletes_disabled_is_unsupported(
    make_registry_server: Callable[..., RegistryServer], image_workdir: Path
) -> None:
    server = make_registry_server(delete_enabled=False)
    image = images.build_image(image_workdir / "no-delete", seed="no-delete")
    images.push(image, server.host, "locked/app:v1")

    with RegistryClient(server.url) as registry_client:
        with pytest.raises(Unsupported) as caught:
            registry_client.delete_manifest("locked/app", image.digest)
        with pytest.raises(Unsupported) as untag:
            registry_client.delete_tag("locked/app", "v1")
        still_there = registry_client.head_manifest("locked/app", "v1")

    assert caught.value.status_code == 405
    assert "deletes are disabled on this registry (storage.delete.enabled)" in caught.value.message
    assert untag.value.status_code == 405
    assert still_there.digest == image.digest


@pytest.mark.integration
def test_delete_tag_on_distribution_2_8_is_unsupported(
    registry_server: RegistryServer,
    client: RegistryClient,
    image_workdir: Path,
    unique_repository: Callable[[str], str],
) -> None:
    repository = unique_repository("team-a/untag")
    image = images.build_image(image_workdir / repository, seed=repository)
    images.push(image, registry_server.host, f"{repository}:v1")

    with pytest.raises(Unsupported) as caught:
        client.delete_tag(repository, "v1")

    # 2.8 reads the reference as a digest and answers 400 DIGEST_INVALID.
    assert (caught.value.status_code, caught.value.code) == (400, "DIGEST_INVALID")
    assert "distribution 2.8" in caught.value.message
    assert "delete the manifest instead" in caught.value.message
    assert client.head_manifest(repository, "v1").digest == image.digest


@pytest.mark.integration
def test_unknown_repository_and_manifest_are_not_found(
    registry_server: RegistryServer, client: RegistryClient, pushed: Pushed
) -> None:
    with pytest.raises(NotFound) as tags:
        client.list_tags("no-such/repository")
    with pytest.raises(NotFound) as manifest:
        client.get_manifest("no-such/repository", "latest")
    with pytest.raises(NotFound) as head:
        client.head_manifest(pushed.single_repository, "no-such-tag")

    assert tags.value.code == "NAME_UNKNOWN"
    assert "no-such/repository" in tags.value.message
    assert manifest.value.code == "MANIFEST_UNKNOWN"
    assert registry_server.url in head.value.message
    assert "no-such-tag" in head.value.message


@pytest.mark.integration
def test_a_stopped_registry_is_unavailable_until_it_returns(
    registry_server_fresh: RegistryServer,
) -> None:
    with RegistryClient(registry_server_fresh.url) as registry_client:
        registry_server_fresh.stop()
        with pytest.raises(RegistryUnavailable) as caught:
            registry_client.ping()
        registry_server_fresh.start()
        result = registry_client.ping()

    assert registry_server_fresh.url in caught.value.message
    assert result.api_version == "registry/2.0"


# Failures of the network and of the server ---------------------------------------------------


def test_connection_refused_is_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with RegistryClient(url) as registry_client, pytest.raises(RegistryUnavailable) as caught:
        registry_client.ping()

    assert caught.value.message.startswith(f"Cannot connect to registry {url}")


def test_a_registry_that_never_answers_times_out() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_stay_silent() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        started = time.monotonic()
        with (
            RegistryClient(url, timeout=0.3) as registry_client,
            pytest.raises(RegistryUnavailable) as caught,
        ):
            registry_client.list_tags("team-a/app")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()

    assert accepted, "the client never connected"
    assert elapsed < 3
    assert "did not answer in time (0.3 s)" in caught.value.message
    assert url in caught.value.message


def test_server_errors_are_unavailable_with_the_registry_message() -> None:
    def respond(request: SeenRequest) -> Reply:
        return Reply(503, registry_errors("UNAVAILABLE", "storage backend is down"))

    with (
        ScriptedServer(respond) as server,
        RegistryClient(server.url) as registry_client,
        pytest.raises(RegistryUnavailable) as caught,
    ):
        registry_client.get_manifest("team-a/app", "v1")

    assert caught.value.status_code == 503
    assert caught.value.code == "UNAVAILABLE"
    assert "storage backend is down" in caught.value.message
    assert server.url in caught.value.message


def test_invalid_json_is_a_malformed_response() -> None:
    def respond(request: SeenRequest) -> Reply:
        return Reply(200, b"<html>captive portal</html>", {"Content-Type": "text/html"})

    with (
        ScriptedServer(respond) as server,
        RegistryClient(server.url) as registry_client,
        pytest.raises(RegistryUnavailable) as caught,
    ):
        list(registry_client.iter_catalog())

    assert "malformed response" in caught.value.message
    assert "the repository catalog" in caught.value.message


def test_a_manifest_with_broken_descriptors_is_a_malformed_response() -> None:
    body = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [{"digest": 12, "size": "x"}]}
    ).encode()
    registry_client = mock_client(
        lambda request: httpx.Response(200, content=body, headers={"Content-Type": OCI_MANIFEST})
    )

    with pytest.raises(RegistryUnavailable) as caught:
        registry_client.get_manifest("team-a/app", "v1")

    assert "malformed response for manifest team-a/app:v1" in caught.value.message


def test_a_catalog_that_is_not_a_list_is_a_malformed_response() -> None:
    registry_client = mock_client(
        lambda request: httpx.Response(200, json={"repositories": "team-a/app"})
    )

    with pytest.raises(RegistryUnavailable, match="'repositories' is not a list of strings"):
        list(registry_client.iter_catalog())


def test_pagination_that_loops_is_a_malformed_response() -> None:
    registry_client = mock_client(
        lambda request: httpx.Response(
            200,
            json={"repositories": ["a"]},
            headers={"Link": '</v2/_catalog?last=a&n=1>; rel="next"'},
        )
    )

    pages = registry_client.iter_catalog(page_size=1)
    assert next(pages) == ["a"]
    assert next(pages) == ["a"]
    with pytest.raises(RegistryUnavailable, match="pagination loops"):
        next(pages)


def test_an_invalid_base_url_is_refused() -> None:
    with pytest.raises(RegistryUnavailable, match="invalid registry URL"):
        RegistryClient("registry.example.com:5000")


# Pagination, digests and redirects (distribution 3 behaviour, scripted) ----------------------


def test_list_tags_follows_link_pages() -> None:
    pages = {
        None: (["a", "b"], '</v2/team-a/app/tags/list?last=b&n=2>; rel="next"'),
        "b": (["c"], None),
    }
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        tags, link = pages[request.url.params.get("last")]
        headers = {"Link": link} if link else {}
        return httpx.Response(200, json={"name": "team-a/app", "tags": tags}, headers=headers)

    assert mock_client(handler).list_tags("team-a/app", page_size=2) == ["a", "b", "c"]
    assert [url.raw_path for url in seen] == [
        b"/v2/team-a/app/tags/list?n=2",
        b"/v2/team-a/app/tags/list?last=b&n=2",
    ]


def test_an_absolute_link_to_another_host_stays_on_the_registry() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if "last" in request.url.params:
            return httpx.Response(200, json={"repositories": ["b"]})
        return httpx.Response(
            200,
            json={"repositories": ["a"]},
            headers={"Link": '<http://internal.example:5000/v2/_catalog?last=a&n=1>; rel="next"'},
        )

    pages = list(mock_client(handler).iter_catalog(page_size=1))

    assert pages == [["a"], ["b"]]
    assert hosts == ["registry.test", "registry.test"]


def test_manifest_digest_is_computed_when_the_header_is_missing() -> None:
    body = b'{"schemaVersion":2,"mediaType":"%s","manifests":[]}' % OCI_INDEX.encode()
    registry_client = mock_client(lambda request: httpx.Response(200, content=body))

    document = registry_client.get_manifest("team-a/app", "v1")

    assert document.digest == images.sha256_digest(body)
    assert document.media_type == OCI_INDEX  # from the body: no Content-Type was sent
    assert document.size == len(body)


def test_manifest_content_must_match_the_requested_digest() -> None:
    body = b'{"schemaVersion":2,"mediaType":"%s","manifests":[]}' % OCI_INDEX.encode()
    wrong = "sha256:" + "1" * 64
    registry_client = mock_client(
        lambda request: httpx.Response(
            200, content=body, headers={"Content-Type": OCI_INDEX, "Docker-Content-Digest": wrong}
        )
    )

    with pytest.raises(RegistryUnavailable, match="hashes to"):
        registry_client.get_manifest("team-a/app", wrong)


def test_head_without_digest_header_falls_back_to_get() -> None:
    body = b'{"schemaVersion":2,"mediaType":"%s","manifests":[]}' % OCI_INDEX.encode()
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        methods.append(request.method)
        return httpx.Response(200, content=body, headers={"Content-Type": OCI_INDEX})

    ref = mock_client(handler).head_manifest("team-a/app", "v1")

    assert methods == ["HEAD", "GET"]
    assert (ref.digest, ref.media_type, ref.size) == (
        images.sha256_digest(body),
        OCI_INDEX,
        len(body),
    )


def test_manifest_requests_accept_all_four_media_types() -> None:
    accepted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        accepted.append(request.headers["Accept"])
        return httpx.Response(404, content=registry_errors("MANIFEST_UNKNOWN", "manifest unknown"))

    with pytest.raises(NotFound):
        mock_client(handler).get_manifest("team-a/app", "v1")

    assert set(accepted[0].split(", ")) == {
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }


def test_config_blobs_follow_redirects_without_leaking_the_token() -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    digest = images.sha256_digest(config)
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        if request.url.host == "storage.test":
            return httpx.Response(200, content=config)
        if "Authorization" not in request.headers:
            return httpx.Response(
                401, headers={"WWW-Authenticate": 'Bearer realm="x",service="reg",scope="s"'}
            )
        return httpx.Response(307, headers={"Location": "http://storage.test/blob?sig=1"})

    registry_client = mock_client(handler, token_provider=lambda service, scopes: "secret-token")
    result = registry_client.get_image_config("team-a/app", digest)

    assert (result.architecture, result.os, result.variant, result.created) == (
        "amd64",
        "linux",
        "",
        None,
    )
    assert seen == [
        ("registry.test", None),
        ("registry.test", "Bearer secret-token"),
        ("storage.test", None),
    ]


def test_delete_tag_on_a_registry_that_can_untag() -> None:
    deleted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        deleted.append(f"{request.method} {request.url.path}")
        return httpx.Response(202)

    mock_client(handler).delete_tag("team-a/app", "v1")

    assert deleted == ["DELETE /v2/team-a/app/manifests/v1"]


def test_deletes_refuse_the_wrong_kind_of_reference() -> None:
    registry_client = mock_client(lambda request: pytest.fail("no request expected"))

    with pytest.raises(ValueError, match="needs a digest"):
        registry_client.delete_manifest("team-a/app", "v1")
    with pytest.raises(ValueError, match="needs a tag"):
        registry_client.delete_tag("team-a/app", "sha256:" + "0" * 64)
    with pytest.raises(ValueError, match="repository must be a non-empty string"):
        registry_client.list_tags("")
    with pytest.raises(ValueError, match="reference must be a non-empty string"):
        registry_client.get_manifest("team-a/app", "")
    with pytest.raises(ValueError, match="page_size"):
        registry_client.iter_catalog(page_size=0)


def test_names_keep_their_slashes_but_cannot_escape_the_path() -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(200, json={"name": "x", "tags": []})

    registry_client = mock_client(handler)
    registry_client.list_tags("team-a/backend/api")
    registry_client.list_tags("evil?n=1#")

    assert paths == [
        b"/v2/team-a/backend/api/tags/list?n=1000",
        b"/v2/evil%3Fn%3D1%23/tags/list?n=1000",
    ]


# Bearer challenges -----------------------------------------------------------------------------


CHALLENGE = 'Bearer realm="http://portal.test/oauth2/token",service="registry.test",scope="{scope}"'


def bearer_registry(valid_tokens: set[str]) -> Callable[[SeenRequest], Reply]:
    """A registry that wants ``Authorization: Bearer <one of valid_tokens>`` on every request."""

    def respond(request: SeenRequest) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token in valid_tokens:
            return Reply(200, json.dumps({"name": "team-a/app", "tags": ["v1"]}).encode())
        scope = "repository:team-a/app:pull"
        header = CHALLENGE.format(scope=scope)
        if token:
            header += ',error="invalid_token"'
        return Reply(
            401,
            registry_errors("UNAUTHORIZED", "authentication required"),
            {"WWW-Authenticate": header, "Content-Type": "application/json"},
        )

    return respond


def test_a_bearer_challenge_is_answered_with_the_providers_token() -> None:
    asked: list[tuple[str, list[str]]] = []

    def provider(service: str, scopes: list[str]) -> str:
        asked.append((service, scopes))
        return "token-1"

    with (
        ScriptedServer(bearer_registry({"token-1"})) as server,
        RegistryClient(server.url, token_provider=provider) as registry_client,
    ):
        first = registry_client.list_tags("team-a/app")
        second = registry_client.list_tags("team-a/app")

    assert first == second == ["v1"]
    assert asked == [("registry.test", ["repository:team-a/app:pull"])]
    assert [r.headers.get("authorization") for r in server.requests] == [
        None,
        "Bearer token-1",
        "Bearer token-1",  # the cached token goes along straight away
    ]


def test_without_a_token_provider_a_challenge_is_unauthorized() -> None:
    with (
        ScriptedServer(bearer_registry({"token-1"})) as server,
        RegistryClient(server.url) as registry_client,
        pytest.raises(Unauthorized) as caught,
    ):
        registry_client.list_tags("team-a/app")

    assert "repository:team-a/app:pull" in caught.value.message
    assert "no token provider" in caught.value.message
    assert len(server.requests) == 1


def test_a_provider_without_a_token_is_unauthorized() -> None:
    with (
        ScriptedServer(bearer_registry({"token-1"})) as server,
        RegistryClient(server.url, token_provider=lambda service, scopes: None) as registry_client,
        pytest.raises(Unauthorized, match="could not obtain one"),
    ):
        registry_client.list_tags("team-a/app")

    assert len(server.requests) == 1


def test_a_refused_token_is_retried_once_then_unauthorized() -> None:
    tokens = iter(["bad-1", "bad-2", "bad-3"])
    with (
        ScriptedServer(bearer_registry({"good"})) as server,
        RegistryClient(
            server.url, token_provider=lambda s, scopes: next(tokens)
        ) as registry_client,
    ):
        with pytest.raises(Unauthorized) as first:
            registry_client.list_tags("team-a/app")
        with pytest.raises(Unauthorized):
            registry_client.list_tags("team-a/app")

    assert first.value.code == "invalid_token"
    # The refused token was not kept: the second call asked the provider again.
    assert [r.headers.get("authorization") for r in server.requests] == [
        None,
        "Bearer bad-1",
        None,
        "Bearer bad-2",
    ]


def test_a_cached_token_the_registry_refuses_is_replaced() -> None:
    valid = {"old"}
    tokens = iter(["old", "new"])
    with (
        ScriptedServer(bearer_registry(valid)) as server,
        RegistryClient(
            server.url, token_provider=lambda s, scopes: next(tokens)
        ) as registry_client,
    ):
        registry_client.list_tags("team-a/app")
        valid.clear()
        valid.add("new")  # the portal rotated its signing key
        tags = registry_client.list_tags("team-a/app")

    assert tags == ["v1"]
    assert [r.headers.get("authorization") for r in server.requests] == [
        None,
        "Bearer old",
        "Bearer old",
        "Bearer new",
    ]


def test_basic_auth_registries_are_unauthorized() -> None:
    registry_client = mock_client(
        lambda request: httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}),
        token_provider=lambda service, scopes: pytest.fail("not a Bearer challenge"),
    )

    with pytest.raises(Unauthorized, match="cannot give"):
        registry_client.ping()


def test_forbidden_is_unauthorized() -> None:
    registry_client = mock_client(
        lambda request: httpx.Response(
            403, content=registry_errors("DENIED", "requested access to the resource is denied")
        )
    )

    with pytest.raises(Unauthorized, match="access to the resource is denied"):
        registry_client.list_tags("team-a/app")


def test_tokens_are_kept_until_shortly_before_they_expire() -> None:
    now = 1_000_000.0

    assert token_expiry(jwt_with_exp(now + 300), now=now) == now + 300 - EXPIRY_MARGIN_SECONDS
    assert token_expiry("opaque-token", now=now) == now + 60


def test_an_expired_token_is_not_reused() -> None:
    asked: list[str] = []
    expired = jwt_with_exp(time.time() + EXPIRY_MARGIN_SECONDS - 1)

    def provider(service: str, scopes: list[str]) -> str:
        asked.append(service)
        return expired

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") == f"Bearer {expired}":
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="x",service="reg"'})

    registry_client = mock_client(handler, token_provider=provider)
    registry_client.ping()
    registry_client.ping()

    assert asked == ["reg", "reg"]


def test_challenges_with_commas_in_quoted_values_parse() -> None:
    [challenge] = parse_challenges(
        [
            'Bearer realm="https://auth.example/token",service="reg",'
            'scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"'
        ]
    )

    assert challenge.is_bearer
    assert challenge.params["realm"] == "https://auth.example/token"
    assert challenge.service == "reg"
    assert challenge.scopes == ["repository:a/b:pull,push", "repository:c:pull"]
    assert challenge.error == "insufficient_scope"


# Image config times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456789Z", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("yesterday", None),
        (None, None),
        (12, None),
    ],
)
def test_created_times_are_read_leniently(value: object, expected: datetime | None) -> None:
    assert _parse_created(value) == expected
