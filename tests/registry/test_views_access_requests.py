"""Access requests in the pages: the 403 offer, the form, the inbox, my requests, one request."""

from __future__ import annotations

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from registry.access_requests.services import access_request_approve
from registry.models import AccessRequest, Namespace, RoleAssignment
from registry.templatetags.access_requests import parse_refusal
from tests.fixtures.access_requests import TEAM_A, TEAM_B, ask, assign

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx_row(pk):
    return {**HTMX, "HTTP_HX_TARGET": f"request-{pk}"}


def signed_in(client, user):
    client.force_login(user)
    return client


# The 403 page ----------------------------------------------------------------------------


def test_the_403_page_offers_the_smallest_role_with_the_scope_filled_in(client, crew, settings):
    settings.DEBUG = False
    signed_in(client, crew.rita)  # Reader on team-a: sees the namespace, may not edit it

    response = client.get("/registries/prod1/namespaces/team-a/_edit/")

    assert response.status_code == 403
    html = response.content.decode()
    link = re.search(r'href="(/access-requests/new/\?[^"]+)"[^>]*>Request access \((\w+)\)', html)
    assert link, html
    query = parse_qs(urlsplit(link[1].replace("&amp;", "&")).query)
    assert query == {
        "scope": ["/registries/prod1/namespaces/team-a"],
        "action": ["registry/write"],
        "role": ["Contributor"],
    }
    assert link[2] == "Contributor"

    form = client.get(link[1].replace("&amp;", "&"))
    assert form.status_code == 200
    page = form.content.decode()
    assert 'value="/registries/prod1/namespaces/team-a"' in page
    assert '<option value="Contributor" selected>' in page
    assert "is the smallest built-in role that allows it" in page


def test_the_403_page_without_a_named_action_offers_the_empty_form(client, crew, settings):
    settings.DEBUG = False
    html = render_to_string("403.html", {"exception": ""}, request=_request_for(crew.dave))
    assert 'href="/access-requests/new/"' in html
    own = render_to_string(
        "403.html",
        {"exception": "Nobody decides their own access request."},
        request=_request_for(crew.dave),
    )
    assert "/access-requests/new/" not in own


def _request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_refusals_are_read_back_from_the_permission_messages():
    assert parse_refusal("You are not allowed to do content/write at /registries/a1b2c.") == (
        "content/write",
        "/registries/a1b2c",
    )
    assert parse_refusal(
        "You are not allowed to do roleAssignments/write or auditLog/read at /."
    ) == ("roleAssignments/write", "/")
    assert parse_refusal("Not found.") is None


def test_a_namespace_page_offers_push_access_to_those_without_it(client, crew):
    assign("AcrPull", TEAM_A, user=crew.dave)
    signed_in(client, crew.dave)
    html = client.get("/registries/prod1/namespaces/team-a/").content.decode()
    assert (
        "/access-requests/new/?scope=%2Fregistries%2Fprod1%2Fnamespaces%2Fteam-a"
        "&amp;action=content/write" in html
    )
    assert "One team lead approves; grants expire" in html

    signed_in(client, crew.sam)
    assert (
        "Request push access"
        not in client.get("/registries/prod1/namespaces/team-a/").content.decode()
    )


# Asking ----------------------------------------------------------------------------------


def test_the_form_asks_and_shows_the_request(client, crew, dave_ci):
    signed_in(client, crew.dave)
    page = client.get("/access-requests/new/?action=content/write&scope=" + TEAM_A)
    html = page.content.decode()
    assert '<option value="AcrPush" selected>' in html
    assert "Service principal dave-ci" in html
    assert '<option value="30" selected>' in html

    response = client.post(
        "/access-requests/new/",
        {
            "role": "AcrPush",
            "scope": TEAM_A,
            "principal": str(dave_ci.pk),
            "justification": "Deploys from CI",
            "duration": "7",
        },
    )

    asked = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/access-requests/{asked.pk}/"
    assert (asked.service_principal, asked.duration_days) == (dave_ci, 7)
    detail = client.get(response["Location"]).content.decode()
    assert f"Access request {asked.pk} sent" in detail
    assert "Cancel this request" in detail
    assert "Approve" not in detail


def test_the_form_shows_what_the_service_refused(client, crew):
    signed_in(client, crew.dave)
    response = client.post(
        "/access-requests/new/",
        {
            "role": "AcrPush",
            "scope": "/registries/prod1/namespaces/nope",
            "principal": "me",
            "justification": "x",
            "duration": "permanent",
        },
    )
    assert response.status_code == 200
    assert "has no namespace named" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_the_pages_need_a_signed_in_user(client, crew):
    asked = ask(crew)
    for path in ("/access-requests/", "/access-requests/new/", "/access-requests/inbox/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = client.post(f"/access-requests/{asked.pk}/approve/")
    assert response.status_code == 302
    assert AccessRequest.objects.get().status == "pending"


# The inbox -------------------------------------------------------------------------------


def test_the_inbox_lists_what_waits_for_the_user(client, crew):
    asked = ask(crew)
    elsewhere = ask(crew, scope=TEAM_B)

    html = signed_in(client, crew.linda).get("/access-requests/inbox/").content.decode()

    assert f'id="request-{asked.pk}"' in html
    assert f'id="request-{elsewhere.pk}"' not in html
    assert "I ship the team-a images." in html
    assert 'title="Waiting for your decision">1<' in html

    mine = signed_in(client, crew.dave).get("/access-requests/inbox/").content.decode()
    assert "Nothing is waiting for your decision." in mine


def test_approving_in_place_swaps_the_row_and_the_count(client, crew):
    asked = ask(crew)
    signed_in(client, crew.linda)

    response = client.post(
        f"/access-requests/{asked.pk}/approve/", {"duration": "7"}, **htmx_row(asked.pk)
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="request-{asked.pk}">')
    assert "Approved" in html
    assert 'id="nav-access-requests" hx-swap-oob="true"' in html
    assert "Waiting for your decision" not in html  # the count went to zero
    assert "accessRequestChanged" in response["HX-Trigger"]
    asked.refresh_from_db()
    assert (asked.status, asked.granted_days) == ("approved", 7)


def test_denying_in_place_asks_for_a_reason(client, crew):
    asked = ask(crew)
    signed_in(client, crew.linda)

    form = client.get(f"/access-requests/{asked.pk}/deny/", **htmx_row(asked.pk))
    assert 'name="reason"' in form.content.decode()
    empty = client.post(f"/access-requests/{asked.pk}/deny/", {"reason": ""}, **htmx_row(asked.pk))
    assert empty.status_code == 400
    assert empty["HX-Reswap"] == "outerHTML"
    assert "This field is required." in empty.content.decode()

    done = client.post(
        f"/access-requests/{asked.pk}/deny/", {"reason": "Use AcrPull."}, **htmx_row(asked.pk)
    )

    assert done.status_code == 200
    assert "Denied" in done.content.decode()
    asked.refresh_from_db()
    assert (asked.status, asked.reason) == ("denied", "Use AcrPull.")


def test_cancel_on_an_inline_deny_puts_the_row_back(client, crew):
    asked = ask(crew)
    signed_in(client, crew.linda)
    response = client.get(f"/access-requests/{asked.pk}/", **htmx_row(asked.pk))
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="request-{asked.pk}">')
    assert f"Approve request {asked.pk}" in html


def test_an_invalid_duration_approves_nothing(client, crew):
    asked = ask(crew, duration_days=7)
    signed_in(client, crew.linda)
    response = client.post(f"/access-requests/{asked.pk}/approve/", {"duration": "30"}, follow=True)
    assert "at most as asked" in response.content.decode()
    assert AccessRequest.objects.get().status == "pending"


def test_decisions_work_without_javascript(client, crew):
    first, second = ask(crew), ask(crew, role_name="AcrPull")
    signed_in(client, crew.linda)

    approved = client.post(
        f"/access-requests/{first.pk}/approve/",
        {"duration": "30", "next": "/access-requests/inbox/"},
    )
    denied = client.post(f"/access-requests/{second.pk}/deny/", {"reason": "Enough."})

    assert approved.status_code == 302
    assert approved["Location"] == "/access-requests/inbox/"
    assert denied.status_code == 302
    assert denied["Location"] == f"/access-requests/{second.pk}/"
    assert set(AccessRequest.objects.values_list("status", flat=True)) == {"approved", "denied"}
    # A redirect elsewhere is not followed.
    third = ask(crew, role_name="Reader")
    away = client.post(
        f"/access-requests/{third.pk}/approve/", {"next": "https://evil.example.com/"}
    )
    assert away["Location"] == f"/access-requests/{third.pk}/"


def test_bulk_approve(client, crew):
    picked = [ask(crew, role_name=name) for name in ("AcrPull", "AcrPush", "Reader")]
    other = ask(crew, scope=TEAM_B)
    signed_in(client, crew.linda)

    response = client.post(
        "/access-requests/inbox/approve/",
        {"request": [str(picked[0].pk), str(picked[1].pk), str(other.pk), "junk"]},
        **HTMX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved 2 requests." in html
    assert f'id="request-{picked[2].pk}"' in html
    statuses = dict(AccessRequest.objects.values_list("pk", "status"))
    assert statuses == {
        picked[0].pk: "approved",
        picked[1].pk: "approved",
        picked[2].pk: "pending",
        other.pk: "pending",  # not linda's to decide: ignored
    }
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 2


def test_self_approval_from_the_pages_is_refused(client, crew):
    asked = ask(crew, actor=crew.linda)
    signed_in(client, crew.linda)
    assert client.post(f"/access-requests/{asked.pk}/approve/").status_code == 403
    assert AccessRequest.objects.get().status == "pending"


@pytest.mark.parametrize(("who", "status"), [("rita", 403), ("carl", 404)])
def test_outsiders_cannot_read_or_decide(client, crew, who, status):
    asked = ask(crew)
    signed_in(client, getattr(crew, who))
    assert client.get(f"/access-requests/{asked.pk}/").status_code == status
    assert client.post(f"/access-requests/{asked.pk}/approve/").status_code == status
    assert client.post(f"/access-requests/{asked.pk}/deny/", {"reason": "x"}).status_code == status
    assert AccessRequest.objects.get().status == "pending"


# My requests and one request ---------------------------------------------------------------


def test_my_requests_shows_status_history_and_extend(client, crew):
    pending = ask(crew, role_name="AcrPull")
    granted = access_request_approve(
        actor=crew.linda, access_request=ask(crew, duration_days=7)
    ).access_request
    signed_in(client, crew.dave)

    html = client.get("/access-requests/").content.decode()
    assert f"Cancel request {pending.pk}" in html
    assert f"Extend request {granted.pk}" in html
    only_approved = client.get("/access-requests/?status=approved").content.decode()
    assert f"#{pending.pk}<" not in only_approved

    detail = client.get(f"/access-requests/{granted.pk}/").content.decode()
    assert "Ask to extend" in detail
    assert "linda: approve" in detail
    extended = client.post(
        f"/access-requests/{granted.pk}/extend/", {"duration": "7", "justification": "More"}
    )
    extension = AccessRequest.objects.get(extends=granted)
    assert extended["Location"] == f"/access-requests/{extension.pk}/"

    cancelled = client.post(f"/access-requests/{pending.pk}/cancel/", {"next": "/access-requests/"})
    assert cancelled["Location"] == "/access-requests/"
    assert AccessRequest.objects.get(pk=pending.pk).status == "cancelled"


def test_the_team_lead_decides_on_the_request_page(client, crew):
    asked = ask(crew)
    signed_in(client, crew.sam)
    html = client.get(f"/access-requests/{asked.pk}/").content.decode()
    assert "Decide" in html
    assert 'name="reason"' in html

    response = client.post(f"/access-requests/{asked.pk}/deny/", {"reason": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_an_extension_of_an_expired_grant_is_refused_with_a_message(client, crew):
    granted = access_request_approve(actor=crew.linda, access_request=ask(crew)).access_request
    AccessRequest.objects.filter(pk=granted.pk).update(
        grant_expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    signed_in(client, crew.dave)
    response = client.post(
        f"/access-requests/{granted.pk}/extend/",
        {"duration": "7", "justification": "More"},
        follow=True,
    )
    assert "can be extended" in response.content.decode()
    assert not AccessRequest.objects.filter(extends=granted).exists()


# Navigation ------------------------------------------------------------------------------


def test_the_navigation_count_costs_one_query(client, crew, django_assert_num_queries):
    for name in ("AcrPull", "AcrPush", "Reader"):
        ask(crew, role_name=name)
    request = _request_for(crew.linda)
    from registry.access_requests.context_processors import navigation

    context = navigation(request)
    with django_assert_num_queries(1):
        assert context["access_requests_waiting"]() == 3
        assert context["access_requests_waiting"]() == 3
    assert navigation(_request_for(_anonymous())) == {}


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def test_the_navigation_links_to_the_inbox_when_something_waits(client, crew):
    ask(crew)
    linda = signed_in(client, crew.linda).get("/").content.decode()
    assert re.search(r'<li id="nav-access-requests"><a href="/access-requests/inbox/"', linda)
    dave = signed_in(client, crew.dave).get("/").content.decode()
    assert re.search(r'<li id="nav-access-requests"><a href="/access-requests/"', dave)


def test_the_namespace_form_sets_the_access_request_policy(admin_client, crew):
    response = admin_client.post(
        "/registries/prod1/namespaces/team-a/_edit/",
        {"description": "", "owners": [crew.linda.pk], "approvals_required": "2"},
    )
    assert response.status_code == 302
    namespace = Namespace.objects.get(pk=crew.team_a.pk)
    assert (namespace.approvals_required, namespace.permanent_grants_allowed) == (2, False)
    assert ask(crew).approvals_required == 2


@pytest.mark.parametrize("path", ["/access-requests/inbox/", "/access-requests/"])
def test_the_lists_cost_the_same_for_many_requests(
    client, crew, path, django_assert_max_num_queries
):
    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    signed_in(client, crew.linda if "inbox" in path else crew.dave)
    ask(crew, role_name="AcrPull")
    few = count_queries()
    for scope in (TEAM_A, TEAM_B):
        for name in ("AcrPush", "AcrDelete", "Reader", "Auditor"):
            if (scope, name) != (TEAM_A, "AcrPull"):
                ask(crew, scope=scope, role_name=name)
    assert count_queries() == few
    with django_assert_max_num_queries(12):
        client.get(path)
