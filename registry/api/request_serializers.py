"""What the access-request endpoints read and write (field names: DESIGN.md, "access request")."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from registry.api.serializers import StrictSerializer
from registry.models import AccessRequest


class ApprovalSerializer(serializers.Serializer):
    approver = serializers.CharField(source="approver_name", read_only=True)
    step = serializers.IntegerField(read_only=True)
    duration_days = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Days this approver granted; null: as asked."
    )
    created = serializers.DateTimeField(source="created_at", read_only=True)


class AccessRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    role = serializers.CharField(source="role.name", read_only=True)
    scope = serializers.CharField(read_only=True)
    principal_type = serializers.ChoiceField(
        choices=AccessRequest.PrincipalType.choices, read_only=True
    )
    principal = serializers.CharField(
        source="principal_name",
        read_only=True,
        help_text="The username, or the service principal's client id.",
    )
    principal_display_name = serializers.SerializerMethodField(
        help_text="The username, or the service principal's name."
    )
    justification = serializers.CharField(read_only=True)
    duration_days = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Days asked for; null: a permanent grant."
    )
    status = serializers.ChoiceField(choices=AccessRequest.Status.choices, read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    approvals_required = serializers.IntegerField(read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    pending_until = serializers.DateTimeField(
        read_only=True, help_text="A pending request nobody decides expires then."
    )
    decided = serializers.DateTimeField(source="decided_at", read_only=True, allow_null=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )
    reason = serializers.CharField(read_only=True, help_text="Why it was denied, or how it ended.")
    granted_days = serializers.IntegerField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(
        source="grant_expires_at",
        read_only=True,
        allow_null=True,
        help_text="When the granted role assignment ends; null: pending, or permanent.",
    )
    assignment = serializers.IntegerField(
        source="assignment_id", read_only=True, allow_null=True, help_text="The role assignment."
    )
    extends = serializers.IntegerField(
        source="extends_id",
        read_only=True,
        allow_null=True,
        help_text="The request whose grant this one extends.",
    )

    def get_principal_display_name(self, obj: AccessRequest) -> str:
        return str(obj.principal)


class AccessRequestCreateSerializer(StrictSerializer):
    role = serializers.CharField(max_length=64, help_text="A built-in or custom role's name.")
    scope = serializers.CharField(
        max_length=600, help_text="/registries/{r}, …/namespaces/{ns} or …/repositories/{repo}."
    )
    principal_type = serializers.ChoiceField(
        choices=AccessRequest.PrincipalType.choices,
        required=False,
        default=AccessRequest.PrincipalType.USER,
    )
    principal = serializers.CharField(
        max_length=256,
        required=False,
        default="",
        allow_blank=True,
        help_text="Your username (the default), or the client id or name of a service "
        "principal you own.",
    )
    justification = serializers.CharField(max_length=2000, help_text="Why the access is needed.")
    duration_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Days the grant lasts once approved (default 30); null asks for a permanent "
        "grant where the namespace allows it.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and data.get("principal_type") == "group":
            raise serializers.ValidationError(
                {"principal_type": ["Ask for yourself or for a service principal you own."]}
            )
        return super().to_internal_value(data)


class ApproveSerializer(StrictSerializer):
    duration_days = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Grant fewer days than asked for; leave out to grant what was asked.",
    )


class DenySerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why; the requester reads it.")


class ExtendSerializer(StrictSerializer):
    justification = serializers.CharField(max_length=2000)
    duration_days = serializers.IntegerField(
        required=False, min_value=1, help_text="Days more, from the current expiry (default 30)."
    )


class AccessRequestListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AccessRequest.Status.choices, required=False)
    mine = serializers.BooleanField(
        required=False, default=False, help_text="Only the requests you made."
    )
    inbox = serializers.BooleanField(
        required=False, default=False, help_text="Only the requests waiting for your decision."
    )
