"""REST API v1 routes.

Repository and namespace names contain ``/``, so they take Django's ``path`` converter and what
follows a repository is marked the ACR way, with ``_tags`` and ``_manifests`` (no name component
can start with ``_``). The converters here accept anything: the views check each name against
its grammar and answer 400 for a malformed one, so a caller learns what is wrong instead of
meeting a bare 404. Paths under the API that match nothing get a 404 problem too.
"""

from django.urls import path, re_path

from registry.api import views, webhook_views

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
