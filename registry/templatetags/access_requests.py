"""``{% request_access_offer %}``: the 403 page's "Request access" link, filled in.

The permission checks refuse with ``You are not allowed to do {action} at {scope}.``
(``registry.views.access.authorize``); the offer reads the action and the scope back from that
message and links to the request form with the scope and the smallest built-in role that
allows the action. A refusal without a message offers the empty form; one with another message
(deciding one's own request) offers nothing.
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
    message = str(context.get("exception", "") or "")
    refused = parse_refusal(message)
    if refused is None and message:
        # A refusal that is not about a missing action (one's own request, a machine caller):
        # asking for a role would not help.
        return {"offer": None}
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
