"""The navigation's access-request count: requests waiting for the signed-in user's decision.

Lazy and cached: a page that never shows it costs nothing, a page that shows it costs one query
however often the template reads it; anonymous visitors cost none.
"""

from __future__ import annotations

import functools

from django.http import HttpRequest

from registry.access_requests import selectors


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if not selectors.is_person(user):
        return {}
    return {"access_requests_waiting": functools.cache(lambda: selectors.inbox_count(user))}
