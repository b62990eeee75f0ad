"""URLs of the access-control pages (``registry.views.access_control``), namespace ``access``.

The role assignments of a registry, namespace or repository hang below its own page, marked
like its other sub-pages; the rest lives under ``/access/`` and ``/audit/``.
"""

from django.urls import path

# Registers the OCI name converters the patterns below use.
import registry.urls  # noqa: F401
from registry.views import access_control as views

app_name = "access"

_registry = "registries/<oci_registry:registry>"

urlpatterns = [
    path("access/", views.access_overview, name="overview"),
    path("access/portal/", views.root_access, name="root_access"),
    path("access/roles/", views.role_list, name="role_list"),
    path("access/roles/new/", views.role_create, name="role_create"),
    path("access/roles/<str:name>/_delete/", views.role_delete, name="role_delete"),
    path("access/check/", views.check_access, name="check"),
    path("access/principals/", views.principal_search, name="principal_search"),
    path("access/assignments/<int:pk>/", views.assignment_row, name="assignment_row"),
    path(
        "access/assignments/<int:pk>/_delete/",
        views.assignment_delete,
        name="assignment_delete",
    ),
    path("audit/", views.audit_log, name="audit_log"),
    path(f"{_registry}/access/", views.registry_access, name="registry_access"),
    path(
        f"{_registry}/namespaces/<oci_repository:namespace>/_access/",
        views.namespace_access,
        name="namespace_access",
    ),
    path(
        f"{_registry}/repositories/<oci_repository:repository>/_access/",
        views.repository_access,
        name="repository_access",
    ),
]
