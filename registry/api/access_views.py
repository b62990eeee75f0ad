"""REST API v1 for access control: role definitions and assignments, access checks, the
users and groups assignments name, and the audit log.

Who may do what (see docs/access-control.md):

- role definitions: anyone signed in reads them; creating or deleting a custom role needs
  ``roleAssignments/write`` at ``/``; built-in roles are read-only.
- role assignments: a list holds the caller's own assignments (directly or through a group) and
  those where the caller holds ``roleAssignments/write`` or ``auditLog/read`` at, above or below
  the assignment's scope (``registry.permissions.selectors``). Creating or deleting one needs
  ``roleAssignments/write`` at its scope (404 where the caller sees nothing).
- check-access: anyone may check their own access; checking someone else's needs
  ``roleAssignments/write`` or ``auditLog/read`` at the scope.
- users and groups: listed to those who hold ``roleAssignments/write`` or ``auditLog/read``
  somewhere, the people who build assignments and review them.
- audit events: ``auditLog/read`` at ``/`` reads every event, at a registry, namespace or
  repository the events at it and inside it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Group, User
from registry.api.access_serializers import (
    AuditEventListQuerySerializer,
    AuditEventSerializer,
    CheckAccessQuerySerializer,
    CheckAccessSerializer,
    GroupSerializer,
    PrincipalSearchQuerySerializer,
    RoleAssignmentCreateSerializer,
    RoleAssignmentListQuerySerializer,
    RoleAssignmentSerializer,
    RoleDefinitionSerializer,
    UserSerializer,
)
from registry.api.errors import Conflict
from registry.api.permissions import authorize, authorize_any
from registry.api.schema import path_parameter
from registry.api.views import ApiView, _created, _valid
from registry.models import AuditEvent, RoleAssignment, RoleDefinition
from registry.permissions import engine
from registry.permissions.actions import AUDIT_LOG_READ, ROLE_ASSIGNMENTS_WRITE
from registry.permissions.assignments import (
    ROLE_NAME_MESSAGE,
    ROLE_NAME_RE,
    canonical_scope,
    custom_role_create,
    custom_role_delete,
    principal_find,
    role_assignment_create_by_reference,
    role_assignment_delete,
)
from registry.permissions.selectors import (
    ACCESS_REVIEW_ACTIONS,
    AuditFilters,
    audit_event_list,
    can_review_someone,
    group_list,
    role_assignment_list,
    user_list,
)
from registry.views import access

ROLE_PARAMETER = path_parameter("name", "The role definition's name (any case).")
ASSIGNMENT_PARAMETER = path_parameter("id", "The role assignment's id.")
ROLE_DEFINITIONS_ARE_FIXED = (
    "Role definitions cannot be changed: built-in roles are read-only, and a custom role is "
    "replaced by creating another and moving its assignments to it."
)


# Role definitions ------------------------------------------------------------------------


def _role(name: str) -> RoleDefinition:
    if not ROLE_NAME_RE.fullmatch(name):
        raise exceptions.ValidationError({"name": [ROLE_NAME_MESSAGE]})
    found = RoleDefinition.objects.filter(name__iexact=name).first()
    if found is None:
        raise exceptions.NotFound(f"There is no role named {name!r}.")
    return found


@extend_schema(tags=["access control"])
class RoleDefinitionList(ApiView):
    serializer_class = RoleDefinitionSerializer
    pagination_ordering = ("name",)
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="role_definition_list",
        summary="List role definitions",
        description="The built-in roles and the custom ones, by name. Anyone signed in.",
        responses={200: RoleDefinitionSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.list_response()

    def get_queryset(self) -> QuerySet[RoleDefinition]:
        return RoleDefinition.objects.all()

    @extend_schema(
        operation_id="role_definition_create",
        summary="Create a custom role",
        description="Needs roleAssignments/write at /.",
        request=RoleDefinitionSerializer,
        responses={201: RoleDefinitionSerializer},
    )
    def post(self, request: Request) -> Response:
        authorize(request, ROLE_ASSIGNMENTS_WRITE, access.ROOT_SCOPE)
        data = _valid(RoleDefinitionSerializer, request.data)
        existing = RoleDefinition.objects.filter(name__iexact=data["name"]).first()
        if existing is not None:
            raise Conflict(f"A role named {existing.name!r} already exists.")
        role = custom_role_create(actor=request.user, **data)
        body = RoleDefinitionSerializer(role).data
        return _created(request, body, "api:role-definition-detail", name=role.name)


@extend_schema(tags=["access control"], parameters=[ROLE_PARAMETER])
class RoleDefinitionDetail(ApiView):
    serializer_class = RoleDefinitionSerializer
    problem_statuses = {"DELETE": (409,)}

    @extend_schema(
        operation_id="role_definition_retrieve",
        summary="Show a role definition",
        responses={200: RoleDefinitionSerializer},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(RoleDefinitionSerializer(_role(name)).data)

    @extend_schema(
        operation_id="role_definition_delete",
        summary="Delete a custom role",
        description="Needs roleAssignments/write at /. Built-in roles and roles that "
        "assignments still use (expired ones included) are refused with 409.",
        responses={204: None},
    )
    def delete(self, request: Request, name: str) -> Response:
        authorize(request, ROLE_ASSIGNMENTS_WRITE, access.ROOT_SCOPE)
        custom_role_delete(actor=request.user, role=_role(name))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        raise exceptions.MethodNotAllowed(request.method, detail=ROLE_DEFINITIONS_ARE_FIXED)


# Role assignments ------------------------------------------------------------------------


def _assignments(request: Request) -> QuerySet[RoleAssignment]:
    return role_assignment_list(viewer=request.user, grants=access.grants(request))


@extend_schema(tags=["access control"])
class RoleAssignmentList(ApiView):
    serializer_class = RoleAssignmentCreateSerializer
    pagination_ordering = ("scope", "id")
    problem_statuses = {"POST": (404,)}

    @extend_schema(
        operation_id="role_assignment_list",
        summary="List role assignments",
        description="The caller's own assignments, and those at, above or below a scope where "
        "the caller holds roleAssignments/write or auditLog/read. Ordered by scope.",
        parameters=[RoleAssignmentListQuerySerializer],
        responses={200: RoleAssignmentSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.list_response(RoleAssignmentSerializer)

    def get_queryset(self) -> QuerySet[RoleAssignment]:
        if self.is_schema_generation:
            return RoleAssignment.objects.none()
        query = _valid(RoleAssignmentListQuerySerializer, self.request.query_params)
        return role_assignment_list(
            viewer=self.request.user,
            grants=access.grants(self.request),
            scope=query.get("scope"),
            match=query["scope_match"],
            principal=query.get("principal"),
        )

    @extend_schema(
        operation_id="role_assignment_create",
        summary="Assign a role",
        description="Needs roleAssignments/write at the scope. A user who has not signed in "
        "yet is named by email, a directory group by object id: the portal keeps a "
        "placeholder that their first sign-in takes over.",
        request=RoleAssignmentCreateSerializer,
        responses={201: RoleAssignmentSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _valid(RoleAssignmentCreateSerializer, request.data)
        authorize(request, ROLE_ASSIGNMENTS_WRITE, data["scope"])
        assignment = role_assignment_create_by_reference(actor=request.user, **data)
        body = RoleAssignmentSerializer(_assignments(request).get(pk=assignment.pk)).data
        return _created(request, body, "api:role-assignment-detail", id=str(assignment.pk))


@extend_schema(tags=["access control"], parameters=[ASSIGNMENT_PARAMETER])
class RoleAssignmentDetail(ApiView):
    serializer_class = RoleAssignmentSerializer

    def _assignment(self, pk: int, action: str | None) -> RoleAssignment:
        found = _assignments(self.request).filter(pk=pk).first()
        if found is None:
            raise exceptions.NotFound(f"There is no role assignment {pk}.")
        if action is not None:
            authorize(self.request, action, found.scope)
        return found

    @extend_schema(
        operation_id="role_assignment_retrieve",
        summary="Show a role assignment",
        responses={200: RoleAssignmentSerializer},
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(RoleAssignmentSerializer(self._assignment(id, None)).data)

    @extend_schema(
        operation_id="role_assignment_delete",
        summary="Remove a role assignment",
        description="Needs roleAssignments/write at the assignment's scope.",
        responses={204: None},
    )
    def delete(self, request: Request, id: int) -> Response:
        found = self._assignment(id, ROLE_ASSIGNMENTS_WRITE)
        role_assignment_delete(actor=request.user, assignment=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Check access ----------------------------------------------------------------------------


@extend_schema(tags=["access control"])
class CheckAccess(ApiView):
    serializer_class = CheckAccessSerializer
    problem_statuses = {"GET": (404,)}

    @extend_schema(
        operation_id="check_access",
        summary="Check whether a principal may do an action at a scope",
        description="Anyone may check their own access (the default). Checking another "
        "principal's needs roleAssignments/write or auditLog/read at the scope.",
        parameters=[CheckAccessQuerySerializer],
        responses={200: CheckAccessSerializer},
    )
    def get(self, request: Request) -> Response:
        query = _valid(CheckAccessQuerySerializer, request.query_params)
        scope, action = str(query["scope"]), query["action"]
        reference = query.get("principal")
        user = request.user
        is_self = reference is None or reference == ("user", user.get_username())
        if is_self:
            authorize(request, None, scope)
        else:
            authorize_any(request, ACCESS_REVIEW_ACTIONS, scope)
        canonical = canonical_scope(scope)
        if is_self:
            principal: Any = user
            reference = ("user", user.get_username())
        else:
            principal = principal_find(principal_type=reference[0], reference=reference[1])
        decision = engine.explain(principal, action, canonical)
        body = {
            "allowed": decision.allowed,
            "explanation": decision.explanation,
            "via": list(decision.via),
            "principal": f"{reference[0]}:{reference[1]}",
            "action": action,
            "scope": str(canonical),
        }
        return Response(CheckAccessSerializer(body).data)


# Users and groups ------------------------------------------------------------------------


def _may_search_principals(request: Request) -> None:
    if not can_review_someone(access.grants(request)):
        raise exceptions.PermissionDenied(
            "Listing users and groups needs roleAssignments/write or auditLog/read at some scope."
        )


class _PrincipalList(ApiView):
    def get(self, request: Request) -> Response:
        _may_search_principals(request)
        return self.list_response()

    def search(self) -> str:
        query = _valid(PrincipalSearchQuerySerializer, self.request.query_params)
        return query.get("search", "").strip()


@extend_schema(tags=["access control"])
class UserList(_PrincipalList):
    serializer_class = UserSerializer
    pagination_ordering = ("username",)

    @extend_schema(
        operation_id="user_list",
        summary="Find users",
        description="For those who hold roleAssignments/write or auditLog/read somewhere.",
        parameters=[PrincipalSearchQuerySerializer],
        responses={200: UserSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    def get_queryset(self) -> QuerySet[User]:
        if self.is_schema_generation:
            return User.objects.none()
        return user_list(search=self.search())


@extend_schema(tags=["access control"])
class GroupList(_PrincipalList):
    serializer_class = GroupSerializer
    pagination_ordering = ("name", "id")

    @extend_schema(
        operation_id="group_list",
        summary="Find groups",
        description="For those who hold roleAssignments/write or auditLog/read somewhere.",
        parameters=[PrincipalSearchQuerySerializer],
        responses={200: GroupSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    def get_queryset(self) -> QuerySet[Group]:
        if self.is_schema_generation:
            return Group.objects.none()
        return group_list(search=self.search())


# Audit events ----------------------------------------------------------------------------


@extend_schema(tags=["access control"])
class AuditEventList(ApiView):
    serializer_class = AuditEventSerializer
    pagination_ordering = ("-created_at", "-id")

    @extend_schema(
        operation_id="audit_event_list",
        summary="Read the audit log",
        description="Newest first. auditLog/read at / reads every event; at a registry, "
        "namespace or repository, the events at it and inside it.",
        parameters=[AuditEventListQuerySerializer],
        responses={200: AuditEventSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        if not access.grants(request).scopes_with(AUDIT_LOG_READ):
            raise exceptions.PermissionDenied(
                f"Reading the audit log needs {AUDIT_LOG_READ} at / or at a registry, "
                "namespace or repository."
            )
        return self.list_response()

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if self.is_schema_generation:
            return AuditEvent.objects.none()
        query = _valid(AuditEventListQuerySerializer, self.request.query_params)
        filters = AuditFilters(
            actor=query.get("actor", "").strip(),
            scope=query.get("scope"),
            match=query["scope_match"],
            action=query.get("action", "").strip(),
            since=query.get("since"),
            until=query.get("until"),
        )
        return audit_event_list(grants=access.grants(self.request), filters=filters)
