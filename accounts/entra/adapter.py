"""django-allauth's social account adapter: Entra sign-ins become portal users here.

Nobody signs up: when allauth has a checked Entra sign-in (``accounts.entra.views``),
``pre_social_login`` maps it to a portal user and refreshes their groups in one transaction
(``accounts.entra.directory``), and links allauth's social account to that user, so allauth
goes on to sign an existing user in. A refusal answers with the sign-in error page.
"""

from __future__ import annotations

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.entra.config import entra_config
from accounts.entra.directory import SignInRefused, entra_user_sign_in

ERROR_TEMPLATE = "socialaccount/authentication_error.html"


def refusal(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    return render(request, ERROR_TEMPLATE, {"refusal": message}, status=status)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # Users are made by pre_social_login; allauth's own sign-up form is never shown.
        return entra_config().is_configured

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        checked = getattr(sociallogin, "entra_sign_in", None)
        if checked is None:
            raise ImmediateHttpResponse(refusal(request, "This sign-in was not checked."))
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            raise ImmediateHttpResponse(
                refusal(
                    request,
                    "A Microsoft account cannot be added to a signed-in account; sign out and "
                    "sign in with Microsoft instead.",
                )
            )
        try:
            with transaction.atomic():
                result = entra_user_sign_in(identity=checked.identity, groups=checked.groups)
                if sociallogin.is_existing:
                    if sociallogin.account.user_id != result.user.pk:
                        # The object id on the user decides; a stale link follows it.
                        sociallogin.account.user = result.user
                        sociallogin.account.save(update_fields=["user"])
                    sociallogin.user = result.user
                else:
                    sociallogin.user = result.user
                    sociallogin.save(request, connect=True)
        except SignInRefused as exc:
            raise ImmediateHttpResponse(refusal(request, str(exc))) from None

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Exception | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        if exception is not None and extra_context is not None:
            extra_context.setdefault("refusal", str(exception))
