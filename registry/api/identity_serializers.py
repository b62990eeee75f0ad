"""What the API reads and writes for service principals, their secrets and personal access
tokens. Field names are a promise to callers (DESIGN.md): a service principal's ``name``,
``client_id``, ``enabled``; a new secret ``{"id", "secret", "expires_at"}``; a new token
``{"id", "token", "expires_at"}``. Plain-text secrets appear only in the creation answers.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import MachineSecret, PersonalAccessToken, ServicePrincipalSecret
from accounts.services import SERVICE_PRINCIPAL_NAME_MESSAGE, SERVICE_PRINCIPAL_NAME_RE
from registry.api.serializers import StrictSerializer

validate_service_principal_name = RegexValidator(
    SERVICE_PRINCIPAL_NAME_RE, SERVICE_PRINCIPAL_NAME_MESSAGE, code="invalid_name"
)

STATUS_HELP = "`active`, `expired` or `revoked`."


@extend_schema_field(OpenApiTypes.STR)
class StatusField(serializers.Field):
    """Whether a secret or token still signs anything in."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, help_text=STATUS_HELP, **kwargs)

    def to_representation(self, value: MachineSecret) -> str:
        if value.revoked_at is not None:
            return "revoked"
        return "expired" if value.has_expired else "active"


class MachineSecretSerializer(serializers.Serializer):
    """What is kept of a secret or token: never the secret itself."""

    id = serializers.IntegerField(read_only=True)
    hint = serializers.CharField(
        read_only=True, help_text="The first characters after the prefix, to tell them apart."
    )
    created = serializers.DateTimeField(source="created_at", read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    last_used = serializers.DateTimeField(source="last_used_at", read_only=True)
    revoked = serializers.DateTimeField(source="revoked_at", read_only=True)
    status = StatusField()


class SecretSerializer(MachineSecretSerializer):
    description = serializers.CharField(read_only=True)


class ServicePrincipalSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(
        max_length=64,
        validators=[validate_service_principal_name],
        help_text="1 to 64 letters, digits, '.', '_' or '-'; unique, ignoring case.",
    )
    client_id = serializers.UUIDField(
        read_only=True, help_text="The user name for docker login and HTTP Basic."
    )
    enabled = serializers.BooleanField(
        required=False,
        default=True,
        help_text="A disabled service principal cannot sign in and its roles grant nothing.",
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )
    owner = serializers.CharField(
        source="owner.username",
        read_only=True,
        allow_null=True,
        help_text="The user who created it (null: administrators manage it).",
    )
    created = serializers.DateTimeField(source="created_at", read_only=True)
    secrets = SecretSerializer(many=True, read_only=True)


class ServicePrincipalUpdateSerializer(ServicePrincipalSerializer):
    name = serializers.CharField(
        max_length=64, validators=[validate_service_principal_name], required=False
    )
    enabled = serializers.BooleanField(required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class LifetimeSerializer(StrictSerializer):
    """An expiry as a number of days or a moment; neither: the kind's default lifetime."""

    model: type[MachineSecret] = MachineSecret

    expires_at = serializers.DateTimeField(
        required=False, help_text="When it stops working (instead of expires_in_days)."
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        days, moment = data.pop("expires_in_days", None), data.pop("expires_at", None)
        if days is not None and moment is not None:
            raise serializers.ValidationError(
                {"expires_at": ["Send expires_in_days or expires_at, not both."]}
            )
        lifetime = None
        if days is not None:
            lifetime = datetime.timedelta(days=days)
        elif moment is not None:
            lifetime = moment - timezone.now()
        data["lifetime"] = lifetime
        return data


def _days_field(model: type[MachineSecret], default_days: int) -> serializers.IntegerField:
    most = model.MAX_LIFETIME.days
    return serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=most,
        help_text=f"Lifetime in days, 1 to {most} ({default_days} if no expiry is sent).",
    )


class SecretCreateSerializer(LifetimeSerializer):
    model = ServicePrincipalSecret

    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100
    )
    expires_in_days = _days_field(ServicePrincipalSecret, 365)


class SecretCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="record.pk")
    secret = serializers.CharField(help_text="Shown this once: it cannot be read again.")
    expires_at = serializers.DateTimeField(source="record.expires_at")
    hint = serializers.CharField(source="record.hint")
    description = serializers.CharField(source="record.description")
    client_id = serializers.UUIDField(source="record.service_principal.client_id")


class TokenSerializer(MachineSecretSerializer):
    name = serializers.CharField(read_only=True)


class TokenCreateSerializer(LifetimeSerializer):
    model = PersonalAccessToken

    name = serializers.CharField(max_length=100, help_text="What it is for.")
    expires_in_days = _days_field(PersonalAccessToken, 90)


class TokenCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="record.pk")
    token = serializers.CharField(help_text="Shown this once: it cannot be read again.")
    expires_at = serializers.DateTimeField(source="record.expires_at")
    name = serializers.CharField(source="record.name")
    hint = serializers.CharField(source="record.hint")
