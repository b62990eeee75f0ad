"""django-allauth adapters (the social account adapter is ``accounts.entra.adapter``)."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.sign_in import ENTRA_MANAGES_PASSWORD, is_entra_only, may_sign_in_with_password


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Administrators create local accounts; people never sign themselves up.
        return False

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        # Every password sign-in passes here: a password that is right for an account that
        # may not use one (password sign-in turned off) counts as a failed sign-in.
        user = super().authenticate(request, **credentials)
        if user is not None and not may_sign_in_with_password(user):
            self.authentication_failed(request, **credentials)
            return None
        return user

    def set_password(self, user: Any, password: str) -> None:
        # An account made by Entra sign-in has no password, and must not get one through the
        # portal (password change, set or reset): it would sidestep Entra's own sign-in rules.
        if is_entra_only(user):
            raise PermissionDenied(ENTRA_MANAGES_PASSWORD)
        super().set_password(user, password)
