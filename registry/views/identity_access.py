"""Who may see and manage service principals and personal access tokens: one answer for the
pages and the API.

- A service principal is managed (seen, renamed, enabled or disabled, deleted, given or
  stripped of secrets) by its **owner**, by **superusers**, and by whoever holds
  ``roleAssignments/write`` at ``/`` (Owner at the root): the people who could grant it roles
  anyway. Nobody else sees it at all: 404, exactly as if it did not exist.
- Any signed-in **user** may create a service principal and owns it; it holds no role until
  someone who manages access at a scope assigns one, so creating it grants nothing. A service
  principal may create or manage others only with ``roleAssignments/write`` at ``/`` (the
  ones it creates have no owner), and never manages itself otherwise: a leaked secret must
  not be able to mint more.
- Personal access tokens belong to their user alone; another user's token is a 404, even to a
  superuser (they revoke it in the Django admin). Service principals have secrets, not tokens.

Everything asks the permissions engine through the request's cached grants
(``registry.views.access``), so a page costs one permission query.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from accounts.models import PersonalAccessToken, ServicePrincipal, User
from registry.views import access

MANAGE_ACTION = "roleAssignments/write"
NOT_FOUND = "There is no service principal {} that you can manage."


def manages_all(request: HttpRequest) -> bool:
    """Whether the caller manages every service principal (superuser, or access at ``/``)."""
    return access.is_allowed(request, MANAGE_ACTION, access.ROOT_SCOPE)


def can_manage(request: HttpRequest, service_principal: ServicePrincipal) -> bool:
    user = request.user
    if isinstance(user, User) and user.is_active and service_principal.owner_id == user.pk:
        return True
    return manages_all(request)


def manageable_service_principals(
    request: HttpRequest, queryset: QuerySet[ServicePrincipal] | None = None, *, everyone: bool
) -> QuerySet[ServicePrincipal]:
    """The service principals the caller manages: all of them (``everyone``, for those who
    manage all), else the caller's own."""
    queryset = queryset if queryset is not None else ServicePrincipal.objects.all()
    if everyone and manages_all(request):
        return queryset
    user = request.user
    if isinstance(user, User) and user.is_active:
        return queryset.filter(owner=user)
    return queryset.none()


def service_principal_for(request: HttpRequest, key: str | int) -> ServicePrincipal:
    """The service principal with id or client id ``key``, once the caller may manage it;
    404 otherwise (also for a malformed key)."""
    lookup = _lookup(key)
    if lookup is None:
        raise Http404(NOT_FOUND.format(repr(str(key))))
    found = ServicePrincipal.objects.select_related("owner").filter(**lookup).first()
    if found is None or not can_manage(request, found):
        raise Http404(NOT_FOUND.format(repr(str(key))))
    return found


def _lookup(key: str | int) -> dict[str, object] | None:
    text = str(key).strip()
    if text.isdigit():
        return {"pk": int(text)} if len(text) < 19 else None
    try:
        return {"client_id": uuid.UUID(text)}
    except ValueError:
        return None


def authorize_create(request: HttpRequest) -> None:
    """Return when the caller may create a service principal; 403 naming what is missing."""
    user = request.user
    if isinstance(user, User) and user.is_active:
        return
    if not manages_all(request):
        raise PermissionDenied(
            f"A service principal may create service principals only with {MANAGE_ACTION} "
            f"at {access.ROOT_SCOPE}."
        )


def token_owner(request: HttpRequest) -> User:
    """The user whose personal access tokens the caller may list, create and revoke."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied(
            "Personal access tokens belong to users; a service principal has secrets instead."
        )
    return user


def token_for(request: HttpRequest, key: int) -> PersonalAccessToken:
    """One of the caller's own tokens; 404 for anyone else's."""
    found = PersonalAccessToken.objects.filter(user=token_owner(request), pk=key).first()
    if found is None:
        raise Http404(f"You have no access token with id {key}.")
    return found
