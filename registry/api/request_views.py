"""REST API for access requests: ``access-requests/`` and the decisions on each one.

Who sees what: a request is read by its requester and by the people who may decide it
(``registry.access_requests.selectors``). Anyone else gets 404 — or 403 when they can see the
request's scope, which then names the action they lack (``roleAssignments/write``), as
everywhere in the portal. Requests are made and decided by people: a service principal
signed in to the API is refused (403).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ServicePrincipal
from registry.access_requests import selectors, services
from registry.api.request_serializers import (
    AccessRequestCreateSerializer,
    AccessRequestListQuerySerializer,
    AccessRequestSerializer,
    ApproveSerializer,
    DenySerializer,
    ExtendSerializer,
)
from registry.api.views import ApiView, _created, _valid
from registry.models import AccessRequest, RoleDefinition
from registry.permissions.actions import ROLE_ASSIGNMENTS_WRITE
from registry.views import access

ID_PARAMETER = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The request's id.")
# A refusal because of the request's state (approving a cancelled one).
STATE_PROBLEMS = (409,)


def _person(request: Request) -> Any:
    if not selectors.is_person(request.user):
        raise exceptions.PermissionDenied(
            "Access requests are made and decided by people; sign in as a user."
        )
    return request.user


def _access_request(request: Request, pk: int) -> AccessRequest:
    """The request ``pk`` once the caller may read it: 404 when they cannot see its scope,
    403 when they can see the scope but neither asked for nor may decide the request."""
    user = _person(request)
    found = selectors.with_details(selectors.readable_by(user)).filter(pk=pk).first()
    if found is not None:
        return found
    scope = AccessRequest.objects.filter(pk=pk).values_list("scope", flat=True).first()
    if scope is None or not access.grants(request).can_see(scope):
        raise exceptions.NotFound(f"There is no access request {pk} you can see.")
    raise exceptions.PermissionDenied(
        f"You are not allowed to do {ROLE_ASSIGNMENTS_WRITE} at {scope}."
    )


def _body(found: AccessRequest) -> dict[str, Any]:
    fresh = selectors.with_details(AccessRequest.objects.filter(pk=found.pk)).get()
    return AccessRequestSerializer(fresh).data


def _principal(user: Any, data: dict[str, Any]) -> Any:
    reference = data["principal"].strip()
    if data["principal_type"] == AccessRequest.PrincipalType.USER:
        if reference and reference.lower() != user.get_username().lower():
            raise exceptions.ValidationError(
                {"principal": ["Ask for yourself or for a service principal you own."]}
            )
        return user
    if not reference:
        raise exceptions.ValidationError(
            {"principal": ["Name the service principal: its client id or its name."]}
        )
    owned = ServicePrincipal.objects.filter(owner=user)
    try:
        match = Q(client_id=uuid.UUID(reference))
    except ValueError:
        match = Q(name=reference)
    found = owned.filter(match).first()
    if found is None:
        raise exceptions.ValidationError(
            {"principal": [f"You own no service principal {reference!r}."]}
        )
    return found


def _role(name: str) -> RoleDefinition:
    found = RoleDefinition.objects.filter(name__iexact=name.strip()).first()
    if found is None:
        raise exceptions.ValidationError({"role": [f"There is no role named {name.strip()!r}."]})
    return found


@extend_schema(tags=["access requests"])
class AccessRequestList(ApiView):
    serializer_class = AccessRequestCreateSerializer
    pagination_ordering = ("-created_at", "-id")
    problem_statuses = {"POST": STATE_PROBLEMS}

    @extend_schema(
        operation_id="access_request_list",
        summary="List access requests",
        description="The requests you made and those you may decide (as an approver of their "
        "scope), newest first. `?inbox=true`: only those waiting for your decision.",
        parameters=[AccessRequestListQuerySerializer],
        responses={200: AccessRequestSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.list_response(AccessRequestSerializer)

    def get_queryset(self) -> QuerySet[AccessRequest]:
        if self.is_schema_generation:
            return AccessRequest.objects.none()
        user = _person(self.request)
        query = _valid(AccessRequestListQuerySerializer, self.request.query_params)
        rows = selectors.inbox(user) if query["inbox"] else selectors.readable_by(user)
        if query["mine"]:
            rows = rows.filter(requested_by=user)
        if "status" in query:
            rows = rows.filter(status=query["status"])
        return selectors.with_details(rows)

    @extend_schema(
        operation_id="access_request_create",
        summary="Ask for access",
        description="Ask for a role at a registry, namespace or repository, for yourself or a "
        "service principal you own. The scope's team leads are emailed. 409 when the same "
        "request is pending or the principal already holds the role there.",
        request=AccessRequestCreateSerializer,
        responses={201: AccessRequestSerializer},
    )
    def post(self, request: Request) -> Response:
        user = _person(request)
        data = _valid(AccessRequestCreateSerializer, request.data)
        options = {"duration_days": data["duration_days"]} if "duration_days" in data else {}
        created = services.access_request_create(
            actor=user,
            role=_role(data["role"]),
            scope=data["scope"],
            principal=_principal(user, data),
            justification=data["justification"],
            **options,
        )
        return _created(request, _body(created), "api:access-request-detail", pk=created.pk)


@extend_schema(tags=["access requests"], parameters=[ID_PARAMETER])
class AccessRequestDetail(ApiView):
    serializer_class = AccessRequestSerializer

    @extend_schema(
        operation_id="access_request_retrieve",
        summary="Show an access request",
        responses={200: AccessRequestSerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(AccessRequestSerializer(_access_request(request, pk)).data)


class _Decision(ApiView):
    problem_statuses = {"POST": STATE_PROBLEMS}

    def answer(self, outcome: services.Outcome) -> Response:
        return Response(_body(outcome.access_request), status=status.HTTP_200_OK)


@extend_schema(tags=["access requests"], parameters=[ID_PARAMETER])
class AccessRequestApprove(_Decision):
    serializer_class = ApproveSerializer

    @extend_schema(
        operation_id="access_request_approve",
        summary="Approve an access request",
        description="For those who hold roleAssignments/write at the request's scope or above, "
        "and the owners of a namespace that covers it; never the requester. The last required "
        "approval creates the role assignment (with its expiry). Approving again changes "
        "nothing (200); a denied, cancelled or expired request is 409.",
        request=ApproveSerializer,
        responses={200: AccessRequestSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        found = _access_request(request, pk)
        data = _valid(ApproveSerializer, request.data)
        options = {"duration_days": data["duration_days"]} if "duration_days" in data else {}
        return self.answer(
            services.access_request_approve(actor=request.user, access_request=found, **options)
        )


@extend_schema(tags=["access requests"], parameters=[ID_PARAMETER])
class AccessRequestDeny(_Decision):
    serializer_class = DenySerializer

    @extend_schema(
        operation_id="access_request_deny",
        summary="Deny an access request",
        description="Needs a reason, which the requester reads. Denying again changes nothing.",
        request=DenySerializer,
        responses={200: AccessRequestSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        found = _access_request(request, pk)
        data = _valid(DenySerializer, request.data)
        return self.answer(
            services.access_request_deny(
                actor=request.user, access_request=found, reason=data["reason"]
            )
        )


@extend_schema(tags=["access requests"], parameters=[ID_PARAMETER])
class AccessRequestCancel(_Decision):
    serializer_class = AccessRequestSerializer

    @extend_schema(
        operation_id="access_request_cancel",
        summary="Cancel your pending access request",
        request=None,
        responses={200: AccessRequestSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        found = _access_request(request, pk)
        return self.answer(services.access_request_cancel(actor=request.user, access_request=found))


@extend_schema(tags=["access requests"], parameters=[ID_PARAMETER])
class AccessRequestExtend(ApiView):
    serializer_class = ExtendSerializer
    problem_statuses = {"POST": STATE_PROBLEMS}

    @extend_schema(
        operation_id="access_request_extend",
        summary="Ask to extend an approved grant",
        description="A new pending request for the same role, scope and principal; once "
        "approved, the same role assignment lasts `duration_days` more from its current "
        "expiry.",
        request=ExtendSerializer,
        responses={201: AccessRequestSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        found = _access_request(request, pk)
        data = _valid(ExtendSerializer, request.data)
        options = {"duration_days": data["duration_days"]} if "duration_days" in data else {}
        created = services.access_request_extend(
            actor=request.user,
            access_request=found,
            justification=data["justification"],
            **options,
        )
        return _created(request, _body(created), "api:access-request-detail", pk=created.pk)
