"""Pages of the API's repository and tag lists, remembered while their registry's index stands.

Scripts, CI jobs and dashboards ask the same list again and again. A page is kept (rendered,
as bytes) under its registry's index stamp (``registry.index_cache``: once a change to the
registry's repositories, manifests or tags is committed, no request can reach a page kept from
before it) together with:

- the whole absolute URL (filters, page size, cursor, and the host the ``next`` link names);
- the negotiated media type (only JSON is kept);
- whatever else decides the answer for this caller: for the repository list, the caller's
  grants (``Grants.fingerprint``), since it shows only what they may see.

The caller is still authenticated and authorized on every request, before the cache is
looked at: revoking a token or an assignment takes effect at once.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from registry.index_cache import CACHE, stamped_key


class IndexListCache:
    """For an API view (before ``GenericAPIView`` in its bases) whose GET lists the index."""

    _list_cache_key: str | None = None

    def remembered(self, request: Request, registry_name: str, *parts: str) -> HttpResponse | None:
        """The page kept for this request, if any; otherwise None, and the page this request
        renders is kept. Call once the caller is authorized; ``parts`` are whatever else,
        besides the URL, decides the answer."""
        if not isinstance(getattr(request, "accepted_renderer", None), JSONRenderer):
            return None  # the browsable API renders per user, with forms
        key = stamped_key(
            registry_name,
            ("page", request.build_absolute_uri(), request.accepted_media_type, *parts),
        )
        if key is None:
            return None  # keeping is off, no such registry (the view answers 404), or no stamp
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
