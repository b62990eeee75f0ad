"""``{{ scope|access_page }}``: the role assignments page of a scope string."""

from __future__ import annotations

from django import template

from registry.views.access_control import access_page_url

register = template.Library()


@register.filter
def access_page(scope: str) -> str:
    try:
        return access_page_url(scope)
    except ValueError:
        return ""
