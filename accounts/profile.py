"""The signed-in person's own page: who they are to the portal, their groups (and when the
Entra ones were last read), their sessions and multi-factor sign-in, and sign out everywhere."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.entra.config import is_configured as entra_is_configured
from accounts.models import GroupMembership, RefreshToken
from accounts.sessions import sign_out_everywhere


@require_GET
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    memberships = list(
        GroupMembership.objects.filter(user=user).select_related("group").order_by("group__name")
    )
    context = {
        "memberships": memberships,
        "is_entra_user": bool(user.entra_object_id),
        "entra_configured": entra_is_configured(),
        "has_password": user.has_usable_password(),
        "refresh_token_count": RefreshToken.objects.active().filter(user=user).count(),
    }
    return render(request, "accounts/profile.html", context)


@require_POST
@login_required
def sign_out_everywhere_view(request: HttpRequest) -> HttpResponse:
    done = sign_out_everywhere(user=request.user, request=request)
    messages.success(
        request,
        f"You are signed out everywhere: {done.sessions} session{'s' if done.sessions != 1 else ''}"
        f" ended and {done.refresh_tokens} registry refresh token"
        f"{'s' if done.refresh_tokens != 1 else ''} revoked. Sign in again to go on.",
    )
    return redirect("account_login")
