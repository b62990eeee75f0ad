"""Access requests in headless Chromium, proved with skopeo on a real registry.

dave, who may pull from ``team-a``, asks for push access from the namespace's page; linda, the
namespace's team lead, sees the count in her navigation, approves from her inbox in place; dave
pushes with skopeo; the grant ends, the sweep marks it expired, dave's page says so and his
next push is refused.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.services import personal_access_token_create
from registry.models import AccessRequest, Namespace, Registry, RoleAssignment, RoleDefinition
from tests.fixtures.images import build_image
from tests.fixtures.registry import guarded_registry
from tests.registry.test_token_server import push, refused

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

NAME = "browsed1"
SERVICE = "browsed-registry"
PASSWORD = "grace-hopper-1906"


@pytest.fixture(scope="module")
def portal_registry(live_server, django_db_setup, django_db_blocker, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("browsed")
    with guarded_registry(
        live_server, django_db_blocker, workdir, name=NAME, service=SERVICE
    ) as server:
        yield server


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return build_image(tmp_path_factory.mktemp("image"), seed="access-requests-browser")


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_a_developer_asks_the_team_lead_approves_in_the_inbox_and_the_grant_ends(
    page, browser, live_server, portal_registry, image, screenshots, tmp_path, django_user_model
):
    registry = Registry.objects.create(name=NAME, login_server=portal_registry.url, service=SERVICE)
    team_a = Namespace.objects.create(registry=registry, name="team-a")
    dave = django_user_model.objects.create_user("dave", "dave@example.com", PASSWORD)
    linda = django_user_model.objects.create_user("linda", "linda@example.com", PASSWORD)
    team_a.owners.set([linda])
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPull"), scope=team_a.scope, user=dave
    )
    creds = f"dave:{personal_access_token_create(user=dave, name='laptop').token}"
    repository = f"team-a/web-{uuid.uuid4().hex[:8]}"
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # dave asks from the namespace's page.
    assert refused(push(image, portal_registry.host, repository, creds, tmp_path))
    sign_in(page, "dave")
    page.goto(f"/registries/{NAME}/namespaces/team-a/")
    page.get_by_role("button", name="Request push access").click()
    expect(page.get_by_role("heading", name="Request access", level=1)).to_be_visible()
    expect(page.get_by_label("Role")).to_have_value("AcrPush")
    expect(page.get_by_label("Scope")).to_have_value(team_a.scope)
    page.get_by_label("Justification").fill("I release the team-a web image.")
    page.get_by_label("Duration").select_option("7")
    screenshots(page, "request-form")
    page.get_by_role("button", name="Send request").click()
    asked = AccessRequest.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Access request {asked.pk} Pending")
    expect(page.locator("#messages")).to_contain_text("team leads of")
    screenshots(page, "request-sent")

    # linda sees the count, opens her inbox and approves in place.
    lead = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    lead.set_default_timeout(10_000)
    linda_page = lead.new_page()
    linda_page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(linda_page, "linda")
    navigation = linda_page.locator("#nav-access-requests")
    expect(navigation).to_contain_text("1")
    navigation.get_by_role("link").click()
    expect(linda_page.get_by_role("heading", name="Access requests to decide")).to_be_visible()
    row = linda_page.locator(f"#request-{asked.pk}")
    expect(row).to_contain_text("I release the team-a web image.")
    expect(row.get_by_label(f"Grant request {asked.pk} for")).to_have_value("7")
    screenshots(linda_page, "inbox")
    row.get_by_role("button", name=f"Approve request {asked.pk}").click()
    expect(row).to_contain_text("Approved")
    expect(linda_page.locator("#messages")).to_contain_text("Approved: dave holds AcrPush")
    expect(navigation.locator(".badge")).to_have_count(0)
    screenshots(linda_page, "approved-in-place")
    lead.close()

    # dave pushes.
    pushed = push(image, portal_registry.host, repository, creds, tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    page.goto("/access-requests/")
    expect(page.locator(f"#my-request-{asked.pk}")).to_contain_text("Approved")

    # A week later: the grant has ended, the sweep says so, the registry refuses.
    past = timezone.now() - datetime.timedelta(minutes=1)
    asked.refresh_from_db()
    RoleAssignment.objects.filter(pk=asked.assignment_id).update(expires_at=past)
    AccessRequest.objects.filter(pk=asked.pk).update(grant_expires_at=past)
    call_command("expire_access_requests")
    page.reload()
    expect(page.locator(f"#my-request-{asked.pk}")).to_contain_text("Expired")
    screenshots(page, "grant-expired")
    after = push(image, portal_registry.host, repository, creds, tmp_path, tag="2.0")
    assert refused(after), after.stderr
    assert errors == []


PHONE_WIDTH = 375


@pytest.mark.parametrize(
    "path", ["/access-requests/new/", "/access-requests/", "/access-requests/inbox/", "detail"]
)
def test_the_request_pages_fit_a_375px_screen(browser, live_server, django_user_model, path):
    registry = Registry.objects.create(name="phoneacr", login_server="http://127.0.0.1:15998")
    team_a = Namespace.objects.create(registry=registry, name="team-a")
    dave = django_user_model.objects.create_user("dave", "dave@example.com", PASSWORD)
    linda = django_user_model.objects.create_user("linda", "linda@example.com", PASSWORD)
    team_a.owners.set([linda])
    from registry.access_requests.services import access_request_create

    asked = access_request_create(
        actor=dave,
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope=team_a.scope,
        justification="A long justification that has to wrap on a small screen, twice over.",
    )
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": PHONE_WIDTH, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    try:
        phone = context.new_page()
        sign_in(phone, "linda" if path.endswith("inbox/") else "dave")
        phone.goto(f"/access-requests/{asked.pk}/" if path == "detail" else path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} is {width}px wide on a 375px screen"
    finally:
        context.close()
