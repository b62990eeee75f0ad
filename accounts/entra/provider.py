"""django-allauth's ``microsoft`` provider with Portcullis's checks added.

Selected with ``SOCIALACCOUNT_PROVIDERS["microsoft"]["provider_class"]``, so it keeps the
provider id, the settings and the URLs (``/accounts/microsoft/login/`` and its callback) of
allauth's own; only its OAuth2 adapter (``accounts.entra.views``) does more.
"""

from __future__ import annotations

from allauth.socialaccount.providers.microsoft.provider import MicrosoftGraphProvider

from accounts.entra.views import EntraOAuth2Adapter


class EntraProvider(MicrosoftGraphProvider):
    oauth2_adapter_class = EntraOAuth2Adapter

    def extract_uid(self, data: dict) -> str:
        return str(data["id"]).lower()
