"""Access-control pages: who holds which role where, custom roles, checking access, the audit log.

- ``/access/``: what the signed-in user holds, and the scopes whose access they manage or review.
- A role assignments page per scope: ``/access/portal/`` (``/``), ``/registries/{r}/access/``,
  ``…/namespaces/{ns}/_access/`` and ``…/repositories/{repo}/_access/``. It lists the
  assignments that apply there (inherited ones marked) and those inside it; reading it needs
  ``roleAssignments/write`` or ``auditLog/read`` at the scope, adding or removing an assignment
  ``roleAssignments/write`` at the assignment's scope. The principal picker searches users,
  groups and service principals as one types (htmx), and is a plain search without JavaScript.
- ``/access/roles/``: role definitions (anyone signed in); custom roles are created and removed
  with ``roleAssignments/write`` at ``/``.
- ``/access/check/``: may a principal do an action at a scope, and why (oneself always; others
  with ``roleAssignments/write`` or ``auditLog/read`` at the scope).
- ``/audit/``: the audit log, for those who hold ``auditLog/read`` (``/``: everything; a
  registry, namespace or repository: what happened at it and inside it).

Views parse, ask ``registry.views.access`` (the permissions engine, once per request), call a
service or selector, and render; 404 for what the user cannot see, 403 for what they may not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Group, ServicePrincipal, User
from registry.access_forms import (
    MAX_SEARCH_LENGTH,
    AssignmentForm,
    AuditFilterForm,
    CheckAccessForm,
    RoleCreateForm,
)
from registry.forms import add_service_error
from registry.models import Namespace, Registry, Repository, RoleAssignment, RoleDefinition
from registry.permissions import engine
from registry.permissions.actions import AUDIT_LOG_READ, ROLE_ASSIGNMENTS_WRITE
from registry.permissions.assignments import (
    OBJECT_ID_RE,
    canonical_scope,
    custom_role_create,
    custom_role_delete,
    is_placeholder,
    principal_find,
    principal_reference,
    role_assignment_create_by_reference,
    role_assignment_delete,
)
from registry.permissions.scopes import ROOT, Scope, parse_scope
from registry.permissions.selectors import (
    ACCESS_REVIEW_ACTIONS,
    AuditFilters,
    at_and_above,
    at_and_below,
    audit_event_list,
    can_review_someone,
    group_list,
    own_assignments,
    role_assignment_list,
    service_principal_list,
    user_list,
)
from registry.views import access
from registry.views.pagination import paginate
from registry.views.rendering import announce, htmx_target, render_page, wants_fragment

SCOPE_TEMPLATE = "access/scope_access.html"
PICKER_TEMPLATE = "access/principal_results.html"
PICKER_LIMIT = 8  # of each kind: a picker narrows as one types, it does not page
KIND_LABELS = {"user": "User", "group": "Group", "service_principal": "Service principal"}


def access_page_url(scope: Scope | str) -> str:
    """The role assignments page of ``scope``."""
    scope = scope if isinstance(scope, Scope) else parse_scope(scope)
    if scope.kind == "root":
        return reverse("access:root_access")
    if scope.kind == "registry":
        return reverse("access:registry_access", args=[scope.registry])
    route = "access:namespace_access" if scope.kind == "namespace" else "access:repository_access"
    return reverse(route, args=[scope.registry, scope.name])


# The principal picker ----------------------------------------------------------------------


@dataclass(frozen=True)
class PrincipalOption:
    reference: str  # what the form sends: ``user:alice``
    label: str
    kind: str
    detail: str = ""
    is_invitation: bool = False


def _user_option(user: User) -> PrincipalOption:
    details = [user.get_full_name(), user.email if user.email != user.username else ""]
    if is_placeholder(user):
        details.append("has not signed in yet")
    return PrincipalOption(
        f"user:{user.username}", user.username, "User", " · ".join(d for d in details if d)
    )


def _group_option(group: Group) -> PrincipalOption:
    detail = f"directory group {group.object_id}" if group.object_id else "local group"
    return PrincipalOption(f"group:{principal_reference(group)}", group.name, "Group", detail)


def _service_principal_option(principal: ServicePrincipal) -> PrincipalOption:
    return PrincipalOption(
        f"service_principal:{principal.client_id}",
        principal.name,
        "Service principal",
        f"client id {principal.client_id}",
    )


def picker_context(query: str, *, selected: str = "", invitations: bool = False) -> dict[str, Any]:
    """What ``access/principal_results.html`` shows for ``query``: at most ``PICKER_LIMIT``
    users, groups and service principals each, and, on pages that may add assignments, an
    invitation for an email address or directory object id nobody has yet."""
    options: list[PrincipalOption] = []
    if query:
        options += [_user_option(u) for u in user_list(search=query)[:PICKER_LIMIT]]
        options += [_group_option(g) for g in group_list(search=query)[:PICKER_LIMIT]]
        options += [
            _service_principal_option(s)
            for s in service_principal_list(search=query)[:PICKER_LIMIT]
        ]
        if invitations:
            options += _invitations(query)
    if selected and all(option.reference != selected for option in options):
        # What was picked before stays picked while the results change.
        kind, _, name = selected.partition(":")
        options.insert(0, PrincipalOption(selected, name, KIND_LABELS.get(kind, kind)))
    return {
        "picker_query": query,
        "picker_options": options,
        "picker_selected": selected,
    }


def _invitations(query: str) -> list[PrincipalOption]:
    if _is_email(query):
        principal_type, label = "user", "User"
        detail = "has not signed in yet: the role waits for their first sign-in"
    elif OBJECT_ID_RE.fullmatch(query):
        principal_type, label = "group", "Group"
        detail = "directory group by object id: its members get the role as they sign in"
    else:
        return []
    try:
        principal_find(principal_type=principal_type, reference=query)
    except ValidationError:
        reference = query.lower()
        return [
            PrincipalOption(
                f"{principal_type}:{reference}", reference, label, detail, is_invitation=True
            )
        ]
    return []  # known already: listed with the others


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _search_text(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_SEARCH_LENGTH]


@require_GET
@login_required
def principal_search(request: HttpRequest) -> HttpResponse:
    """The picker's results for ``?q=`` (an htmx fragment)."""
    if not can_review_someone(access.grants(request)):
        raise PermissionDenied(
            "Finding users, groups and service principals needs roleAssignments/write or "
            "auditLog/read at some scope."
        )
    context = picker_context(
        _search_text(request),
        selected=request.GET.get("principal", "")[:300],
        invitations=request.GET.get("invitations") == "1",
    )
    return render_page(request, PICKER_TEMPLATE, context)


# Role assignments at a scope ---------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentRow:
    assignment: RoleAssignment
    relation: str  # "inherited" (from above), "here", "inside" (below)
    can_remove: bool
    page_scope: str

    @property
    def principal(self) -> PrincipalOption:
        assignment = self.assignment
        if assignment.user is not None:
            return _user_option(assignment.user)
        if assignment.group is not None:
            return _group_option(assignment.group)
        assert assignment.service_principal is not None  # one principal: a database constraint
        return _service_principal_option(assignment.service_principal)

    @property
    def check_url(self) -> str:
        assignment = self.assignment
        reference = f"{assignment.principal_type}:{principal_reference(assignment.principal)}"
        query = urlencode({"principal": reference, "scope": assignment.scope})
        return f"{reverse('access:check')}?{query}"


def _row(request: HttpRequest, assignment: RoleAssignment, page_scope: Scope) -> AssignmentRow:
    scope = parse_scope(assignment.scope)
    if str(scope).lower() == str(page_scope).lower():
        relation = "here"
    elif scope.covers(page_scope):
        relation = "inherited"
    else:
        relation = "inside"
    return AssignmentRow(
        assignment=assignment,
        relation=relation,
        can_remove=access.is_allowed(request, ROLE_ASSIGNMENTS_WRITE, assignment.scope),
        page_scope=str(page_scope),
    )


def _target(request: HttpRequest, requested: Scope) -> tuple[Scope, dict[str, Any]]:
    """The scope in its registry's spelling, once the user may review access there, and what
    the page says about the object it names."""
    access.authorize_any(request, ACCESS_REVIEW_ACTIONS, str(requested))
    if requested.kind == "root":
        return requested, {}
    registry = get_object_or_404(Registry, name__iexact=requested.registry)
    context: dict[str, Any] = {"registry": registry}
    if requested.kind == "namespace":
        context["namespace"] = get_object_or_404(Namespace, registry=registry, name=requested.name)
    elif requested.kind == "repository":
        context["repository"] = get_object_or_404(
            Repository, registry=registry, name=requested.name
        )
    return Scope(requested.kind, registry.name, requested.name), context


def _scope_choices(request: HttpRequest, scope: Scope, registry: Registry | None) -> list:
    """Where an assignment can be added from this page: the scope and its namespaces."""
    choices = [(str(scope), _scope_label(scope))]
    if registry is not None and scope.kind in {"registry", "namespace"}:
        namespaces = registry.namespaces.order_by("name").values_list("name", flat=True)
        for name in namespaces:
            inner = Scope("namespace", registry.name, name)
            if inner != scope and scope.covers(inner):
                choices.append((str(inner), _scope_label(inner)))
    return [c for c in choices if access.is_allowed(request, ROLE_ASSIGNMENTS_WRITE, c[0])]


def _scope_label(scope: Scope) -> str:
    if scope.kind == "root":
        return "The whole portal (/)"
    if scope.kind == "registry":
        return f"Registry {scope.registry}"
    return f"{scope.kind.capitalize()} {scope.name}"


def _scope_page_context(
    request: HttpRequest, scope: Scope, context: dict[str, Any], form: AssignmentForm | None
) -> dict[str, Any]:
    grants = access.grants(request)
    assignments = role_assignment_list(viewer=request.user, grants=grants).filter(
        at_and_above(scope) | at_and_below(scope)
    )
    page = paginate(request, assignments.order_by("scope_key", "role__name", "id"))
    can_manage = grants.allows(ROLE_ASSIGNMENTS_WRITE, str(scope))
    if form is None and can_manage:
        initial = {"scope": request.GET.get("scope", str(scope)), "role": request.GET.get("role")}
        form = AssignmentForm(
            initial=initial, scopes=_scope_choices(request, scope, context.get("registry"))
        )
    selected = form["principal"].value() if form is not None and form.is_bound else ""
    return {
        **context,
        "scope": scope,
        "scope_label": _scope_label(scope),
        "page": page,
        "rows": [_row(request, a, scope) for a in page.object_list],
        "can_manage": can_manage,
        "form": form,
        "page_url": access_page_url(scope),
        **picker_context(_search_text(request), selected=selected or "", invitations=True),
    }


def _scope_access(request: HttpRequest, requested: Scope) -> HttpResponse:
    scope, context = _target(request, requested)
    if request.method != "POST":
        fragment = "assignments" if htmx_target(request) == "assignments" else None
        page_context = _scope_page_context(request, scope, context, None)
        return render_page(request, SCOPE_TEMPLATE, page_context, fragment=fragment)

    access.authorize(request, ROLE_ASSIGNMENTS_WRITE, str(scope))
    form = AssignmentForm(
        request.POST, scopes=_scope_choices(request, scope, context.get("registry"))
    )
    if form.is_valid():
        data = form.cleaned_data
        principal_type, reference = data["principal"]
        try:
            assignment = role_assignment_create_by_reference(
                actor=request.user,
                role=data["role"],
                scope=data["scope"],
                principal_type=principal_type,
                principal=reference,
                expires_at=form.expires_at,
                reason=data["reason"],
            )
        except ValidationError as exc:
            add_service_error(form, _on_form_fields(exc))
        else:
            messages.success(
                request,
                f"{assignment.role.name} assigned to {assignment.principal} at {assignment.scope}.",
            )
            if not wants_fragment(request):
                return redirect(f"{access_page_url(scope)}#assignments")
            response = render_page(
                request,
                SCOPE_TEMPLATE,
                _scope_page_context(request, scope, context, None),
                fragment="assignments",
            )
            return announce(response, "roleAssignmentChanged", scope=assignment.scope)
    return render_page(
        request,
        SCOPE_TEMPLATE,
        _scope_page_context(request, scope, context, form),
        fragment="assignments",
    )


def _on_form_fields(error: ValidationError) -> ValidationError:
    """The service's field names as the form has them (``expires_at`` is picked as a day)."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {("expires_on" if k == "expires_at" else k): v for k, v in error.error_dict.items()}
    )


@require_http_methods(["GET", "POST"])
@login_required
def root_access(request: HttpRequest) -> HttpResponse:
    return _scope_access(request, ROOT)


@require_http_methods(["GET", "POST"])
@login_required
def registry_access(request: HttpRequest, registry: str) -> HttpResponse:
    return _scope_access(request, Scope("registry", registry))


@require_http_methods(["GET", "POST"])
@login_required
def namespace_access(request: HttpRequest, registry: str, namespace: str) -> HttpResponse:
    return _scope_access(request, Scope("namespace", registry, namespace))


@require_http_methods(["GET", "POST"])
@login_required
def repository_access(request: HttpRequest, registry: str, repository: str) -> HttpResponse:
    return _scope_access(request, Scope("repository", registry, repository))


# One assignment: its row, removing it ------------------------------------------------------


def _visible_assignment(request: HttpRequest, pk: int) -> RoleAssignment:
    found = (
        role_assignment_list(viewer=request.user, grants=access.grants(request))
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404("No such role assignment.")
    return found


def _page_scope(request: HttpRequest, assignment: RoleAssignment) -> Scope:
    """The scope of the page the user came from (``?at=``), else the assignment's."""
    text = request.POST.get("at") or request.GET.get("at") or assignment.scope
    try:
        return parse_scope(text)
    except ValueError:
        return parse_scope(assignment.scope)


@require_GET
@login_required
def assignment_row(request: HttpRequest, pk: int) -> HttpResponse:
    """An assignment's row as the page shows it ("Cancel" on an inline removal puts it back)."""
    found = _visible_assignment(request, pk)
    page_scope = _page_scope(request, found)
    if not wants_fragment(request):
        return redirect(f"{access_page_url(page_scope)}#assignments")
    context = {"row": _row(request, found, page_scope)}
    return render_page(request, SCOPE_TEMPLATE, context, fragment="assignment_row")


@require_http_methods(["GET", "POST"])
@login_required
def assignment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    found = _visible_assignment(request, pk)
    access.authorize(request, ROLE_ASSIGNMENTS_WRITE, found.scope)
    page_scope = _page_scope(request, found)
    if request.method == "POST":
        description = f"{found.role.name} of {found.principal} at {found.scope}"
        scope = found.scope
        role_assignment_delete(actor=request.user, assignment=found)
        messages.success(request, f"Removed {description}.")
        if not wants_fragment(request):
            return redirect(f"{access_page_url(page_scope)}#assignments")
        try:
            target, context = _target(request, page_scope)
        except (Http404, PermissionDenied):
            response = HttpResponse("")  # the page is gone: the row goes, nothing else
        else:
            response = render_page(
                request,
                SCOPE_TEMPLATE,
                _scope_page_context(request, target, context, None),
                fragment="assignments",
            )
        return announce(response, "roleAssignmentChanged", scope=scope)
    context = {"row": _row(request, found, page_scope), "page_url": access_page_url(page_scope)}
    return render_page(
        request, "access/assignment_confirm_delete.html", context, fragment="confirm_row"
    )


# Overview ----------------------------------------------------------------------------------


@require_GET
@login_required
def access_overview(request: HttpRequest) -> HttpResponse:
    grants = access.grants(request)
    reviewed = [
        {"scope": s, "label": _scope_label(s), "url": access_page_url(s)}
        for s in grants.scopes_with(*ACCESS_REVIEW_ACTIONS)
    ]
    context = {
        "mine": list(own_assignments(request.user)),
        "reviewed": reviewed,
        "can_read_audit": bool(grants.scopes_with(AUDIT_LOG_READ)),
        "can_review": bool(reviewed),
    }
    return render_page(request, "access/overview.html", context)


# Role definitions --------------------------------------------------------------------------


@require_GET
@login_required
def role_list(request: HttpRequest) -> HttpResponse:
    roles = RoleDefinition.objects.annotate(assignment_count=Count("assignments"))
    context = {
        "roles": list(roles),
        "can_manage": access.is_allowed(request, ROLE_ASSIGNMENTS_WRITE, access.ROOT_SCOPE),
    }
    return render_page(request, "access/role_list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def role_create(request: HttpRequest) -> HttpResponse:
    access.authorize(request, ROLE_ASSIGNMENTS_WRITE, access.ROOT_SCOPE)
    form = RoleCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            role = custom_role_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Role {role.name} created.")
            return redirect(f"{reverse('access:role_list')}#role-{role.name}")
    return render_page(request, "access/role_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@login_required
def role_delete(request: HttpRequest, name: str) -> HttpResponse:
    access.authorize(request, ROLE_ASSIGNMENTS_WRITE, access.ROOT_SCOPE)
    role = get_object_or_404(
        RoleDefinition.objects.annotate(assignment_count=Count("assignments")), name__iexact=name
    )
    if request.method == "POST":
        custom_role_delete(actor=request.user, role=role)  # refusals: 409 (middleware)
        messages.success(request, f"Role {role.name} removed.")
        target = reverse("access:role_list")
        return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)
    return render_page(request, "access/role_confirm_delete.html", {"role": role})


# Check access ------------------------------------------------------------------------------


@require_GET
@login_required
def check_access(request: HttpRequest) -> HttpResponse:
    asked = "action" in request.GET
    selected = request.GET.get("principal", "").strip()[:300]
    form = CheckAccessForm(
        request.GET if asked else None,
        initial={"scope": request.GET.get("scope", ""), "principal": selected},
    )
    may_review = can_review_someone(access.grants(request))
    context: dict[str, Any] = {
        "form": form,
        "may_review": may_review,
        "decision": None,
        "refusal": "",
        **picker_context(_search_text(request) if may_review else "", selected=selected),
    }
    status = 200
    if asked and form.is_valid():
        status = _check(request, form, context)
    return render_page(request, "access/check.html", context, status=status)


def _check(request: HttpRequest, form: CheckAccessForm, context: dict[str, Any]) -> int:
    """Answer the question on ``form`` into ``context``; the page's status."""
    data = form.cleaned_data
    user = request.user
    reference = data["principal"]
    is_self = reference is None or reference == ("user", user.get_username())
    scope = str(data["scope"])
    try:
        if is_self:
            access.authorize(request, None, scope)
        else:
            access.authorize_any(request, ACCESS_REVIEW_ACTIONS, scope)
    except Http404:
        context["refusal"] = f"Nothing you can see is at {scope}."
        return 404
    except PermissionDenied as exc:
        context["refusal"] = f"{exc} You may check your own access anywhere you hold a role."
        return 403
    try:
        canonical = canonical_scope(scope)
        principal: Any = (
            user if is_self else principal_find(principal_type=reference[0], reference=reference[1])
        )
    except ValidationError as exc:
        add_service_error(form, exc)
        return 200
    context["decision"] = engine.explain(principal, data["action"], canonical)
    context["checked"] = {"principal": principal, "action": data["action"], "scope": canonical}
    return 200


# The audit log -----------------------------------------------------------------------------


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    grants = access.grants(request)
    if not grants.scopes_with(AUDIT_LOG_READ):
        raise PermissionDenied(
            f"Reading the audit log needs {AUDIT_LOG_READ} at / or at a registry, namespace or "
            "repository."
        )
    form = AuditFilterForm(request.GET)
    if form.is_valid():
        data = form.cleaned_data
        filters = AuditFilters(
            actor=data["actor"].strip(),
            scope=data["scope"],
            match="at_and_below" if data["below"] else "exact",
            action=data["action"].strip(),
            since=form.start_of(data["since"]),
            until=form.end_of(data["until"]),
        )
        events = audit_event_list(grants=grants, filters=filters)
    else:
        events = audit_event_list(grants=grants, filters=AuditFilters()).none()
    context = {
        "form": form,
        "page": paginate(request, events.order_by("-created_at", "-id")),
        "everything": ROOT in grants.scopes_with(AUDIT_LOG_READ),
    }
    fragment = "results" if htmx_target(request) == "audit-results" else None
    return render_page(request, "access/audit_log.html", context, fragment=fragment)
