"""Pages of the API's repository and tag lists, remembered while their registry's index stands.

Scripts, CI jobs and dashboards ask the same list again and again. A page is kept (rendered,
as bytes) under a key made of:

- the registry's index stamp (``registry.models.IndexStamp``), which the database renews in the
  same transaction as any change to the registry's repositories, manifests or tags: once a
  change is committed, no request can reach a page kept from before it;
- the whole absolute URL (filters, page size, cursor, and the host the ``next`` link names);
- the negotiated media type (only JSON is kept);
- whatever else decides the answer for this caller: for the repository list, the caller's
  grants (``Grants.fingerprint``), since it shows only what they may see.

The caller is still authenticated and authorized on every request, before the cache is
looked at: revoking a token or an assignment takes effect at once. The stamp is read before
the rows, so a page is never older than the stamp it is kept under (a change committed in
between makes the page newer than its key, never staler).

``INDEX_LIST_CACHE_SECONDS`` bounds how long an unused page stays (0: nothing is kept); the
``index-lists`` cache may be any Django cache backend.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from registry import selectors

CACHE = "index-lists"


class IndexListCache:
    """For an API view (before ``GenericAPIView`` in its bases) whose GET lists the index."""

    _list_cache_key: str | None = None

    def remembered(self, request: Request, registry_name: str, *parts: str) -> HttpResponse | None:
        """The page kept for this request, if any; otherwise None, and the page this request
        renders is kept. Call once the caller is authorized; ``parts`` are whatever else,
        besides the URL, decides the answer."""
        if not settings.INDEX_LIST_CACHE_SECONDS:
            return None
        if not isinstance(getattr(request, "accepted_renderer", None), JSONRenderer):
            return None  # the browsable API renders per user, with forms
        found = selectors.index_stamp(registry_name)
        if found is None or found[1] is None:
            return None  # no such registry (the view answers 404), or no stamp kept
        registry_id, stamp = found
        text = "\0".join(
            (
                str(registry_id),
                str(stamp),
                request.build_absolute_uri(),
                request.accepted_media_type,
                *parts,
            )
        )
        key = "page:" + hashlib.sha256(text.encode()).hexdigest()
        kept = caches[CACHE].get(key)
        if kept is not None:
            content_type, content = kept
            return HttpResponse(content, content_type=content_type)
        self._list_cache_key = key
        return None

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        key, self._list_cache_key = self._list_cache_key, None
        if key and isinstance(response, Response) and response.status_code == 200:
            response.render()
            caches[CACHE].set(key, (response["Content-Type"], response.content))
        return response
