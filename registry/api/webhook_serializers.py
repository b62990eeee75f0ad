"""What the webhook endpoints read and write. Field names are a promise (DESIGN.md): webhook
``name``, ``service_uri``, ``actions``, ``scope``, ``custom_headers``, ``status``; delivery
``id``, ``event_id``, ``action``, ``status``, ``attempts``, ``response_status``.

Secrets never leave after creation: ``custom_headers`` answers the names with ``null`` values,
and sending ``null`` for a name keeps its value, so what a GET answered can be PATCHed back.
The signing ``secret`` is answered once, by creation (and by a rotation).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.api.serializers import StrictSerializer
from registry.models import DeliveryAttempt, Webhook, WebhookDelivery
from registry.webhooks import validation

STATUSES = ("enabled", "disabled")


def _clean_actions(value: Any) -> list[str]:
    return validation.clean_actions(value)


class WebhookHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        source="health",
        choices=Webhook.Health.choices,
        help_text="unhealthy: the last WEBHOOK_UNHEALTHY_AFTER attempts (3) all failed.",
    )
    consecutive_failures = serializers.IntegerField()
    last_attempt = serializers.DateTimeField(source="last_attempt_at", allow_null=True)
    last_success = serializers.DateTimeField(source="last_success_at", allow_null=True)


class WebhookSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    service_uri = serializers.CharField(read_only=True)
    actions = serializers.ListField(child=serializers.CharField(), read_only=True)
    scope = serializers.CharField(read_only=True)
    custom_headers = serializers.SerializerMethodField(
        help_text="Header names; their values are never shown (null)."
    )
    status = serializers.ChoiceField(choices=STATUSES, read_only=True)
    health = WebhookHealthSerializer(source="*", read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    updated = serializers.DateTimeField(source="updated_at", read_only=True)

    @extend_schema_field(
        serializers.DictField(child=serializers.CharField(allow_null=True), allow_empty=True)
    )
    def get_custom_headers(self, webhook: Webhook) -> dict[str, None]:
        return dict.fromkeys(webhook.custom_header_names)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…), shown this once. Verify deliveries with it.",
    )


class WebhookCreateSerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=50,
        validators=[validation.validate_name],
        help_text="5 to 50 letters and digits; unique in the registry. Cannot be changed.",
    )
    service_uri = serializers.CharField(
        max_length=validation.SERVICE_URI_MAX_LENGTH,
        validators=[validation.validate_service_uri],
        help_text="Where deliveries are posted (https://…). Internal addresses are refused.",
    )
    actions = serializers.JSONField(
        help_text="Any of push, delete, pull (quarantine, chart_push and chart_delete are "
        "accepted for ACR compatibility and never fire)."
    )
    scope = serializers.CharField(
        max_length=validation.SCOPE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        validators=[validation.validate_scope],
        help_text="repository:tag with * and ? wildcards (team-a/*:v1.*); empty: everything; "
        "a repository alone: repository:latest.",
    )
    custom_headers = serializers.JSONField(
        required=False,
        default=dict,
        help_text='Extra request headers, e.g. {"Authorization": "Bearer …"}; encrypted at rest, '
        "never shown again.",
    )
    status = serializers.ChoiceField(choices=STATUSES, required=False, default="enabled")

    def validate_actions(self, value: Any) -> list[str]:
        return _clean_actions(value)

    def validate_custom_headers(self, value: Any) -> dict[str, str | None]:
        return validation.clean_custom_headers(value)


class WebhookUpdateSerializer(StrictSerializer):
    name = serializers.CharField(read_only=True)
    service_uri = serializers.CharField(
        max_length=validation.SERVICE_URI_MAX_LENGTH,
        validators=[validation.validate_service_uri],
        required=False,
    )
    actions = serializers.JSONField(required=False)
    scope = serializers.CharField(
        max_length=validation.SCOPE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        validators=[validation.validate_scope],
    )
    custom_headers = serializers.JSONField(
        required=False,
        help_text="The whole set of headers after the change; null keeps a header's value, a "
        "name left out is removed.",
    )
    status = serializers.ChoiceField(choices=STATUSES, required=False)

    def validate_actions(self, value: Any) -> list[str]:
        return _clean_actions(value)


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="The new signing secret, shown once.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    event_id = serializers.UUIDField(
        read_only=True,
        help_text="The payload's id and the webhook-id header; the same on every attempt.",
    )
    action = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    response_status = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The last attempt's HTTP status."
    )
    repository = serializers.SerializerMethodField()
    tag = serializers.SerializerMethodField()
    digest = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="created_at", read_only=True)
    next_attempt = serializers.DateTimeField(source="next_attempt_at", read_only=True)
    finished = serializers.DateTimeField(source="finished_at", read_only=True)
    retry_until = serializers.DateTimeField(read_only=True)

    @extend_schema_field(OpenApiTypes.STR)
    def get_repository(self, delivery: WebhookDelivery) -> str:
        return str(delivery.target.get("repository", ""))

    @extend_schema_field(OpenApiTypes.STR)
    def get_tag(self, delivery: WebhookDelivery) -> str:
        return str(delivery.target.get("tag", ""))

    @extend_schema_field(OpenApiTypes.STR)
    def get_digest(self, delivery: WebhookDelivery) -> str:
        return str(delivery.target.get("digest", ""))


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started = serializers.DateTimeField(source="started_at")
    duration_ms = serializers.IntegerField(allow_null=True)
    request_url = serializers.CharField()
    request_headers = serializers.DictField(
        child=serializers.CharField(), help_text="Custom header values are redacted."
    )
    request_body = serializers.CharField()
    response_status = serializers.IntegerField(allow_null=True)
    response_headers = serializers.DictField(child=serializers.CharField())
    response_body = serializers.CharField(help_text="The first 4 KiB.")
    response_truncated = serializers.BooleanField()
    error = serializers.CharField(help_text="Why there was no usable answer, if there was none.")


class DeliveryDetailSerializer(DeliverySerializer):
    payload = serializers.JSONField(read_only=True)
    attempt_log = serializers.SerializerMethodField()

    @extend_schema_field(AttemptSerializer(many=True))
    def get_attempt_log(self, delivery: WebhookDelivery) -> list[dict[str, Any]]:
        attempts: list[DeliveryAttempt] = list(delivery.attempt_log.all())
        return AttemptSerializer(attempts, many=True).data


class DeliveryListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.choices, required=False, help_text="Only these."
    )


class RedeliverFailedSerializer(StrictSerializer):
    since = serializers.DateTimeField(
        help_text="Redeliver every failed delivery created at or after this time."
    )


class RedeliveredSerializer(serializers.Serializer):
    redelivered = serializers.IntegerField(read_only=True)
