"""An administrator gives someone access, checks it and takes it back, in headless Chromium.

The journey opens a registry's access page, finds a user with the principal picker by typing
part of their name, assigns AcrPush on a namespace with an expiry date, sees the assignment
listed, checks that user's access ("allowed via AcrPush …") and removes the assignment with the
in-place confirmation. The database is asked after each step whether the page told the truth.
A second test opens every access-control page on a 375px phone screen.
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from registry.models import AuditEvent, Namespace, Registry, RoleAssignment, RoleDefinition
from registry.permissions import engine
from tests.browser.test_journey import UNLABELLED_CONTROLS, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "grace-hopper-1906"
REGISTRY = "accessacr"
NAMESPACE_SCOPE = f"/registries/{REGISTRY}/namespaces/team-a"
APP_SCOPE = f"/registries/{REGISTRY}/repositories/team-a/app"


@pytest.fixture
def people(django_user_model):
    """Mary, the administrator; Grace and Gregory, whose names start alike."""
    django_user_model.objects.create_user(
        "mary", "mary@example.com", PASSWORD, is_staff=True, is_superuser=True
    )
    grace = django_user_model.objects.create_user(
        "grace", "grace@example.com", "x-unused-password-1", first_name="Grace", last_name="Hopper"
    )
    django_user_model.objects.create_user(
        "gregory", "gregory@example.com", "x-unused-password-2", first_name="Gregory"
    )
    # Nothing listens on port 9: the access pages never call the registry.
    registry = Registry.objects.create(name=REGISTRY, login_server="http://127.0.0.1:9")
    Namespace.objects.create(registry=registry, name="team-a", description="Team A")
    return grace


def sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill("mary")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_an_administrator_gives_access_checks_it_and_takes_it_back(
    page, live_server, screenshots, people
):
    grace = people
    log = watch(page, live_server.url)
    base = live_server.url
    access_page = f"{base}/registries/{REGISTRY}/access/"
    expires_on = datetime.date.today() + datetime.timedelta(days=30)
    sign_in(page)

    # The registry page leads to its access page.
    page.goto(f"/registries/{REGISTRY}/")
    page.get_by_role("main").get_by_role("button", name="Access", exact=True).click()
    expect(page).to_have_url(access_page)
    expect(
        page.get_by_role("heading", name=f"Access: Registry {REGISTRY}", level=1)
    ).to_be_visible()
    expect(page.locator("#assignments").get_by_role("status").first).to_have_text(
        "No role assignment applies here yet."
    )
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    screenshots(page, "access-page")

    # The picker narrows as Mary types part of Grace's surname, without reloading the page.
    page.evaluate("window.journeyMarker = 'still the same page'")
    search = page.get_by_label("Find a user, group or service principal")
    with page.expect_response(
        lambda answer: "/access/principals/?" in answer.url and "q=hop" in answer.url
    ) as found:
        search.press_sequentially("hop", delay=40)
    assert found.value.ok
    results = page.locator("#principal-results")
    expect(results.get_by_role("status")).to_have_text("1 match for “hop”.")
    expect(results.get_by_role("radio")).to_have_count(1)
    assert page.evaluate("window.journeyMarker") == "still the same page"
    results.get_by_role("radio", name=re.compile(r"^grace User · Grace Hopper")).check()
    screenshots(page, "picker")

    # AcrPush on the namespace, until a day a month from now.
    form = page.locator("#add-assignment")
    form.get_by_label("Role").select_option("AcrPush")
    form.get_by_label("Where").select_option(NAMESPACE_SCOPE)
    form.get_by_label("Expires after").fill(expires_on.isoformat())
    form.get_by_label("Reason").fill("Release week")
    screenshots(page, "assignment-form")
    form.get_by_role("button", name="Assign role").click()

    expect(page.locator("#messages")).to_contain_text(
        f"AcrPush assigned to grace at {NAMESPACE_SCOPE}."
    )
    row = page.locator("#assignments tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_contain_text("grace")
    expect(row).to_contain_text("AcrPush")
    expect(row).to_contain_text(NAMESPACE_SCOPE)
    expect(row).to_contain_text(f"{expires_on.strftime('%-d %b %Y')}, 23:59 UTC")
    expect(row).to_contain_text("Release week")
    assert page.evaluate("window.journeyMarker") == "still the same page"
    screenshots(page, "assigned")
    assignment = RoleAssignment.objects.get(user=grace)
    assert (assignment.role.name, assignment.scope) == ("AcrPush", NAMESPACE_SCOPE)
    assert assignment.expires_at.date() == expires_on
    assert engine.is_allowed(grace, "content/write", APP_SCOPE)

    # Checking Grace's access from her row: the page names the assignment that allows it.
    row.get_by_role("link", name="Check the access of grace").click()
    expect(page).to_have_url(re.compile(r"/access/check/\?principal=user%3Agrace&scope="))
    expect(page.get_by_role("radio", name=re.compile("^grace"))).to_be_checked()
    page.get_by_label("Action").select_option("content/write")
    expect(page.get_by_label("Scope")).to_have_value(NAMESPACE_SCOPE)
    page.get_by_role("button", name="Check", exact=True).click()
    result = page.locator("#check-result")
    expect(result.get_by_role("heading")).to_contain_text("Allowed")
    expect(result.get_by_role("status")).to_have_text(
        f"allowed via AcrPush assigned to user grace at {NAMESPACE_SCOPE}"
    )
    screenshots(page, "check-access")

    # Removing it, confirmed in place.
    page.goto(access_page)
    row = page.locator("#assignments tbody tr")
    row.get_by_role("button", name=f"Remove AcrPush of grace at {NAMESPACE_SCOPE}").click()
    confirm = page.locator("#assignments tr.confirm-row")
    expect(confirm).to_contain_text(f"Remove AcrPush of grace at {NAMESPACE_SCOPE}?")
    screenshots(page, "confirm-removal")
    confirm.get_by_role("button", name="Remove assignment").click()

    expect(page.locator("#messages")).to_contain_text(
        f"Removed AcrPush of grace at {NAMESPACE_SCOPE}."
    )
    expect(page.locator("#assignments tbody tr")).to_have_count(0)
    expect(page.locator("#assignments").get_by_role("status").first).to_have_text(
        "No role assignment applies here yet."
    )
    screenshots(page, "removed")
    assert not RoleAssignment.objects.filter(user=grace).exists()
    assert not engine.is_allowed(grace, "content/write", APP_SCOPE)
    assert list(
        AuditEvent.objects.filter(action__startswith="roleAssignment.")
        .order_by("pk")
        .values_list("action", "actor__username", "scope")
    ) == [
        ("roleAssignment.create", "mary", NAMESPACE_SCOPE),
        ("roleAssignment.delete", "mary", NAMESPACE_SCOPE),
    ]

    assert log.console_errors == []
    assert log.page_errors == []
    assert log.failed_static == []
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in screenshots.taken)


# Small screens -----------------------------------------------------------------------------

PHONE_WIDTH = 375
ACCESS_PAGES = [
    pytest.param("/access/", id="overview"),
    pytest.param("/access/portal/", id="portal-wide"),
    pytest.param(f"/registries/{REGISTRY}/access/", id="registry-access"),
    pytest.param(f"/registries/{REGISTRY}/namespaces/team-a/_access/?q=gr", id="namespace-access"),
    pytest.param("/access/roles/", id="roles"),
    pytest.param("/access/roles/new/", id="new-role"),
    pytest.param(
        f"/access/check/?principal=user:grace&action=content/write&scope={NAMESPACE_SCOPE}",
        id="check-access",
    ),
    pytest.param("/audit/", id="audit-log"),
]


@pytest.mark.parametrize("path", ACCESS_PAGES)
def test_access_pages_fit_a_375px_screen_and_label_their_controls(
    browser, live_server, screenshots, people, path
):
    grace = people
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope=NAMESPACE_SCOPE,
        user=grace,
        reason="A reason long enough to wrap on a phone screen, as reasons are",
    )
    AuditEvent.objects.create(
        actor_name="mary", action="roleAssignment.create", scope=NAMESPACE_SCOPE, details={}
    )
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": PHONE_WIDTH, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    phone = context.new_page()
    try:
        log = watch(phone, live_server.url)
        sign_in(phone)
        phone.goto(path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        assert phone.evaluate(UNLABELLED_CONTROLS) == []
        screenshots(phone, "phone")
        page_width = phone.evaluate("document.documentElement.scrollWidth")
        assert page_width <= PHONE_WIDTH, f"{path} is {page_width}px wide on a 375px screen"
        assert log.console_errors == []
        assert log.page_errors == []
    finally:
        context.close()
