"""HTML views of the registry domain.

Repository and namespace names contain ``/``, so what follows them is marked the ACR way with
a leading ``_`` (``…/repositories/team-a/app/_tags/v1/``), which no name component can start
with. The converters match the OCI grammars, so a malformed name in a URL is a 404, never a
500 and never a different page.
"""

from django.urls import path, register_converter

from registry.validation import DIGEST_RE, REGISTRY_NAME_RE, REPOSITORY_NAME_RE, TAG_RE
from registry.views import (
    admin_user,
    events,
    locks,
    manifests,
    namespaces,
    registries,
    repositories,
    webhooks,
)


class _PatternConverter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def _inner(pattern: str) -> str:
    """A grammar's regex without its anchors, for use inside a URL pattern."""
    return pattern.removeprefix("^").removesuffix("$")


class RegistryNameConverter(_PatternConverter):
    regex = _inner(REGISTRY_NAME_RE.pattern)


class RepositoryNameConverter(_PatternConverter):
    regex = _inner(REPOSITORY_NAME_RE.pattern)


class TagConverter(_PatternConverter):
    regex = _inner(TAG_RE.pattern)


class DigestConverter(_PatternConverter):
    regex = _inner(DIGEST_RE.pattern)


# Prefixed names: converters are global, and the API may register its own.
register_converter(RegistryNameConverter, "oci_registry")
register_converter(RepositoryNameConverter, "oci_repository")
register_converter(TagConverter, "oci_tag")
register_converter(DigestConverter, "oci_digest")

app_name = "registry"

_registry = "registries/<oci_registry:registry>"
_namespace = f"{_registry}/namespaces/<oci_repository:namespace>"
_repository = f"{_registry}/repositories/<oci_repository:repository>"
# Webhook names follow the registry-name grammar (5-50 letters and digits).
_webhook = f"{_registry}/webhooks/<oci_registry:webhook>"
_delivery = f"{_webhook}/deliveries/<int:delivery>"

urlpatterns = [
    path("registries/", registries.registry_list, name="registry_list"),
    path("registries/new/", registries.registry_create, name="registry_create"),
    path(f"{_registry}/", registries.registry_detail, name="registry_detail"),
    path(f"{_registry}/edit/", registries.registry_edit, name="registry_edit"),
    path(f"{_registry}/delete/", registries.registry_delete, name="registry_delete"),
    path(f"{_registry}/health/", registries.registry_check_health, name="registry_check_health"),
    path(f"{_registry}/sync/", registries.registry_sync, name="registry_sync"),
    path(f"{_registry}/namespaces/_new/", namespaces.namespace_create, name="namespace_create"),
    path(f"{_namespace}/", namespaces.namespace_detail, name="namespace_detail"),
    path(f"{_namespace}/_edit/", namespaces.namespace_edit, name="namespace_edit"),
    path(f"{_namespace}/_delete/", namespaces.namespace_delete, name="namespace_delete"),
    path(f"{_registry}/repositories/", repositories.repository_list, name="repository_list"),
    path(f"{_registry}/events/", events.event_list, name="event_list"),
    path(f"{_registry}/admin-user/", admin_user.admin_user, name="admin_user"),
    path(f"{_repository}/", repositories.repository_detail, name="repository_detail"),
    path(f"{_repository}/_delete/", repositories.repository_delete, name="repository_delete"),
    path(f"{_repository}/_locks/", locks.repository_locks, name="repository_locks"),
    path(f"{_repository}/_tags/<oci_tag:tag>/", manifests.tag_detail, name="tag_detail"),
    path(f"{_repository}/_tags/<oci_tag:tag>/_delete/", manifests.tag_delete, name="tag_delete"),
    path(f"{_repository}/_tags/<oci_tag:tag>/_locks/", locks.tag_locks, name="tag_locks"),
    path(
        f"{_repository}/_manifests/<oci_digest:digest>/",
        manifests.manifest_detail,
        name="manifest_detail",
    ),
    path(
        f"{_repository}/_manifests/<oci_digest:digest>/_delete/",
        manifests.manifest_delete,
        name="manifest_delete",
    ),
    path(f"{_registry}/webhooks/", webhooks.webhook_list, name="webhook_list"),
    path(f"{_registry}/webhooks/_new/", webhooks.webhook_create, name="webhook_create"),
    path(f"{_webhook}/", webhooks.webhook_detail, name="webhook_detail"),
    path(f"{_webhook}/_edit/", webhooks.webhook_edit, name="webhook_edit"),
    path(f"{_webhook}/_toggle/", webhooks.webhook_toggle, name="webhook_toggle"),
    path(f"{_webhook}/_delete/", webhooks.webhook_delete, name="webhook_delete"),
    path(f"{_webhook}/_secret/", webhooks.webhook_rotate_secret, name="webhook_rotate_secret"),
    path(f"{_webhook}/_ping/", webhooks.webhook_ping, name="webhook_ping"),
    path(
        f"{_webhook}/_redeliver/",
        webhooks.webhook_redeliver_failed,
        name="webhook_redeliver_failed",
    ),
    path(f"{_delivery}/", webhooks.delivery_detail, name="delivery_detail"),
    path(f"{_delivery}/_redeliver/", webhooks.delivery_redeliver, name="delivery_redeliver"),
]
