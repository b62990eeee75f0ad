"""What the sign-in page offers: ``{% sign_in_options as options %}``."""

from __future__ import annotations

from django import template

from accounts.entra.config import is_configured
from accounts.sign_in import password_sign_in_enabled

register = template.Library()


@register.simple_tag
def sign_in_options() -> dict[str, bool]:
    """``microsoft``: single sign-on is configured; ``password_for_everyone``: anyone (not only
    superusers) may sign in with a password."""
    return {"microsoft": is_configured(), "password_for_everyone": password_sign_in_enabled()}
