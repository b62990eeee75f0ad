"""Pages of access requests, under ``/access-requests/``."""

from django.urls import path

from registry.views import access_requests as views

app_name = "access_requests"

urlpatterns = [
    path("", views.my_requests, name="mine"),
    path("new/", views.request_create, name="create"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/approve/", views.approve_selected, name="approve_selected"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/deny/", views.deny, name="deny"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/extend/", views.extend, name="extend"),
]
