"""Turning failures into answers a person can act on, for whole pages and for htmx fragments.

- A ``RegistryError`` that escapes a view means the registry, not the portal, failed: 503 when
  it could not be reached (``RegistryUnavailable``), 502 for anything else it answered. Never 500.
- ``ActionRefused`` (a service understood the request and will not carry it out) is a 409 with
  the service's message.
- htmx requests get the message as a banner swapped into the page's ``#messages`` region
  (``HX-Retarget``) instead of a whole error page inside a table cell; any other error answer
  to htmx (403, 404, 500…) becomes such a banner too, unless the view rendered an error fragment
  meant to be swapped in place (it says so with ``HX-Reswap``).
- Messages queued while answering an htmx fragment ride along as an out-of-band swap of
  ``#messages``, so they show now rather than on the next full page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django_htmx.http import reswap, retarget

from registry.backend import RegistryError, RegistryUnavailable
from registry.services import ActionRefused

logger = logging.getLogger(__name__)

ERROR_TEMPLATE = "portal/error.html"

GENERIC_ERRORS = {
    400: ("Bad request", "The portal could not understand this request."),
    403: ("Not allowed", "You are not allowed to do this. Ask an administrator for access."),
    404: ("Not found", "This page or object does not exist. It may have been deleted."),
    405: ("Not allowed", "This action cannot be done this way."),
    409: ("Not done", "This action conflicts with the current state. Reload and try again."),
    500: ("Something went wrong", "The portal failed to answer. The error has been logged."),
}


class RegistryErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_htmx(request):
            return response
        if response.status_code >= 400 and not _swaps_in_place(response):
            title, message = GENERIC_ERRORS.get(
                response.status_code, GENERIC_ERRORS[500 if response.status_code >= 500 else 400]
            )
            return self._banner(request, response.status_code, title, message)
        if 200 <= response.status_code < 300:
            _append_messages(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RegistryUnavailable):
            status, title = 503, "Registry unavailable"
            message = (
                f"{exception.message} Nothing was changed. Try again when the registry is back."
            )
        elif isinstance(exception, RegistryError):
            status, title = 502, "The registry refused"
            message = f"{exception.message} Nothing was changed in the portal."
        elif isinstance(exception, ActionRefused):
            status, title, message = 409, "Not done", str(exception)
        else:
            return None
        logger.warning("%s %s: %s", request.method, request.path, message)
        if _is_htmx(request):
            return self._banner(request, status, title, message)
        context = {"status": status, "title": title, "message": message}
        return _no_cache(_render(request, ERROR_TEMPLATE, context, status))

    def _banner(self, request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
        context = {"status": status, "title": title, "message": message}
        response = _render(request, f"{ERROR_TEMPLATE}#banner", context, status)
        retarget(response, "#messages")
        reswap(response, "innerHTML")
        return _no_cache(response)


def _is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _swaps_in_place(response: HttpResponse) -> bool:
    return "HX-Reswap" in response or "HX-Retarget" in response or "HX-Redirect" in response


def _render(request: HttpRequest, template: str, context: dict, status: int) -> HttpResponse:
    return HttpResponse(render_to_string(template, context, request=request), status=status)


def _no_cache(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ("HX-Request",))
    return response


def _append_messages(request: HttpRequest, response: HttpResponse) -> None:
    if response.streaming or "HX-Redirect" in response or "HX-Refresh" in response:
        return  # The next page shows them.
    if not response.get("Content-Type", "").startswith("text/html"):
        return
    storage = messages.get_messages(request)
    if not len(storage):
        return
    # A <template> wrapper lets the banner ride on any fragment, table rows included.
    html = render_to_string("base.html#messages_oob", {"messages": storage}, request=request)
    response.content += html.encode(response.charset)
