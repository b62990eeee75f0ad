"""Webhooks of a registry: list with health, create and edit, the delivery log (live while
deliveries are in flight), ping, redelivery, secret rotation, delete.

Reading needs ``webhooks/read`` at the registry and everything else ``webhooks/write``. A
signing secret is shown on the page that answers its creation or rotation and never again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry.models import Registry, Webhook, WebhookDelivery
from registry.services import ActionRefused
from registry.views import access
from registry.views.pagination import paginate
from registry.views.rendering import announce, htmx_target, render_page, wants_fragment
from registry.webhooks import services
from registry.webhooks.forms import (
    HeaderFormSet,
    RedeliverFailedForm,
    WebhookCreateForm,
    WebhookForm,
)

READ = "webhooks/read"
WRITE = "webhooks/write"
DETAIL_TEMPLATE = "registry/webhook_detail.html"
DELIVERY_TEMPLATE = "registry/delivery_detail.html"
LOG_PAGE_SIZE = 25


def _webhook_for(request: HttpRequest, registry: str, webhook: str, action: str) -> Webhook:
    access.authorize(request, action, access.registry_scope(registry))
    return get_object_or_404(
        Webhook.objects.select_related("registry"),
        registry__name__iexact=registry,
        name__iexact=webhook,
    )


def _detail_url(webhook: Webhook) -> str:
    return reverse("registry:webhook_detail", args=[webhook.registry.name, webhook.name])


def _form_error(form: Any, error: Exception) -> None:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages if isinstance(error, ValidationError) else str(error))


def _limit_context(registry: Registry) -> dict[str, Any]:
    count = registry.webhooks.count()
    return {
        "webhook_count": count,
        "webhook_limit": registry.limits.webhooks,
        "webhook_limit_reached": count >= registry.limits.webhooks,
    }


@require_GET
@login_required
def webhook_list(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, READ)
    webhooks = list(found.webhooks.all())
    context = {"registry": found, "webhooks": webhooks, **_limit_context(found)}
    return render_page(request, "registry/webhook_list.html", context)


def _secret_page(request: HttpRequest, webhook: Webhook, secret: str, *, created: bool) -> Any:
    response = render_page(
        request,
        "registry/webhook_secret.html",
        {"registry": webhook.registry, "webhook": webhook, "secret": secret, "created": created},
    )
    # The page holds a secret: never store it anywhere on the way.
    patch_cache_control(response, no_store=True)
    return response


@require_http_methods(["GET", "POST"])
@login_required
def webhook_create(request: HttpRequest, registry: str) -> HttpResponse:
    found = access.registry_for(request, registry, WRITE)
    form = WebhookCreateForm(request.POST or None)
    headers = HeaderFormSet(request.POST or None, prefix="headers")
    if request.method == "POST" and form.is_valid() and headers.is_valid():
        data = form.cleaned_data
        try:
            webhook, secret = services.webhook_create(
                actor=request.user,
                registry=found,
                name=data["name"],
                service_uri=data["service_uri"],
                actions=data["actions"],
                scope=data["scope"],
                custom_headers=headers.headers(),
                is_enabled=data["is_enabled"],
            )
        except (ValidationError, ActionRefused) as exc:
            _form_error(form, exc)
        else:
            return _secret_page(request, webhook, secret, created=True)
    context = {
        "registry": found,
        "webhook": None,
        "form": form,
        "headers": headers,
        **_limit_context(found),
    }
    return render_page(request, "registry/webhook_form.html", context)


def _log_context(request: HttpRequest, webhook: Webhook) -> dict[str, Any]:
    deliveries = webhook.deliveries.all()
    page = paginate(request, deliveries, per_page=LOG_PAGE_SIZE)
    return {
        "registry": webhook.registry,
        "webhook": webhook,
        "page": page,
        "is_live": any(delivery.is_active for delivery in page.object_list),
    }


@require_GET
@login_required
def webhook_detail(request: HttpRequest, registry: str, webhook: str) -> HttpResponse:
    found = _webhook_for(request, registry, webhook, READ)
    if htmx_target(request) == "deliveries":
        return render_page(
            request, DETAIL_TEMPLATE, _log_context(request, found), fragment="deliveries"
        )
    context = {**_log_context(request, found), "redeliver_form": RedeliverFailedForm()}
    return render_page(request, DETAIL_TEMPLATE, context)


@require_http_methods(["GET", "POST"])
@login_required
def webhook_edit(request: HttpRequest, registry: str, webhook: str) -> HttpResponse:
    found = _webhook_for(request, registry, webhook, WRITE)
    stored = found.custom_header_names
    initial = {
        "service_uri": found.service_uri,
        "actions": found.actions,
        "scope": found.scope,
        "is_enabled": found.is_enabled,
    }
    form = WebhookForm(request.POST or None, initial=initial)
    headers = HeaderFormSet(
        request.POST or None,
        prefix="headers",
        stored=stored,
        initial=[{"name": name} for name in stored],
    )
    if request.method == "POST" and form.is_valid() and headers.is_valid():
        try:
            services.webhook_update(
                actor=request.user,
                webhook=found,
                custom_headers=headers.headers(),
                **form.cleaned_data,
            )
        except (ValidationError, ActionRefused) as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Webhook {found.name} saved.")
            return redirect(_detail_url(found))
    context = {"registry": found.registry, "webhook": found, "form": form, "headers": headers}
    return render_page(request, "registry/webhook_form.html", context)


@require_POST
@login_required
def webhook_toggle(request: HttpRequest, registry: str, webhook: str) -> HttpResponse:
    found = _webhook_for(request, registry, webhook, WRITE)
    services.webhook_update(actor=request.user, webhook=found, is_enabled=not found.is_enabled)
    messages.success(request, f"Webhook {found.name} {found.status}.")
    return redirect(_detail_url(found))


@require_http_methods(["GET", "POST"])
@login_required
def webhook_delete(request: HttpRequest, registry: str, webhook: str) -> HttpResponse:
    found = _webhook_for(request, registry, webhook, WRITE)
    if request.method == "POST":
        services.webhook_delete(actor=request.user, webhook=found)
        messages.success(request, f"Webhook {found.name} and its delivery log deleted.")
        return redirect("registry:webhook_list", registry=found.registry.name)
    context = {
        "registry": found.registry,
        "webhook": found,
        "delivery_count": found.deliveries.count(),
    }
    return render_page(request, "registry/webhook_confirm.html", {**context, "what": "delete"})


@require_http_methods(["GET", "POST"])
@login_required
def webhook_rotate_secret(request: HttpRequest, registry: str, webhook: str) -> HttpResponse:
    found = _webhook_for(request, registry, webhook, WRITE)
    if request.method == "POST":
        secret = services.webhook_rotate_secret(actor=request.user, webhook=found)
        return _secret_page(request, found, secret, created=False)
    context = {"registry": found.registry, "webhook": found, "what": "rotate"}
    return render_page(request, "registry/webhook_confirm.html", context)


def _after_send(request: HttpRequest, webhook: Webhook, event: str) -> HttpResponse:
    """Back to the log: the whole page, or (htmx) its deliveries region."""
    if not wants_fragment(request):
        return redirect(_detail_url(webhook))
    webhook.refresh_from_db()
    response = render_page(
        request, DETAIL_TEMPLATE, _log_context(request, webhook), fragment="deliveries"
    )
    return announce(response, event, webhook=webhook.name)


@require_POST
@login_required
def webhook_ping(request: HttpRequest, registry: str, webhook: str) -> HttpResponse:
    found = _webhook_for(request, registry, webhook, WRITE)
    try:
        services.webhook_ping(actor=request.user, webhook=found)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Ping queued for {found.name}; it shows below as it goes.")
    return _after_send(request, found, "webhookPinged")


@require_POST
@login_required
def webhook_redeliver_failed(request: HttpRequest, registry: str, webhook: str) -> HttpResponse:
    found = _webhook_for(request, registry, webhook, WRITE)
    form = RedeliverFailedForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the time from which failed deliveries are sent again.")
        return redirect(_detail_url(found))
    try:
        count = services.webhook_redeliver_failed(
            actor=request.user, webhook=found, since=form.cleaned_data["since"]
        )
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{count} failed deliver{'y' if count == 1 else 'ies'} queued.")
    return _after_send(request, found, "webhookRedelivered")


def _delivery_for(request: HttpRequest, webhook: Webhook, delivery: int) -> WebhookDelivery:
    found = (
        webhook.deliveries.select_related("webhook__registry")
        .prefetch_related("attempt_log")
        .filter(pk=delivery)
        .first()
    )
    if found is None:
        raise Http404("No such delivery.")
    return found


@require_GET
@login_required
def delivery_detail(request: HttpRequest, registry: str, webhook: str, delivery: int) -> Any:
    found = _webhook_for(request, registry, webhook, READ)
    context = {
        "registry": found.registry,
        "webhook": found,
        "delivery": _delivery_for(request, found, delivery),
    }
    fragment = "delivery" if htmx_target(request) == "delivery" else None
    return render_page(request, DELIVERY_TEMPLATE, context, fragment=fragment)


@require_POST
@login_required
def delivery_redeliver(request: HttpRequest, registry: str, webhook: str, delivery: int) -> Any:
    found = _webhook_for(request, registry, webhook, WRITE)
    target = _delivery_for(request, found, delivery)
    try:
        services.delivery_redeliver(actor=request.user, delivery=target)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Delivery {target.pk} queued again.")
    return redirect("registry:delivery_detail", found.registry.name, found.name, target.pk)
