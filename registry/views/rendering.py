"""Rendering a page or one of its fragments (django-htmx + django-template-partials).

A page is one template; its swappable regions are ``{% partialdef name inline %}`` blocks.
When htmx asks for a fragment the view renders ``"page.html#name"`` instead of the page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import reswap, trigger_client_event


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx request that will swap part of a page (not a history restore of a whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def htmx_target(request: HttpRequest) -> str:
    """The id of the element an htmx request will swap, or ``""``."""
    return (request.htmx.target or "") if wants_fragment(request) else ""


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template``, or only its partial ``fragment`` when htmx asks for a fragment.

    An error fragment (status 400 and up) is meant to be swapped in place: it says so with
    ``HX-Reswap``, so the error middleware leaves it alone.
    """
    as_fragment = fragment is not None and wants_fragment(request)
    name = f"{template}#{fragment}" if as_fragment else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    if as_fragment and status >= 400:
        reswap(response, "outerHTML")
    return response


def announce(response: HttpResponse, event: str, **details: Any) -> HttpResponse:
    """Tell the page that an object changed (``HX-Trigger``), so other regions can refresh."""
    return trigger_client_event(response, event, details)
