"""What the access-control API reads and writes: role definitions and assignments, access
checks, users and groups, audit events. Field names are a promise to callers (DESIGN.md).

Serializers only shape and check input; the permissions engine decides and the services in
``registry.permissions.assignments`` write.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Group, User
from registry.api.serializers import StrictSerializer
from registry.models import RoleAssignment, RoleDefinition
from registry.permissions.actions import ACTIONS, validate_actions
from registry.permissions.assignments import (
    ROLE_NAME_MESSAGE,
    ROLE_NAME_RE,
    is_placeholder,
    parse_principal_reference,
    principal_reference,
)
from registry.permissions.scopes import Scope, parse_scope
from registry.permissions.selectors import SCOPE_MATCHES

SCOPE_HELP = (
    "'/', '/registries/{registry}', '/registries/{registry}/namespaces/{namespace}' or "
    "'/registries/{registry}/repositories/{repository}'."
)
PRINCIPAL_REFERENCE_HELP = (
    "user:<username or email>, group:<name or object id> or "
    "service_principal:<client id or name> (sp: for short)."
)
UNKNOWN_ACTION = "Unknown action {input!r}. Actions are: " + ", ".join(ACTIONS) + "."


def _scope(value: str) -> Scope:
    try:
        return parse_scope(value.strip())
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from exc


def _principal(value: str) -> tuple[str, str]:
    try:
        return parse_principal_reference(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict["principal"]) from exc


# Role definitions ------------------------------------------------------------------------


class RoleDefinitionSerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=64, help_text="Unique, ignoring case. " + ROLE_NAME_MESSAGE
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")
    actions = serializers.ListField(
        child=serializers.CharField(),
        help_text="The actions the role allows: " + ", ".join(ACTIONS) + ".",
    )
    is_builtin = serializers.BooleanField(read_only=True)

    def validate_name(self, value: str) -> str:
        if not ROLE_NAME_RE.fullmatch(value.strip()):
            raise serializers.ValidationError(ROLE_NAME_MESSAGE)
        return value.strip()

    def validate_actions(self, value: list[str]) -> list[str]:
        try:
            chosen = validate_actions(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        if not chosen:
            raise serializers.ValidationError("A role needs at least one action.")
        return [action for action in ACTIONS if action in chosen]


# Role assignments ------------------------------------------------------------------------


class RoleAssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    role = serializers.CharField(source="role.name", read_only=True)
    scope = serializers.CharField(read_only=True)
    principal_type = serializers.ChoiceField(
        choices=RoleAssignment.PrincipalType.choices, read_only=True
    )
    principal = serializers.SerializerMethodField(
        help_text="Username; group object id (a local group: its name); client id."
    )
    principal_name = serializers.SerializerMethodField(
        help_text="The principal's name for people: username, group or service principal name."
    )
    principal_has_signed_in = serializers.SerializerMethodField(
        help_text="False for a user added by email who has not signed in yet."
    )
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    has_expired = serializers.BooleanField(read_only=True)
    reason = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    created_by = serializers.SerializerMethodField()

    def get_principal(self, assignment: RoleAssignment) -> str:
        return principal_reference(assignment.principal)

    def get_principal_name(self, assignment: RoleAssignment) -> str:
        return str(assignment.principal)

    def get_principal_has_signed_in(self, assignment: RoleAssignment) -> bool:
        return not is_placeholder(assignment.principal)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by(self, assignment: RoleAssignment) -> str | None:
        return assignment.created_by.get_username() if assignment.created_by else None


class RoleAssignmentCreateSerializer(StrictSerializer):
    role = serializers.CharField(max_length=64, help_text="A role definition's name.")
    scope = serializers.CharField(max_length=400, help_text=SCOPE_HELP)
    principal_type = serializers.ChoiceField(choices=RoleAssignment.PrincipalType.choices)
    principal = serializers.CharField(
        max_length=254,
        help_text="A user: username, or email (someone who has not signed in yet is added by "
        "email). A group: name, or directory object id (added if unknown). A service "
        "principal: client id or name.",
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Must be in the future."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def validate_role(self, value: str) -> RoleDefinition:
        found = RoleDefinition.objects.filter(name__iexact=value.strip()).first()
        if found is None:
            names = ", ".join(RoleDefinition.objects.values_list("name", flat=True))
            raise serializers.ValidationError(f"There is no role named {value!r}. Roles: {names}.")
        return found

    def validate_scope(self, value: str) -> str:
        return str(_scope(value))


class RoleAssignmentListQuerySerializer(serializers.Serializer):
    scope = serializers.CharField(required=False, max_length=400, help_text=SCOPE_HELP)
    scope_match = serializers.ChoiceField(
        choices=list(SCOPE_MATCHES),
        required=False,
        default="exact",
        help_text="exact (default): at the scope; at_and_below: also inside it; "
        "at_and_above: those that apply there, inherited ones included.",
    )
    principal = serializers.CharField(
        required=False, max_length=300, help_text=PRINCIPAL_REFERENCE_HELP
    )

    def validate_scope(self, value: str) -> Scope:
        return _scope(value)

    def validate_principal(self, value: str) -> tuple[str, str]:
        return _principal(value)


# Check access ----------------------------------------------------------------------------


class CheckAccessQuerySerializer(serializers.Serializer):
    principal = serializers.CharField(
        required=False,
        max_length=300,
        help_text=f"Whose access: {PRINCIPAL_REFERENCE_HELP} Default: the caller.",
    )
    action = serializers.ChoiceField(
        choices=list(ACTIONS), error_messages={"invalid_choice": UNKNOWN_ACTION}
    )
    scope = serializers.CharField(max_length=400, help_text=SCOPE_HELP)

    def validate_scope(self, value: str) -> Scope:
        return _scope(value)

    def validate_principal(self, value: str) -> tuple[str, str]:
        return _principal(value)


class CheckAccessSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    explanation = serializers.CharField(
        help_text="e.g. allowed via AcrPush assigned to group platform at /registries/prod1"
    )
    via = serializers.ListField(
        child=serializers.IntegerField(), help_text="The ids of the assignments that allow it."
    )
    principal = serializers.CharField(help_text="The principal checked, as user:alice etc.")
    action = serializers.CharField()
    scope = serializers.CharField()


# Users and groups ------------------------------------------------------------------------


class PrincipalSearchQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="Only those whose username, email or name contains this text (groups: name, "
        "or exactly this object id).",
    )


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    has_signed_in = serializers.SerializerMethodField(
        help_text="False for a user added by email who has not signed in yet."
    )

    def get_has_signed_in(self, user: User) -> bool:
        return not is_placeholder(user)


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    object_id = serializers.CharField(
        read_only=True, help_text="The directory (Entra ID) object id; empty for a local group."
    )
    description = serializers.CharField(read_only=True)
    source = serializers.SerializerMethodField(help_text="directory or local")

    def get_source(self, group: Group) -> str:
        return "directory" if group.object_id else "local"


# Audit events ----------------------------------------------------------------------------


class AuditEventListQuerySerializer(serializers.Serializer):
    actor = serializers.CharField(
        required=False, max_length=255, help_text="Username of who did it ('system': sync)."
    )
    scope = serializers.CharField(required=False, max_length=600, help_text=SCOPE_HELP)
    scope_match = serializers.ChoiceField(
        choices=["exact", "at_and_below"],
        required=False,
        default="exact",
        help_text="exact (default), or at_and_below: the scope and everything inside it.",
    )
    action = serializers.CharField(
        required=False,
        max_length=100,
        help_text="e.g. roleAssignment.create; a trailing * matches a prefix: roleAssignment.*",
    )
    since = serializers.DateTimeField(required=False, help_text="At or after this time.")
    until = serializers.DateTimeField(required=False, help_text="Before this time.")

    def validate_scope(self, value: str) -> Scope:
        return _scope(value)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return data


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    actor = serializers.CharField(source="actor_name", read_only=True)
    action = serializers.CharField(read_only=True)
    scope = serializers.CharField(read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    details = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_details(self, event: Any) -> dict[str, Any]:
        return event.details if isinstance(event.details, dict) else {}
