"""Values every page template can use."""

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {"PORTAL_URL": settings.PORTAL_URL, "SITE_NAME": "Portcullis"}
