"""Root URLs: the site shell, accounts, the registry domain, the REST API and health probes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import sign_in
from portal import health
from registry.events import views as registry_events
from registry.tokens import server as token_server

urlpatterns = [
    path("", include("portal.site_urls", namespace="portal")),
    path("healthz", health.healthz, name="healthz"),
    path("oauth2/token", token_server.token, name="oauth2-token"),
    path("oauth2/exchange", token_server.exchange, name="oauth2-exchange"),
    path("readyz", health.readyz, name="readyz"),
    path("registry-events/<str:registry>/", registry_events.receive, name="registry-events"),
    # Before allauth's own: Entra accounts are told their password lives in Entra ID.
    path("accounts/password/change/", sign_in.password_change),
    path("accounts/password/set/", sign_in.password_set),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.profile_urls", namespace="profile")),
    path("admin/", admin.site.urls),
    path("access-requests/", include("registry.access_request_urls", namespace="access_requests")),
    path("api/v1/", include("registry.api.urls", namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("registry.identity_urls", namespace="accounts")),
    path("", include("registry.urls", namespace="registry")),
    path("", include("registry.access_urls", namespace="access")),
]
