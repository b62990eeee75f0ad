"""The sign-in round trip with Entra ID: allauth's Microsoft Graph OAuth2 flow, plus the
checks and reads Portcullis needs before anyone is signed in.

After allauth trades the authorization code for tokens, ``EntraOAuth2Adapter.complete_login``

1. checks the ID token (signature, issuer, audience, expiry) and that its tenant is the
   portal's (``accounts.entra.tokens``): a person of another tenant is refused here;
2. reads the profile (``/me``, allauth's own code) and checks it names the same object id;
3. reads the person's transitive groups from Graph (``accounts.entra.graph``).

Nothing is written until all three succeed; ``accounts.entra.adapter`` then maps the person to
a portal user in one transaction. A refusal or failure renders the sign-in error page with
the reason.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from allauth.socialaccount.providers.base import ProviderException
from allauth.socialaccount.providers.microsoft.views import MicrosoftGraphOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.http import Http404, HttpRequest, HttpResponse

from accounts.entra import graph
from accounts.entra.config import entra_config
from accounts.entra.tokens import EntraIdentity, EntraTokenError, EntraUnavailable, check_id_token


class EntraSignInError(ProviderException):
    """A sign-in refused or failed before anything was written; ``str()`` says why."""


@dataclass(frozen=True)
class EntraSignIn:
    """What an Entra round trip established: who signed in, and their groups."""

    identity: EntraIdentity
    groups: list[graph.DirectoryGroup]


class EntraOAuth2Adapter(MicrosoftGraphOAuth2Adapter):
    def complete_login(self, request: HttpRequest, app: Any, token: Any, **kwargs: Any) -> Any:
        response = kwargs.get("response") or {}
        id_token = response.get("id_token") if isinstance(response, dict) else None
        if not id_token:
            raise EntraSignInError(
                "Entra ID sent no ID token; the sign-in must ask for the openid scope."
            )
        try:
            identity = check_id_token(id_token)
        except EntraTokenError as exc:
            raise EntraSignInError(str(exc)) from None
        except EntraUnavailable as exc:
            raise EntraSignInError(f"{exc} Try again in a moment.") from None
        login = super().complete_login(request, app, token, **kwargs)
        if str(login.account.uid).lower() != identity.object_id:
            raise EntraSignInError("Microsoft Graph and the ID token name different people.")
        # The ID token carries an email only when the app registration adds that optional
        # claim; the profile's mail is there either way.
        mail = str(login.account.extra_data.get("mail") or "").strip()
        if mail and not identity.email:
            identity = dataclasses.replace(identity, email=mail)
        try:
            groups = graph.transitive_groups(token.token)
        except graph.GraphError as exc:
            raise EntraSignInError(
                f"Your group memberships could not be read, so you were not signed in: {exc} "
                "Try again in a moment; if it keeps failing, tell an administrator."
            ) from None
        login.entra_sign_in = EntraSignIn(identity=identity, groups=groups)
        return login


def _configured(view: Any) -> Any:
    """Answer 404 while single sign-on is not configured, rather than failing inside allauth."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not entra_config().is_configured:
            raise Http404("Single sign-on with Entra ID is not configured.")
        return view(request, *args, **kwargs)

    return wrapped


oauth2_login = _configured(OAuth2LoginView.adapter_view(EntraOAuth2Adapter))
oauth2_callback = _configured(OAuth2CallbackView.adapter_view(EntraOAuth2Adapter))
