"""REST API v1 routes.

Repository and namespace names contain ``/``, so they take Django's ``path`` converter and what
follows a repository is marked the ACR way, with ``_tags`` and ``_manifests`` (no name component
can start with ``_``). The converters here accept anything: the views check each name against
its grammar and answer 400 for a malformed one, so a caller learns what is wrong instead of
meeting a bare 404. Paths under the API that match nothing get a 404 problem too.
"""

from django.urls import path, re_path

from registry.api import identity_views as identity_api
from registry.api import request_views, views, webhook_views
from registry.api.access_urls import urlpatterns as access_urlpatterns

app_name = "api"

_registry = "registries/<str:registry>"
_repository = f"{_registry}/repositories/<path:repository>"
_webhook = f"{_registry}/webhooks/<str:webhook>"

urlpatterns = [
    path("registries/", views.RegistryList.as_view(), name="registry-list"),
    path(f"{_registry}/", views.RegistryDetail.as_view(), name="registry-detail"),
    path(f"{_registry}/namespaces/", views.NamespaceList.as_view(), name="namespace-list"),
    path(
        f"{_registry}/namespaces/<path:namespace>/",
        views.NamespaceDetail.as_view(),
        name="namespace-detail",
    ),
    path(f"{_registry}/repositories/", views.RepositoryList.as_view(), name="repository-list"),
    path(f"{_registry}/events/", views.RegistryEventList.as_view(), name="registry-event-list"),
    path(f"{_registry}/admin-user/", views.AdminUserDetail.as_view(), name="admin-user"),
    path(
        f"{_registry}/admin-user/regenerate/",
        views.AdminUserRegenerate.as_view(),
        name="admin-user-regenerate",
    ),
    path("access-requests/", request_views.AccessRequestList.as_view(), name="access-request-list"),
    path(
        "access-requests/<int:pk>/",
        request_views.AccessRequestDetail.as_view(),
        name="access-request-detail",
    ),
    *(
        path(
            f"access-requests/<int:pk>/{verb}/",
            view.as_view(),
            name=f"access-request-{verb}",
        )
        for verb, view in (
            ("approve", request_views.AccessRequestApprove),
            ("deny", request_views.AccessRequestDeny),
            ("cancel", request_views.AccessRequestCancel),
            ("extend", request_views.AccessRequestExtend),
        )
    ),
    # Sub-resources before the repository itself: ``<path:repository>/`` would match them too.
    path(f"{_repository}/_tags/", views.TagList.as_view(), name="tag-list"),
    path(f"{_repository}/_tags/<str:tag>/", views.TagDetail.as_view(), name="tag-detail"),
    path(f"{_repository}/_manifests/", views.ManifestList.as_view(), name="manifest-list"),
    path(
        f"{_repository}/_manifests/<str:digest>/",
        views.ManifestDetail.as_view(),
        name="manifest-detail",
    ),
    path(f"{_repository}/", views.RepositoryDetail.as_view(), name="repository-detail"),
    path(
        "service-principals/",
        identity_api.ServicePrincipalList.as_view(),
        name="service-principal-list",
    ),
    path(
        "service-principals/<str:id>/",
        identity_api.ServicePrincipalDetail.as_view(),
        name="service-principal-detail",
    ),
    path(
        "service-principals/<str:id>/secrets/",
        identity_api.ServicePrincipalSecretList.as_view(),
        name="service-principal-secret-list",
    ),
    path(
        "service-principals/<str:id>/secrets/<str:secret>/",
        identity_api.ServicePrincipalSecretDetail.as_view(),
        name="service-principal-secret-detail",
    ),
    path("tokens/", identity_api.TokenList.as_view(), name="token-list"),
    path("tokens/<str:id>/", identity_api.TokenDetail.as_view(), name="token-detail"),
    *access_urlpatterns,
    path(f"{_registry}/webhooks/", webhook_views.WebhookList.as_view(), name="webhook-list"),
    path(f"{_webhook}/", webhook_views.WebhookDetail.as_view(), name="webhook-detail"),
    path(f"{_webhook}/ping/", webhook_views.WebhookPing.as_view(), name="webhook-ping"),
    path(f"{_webhook}/secret/", webhook_views.WebhookSecret.as_view(), name="webhook-secret"),
    path(
        f"{_webhook}/deliveries/",
        webhook_views.DeliveryList.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        f"{_webhook}/deliveries/redeliver/",
        webhook_views.DeliveryRedeliverFailed.as_view(),
        name="webhook-delivery-redeliver-failed",
    ),
    path(
        f"{_webhook}/deliveries/<int:delivery>/",
        webhook_views.DeliveryDetail.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        f"{_webhook}/deliveries/<int:delivery>/redeliver/",
        webhook_views.DeliveryRedeliver.as_view(),
        name="webhook-delivery-redeliver",
    ),
    re_path(r"^(?P<path>.*)$", views.endpoint_not_found, name="endpoint-not-found"),
]
