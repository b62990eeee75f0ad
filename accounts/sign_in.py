"""Who may sign in with a password, and the sign-in form that says so.

Local accounts are for bootstrap and break-glass administrators once single sign-on is in
use. Password sign-in is allowed for everyone unless the ``LOCAL_PASSWORD_SIGN_IN`` setting or
the sign-in policy (Django admin) turns it off; superusers can always sign in with their
password (and their TOTP code), so a broken single sign-on never locks everyone out.
"""

from __future__ import annotations

from typing import Any

from allauth.account import views as allauth_views
from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import SignInPolicy

PASSWORD_SIGN_IN_OFF = (
    "Password sign-in is only for administrators here; sign in with Microsoft instead. "
    "(An administrator who sees this: check the username and password.)"
)


ENTRA_MANAGES_PASSWORD = (
    "Your account signs in with Microsoft Entra ID, which looks after its password; it has no "
    "password in the portal."
)


def is_entra_only(user: Any) -> bool:
    """An account that single sign-on made: an Entra object id and no usable password."""
    return bool(getattr(user, "entra_object_id", "")) and not user.has_usable_password()


def password_sign_in_enabled() -> bool:
    """Whether everyone (not only superusers) may sign in with a password."""
    return settings.LOCAL_PASSWORD_SIGN_IN and SignInPolicy.current().password_sign_in_enabled


def may_sign_in_with_password(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or password_sign_in_enabled()


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form; while password sign-in is for superusers only, any failure
    says so (the same words for a wrong password and for an account that may not use one,
    so the form does not tell which). ``AccountAdapter.authenticate`` enforces the rule."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError as exc:
            if password_sign_in_enabled() or not str(exc.code).endswith("password_mismatch"):
                raise
            # The adapter refused the account, or the password was wrong: the same words.
            raise forms.ValidationError(PASSWORD_SIGN_IN_OFF, code="password_sign_in_off") from None


def _unless_entra_only(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_entra_only(request.user):
            return render(
                request,
                "portal/error.html",
                {"title": "No portal password", "message": ENTRA_MANAGES_PASSWORD, "status": 403},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


# allauth's password pages, which explain instead of offering a form to Entra accounts.
password_change = _unless_entra_only(allauth_views.password_change)
password_set = _unless_entra_only(allauth_views.password_set)
