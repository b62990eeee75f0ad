"""The signed-in person's own page (``profile:``)."""

from django.urls import path

from accounts import profile

app_name = "profile"

urlpatterns = [
    path("profile/", profile.profile, name="detail"),
    path(
        "profile/sign-out-everywhere/",
        profile.sign_out_everywhere_view,
        name="sign_out_everywhere",
    ),
]
