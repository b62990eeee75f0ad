"""REST API v1 routes of access control, included by ``registry.api.urls``."""

from django.urls import path

from registry.api import access_views

urlpatterns = [
    path(
        "role-definitions/",
        access_views.RoleDefinitionList.as_view(),
        name="role-definition-list",
    ),
    path(
        "role-definitions/<str:name>/",
        access_views.RoleDefinitionDetail.as_view(),
        name="role-definition-detail",
    ),
    path(
        "role-assignments/",
        access_views.RoleAssignmentList.as_view(),
        name="role-assignment-list",
    ),
    path(
        "role-assignments/<int:id>/",
        access_views.RoleAssignmentDetail.as_view(),
        name="role-assignment-detail",
    ),
    path("check-access/", access_views.CheckAccess.as_view(), name="check-access"),
    path("users/", access_views.UserList.as_view(), name="user-list"),
    path("groups/", access_views.GroupList.as_view(), name="group-list"),
    path("audit-events/", access_views.AuditEventList.as_view(), name="audit-event-list"),
]
