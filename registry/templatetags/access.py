"""``{% allowed "registry/write" registry.scope as can_write %}``: offer only what the user may do.

The view still decides (a hidden button is a courtesy, not a check); this asks the same
per-request answer the view used, so it costs no query.
"""

from __future__ import annotations

from typing import Any

from django import template

from registry.views import access

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed(context: dict[str, Any], action: str, scope: str) -> bool:
    request = context.get("request")
    return request is not None and access.is_allowed(request, action, scope)
