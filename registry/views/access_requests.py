"""Access requests in the pages: asking, a team lead's inbox, one's own requests, one request.

The inbox approves and denies in place (htmx swaps the row, and the navigation's count rides
along out of band) and approves several at once; every action is also a plain form post, so
the pages work without JavaScript. Who reads and decides what is the selectors' answer
(``registry.access_requests.selectors``): a request someone may not read is a 404, or a 403
when they can see its scope.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry.access_requests import policy, selectors, services
from registry.access_requests.forms import (
    AccessRequestForm,
    ApproveForm,
    DenyForm,
    ExtendForm,
)
from registry.forms import add_service_error
from registry.models import AccessRequest, AuditEvent, Namespace, Registry
from registry.permissions.actions import ACTIONS, ROLE_ASSIGNMENTS_WRITE
from registry.services import ActionRefused
from registry.views import access
from registry.views.pagination import paginate
from registry.views.rendering import announce, htmx_target, render_page, wants_fragment

INBOX_TEMPLATE = "access_requests/inbox.html"
DETAIL_TEMPLATE = "access_requests/detail.html"
# How many scopes the request form suggests as one types.
SCOPE_SUGGESTIONS = 200


def _person(request: HttpRequest) -> Any:
    if not selectors.is_person(request.user):
        raise PermissionDenied("Access requests are made and decided by people.")
    return request.user


def _access_request_for(request: HttpRequest, pk: int) -> AccessRequest:
    """The request ``pk`` once the user may read it: 404 when they cannot see its scope, 403
    when they can but neither asked for nor may decide it."""
    user = _person(request)
    found = selectors.with_details(selectors.readable_by(user)).filter(pk=pk).first()
    if found is not None:
        return found
    scope = AccessRequest.objects.filter(pk=pk).values_list("scope", flat=True).first()
    if scope is None or not access.grants(request).can_see(scope):
        raise Http404("Not found.")
    raise PermissionDenied(f"You are not allowed to do {ROLE_ASSIGNMENTS_WRITE} at {scope}.")


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _detail_url(access_request: AccessRequest) -> str:
    return reverse("access_requests:detail", args=[access_request.pk])


def _with_navigation(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let the navigation's count follow a decision made in place (an out-of-band swap)."""
    html = render_to_string("base.html#access_requests_nav_oob", request=request)
    response.content += html.encode(response.charset)
    return announce(response, "accessRequestChanged")


# Asking ----------------------------------------------------------------------------------


def _scope_suggestions(request: HttpRequest) -> list[str]:
    """Registries and namespaces the user can see, for the scope field's suggestions."""
    held = access.grants(request)
    registries = access.visible_registries(request, Registry.objects.all())
    namespaces = Namespace.objects.filter(registry__in=registries).select_related("registry")
    scopes = [r.scope for r in registries[:SCOPE_SUGGESTIONS]]
    scopes += [n.scope for n in namespaces[:SCOPE_SUGGESTIONS] if held.can_see(n.scope)]
    return scopes


@require_http_methods(["GET", "POST"])
@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    """Ask for a role; the 403 page links here with the scope and the refused action."""
    user = _person(request)
    action = request.GET.get("action", "")
    action = action if action in ACTIONS else ""
    suggested_role = request.GET.get("role") or (policy.smallest_role_for(action) if action else "")
    initial = {"scope": request.GET.get("scope", "")[:600], "role": suggested_role or "AcrPull"}
    form = AccessRequestForm(request.POST or None, initial=initial, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.access_request_create(
                actor=user,
                role=form.cleaned_data["role"],
                scope=form.cleaned_data["scope"],
                principal=form.principal_for(user),
                justification=form.cleaned_data["justification"],
                duration_days=form.cleaned_data["duration"],
            )
        except (ValidationError, ActionRefused) as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                f"Access request {created.pk} sent: the team leads of {created.scope} "
                "have been told.",
            )
            return redirect(_detail_url(created))
    context = {
        "form": form,
        "action": action,
        "suggested_role": suggested_role,
        "scope_suggestions": _scope_suggestions(request),
        "default_days": policy.default_days(),
    }
    return render_page(request, "access_requests/request_form.html", context)


# Lists -----------------------------------------------------------------------------------


@require_GET
@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    rows = selectors.with_details(AccessRequest.objects.filter(requested_by=user))
    status = request.GET.get("status", "")
    if status in AccessRequest.Status.values:
        rows = rows.filter(status=status)
    context = {
        "page": paginate(request, rows),
        "status": status,
        "statuses": AccessRequest.Status.choices,
    }
    return render_page(request, "access_requests/my_requests.html", context, fragment="results")


def _inbox_rows(user: Any) -> QuerySet[AccessRequest]:
    return selectors.with_details(selectors.inbox(user)).order_by("created_at", "id")


def _with_form(row: AccessRequest) -> AccessRequest:
    row.approve_form = ApproveForm(requested_days=row.duration_days)
    return row


def _inbox_context(request: HttpRequest) -> dict[str, Any]:
    page = paginate(request, _inbox_rows(request.user))
    for row in page:
        _with_form(row)
    return {"page": page}


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Pending requests waiting for the user's decision, oldest first."""
    _person(request)
    return render_page(request, INBOX_TEMPLATE, _inbox_context(request), fragment="inbox")


# One request -----------------------------------------------------------------------------


def _detail_context(request: HttpRequest, found: AccessRequest, **forms: Any) -> dict[str, Any]:
    user = request.user
    is_requester = found.requested_by_id == user.pk
    may_decide = (
        found.is_pending
        and not is_requester
        and found.user_id != user.pk
        and selectors.may_decide(user, found)
    )
    already_approved = any(a.approver_id == user.pk for a in found.approvals.all())
    history = AuditEvent.objects.filter(
        action__startswith="accessRequest.", details__request=found.pk
    ).order_by("created_at", "pk")
    return {
        "request_": found,
        "history": list(history),
        "may_decide": may_decide and not already_approved,
        "already_approved": already_approved,
        "may_cancel": is_requester and found.is_pending,
        "may_extend": is_requester
        and found.can_be_extended
        and not found.extensions.filter(status=AccessRequest.Status.PENDING).exists(),
        "approve_form": forms.get("approve_form")
        or ApproveForm(requested_days=found.duration_days),
        "deny_form": forms.get("deny_form") or DenyForm(),
        "extend_form": forms.get("extend_form") or ExtendForm(),
    }


@require_GET
@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = _access_request_for(request, pk)
    if htmx_target(request) == f"request-{found.pk}":
        # "Cancel" on an inline deny puts the plain row back.
        return _inbox_row(request, found)
    return render_page(request, DETAIL_TEMPLATE, _detail_context(request, found))


def _inbox_row(request: HttpRequest, found: AccessRequest, **extra: Any) -> HttpResponse:
    fresh = _with_form(selectors.with_details(AccessRequest.objects.filter(pk=found.pk)).get())
    context = {
        "row": fresh,
        "waiting": selectors.inbox(request.user).filter(pk=fresh.pk).exists(),
        **extra,
    }
    return render_page(request, INBOX_TEMPLATE, context, fragment="row")


def _decided(request: HttpRequest, found: AccessRequest, message: str, ok: bool) -> HttpResponse:
    """The answer to a decision: the row in place for htmx, else back where the user was."""
    (messages.success if ok else messages.error)(request, message)
    if htmx_target(request) == f"request-{found.pk}":
        return _with_navigation(request, _inbox_row(request, found))
    return redirect(_next_url(request, _detail_url(found)))


@require_POST
@login_required
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    found = _access_request_for(request, pk)
    form = ApproveForm(request.POST, requested_days=found.duration_days)
    options: dict[str, Any] = {}
    if "duration" in request.POST:  # left out (bulk forms, scripts): as asked
        if not form.is_valid():
            return _decided(request, found, "Choose how long to grant, at most as asked.", ok=False)
        options["duration_days"] = form.cleaned_data["duration"]
    try:
        outcome = services.access_request_approve(
            actor=request.user, access_request=found, **options
        )
    except (ActionRefused, ValidationError) as exc:
        text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _decided(request, found, text, ok=False)
    return _decided(request, found, outcome.message, ok=True)


@require_http_methods(["GET", "POST"])
@login_required
def deny(request: HttpRequest, pk: int) -> HttpResponse:
    found = _access_request_for(request, pk)
    in_row = htmx_target(request) == f"request-{found.pk}"
    form = DenyForm(request.POST or None, auto_id=f"deny{found.pk}_%s")
    # The form replaces the row the focus was on; take the focus along.
    form.fields["reason"].widget.attrs["autofocus"] = True
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.access_request_deny(
                actor=request.user, access_request=found, reason=form.cleaned_data["reason"]
            )
        except ActionRefused as exc:
            return _decided(request, found, str(exc), ok=False)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            return _decided(request, found, outcome.message, ok=True)
    if request.method == "GET" and not in_row:
        return redirect(f"{_detail_url(found)}#deny")
    if in_row:
        # The form in the row (GET), or back with what was wrong (POST).
        context = {"row": found, "deny_form": form}
        status = 400 if request.method == "POST" else 200
        return render_page(request, INBOX_TEMPLATE, context, fragment="deny_row", status=status)
    context = _detail_context(request, found, deny_form=form)
    return render_page(request, DETAIL_TEMPLATE, context, status=400)


@require_POST
@login_required
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    found = _access_request_for(request, pk)
    try:
        outcome = services.access_request_cancel(actor=request.user, access_request=found)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, outcome.message)
    return redirect(_next_url(request, _detail_url(found)))


@require_POST
@login_required
def extend(request: HttpRequest, pk: int) -> HttpResponse:
    found = _access_request_for(request, pk)
    form = ExtendForm(request.POST)
    if form.is_valid():
        try:
            created = services.access_request_extend(
                actor=request.user,
                access_request=found,
                justification=form.cleaned_data["justification"],
                duration_days=form.cleaned_data["duration"],
            )
        except ActionRefused as exc:
            messages.error(request, str(exc))
            return redirect(_detail_url(found))
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Extension requested: access request {created.pk}.")
            return redirect(_detail_url(created))
    context = _detail_context(request, found, extend_form=form)
    return render_page(request, DETAIL_TEMPLATE, context, status=400)


@require_POST
@login_required
def approve_selected(request: HttpRequest) -> HttpResponse:
    """Bulk approve from the inbox: each request as asked, each in its own transaction."""
    user = _person(request)
    wanted = [value for value in request.POST.getlist("request") if value.isdigit()]
    approved, problems = 0, []
    for found in selectors.inbox(user).filter(pk__in=wanted).select_related("role"):
        try:
            outcome = services.access_request_approve(actor=user, access_request=found)
        except (ActionRefused, ValidationError, PermissionDenied) as exc:
            problems.append(f"{found.pk}: {exc}")
        else:
            approved += outcome.changed
    if not wanted:
        messages.error(request, "Choose the requests to approve.")
    elif approved:
        messages.success(request, f"Approved {approved} request{'s' if approved != 1 else ''}.")
    for problem in problems:
        messages.error(request, f"Not approved: request {problem}")
    if wants_fragment(request):
        response = render_page(request, INBOX_TEMPLATE, _inbox_context(request), fragment="inbox")
        return _with_navigation(request, response)
    return redirect("access_requests:inbox")
