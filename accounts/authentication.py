"""REST API authentication by machines: personal access tokens (``Authorization: Bearer
pcl_pat_…``, signing in as their user) and service principal secrets (``Authorization: Basic``
with the client id and a secret, signing in as the service principal itself)."""

from __future__ import annotations

import base64
import binascii
import uuid

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import PersonalAccessToken, ServicePrincipal, ServicePrincipalSecret, User
from accounts.services import (
    personal_access_token_authenticate,
    service_principal_authenticate,
)


class PersonalAccessTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, PersonalAccessToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            presented = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.") from exc
        token = personal_access_token_authenticate(presented)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class ServicePrincipalAuthentication(authentication.BaseAuthentication):
    """HTTP Basic (RFC 7617) with a service principal's client id as the user name and one of
    its secrets as the password: ``curl -u "$CLIENT_ID:$SECRET" …``.

    ``request.user`` becomes the ``ServicePrincipal``; the permissions engine answers for it
    from its own role assignments. A disabled principal, or an expired or revoked secret, is a
    401 like an unknown one.
    """

    keyword = "Basic"

    def authenticate(
        self, request: Request
    ) -> tuple[ServicePrincipal, ServicePrincipalSecret] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            decoded = base64.b64decode(header[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: Basic takes base64 of client-id:secret."
            ) from exc
        client_id, separator, secret = decoded.partition(":")
        try:
            uuid.UUID(client_id)
        except ValueError:
            raise exceptions.AuthenticationFailed(
                "Basic authentication takes a service principal's client id and secret; "
                "users send a personal access token as 'Authorization: Bearer …'."
            ) from None
        found = service_principal_authenticate(client_id, secret) if separator else None
        if found is None:
            raise exceptions.AuthenticationFailed(
                "Invalid client id or secret, an expired or revoked secret, "
                "or a disabled service principal."
            )
        return found.service_principal, found

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
