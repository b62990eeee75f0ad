"""Signing out: everywhere at once, and what an expired session does to an htmx request.

Every sign-in (password, TOTP or Microsoft) is recorded by ``allauth.usersessions``, so the
portal knows each browser session of a person. "Sign out everywhere" ends all of them, this
one included, and revokes the person's registry refresh tokens (``docker login`` stops
working on every machine at its next token request). Personal access tokens are separate,
named credentials and stay; they are revoked on their own page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.usersessions.adapter import get_adapter as get_usersessions_adapter
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import RefreshToken, User


@dataclass(frozen=True)
class SignedOut:
    sessions: int
    refresh_tokens: int


def sign_out_everywhere(*, user: User, request: HttpRequest | None = None) -> SignedOut:
    """End every session of ``user`` and revoke their refresh tokens; when ``request`` is
    one of those sessions it is signed out too."""
    with transaction.atomic():
        revoked = RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        sessions = list(UserSession.objects.filter(user_id=user.pk))
        get_usersessions_adapter().end_sessions(sessions)
    if request is not None and getattr(request, "user", None) == user:
        get_account_adapter(request).logout(request)
    return SignedOut(sessions=len(sessions), refresh_tokens=revoked)


class SignInRedirectMiddleware:
    """An htmx request whose session has expired is sent to the sign-in page as a whole page.

    Left alone, htmx would follow the redirect and swap the sign-in form into whatever part of
    the page asked (a table cell, a dialog). Instead the browser goes to the sign-in page,
    which brings the person back to the page they were on.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code not in (301, 302):
            return response
        login_path = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != login_path:
            return response
        current = request.htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(f"{login_path}?{urlencode({'next': current})}")
