"""Pages for machine identities: service principals with their secrets, and the signed-in
user's personal access tokens.

A secret or token exists in plain text only in the answer to the request that created it: the
page shows it once, with ``Cache-Control: no-store``, and never again. Who may see and manage
what is decided in ``registry.views.identity_access``; writes go through ``accounts.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import services
from accounts.forms import SecretCreateForm, ServicePrincipalForm, TokenCreateForm
from accounts.models import PersonalAccessToken, ServicePrincipal, ServicePrincipalSecret, User
from registry.forms import add_service_error
from registry.models import Registry, RoleAssignment
from registry.permissions import engine
from registry.views import access, identity_access
from registry.views.rendering import announce, htmx_target, render_page, wants_fragment

DETAIL_TEMPLATE = "accounts/service_principal_detail.html"
TOKENS_TEMPLATE = "accounts/token_list.html"
REVOKE_TEMPLATE = "accounts/revoke_confirm.html"


# Service principals ----------------------------------------------------------------------


@require_GET
@login_required
def service_principal_list(request: HttpRequest) -> HttpResponse:
    manages_all = identity_access.manages_all(request)
    show_all = manages_all and request.GET.get("show") == "all"
    now = timezone.now()
    active = Q(secrets__revoked_at__isnull=True, secrets__expires_at__gt=now)
    queryset = ServicePrincipal.objects.select_related("owner").annotate(
        active_secret_count=Count("secrets", filter=active)
    )
    service_principals = list(
        identity_access.manageable_service_principals(request, queryset, everyone=show_all)
    )
    context = {
        "service_principals": service_principals,
        "manages_all": manages_all,
        "show_all": show_all,
    }
    return render_page(request, "accounts/service_principal_list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def service_principal_create(request: HttpRequest) -> HttpResponse:
    identity_access.authorize_create(request)
    form = ServicePrincipalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.service_principal_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                f"Service principal {created.name} created. Add a secret to sign in with it; "
                "it holds no role until someone who manages access assigns one.",
            )
            return redirect("accounts:service_principal_detail", pk=created.pk)
    context = {"form": form, "service_principal": None}
    return render_page(request, "accounts/service_principal_form.html", context)


def _role_assignments(service_principal: ServicePrincipal) -> list[RoleAssignment]:
    return list(
        RoleAssignment.objects.unexpired()
        .filter(service_principal=service_principal)
        .select_related("role")
        .order_by("scope", "id")
    )


def _secrets(service_principal: ServicePrincipal) -> list[ServicePrincipalSecret]:
    return list(service_principal.secrets.order_by("-created_at", "-id"))


def _detail_context(
    request: HttpRequest,
    service_principal: ServicePrincipal,
    *,
    form: SecretCreateForm | None = None,
    issued: services.IssuedSecret | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "service_principal": service_principal,
        "secrets": _secrets(service_principal),
        "secret_form": form or SecretCreateForm(),
        "issued": issued,
        "role_assignments": _role_assignments(service_principal),
    }
    if issued is not None:
        context.update(_logins(request, service_principal))
    return context


def _logins(request: HttpRequest, service_principal: ServicePrincipal) -> dict[str, Any]:
    """The registries a new secret's sign-in commands name: those the principal holds a role
    in, else (it holds none yet) those the viewer can see."""
    held = list(engine.visible_registries(service_principal, Registry.objects.order_by("name")))
    if held:
        return {"login_registries": held, "logins_are_generic": False}
    visible = access.visible_registries(request, Registry.objects.order_by("name"))
    return {"login_registries": list(visible[:5]), "logins_are_generic": True}


@require_GET
@login_required
def service_principal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = identity_access.service_principal_for(request, pk)
    target = htmx_target(request)
    if target.startswith("secret-") and target.removeprefix("secret-").isdigit():
        # "Cancel" on a revoke confirmation puts the plain row back.
        secret = get_object_or_404(found.secrets, pk=int(target.removeprefix("secret-")))
        return render_page(
            request,
            DETAIL_TEMPLATE,
            {"service_principal": found, "secret": secret},
            fragment="secret_row",
        )
    return render_page(request, DETAIL_TEMPLATE, _detail_context(request, found))


@require_http_methods(["GET", "POST"])
@login_required
def service_principal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    found = identity_access.service_principal_for(request, pk)
    initial = {"name": found.name, "description": found.description}
    form = ServicePrincipalForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_principal_update(
                actor=request.user,
                service_principal=found,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            found.refresh_from_db()
            add_service_error(form, exc)
        else:
            messages.success(request, f"Service principal {found.name} saved.")
            return redirect("accounts:service_principal_detail", pk=found.pk)
    context = {"form": form, "service_principal": found}
    return render_page(request, "accounts/service_principal_form.html", context)


@require_POST
@login_required
def service_principal_set_enabled(request: HttpRequest, pk: int) -> HttpResponse:
    found = identity_access.service_principal_for(request, pk)
    enabled = request.POST.get("enabled") in {"true", "on", "1"}
    services.service_principal_set_enabled(
        actor=request.user, service_principal=found, enabled=enabled
    )
    if enabled:
        messages.success(request, f"{found.name} is enabled: it can sign in with its secrets.")
    else:
        messages.success(
            request, f"{found.name} is disabled: it cannot sign in and its roles grant nothing."
        )
    if not wants_fragment(request):
        return redirect("accounts:service_principal_detail", pk=found.pk)
    context = {"service_principal": found}
    response = render_page(request, DETAIL_TEMPLATE, context, fragment="status")
    return announce(response, "servicePrincipalChanged", id=found.pk, enabled=enabled)


@require_http_methods(["GET", "POST"])
@login_required
def service_principal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    found = identity_access.service_principal_for(request, pk)
    if request.method == "POST":
        name = found.name
        services.service_principal_delete(actor=request.user, service_principal=found)
        messages.success(
            request, f"Service principal {name} deleted, with its secrets and role assignments."
        )
        target = reverse("accounts:service_principal_list")
        return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)
    context = {
        "service_principal": found,
        "role_assignment_count": found.role_assignments.count(),
        "active_secret_count": sum(1 for s in found.secrets.all() if s.is_active),
    }
    return render_page(
        request, "accounts/service_principal_confirm_delete.html", context, fragment="confirm"
    )


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def secret_create(request: HttpRequest, pk: int) -> HttpResponse:
    found = identity_access.service_principal_for(request, pk)
    form = SecretCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.service_principal_secret_create(
                actor=request.user,
                service_principal=found,
                description=form.cleaned_data["description"],
                lifetime=form.cleaned_data["lifetime"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            # Shown in this answer only: no redirect, nothing kept in the session.
            context = _detail_context(request, found, issued=issued)
            response = render_page(request, DETAIL_TEMPLATE, context, fragment="secrets")
            return announce(response, "secretCreated", id=issued.record.pk)
    status = 400 if form.is_bound else 200
    if wants_fragment(request):
        context = _detail_context(request, found, form=form)
        return render_page(request, DETAIL_TEMPLATE, context, fragment="secrets", status=status)
    context = {"service_principal": found, "secret_form": form}
    return render_page(request, "accounts/secret_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def secret_revoke(request: HttpRequest, pk: int, secret_pk: int) -> HttpResponse:
    found = identity_access.service_principal_for(request, pk)
    secret = get_object_or_404(found.secrets, pk=secret_pk)
    if request.method == "POST":
        services.service_principal_secret_revoke(actor=request.user, secret=secret)
        messages.success(
            request, f"Secret {secret.hint}… revoked: anything still using it is refused now."
        )
        if not wants_fragment(request):
            return redirect(reverse("accounts:service_principal_detail", args=[found.pk]))
        context = {"service_principal": found, "secret": secret}
        response = render_page(request, DETAIL_TEMPLATE, context, fragment="secret_row")
        return announce(response, "secretRevoked", id=secret.pk)
    context = {
        "what": f"secret {secret.hint}…",
        "title": f"Revoke secret {secret.hint}… of {found.name}?",
        "consequence": f"Anything that signs in as {found.name} with this secret is refused "
        "at once. Its other secrets keep working.",
        "row_id": f"secret-{secret.pk}",
        "columns": 7,
        "action": reverse("accounts:secret_revoke", args=[found.pk, secret.pk]),
        "cancel": reverse("accounts:service_principal_detail", args=[found.pk]),
        "button": "Revoke secret",
    }
    return render_page(request, REVOKE_TEMPLATE, context, fragment="confirm_row")


# Personal access tokens --------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return identity_access.token_owner(request)


def _tokens_context(
    request: HttpRequest,
    *,
    form: TokenCreateForm | None = None,
    issued: services.IssuedToken | None = None,
) -> dict[str, Any]:
    tokens = list(PersonalAccessToken.objects.filter(user=_user(request)).order_by("-created_at"))
    context: dict[str, Any] = {
        "tokens": tokens,
        "token_form": form or TokenCreateForm(),
        "issued": issued,
    }
    if issued is not None:
        visible = access.visible_registries(request, Registry.objects.order_by("name"))
        context["login_registries"] = list(visible[:5])
    return context


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    target = htmx_target(request)
    if request.method == "GET" and target.startswith("token-"):
        # "Cancel" on a revoke confirmation puts the plain row back.
        key = target.removeprefix("token-")
        token = identity_access.token_for(request, int(key) if key.isdigit() else 0)
        return render_page(request, TOKENS_TEMPLATE, {"token": token}, fragment="token_row")
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.personal_access_token_create(
                user=_user(request),
                name=form.cleaned_data["name"],
                lifetime=form.cleaned_data["lifetime"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            context = _tokens_context(request, issued=issued)
            response = render_page(request, TOKENS_TEMPLATE, context, fragment="tokens")
            return announce(response, "tokenCreated", id=issued.record.pk)
    status = 400 if form.is_bound else 200
    context = _tokens_context(request, form=form)
    return render_page(request, TOKENS_TEMPLATE, context, fragment="tokens", status=status)


@require_http_methods(["GET", "POST"])
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = identity_access.token_for(request, pk)
    if request.method == "POST":
        services.personal_access_token_revoke(actor=request.user, token=token)
        messages.success(request, f"Token {token.name} revoked: it no longer signs anything in.")
        if not wants_fragment(request):
            return redirect("accounts:token_list")
        response = render_page(request, TOKENS_TEMPLATE, {"token": token}, fragment="token_row")
        return announce(response, "tokenRevoked", id=token.pk)
    context = {
        "what": f"token {token.name}",
        "title": f"Revoke token {token.name} ({token.hint}…)?",
        "consequence": "Scripts and docker logins that use it are refused at once.",
        "row_id": f"token-{token.pk}",
        "columns": 6,
        "action": reverse("accounts:token_revoke", args=[token.pk]),
        "cancel": reverse("accounts:token_list"),
        "button": "Revoke token",
    }
    return render_page(request, REVOKE_TEMPLATE, context, fragment="confirm_row")
