"""API permission classes.

Until role assignments arrive, any signed-in staff user may do everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsStaffUser(BasePermission):
    message = "Only portal administrators (staff users) may use the API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.is_active)
