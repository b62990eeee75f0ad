"""Pages for service principals and the signed-in user's personal access tokens."""

from django.urls import path

from registry.views import identities as views

app_name = "accounts"

_one = "service-principals/<int:pk>"

urlpatterns = [
    path("service-principals/", views.service_principal_list, name="service_principal_list"),
    path(
        "service-principals/new/",
        views.service_principal_create,
        name="service_principal_create",
    ),
    path(f"{_one}/", views.service_principal_detail, name="service_principal_detail"),
    path(f"{_one}/edit/", views.service_principal_edit, name="service_principal_edit"),
    path(
        f"{_one}/enabled/",
        views.service_principal_set_enabled,
        name="service_principal_set_enabled",
    ),
    path(
        f"{_one}/delete/",
        views.service_principal_delete,
        name="service_principal_delete",
    ),
    path(f"{_one}/secrets/new/", views.secret_create, name="secret_create"),
    path(
        f"{_one}/secrets/<int:secret_pk>/revoke/",
        views.secret_revoke,
        name="secret_revoke",
    ),
    path("account/tokens/", views.token_list, name="token_list"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
