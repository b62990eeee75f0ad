"""REST API v1 for webhooks: ``registries/{r}/webhooks/…`` (DESIGN.md lists the routes).

Reading needs ``webhooks/read`` at the registry, changing anything ``webhooks/write``; as
everywhere, a registry the caller cannot see is a 404 and one they can see without the action
a 403. Writes go through ``registry.webhooks.services``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.errors import Conflict
from registry.api.schema import REGISTRY_PARAMETER, path_parameter
from registry.api.views import ApiView, _created, _get_registry, _one, _valid
from registry.api.webhook_serializers import (
    DeliveryDetailSerializer,
    DeliveryListQuerySerializer,
    DeliverySerializer,
    RedeliveredSerializer,
    RedeliverFailedSerializer,
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookSecretSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
)
from registry.models import Webhook, WebhookDelivery
from registry.validation import REGISTRY_NAME_RE
from registry.webhooks import services, validation

READ = "webhooks/read"
WRITE = "webhooks/write"
WEBHOOK_PARAMETER = path_parameter("webhook", "The webhook's name (any case).")
DELIVERY_PARAMETER = OpenApiParameter(
    "delivery", int, OpenApiParameter.PATH, description="The delivery's id."
)


def _webhook(request: Request, registry: str, name: str, action: str) -> Webhook:
    found = _get_registry(request, registry, action)
    if not REGISTRY_NAME_RE.fullmatch(name):
        raise exceptions.ValidationError({"webhook": [validation.NAME_MESSAGE]})
    return _one(
        Webhook.objects.select_related("registry").filter(registry=found),
        f"Registry {found.name!r} has no webhook named {name!r}.",
        name__iexact=name,
    )


def _delivery(webhook: Webhook, delivery_id: int) -> WebhookDelivery:
    return _one(
        webhook.deliveries.select_related("webhook__registry").prefetch_related("attempt_log"),
        f"Webhook {webhook.name!r} has no delivery {delivery_id}.",
        pk=delivery_id,
    )


def _status_change(data: dict[str, Any]) -> dict[str, Any]:
    """Serializer fields to service arguments (``status`` is the service's ``is_enabled``)."""
    if "status" in data:
        data["is_enabled"] = data.pop("status") == "enabled"
    return data


@extend_schema(tags=["webhooks"], parameters=[REGISTRY_PARAMETER])
class WebhookList(ApiView):
    serializer_class = WebhookCreateSerializer
    pagination_ordering = ("name", "id")
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="webhook_list",
        summary="List a registry's webhooks",
        responses={200: WebhookSerializer(many=True)},
    )
    def get(self, request: Request, registry: str) -> Response:
        return self.list_response(WebhookSerializer)

    def get_queryset(self) -> QuerySet[Webhook]:
        if self.is_schema_generation:
            return Webhook.objects.none()
        found = _get_registry(self.request, self.kwargs["registry"], READ)
        return Webhook.objects.filter(registry=found)

    @extend_schema(
        operation_id="webhook_create",
        summary="Add a webhook",
        description="Answers the webhook with its signing `secret`, which is never shown again. "
        "A registry's tier limits how many webhooks it may have (409 beyond).",
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer},
    )
    def post(self, request: Request, registry: str) -> Response:
        found = _get_registry(request, registry, WRITE)
        data = _status_change(_valid(WebhookCreateSerializer, request.data))
        if services.name_is_taken(found, data["name"]):
            raise Conflict(services.NAME_TAKEN.format(name=data["name"]))
        webhook, secret = services.webhook_create(actor=request.user, registry=found, **data)
        body = {**WebhookSerializer(webhook).data, "secret": secret}
        return _created(
            request, body, "api:webhook-detail", registry=found.name, webhook=webhook.name
        )


@extend_schema(tags=["webhooks"], parameters=[REGISTRY_PARAMETER, WEBHOOK_PARAMETER])
class WebhookDetail(ApiView):
    serializer_class = WebhookUpdateSerializer

    @extend_schema(
        operation_id="webhook_retrieve",
        summary="Show a webhook",
        responses={200: WebhookSerializer},
    )
    def get(self, request: Request, registry: str, webhook: str) -> Response:
        return Response(WebhookSerializer(_webhook(request, registry, webhook, READ)).data)

    @extend_schema(
        operation_id="webhook_update",
        summary="Change a webhook",
        description="Disabling keeps the delivery log; deliveries waiting when it was disabled "
        "go out when it is enabled again.",
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer},
    )
    def patch(self, request: Request, registry: str, webhook: str) -> Response:
        found = _webhook(request, registry, webhook, WRITE)
        changes = _status_change(_valid(WebhookUpdateSerializer, request.data, partial=True))
        updated = services.webhook_update(actor=request.user, webhook=found, **changes)
        return Response(WebhookSerializer(updated).data)

    @extend_schema(
        operation_id="webhook_delete",
        summary="Delete a webhook",
        description="Deletes the webhook with its delivery log.",
        responses={204: None},
    )
    def delete(self, request: Request, registry: str, webhook: str) -> Response:
        services.webhook_delete(
            actor=request.user, webhook=_webhook(request, registry, webhook, WRITE)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["webhooks"], parameters=[REGISTRY_PARAMETER, WEBHOOK_PARAMETER])
class WebhookPing(ApiView):
    serializer_class = DeliverySerializer
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="webhook_ping",
        summary="Ping a webhook",
        description="Queues a delivery with the `ping` action (ACR's); its `event_id` is the "
        "ping's id. 409 while the webhook is disabled.",
        request=None,
        responses={202: DeliverySerializer},
    )
    def post(self, request: Request, registry: str, webhook: str) -> Response:
        found = _webhook(request, registry, webhook, WRITE)
        sent = services.webhook_ping(actor=request.user, webhook=found)
        return Response(DeliverySerializer(sent).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["webhooks"], parameters=[REGISTRY_PARAMETER, WEBHOOK_PARAMETER])
class WebhookSecret(ApiView):
    serializer_class = WebhookSecretSerializer

    @extend_schema(
        operation_id="webhook_rotate_secret",
        summary="Replace a webhook's signing secret",
        description="Answers the new secret, shown this once; deliveries sent from now on are "
        "signed with it.",
        request=None,
        responses={200: WebhookSecretSerializer},
    )
    def post(self, request: Request, registry: str, webhook: str) -> Response:
        found = _webhook(request, registry, webhook, WRITE)
        return Response(
            {"secret": services.webhook_rotate_secret(actor=request.user, webhook=found)}
        )


@extend_schema(tags=["webhooks"], parameters=[REGISTRY_PARAMETER, WEBHOOK_PARAMETER])
class DeliveryList(ApiView):
    serializer_class = DeliverySerializer
    pagination_ordering = ("-created_at", "-id")

    @extend_schema(
        operation_id="webhook_delivery_list",
        summary="List a webhook's deliveries",
        description="Newest first; `?status=` keeps one status.",
        parameters=[DeliveryListQuerySerializer],
        responses={200: DeliverySerializer(many=True)},
    )
    def get(self, request: Request, registry: str, webhook: str) -> Response:
        return self.list_response()

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if self.is_schema_generation:
            return WebhookDelivery.objects.none()
        found = _webhook(self.request, self.kwargs["registry"], self.kwargs["webhook"], READ)
        query = _valid(DeliveryListQuerySerializer, self.request.query_params)
        deliveries = found.deliveries.all()
        if query.get("status"):
            deliveries = deliveries.filter(status=query["status"])
        return deliveries


@extend_schema(
    tags=["webhooks"], parameters=[REGISTRY_PARAMETER, WEBHOOK_PARAMETER, DELIVERY_PARAMETER]
)
class DeliveryDetail(ApiView):
    serializer_class = DeliveryDetailSerializer

    @extend_schema(
        operation_id="webhook_delivery_retrieve",
        summary="Show a delivery with its payload and every attempt",
        responses={200: DeliveryDetailSerializer},
    )
    def get(self, request: Request, registry: str, webhook: str, delivery: int) -> Response:
        found = _delivery(_webhook(request, registry, webhook, READ), delivery)
        return Response(DeliveryDetailSerializer(found).data)


@extend_schema(
    tags=["webhooks"], parameters=[REGISTRY_PARAMETER, WEBHOOK_PARAMETER, DELIVERY_PARAMETER]
)
class DeliveryRedeliver(ApiView):
    serializer_class = DeliverySerializer
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="webhook_delivery_redeliver",
        summary="Send a delivery again",
        description="Same `event_id` (receivers deduplicate on it), a fresh retry window; the "
        "earlier attempts stay in the log. 409 while an attempt is under way or the webhook is "
        "disabled.",
        request=None,
        responses={202: DeliverySerializer},
    )
    def post(self, request: Request, registry: str, webhook: str, delivery: int) -> Response:
        found = _delivery(_webhook(request, registry, webhook, WRITE), delivery)
        sent = services.delivery_redeliver(actor=request.user, delivery=found)
        return Response(DeliverySerializer(sent).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["webhooks"], parameters=[REGISTRY_PARAMETER, WEBHOOK_PARAMETER])
class DeliveryRedeliverFailed(ApiView):
    serializer_class = RedeliverFailedSerializer
    problem_statuses = {"POST": (409,)}

    @extend_schema(
        operation_id="webhook_delivery_redeliver_failed",
        summary="Send every failed delivery since a time again",
        request=RedeliverFailedSerializer,
        responses={202: RedeliveredSerializer},
    )
    def post(self, request: Request, registry: str, webhook: str) -> Response:
        found = _webhook(request, registry, webhook, WRITE)
        since = _valid(RedeliverFailedSerializer, request.data)["since"]
        count = services.webhook_redeliver_failed(actor=request.user, webhook=found, since=since)
        return Response({"redelivered": count}, status=status.HTTP_202_ACCEPTED)
