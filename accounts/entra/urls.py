"""The provider's URLs, as allauth builds them: ``microsoft/login/`` and its callback."""

from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from accounts.entra.provider import EntraProvider

urlpatterns = default_urlpatterns(EntraProvider)
