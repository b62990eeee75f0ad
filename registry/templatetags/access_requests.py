"""``{% request_access_offer %}``: the 403 page's "Request access" link, filled in.

The permission checks refuse with ``You are not allowed to do {action} at {scope}.``
(``registry.views.access.authorize``); the offer reads the action and the scope back from that
message and links to the request form with the scope and the smallest built-in role that
allows the action. Any other refusal offers the empty form.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from registry.access_requests import policy, selectors

register = template.Library()

REFUSAL = re.compile(r"You are not allowed to do (?P<action>\S+)(?: or \S+)* at (?P<scope>/\S*)\.")


def parse_refusal(message: str) -> tuple[str, str] | None:
    """The action and the scope a refusal names, or None."""
    found = REFUSAL.search(message or "")
    return (found["action"], found["scope"]) if found else None


@register.inclusion_tag("access_requests/offer.html", takes_context=True)
def request_access_offer(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not selectors.is_person(user):
        return {"offer": None}
    refused = parse_refusal(str(context.get("exception", "")))
    query: dict[str, str] = {}
    role = None
    if refused is not None:
        action, scope = refused
        role = policy.smallest_role_for(action)
        query = {"scope": scope, "action": action, **({"role": role} if role else {})}
    url = reverse("access_requests:create")
    return {
        "offer": f"{url}?{urlencode(query)}" if query else url,
        "role": role,
        "refused": refused,
    }
