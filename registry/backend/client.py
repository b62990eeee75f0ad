"""The registry backend client: the only code in the portal that speaks HTTP to a registry.

It speaks the OCI distribution API (``/v2/…``) as the CNCF distribution registry serves it,
with a synchronous ``httpx.Client``. Every call has a timeout; every failure leaves as a
``RegistryError`` subclass whose message names the registry and what was asked; every result
is a frozen dataclass from ``registry.backend.types``.

Findings about distribution 2.8 that shape the code:

- ``Link`` headers are relative (``</v2/_catalog?last=b&n=2>; rel="next"``); the client follows
  only their path and query, on its own base URL, so a proxy in front keeps working.
- The catalog refuses ``n`` above ``catalog.maxentries`` (default 1000) with 400
  ``PAGINATION_NUMBER_INVALID``; tag lists ignore ``n`` and answer every tag at once, in
  storage directory order (not sorted).
- Deleting by tag answers 400 ``DIGEST_INVALID``; deletes disabled answer 405 ``UNSUPPORTED``.
- A manifest fetched without the OCI types in ``Accept`` is a 404, so all four are sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from registry.backend.auth import Challenge, TokenCache, parse_challenges, scope_key
from registry.backend.errors import (
    NotFound,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
    Unsupported,
)
from registry.backend.types import (
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageConfig,
    ManifestDocument,
    ManifestRef,
    PingResult,
    Platform,
)

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 3.0
USER_AGENT = "portcullis-registry-client/1"
# The distribution registry refuses manifests above 4 MiB; anything larger is not a manifest.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# Image configs are small JSON; the cap stops a layer digest from downloading a whole layer.
MAX_CONFIG_BYTES = 8 * 1024 * 1024
# Error bodies only feed messages; a registry's 5xx page may be a large HTML document.
MAX_ERROR_TEXT = 300

TokenProvider = Callable[[str, list[str]], str | None]

DELETES_DISABLED = "deletes are disabled on this registry (storage.delete.enabled)"
UNTAG_UNSUPPORTED = (
    "this registry (distribution 2.8) cannot remove a tag on its own; it deletes manifests only "
    "by digest, so delete the manifest instead, which removes every tag that points at it"
)

_SHA256_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
# Go writes fractions up to nanoseconds; ``datetime.fromisoformat`` takes at most microseconds.
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class _Answer:
    """A response whose body has been read (within a size cap) and the connection released."""

    response: httpx.Response
    body: bytes

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers


class RegistryClient:
    """A client for one registry, e.g. ``RegistryClient("http://127.0.0.1:5000")``.

    ``token_provider(service, scopes)`` answers a registry's Bearer challenge with a token (or
    ``None`` when it cannot); tokens are kept per scope until shortly before they expire.
    ``timeout`` bounds each read, ``connect_timeout`` each connection attempt. Use it as a
    context manager, or call ``close()``. Safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token_provider: TokenProvider | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = base_url.strip().rstrip("/")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise RegistryUnavailable(f"invalid registry URL {base_url!r}: {exc}") from exc
        if parsed.scheme not in {"http", "https"} or not parsed.host:
            raise RegistryUnavailable(
                f"invalid registry URL {base_url!r}: expected http(s)://host[:port]"
            )
        self.base_url = url
        self.timeout = timeout
        self._origin = parsed
        self._token_provider = token_provider
        self._tokens = TokenCache()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<RegistryClient {self.base_url}>"

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Operations ----------------------------------------------------------------------------

    def ping(self) -> PingResult:
        """``GET /v2/``: is the registry there, and does it let the portal in?"""
        what = "the API root /v2/"
        started = time.perf_counter()
        answer = self._request("GET", "/v2/", what=what, scope="")
        latency_ms = (time.perf_counter() - started) * 1000
        self._expect_success(answer, what)
        return PingResult(
            api_version=answer.headers.get("Docker-Distribution-Api-Version", ""),
            latency_ms=latency_ms,
        )

    def iter_catalog(self, *, page_size: int = 100, last: str | None = None) -> Iterator[list[str]]:
        """Repository names, one page at a time, starting after ``last``.

        Follows ``Link: <…>; rel="next"``; empty pages are not yielded. Distribution refuses a
        ``page_size`` above its ``catalog.maxentries`` (1000 by default).
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        params: dict[str, str | int] = {"n": page_size}
        if last:
            params["last"] = last
        # Checked above, when called, rather than at the first ``next()``.
        return self._catalog_pages(params)

    def _catalog_pages(self, params: dict[str, str | int]) -> Iterator[list[str]]:
        what = "the repository catalog"
        for data in self._pages("/v2/_catalog", params, what=what, scope="registry:catalog:*"):
            names = _string_list(data, "repositories", what=what, registry=self.base_url)
            if names:
                yield names

    def list_tags(self, repository: str, *, page_size: int = 1000) -> list[str]:
        """Every tag of ``repository``, sorted; ``[]`` when it has none.

        Follows ``Link`` pages (distribution 3). Sorted here because distribution 2.8 answers
        in storage directory order, which differs between runs and hosts.
        """
        _require(repository=repository)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        what = f"the tag list of {repository}"
        tags: list[str] = []
        path = f"/v2/{_path(repository)}/tags/list"
        for data in self._pages(path, {"n": page_size}, what=what, scope=_pull(repository)):
            tags.extend(_string_list(data, "tags", what=what, registry=self.base_url))
        return sorted(tags)

    def head_manifest(self, repository: str, reference: str) -> ManifestRef:
        """Resolve a tag (or check a digest) without downloading the manifest."""
        _require(repository=repository, reference=reference)
        what = f"manifest {_display(repository, reference)}"
        answer = self._request(
            "HEAD",
            _manifest_path(repository, reference),
            what=what,
            scope=_pull(repository),
            accept=", ".join(MANIFEST_MEDIA_TYPES),
        )
        self._expect_success(answer, what)
        digest = answer.headers.get("Docker-Content-Digest", "")
        if not digest and _is_digest(reference):
            digest = reference
        length = answer.headers.get("Content-Length", "")
        if not digest or not length.isdigit():
            # Not every registry (or proxy) keeps these headers on HEAD; the body has them.
            document = self.get_manifest(repository, reference)
            return ManifestRef(document.digest, document.media_type, document.size)
        return ManifestRef(digest=digest, media_type=_media_type(answer.headers), size=int(length))

    def get_manifest(self, repository: str, reference: str) -> ManifestDocument:
        """Download and parse a manifest: an image (config, layers) or an index (children)."""
        _require(repository=repository, reference=reference)
        what = f"manifest {_display(repository, reference)}"
        answer = self._request(
            "GET",
            _manifest_path(repository, reference),
            what=what,
            scope=_pull(repository),
            accept=", ".join(MANIFEST_MEDIA_TYPES),
            max_bytes=MAX_MANIFEST_BYTES,
        )
        self._expect_success(answer, what)
        body = answer.body
        computed = "sha256:" + hashlib.sha256(body).hexdigest()
        if _SHA256_DIGEST.match(reference) and computed != reference:
            raise self._malformed(what, f"its content hashes to {computed}")
        digest = answer.headers.get("Docker-Content-Digest") or computed
        data = self._json(answer, what)
        media_type = _manifest_media_type(answer.headers, data)
        try:
            if media_type in INDEX_MEDIA_TYPES:
                return ManifestDocument(
                    digest=digest,
                    media_type=media_type,
                    size=len(body),
                    raw=body,
                    children=[_descriptor(item) for item in _list(data, "manifests")],
                )
            config = data.get("config")
            return ManifestDocument(
                digest=digest,
                media_type=media_type,
                size=len(body),
                raw=body,
                config=_descriptor(config) if config is not None else None,
                layers=[_descriptor(item) for item in _list(data, "layers")],
            )
        except (TypeError, ValueError) as exc:
            raise self._malformed(what, str(exc)) from exc

    def get_image_config(self, repository: str, digest: str) -> ImageConfig:
        """Read an image's config blob (following redirects to blob storage)."""
        _require(repository=repository, digest=digest)
        what = f"config blob {repository}@{digest}"
        answer = self._request(
            "GET",
            f"/v2/{_path(repository)}/blobs/{_path(digest)}",
            what=what,
            scope=_pull(repository),
            follow_redirects=True,
            max_bytes=MAX_CONFIG_BYTES,
        )
        self._expect_success(answer, what)
        if _SHA256_DIGEST.match(digest):
            computed = "sha256:" + hashlib.sha256(answer.body).hexdigest()
            if computed != digest:
                raise self._malformed(what, f"its content hashes to {computed}")
        data = self._json(answer, what)
        fields = {}
        for name in ("architecture", "os", "variant"):
            value = data.get(name, "")
            if not isinstance(value, str):
                raise self._malformed(what, f"{name!r} is not a string")
            fields[name] = value
        return ImageConfig(**fields, created=_parse_created(data.get("created")))

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest; the registry drops every tag that points at it.

        Raises ``Unsupported`` (status 405) when the registry has deletes disabled, and
        ``NotFound`` when it does not hold the manifest.
        """
        _require(repository=repository, digest=digest)
        if not _is_digest(digest):
            # Distribution 3 deletes *tags* through the same URL: never untag by accident.
            raise ValueError(f"delete_manifest needs a digest, not {digest!r}")
        what = f"manifest {repository}@{digest}"
        answer = self._request(
            "DELETE", _manifest_path(repository, digest), what=what, scope=_delete(repository)
        )
        if answer.status_code == 405:
            code, _ = _error_details(answer)
            raise Unsupported(
                f"Cannot delete {what}: {DELETES_DISABLED} at {self.base_url}.",
                status_code=405,
                code=code,
            )
        self._expect_success(answer, what)

    def delete_tag(self, repository: str, tag: str) -> None:
        """Remove one tag and keep its manifest (``DELETE /v2/<name>/manifests/<tag>``).

        Distribution 3 supports it. Distribution 2.8 cannot untag: it answers 400
        ``DIGEST_INVALID``, raised as ``Unsupported`` (status 400) telling to delete the
        manifest instead; a registry with deletes disabled gives ``Unsupported`` (status 405).
        """
        _require(repository=repository, tag=tag)
        if _is_digest(tag) or "@" in tag:
            raise ValueError(f"delete_tag needs a tag, not {tag!r}; use delete_manifest")
        what = f"tag {repository}:{tag}"
        answer = self._request(
            "DELETE", _manifest_path(repository, tag), what=what, scope=_delete(repository)
        )
        code, _ = _error_details(answer)
        if answer.status_code == 405:
            raise Unsupported(
                f"Cannot remove {what}: {DELETES_DISABLED} at {self.base_url}.",
                status_code=405,
                code=code,
            )
        if answer.status_code == 400 and code in {"DIGEST_INVALID", "UNSUPPORTED"}:
            raise Unsupported(
                f"Cannot remove {what}: {UNTAG_UNSUPPORTED}.", status_code=400, code=code
            )
        self._expect_success(answer, what)

    # HTTP ----------------------------------------------------------------------------------

    def _pages(
        self, path: str, params: dict[str, str | int], *, what: str, scope: str
    ) -> Iterator[dict[str, Any]]:
        """The JSON documents of a paginated list, following ``rel="next"`` links."""
        target: str = path
        query: dict[str, str | int] | None = params
        seen: set[str] = set()
        while True:
            answer = self._request("GET", target, what=what, scope=scope, params=query)
            self._expect_success(answer, what)
            yield self._json(answer, what)
            next_target = self._next_link(answer)
            if next_target is None:
                return
            if next_target in seen:
                raise self._malformed(what, f"its pagination loops back to {next_target}")
            seen.add(next_target)
            target, query = next_target, None

    def _next_link(self, answer: _Answer) -> str | None:
        response = answer.response
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        # Only path and query are kept: the link is relative on distribution, and an absolute
        # one naming another host (a proxy's upstream) must not take the token elsewhere.
        resolved = response.url.join(link["url"])
        return resolved.raw_path.decode("ascii")

    def _url(self, target: str) -> httpx.URL:
        return self._origin.copy_with(raw_path=target.encode("ascii"))

    def _request(
        self,
        method: str,
        target: str,
        *,
        what: str,
        scope: str,
        params: dict[str, str | int] | None = None,
        accept: str | None = None,
        follow_redirects: bool = False,
        max_bytes: int | None = None,
    ) -> _Answer:
        """Send one request, answering a Bearer challenge once; errors other than 401 are
        returned for the caller to judge (a 405 means different things per operation)."""
        url = self._url(target)
        predicted = scope_key([scope] if scope else [])
        sent = self._tokens.get(predicted)
        answer = self._send(
            method, url, params, accept, sent, follow_redirects, max_bytes, what=what
        )
        if answer.status_code != 401:
            return answer

        challenge = _bearer_challenge(answer)
        if challenge is None:
            raise Unauthorized(
                f"Registry {self.base_url} asks for credentials the portal cannot give "
                f"({answer.headers.get('WWW-Authenticate') or 'no challenge'}) for {what}.",
                status_code=401,
            )
        key = scope_key(challenge.scopes)
        if sent is not None:
            # The registry refused this token (expired early, key rotated, too few rights).
            self._tokens.discard(predicted, sent)
            self._tokens.discard(key, sent)
        token = self._tokens.get(key)
        if token is None:
            token = self._fetch_token(challenge, what)
            self._tokens.put(key, token)
        answer = self._send(
            method, url, params, accept, token, follow_redirects, max_bytes, what=what
        )
        if answer.status_code == 401:
            self._tokens.discard(key, token)
            retry = _bearer_challenge(answer)
            reason = f" ({retry.error})" if retry is not None and retry.error else ""
            raise Unauthorized(
                f"Registry {self.base_url} refused the portal's token for {what}{reason}.",
                status_code=401,
                code=retry.error if retry is not None else "",
            )
        return answer

    def _fetch_token(self, challenge: Challenge, what: str) -> str:
        scopes = ", ".join(challenge.scopes) or "no scope"
        if self._token_provider is None:
            raise Unauthorized(
                f"Registry {self.base_url} requires a token ({scopes}) for {what}, and the "
                "portal has no token provider for it.",
                status_code=401,
            )
        token = self._token_provider(challenge.service, challenge.scopes)
        if not token:
            raise Unauthorized(
                f"Registry {self.base_url} requires a token ({scopes}) for {what}, and the "
                "portal could not obtain one.",
                status_code=401,
            )
        return token

    def _send(
        self,
        method: str,
        url: httpx.URL,
        params: dict[str, str | int] | None,
        accept: str | None,
        token: str | None,
        follow_redirects: bool,
        max_bytes: int | None,
        *,
        what: str,
    ) -> _Answer:
        headers = {}
        if accept:
            headers["Accept"] = accept
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = self._http.build_request(method, url, params=params, headers=headers)
        try:
            response = self._http.send(request, stream=True, follow_redirects=follow_redirects)
            try:
                body = self._read_body(response, max_bytes, what)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise RegistryUnavailable(
                f"Registry {self.base_url} did not answer in time ({self.timeout:g} s) "
                f"while reading {what}."
            ) from exc
        except httpx.ConnectError as exc:
            raise RegistryUnavailable(
                f"Cannot connect to registry {self.base_url}: {exc or type(exc).__name__}."
            ) from exc
        except httpx.TransportError as exc:
            raise RegistryUnavailable(
                f"Connection to registry {self.base_url} failed while reading {what}: "
                f"{exc or type(exc).__name__}."
            ) from exc
        return _Answer(response=response, body=body)

    def _read_body(self, response: httpx.Response, max_bytes: int | None, what: str) -> bytes:
        if response.request.method == "HEAD":
            return b""
        if not response.is_success:
            # Enough of an error body for a message; the rest is not worth the wait.
            max_bytes = 64 * 1024
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                if not response.is_success:
                    break
                raise self._malformed(what, f"it is larger than {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    # Answers -------------------------------------------------------------------------------

    def _expect_success(self, answer: _Answer, what: str) -> None:
        if answer.response.is_success:
            return
        raise self._error_for(answer, what)

    def _error_for(self, answer: _Answer, what: str) -> RegistryError:
        status = answer.status_code
        code, detail = _error_details(answer)
        suffix = f": {detail}" if detail else ""
        if status == 404:
            return NotFound(
                f"{_capitalize(what)} was not found on {self.base_url}{suffix}.",
                status_code=status,
                code=code,
            )
        if status == 405 or code == "UNSUPPORTED":
            return Unsupported(
                f"Registry {self.base_url} does not support this operation on {what}{suffix}.",
                status_code=status,
                code=code,
            )
        if status in {401, 403}:
            return Unauthorized(
                f"Registry {self.base_url} denied access to {what}{suffix}.",
                status_code=status,
                code=code,
            )
        if status >= 500 or status == 429:
            return RegistryUnavailable(
                f"Registry {self.base_url} failed (HTTP {status}) while reading {what}{suffix}.",
                status_code=status,
                code=code,
            )
        if status < 400:
            return RegistryUnavailable(
                f"Registry {self.base_url} gave an unexpected answer (HTTP {status}) for {what}.",
                status_code=status,
            )
        return RegistryError(
            f"Registry {self.base_url} refused the request for {what} (HTTP {status}){suffix}.",
            status_code=status,
            code=code,
        )

    def _json(self, answer: _Answer, what: str) -> dict[str, Any]:
        try:
            data = json.loads(answer.body)
        except ValueError as exc:
            raise self._malformed(what, "it is not valid JSON") from exc
        if not isinstance(data, dict):
            raise self._malformed(what, "it is not a JSON object")
        return data

    def _malformed(self, what: str, reason: str) -> RegistryUnavailable:
        return RegistryUnavailable(
            f"Registry {self.base_url} sent a malformed response for {what}: {reason}."
        )


# Helpers -------------------------------------------------------------------------------------


def _require(**values: str) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")


def _path(segment: str) -> str:
    # Valid names, tags and digests pass unchanged ('/' stays: the registry expects it);
    # anything else cannot break out of its place in the URL ('?', '#', spaces).
    return quote(segment, safe="/:@")


def _manifest_path(repository: str, reference: str) -> str:
    return f"/v2/{_path(repository)}/manifests/{_path(reference)}"


def _pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def _delete(repository: str) -> str:
    return f"repository:{repository}:delete"


def _is_digest(reference: str) -> bool:
    return ":" in reference


def _display(repository: str, reference: str) -> str:
    return f"{repository}@{reference}" if _is_digest(reference) else f"{repository}:{reference}"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _bearer_challenge(answer: _Answer) -> Challenge | None:
    challenges = parse_challenges(answer.headers.get_list("WWW-Authenticate"))
    return next((c for c in challenges if c.is_bearer), None)


def _error_details(answer: _Answer) -> tuple[str, str]:
    """The registry's error code and a readable detail from an error answer, if any."""
    body = answer.body
    if not body:
        return "", ""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        codes, messages = [], []
        for error in data["errors"]:
            if not isinstance(error, dict):
                continue
            code = str(error.get("code") or "")
            message = str(error.get("message") or code)
            codes.append(code)
            messages.append(message)
        return (codes[0] if codes else ""), "; ".join(m for m in messages if m)
    text = body.decode("utf-8", errors="replace").strip()
    if "<" in text[:1]:
        return "", ""  # an HTML error page says nothing a user can act on
    text = " ".join(text.split())
    return "", text[:MAX_ERROR_TEXT] + ("…" if len(text) > MAX_ERROR_TEXT else "")


def _media_type(headers: httpx.Headers) -> str:
    return headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def _manifest_media_type(headers: httpx.Headers, data: dict[str, Any]) -> str:
    """The manifest's media type: the registry's ``Content-Type``, else the document's own."""
    header = _media_type(headers)
    if header and header not in {"application/json", "text/plain", "application/octet-stream"}:
        return header
    declared = data.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    # OCI allows omitting ``mediaType``; the shape tells which kind it is.
    return OCI_INDEX if "manifests" in data else OCI_MANIFEST


def _string_list(data: dict[str, Any], key: str, *, what: str, registry: str) -> list[str]:
    value = data.get(key)
    if value is None:  # distribution answers ``"tags": null`` for a repository with no tags
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RegistryUnavailable(
            f"Registry {registry} sent a malformed response for {what}: "
            f"{key!r} is not a list of strings."
        )
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key!r} is not a list")
    return value


def _descriptor(item: Any) -> Descriptor:
    if not isinstance(item, dict):
        raise ValueError("a descriptor is not an object")
    digest, size = item.get("digest"), item.get("size")
    media_type = item.get("mediaType", "")
    if not isinstance(digest, str) or not _is_digest(digest):
        raise ValueError(f"descriptor digest {digest!r} is not a digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"descriptor size {size!r} is not a size")
    if not isinstance(media_type, str):
        raise ValueError(f"descriptor media type {media_type!r} is not a string")
    platform = item.get("platform")
    parsed_platform = None
    if platform is not None:
        if not isinstance(platform, dict):
            raise ValueError("a descriptor platform is not an object")
        parts = [platform.get(k, "") for k in ("architecture", "os", "variant")]
        if not all(isinstance(part, str) for part in parts):
            raise ValueError("a descriptor platform has non-string fields")
        parsed_platform = Platform(architecture=parts[0], os=parts[1], variant=parts[2])
    return Descriptor(media_type=media_type, digest=digest, size=size, platform=parsed_platform)


def _parse_created(value: Any) -> datetime | None:
    """An image's ``created`` time, or ``None`` when missing, unreadable or Go's zero time."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    # Images built without a timestamp carry 0001-01-01 (Go's zero time): that means unknown.
    if created.year <= 1:
        return None
    return created
