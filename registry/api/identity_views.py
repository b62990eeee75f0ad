"""REST API v1 for machine identities: service principals and their secrets, and the caller's
personal access tokens (DESIGN.md "REST API (v1)").

```
service-principals/                          GET POST
service-principals/{id}/                     GET PATCH DELETE
service-principals/{id}/secrets/             POST  → {"id", "secret", "expires_at", …}
service-principals/{id}/secrets/{secret}/    DELETE (revoke)
tokens/                                      GET POST  → {"id", "token", "expires_at", …}
tokens/{id}/                                 DELETE (revoke)
```

``{id}`` of a service principal is its ``id`` or its ``client_id``. Who may do what is decided
in ``registry.views.identity_access``: a service principal the caller does not manage is a 404,
like one that does not exist; another user's token too.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.models import PersonalAccessToken, ServicePrincipal
from registry.api.errors import Conflict
from registry.api.identity_serializers import (
    SecretCreatedSerializer,
    SecretCreateSerializer,
    ServicePrincipalSerializer,
    ServicePrincipalUpdateSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from registry.api.views import ApiView
from registry.views import identity_access

SERVICE_PRINCIPAL_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The service principal's id or client id."
)
SECRET_PARAMETER = OpenApiParameter(
    "secret", int, OpenApiParameter.PATH, description="The secret's id."
)
TOKEN_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The token's id.")


def _valid(serializer_class: type, data: Any, **kwargs: Any) -> Any:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _created(request: Request, data: Any, route: str, **kwargs: Any) -> Response:
    location = request.build_absolute_uri(reverse(route, kwargs=kwargs))
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


def _number(parameter: str, value: str, message: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise exceptions.ValidationError({parameter: [message]})
    return int(value)


def _service_principal(request: Request, key: str) -> ServicePrincipal:
    """The service principal ``key`` names (id or client id), once the caller manages it."""
    if not key.isdigit():
        try:
            uuid.UUID(key)
        except ValueError:
            raise exceptions.ValidationError(
                {"id": ["Use the service principal's id (a number) or client id (a UUID)."]}
            ) from None
    return identity_access.service_principal_for(request, key)


def _with_secrets(service_principal: ServicePrincipal) -> ServicePrincipal:
    return _service_principals().get(pk=service_principal.pk)


def _service_principals() -> QuerySet[ServicePrincipal]:
    return ServicePrincipal.objects.select_related("owner").prefetch_related("secrets")


def _check_name_is_free(name: str, exclude: ServicePrincipal | None = None) -> None:
    others = ServicePrincipal.objects.filter(name__iexact=name.strip())
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    existing = others.first()
    if existing is not None:
        raise Conflict(f"A service principal named {existing.name!r} already exists.")


# Service principals ------------------------------------------------------------------------


@extend_schema(tags=["service principals"])
class ServicePrincipalList(ApiView):
    serializer_class = ServicePrincipalSerializer
    pagination_ordering = ("name",)
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="service_principal_list",
        summary="List service principals",
        description="Those the caller manages: every one for administrators (superusers and "
        "holders of roleAssignments/write at /), else the caller's own.",
        responses={200: ServicePrincipalSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.list_response()

    def get_queryset(self) -> QuerySet[ServicePrincipal]:
        if self.is_schema_generation:
            return ServicePrincipal.objects.none()
        return identity_access.manageable_service_principals(
            self.request, _service_principals(), everyone=True
        )

    @extend_schema(
        operation_id="service_principal_create",
        summary="Create a service principal",
        description="The caller owns it. It holds no role until one is assigned.",
        request=ServicePrincipalSerializer,
        responses={201: ServicePrincipalSerializer},
    )
    def post(self, request: Request) -> Response:
        identity_access.authorize_create(request)
        data = _valid(ServicePrincipalSerializer, request.data)
        _check_name_is_free(data["name"])
        created = services.service_principal_create(actor=request.user, **data)
        body = ServicePrincipalSerializer(_with_secrets(created)).data
        return _created(request, body, "api:service-principal-detail", id=created.pk)


@extend_schema(tags=["service principals"], parameters=[SERVICE_PRINCIPAL_PARAMETER])
class ServicePrincipalDetail(ApiView):
    serializer_class = ServicePrincipalUpdateSerializer
    problem_statuses = {"PATCH": (409,)}

    @extend_schema(
        operation_id="service_principal_retrieve",
        summary="Show a service principal",
        description="With its secrets' metadata; a secret's value is never shown again.",
        responses={200: ServicePrincipalSerializer},
    )
    def get(self, request: Request, id: str) -> Response:
        found = _service_principal(request, id)
        return Response(ServicePrincipalSerializer(_with_secrets(found)).data)

    @extend_schema(
        operation_id="service_principal_update",
        summary="Rename, describe, enable or disable a service principal",
        request=ServicePrincipalUpdateSerializer,
        responses={200: ServicePrincipalSerializer},
    )
    def patch(self, request: Request, id: str) -> Response:
        found = _service_principal(request, id)
        changes = _valid(ServicePrincipalUpdateSerializer, request.data, partial=True)
        if "name" in changes:
            _check_name_is_free(changes["name"], exclude=found)
        with transaction.atomic():
            services.service_principal_update(
                actor=request.user,
                service_principal=found,
                name=changes.get("name"),
                description=changes.get("description"),
            )
            if "enabled" in changes:
                services.service_principal_set_enabled(
                    actor=request.user, service_principal=found, enabled=changes["enabled"]
                )
        return Response(ServicePrincipalSerializer(_with_secrets(found)).data)

    @extend_schema(
        operation_id="service_principal_delete",
        summary="Delete a service principal",
        description="With its secrets and role assignments.",
        responses={204: None},
    )
    def delete(self, request: Request, id: str) -> Response:
        found = _service_principal(request, id)
        services.service_principal_delete(actor=request.user, service_principal=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["service principals"], parameters=[SERVICE_PRINCIPAL_PARAMETER])
class ServicePrincipalSecretList(ApiView):
    serializer_class = SecretCreateSerializer

    @extend_schema(
        operation_id="service_principal_secret_create",
        summary="Add a secret",
        description="Answers the secret once. A year by default, at most two; several "
        "secrets can be valid at once, for rotation.",
        request=SecretCreateSerializer,
        responses={201: SecretCreatedSerializer},
    )
    def post(self, request: Request, id: str) -> Response:
        found = _service_principal(request, id)
        data = _valid(SecretCreateSerializer, request.data)
        issued = services.service_principal_secret_create(
            actor=request.user,
            service_principal=found,
            description=data["description"],
            lifetime=data["lifetime"],
        )
        response = _created(
            request,
            SecretCreatedSerializer(issued).data,
            "api:service-principal-secret-detail",
            id=found.pk,
            secret=issued.record.pk,
        )
        patch_cache_control(response, no_store=True)
        return response


@extend_schema(
    tags=["service principals"], parameters=[SERVICE_PRINCIPAL_PARAMETER, SECRET_PARAMETER]
)
class ServicePrincipalSecretDetail(ApiView):
    serializer_class = SecretCreatedSerializer

    @extend_schema(
        operation_id="service_principal_secret_revoke",
        summary="Revoke a secret",
        description="It stops working at once; revoking it again changes nothing.",
        responses={204: None},
    )
    def delete(self, request: Request, id: str, secret: str) -> Response:
        found = _service_principal(request, id)
        key = _number("secret", secret, "A secret's id is a number.")
        record = found.secrets.filter(pk=key).first()
        if record is None:
            raise exceptions.NotFound(f"{found.name} has no secret with id {key}.")
        services.service_principal_secret_revoke(actor=request.user, secret=record)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Personal access tokens --------------------------------------------------------------------


@extend_schema(tags=["tokens"])
class TokenList(ApiView):
    serializer_class = TokenCreateSerializer
    pagination_ordering = ("-created_at", "-id")

    @extend_schema(
        operation_id="token_list",
        summary="List your personal access tokens",
        description="The caller's own tokens, newest first, revoked and expired ones included.",
        responses={200: TokenSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.list_response(TokenSerializer)

    def get_queryset(self) -> QuerySet[PersonalAccessToken]:
        if self.is_schema_generation:
            return PersonalAccessToken.objects.none()
        return PersonalAccessToken.objects.filter(user=identity_access.token_owner(self.request))

    @extend_schema(
        operation_id="token_create",
        summary="Create a personal access token",
        description="Answers the token once. 90 days by default, at most a year.",
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        owner = identity_access.token_owner(request)
        data = _valid(TokenCreateSerializer, request.data)
        issued = services.personal_access_token_create(
            actor=request.user, user=owner, name=data["name"], lifetime=data["lifetime"]
        )
        response = _created(
            request, TokenCreatedSerializer(issued).data, "api:token-detail", id=issued.record.pk
        )
        patch_cache_control(response, no_store=True)
        return response


@extend_schema(tags=["tokens"], parameters=[TOKEN_PARAMETER])
class TokenDetail(ApiView):
    serializer_class = TokenSerializer

    @extend_schema(
        operation_id="token_revoke",
        summary="Revoke one of your personal access tokens",
        description="It stops working at once, also when it is the token of this request.",
        responses={204: None},
    )
    def delete(self, request: Request, id: str) -> Response:
        key = _number("id", id, "A token's id is a number.")
        token = identity_access.token_for(request, key)
        services.personal_access_token_revoke(actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
