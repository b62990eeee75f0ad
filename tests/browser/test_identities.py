"""Machine identities in headless Chromium against the live portal.

An administrator creates a service principal, adds a secret, sees it once with the command to
sign in with it, reloads and finds only its hint, and revokes it. A user creates a personal
access token on their profile page, uses it against the live API, revokes it, and the API
refuses it from then on.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from accounts.models import ServicePrincipal
from registry.models import Namespace, Registry, RoleAssignment, RoleDefinition
from tests.browser.test_journey import UNLABELLED_CONTROLS, BrowserLog, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "grace-hopper-1906"
PHONE_WIDTH = 375


@pytest.fixture
def grace(django_user_model):
    """Grace, a portal administrator."""
    return django_user_model.objects.create_user(
        "grace", "grace@example.com", PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def linus(django_user_model):
    """Linus, a developer who may pull from registry prodacr."""
    user = django_user_model.objects.create_user("linus", "linus@example.com", PASSWORD)
    registry = Registry.objects.create(name="prodacr", login_server="https://prodacr.example.com")
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPull"), scope=registry.scope, user=user
    )
    return user


@pytest.fixture
def browser_log(page: Page, live_server) -> BrowserLog:
    return watch(page, live_server.url)


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def api(live_server, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{live_server.url}/api/v1/{path}", headers=headers, timeout=10)


def test_an_administrator_gives_a_service_principal_a_secret_and_revokes_it(
    page, live_server, screenshots, browser_log, grace
):
    registry = Registry.objects.create(name="prodacr", login_server="https://prodacr.example.com")
    Namespace.objects.create(registry=registry, name="team-a")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, "grace")

    # The main navigation leads to service principals; there are none yet.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Service principals"
    ).click()
    expect(page).to_have_url(f"{live_server.url}/service-principals/")
    expect(page.get_by_role("heading", name="Service principals", level=1)).to_be_visible()
    expect(page.get_by_text("You own no service principals.")).to_be_visible()
    screenshots(page, "no-service-principals")

    # Creating one.
    page.get_by_role("button", name="New service principal").click()
    expect(page.get_by_role("heading", name="New service principal", level=1)).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    page.get_by_label("Name").fill("ci-deployer")
    page.get_by_label("Description").fill("Pushes team-a's images from GitHub Actions.")
    page.get_by_role("button", name="Create service principal").click()

    principal = ServicePrincipal.objects.get(name="ci-deployer")
    detail_url = f"{live_server.url}/service-principals/{principal.pk}/"
    expect(page).to_have_url(detail_url)
    expect(page.get_by_role("heading", name="ci-deployer", level=1)).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("Service principal ci-deployer created.")
    expect(page.get_by_text(str(principal.client_id)).first).to_be_visible()
    expect(page.locator("#secrets")).to_contain_text("No secrets yet.")
    screenshots(page, "created")

    # Someone who manages access at team-a gives it AcrPush there (their pages are elsewhere).
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope=f"{registry.scope}/namespaces/team-a",
        service_principal=principal,
    )
    page.reload()
    roles = page.get_by_role("article").filter(has=page.get_by_role("heading", name="Roles"))
    expect(roles).to_contain_text("AcrPush")
    expect(roles).to_contain_text("/registries/prodacr/namespaces/team-a")

    # A new secret: shown once, in place, with the commands that use it.
    page.evaluate("window.identityMarker = 'the detail page'")
    page.get_by_text("New secret", exact=True).click()
    page.get_by_label("Description").fill("GitHub Actions")
    page.get_by_label("Expires in").select_option("90")
    page.get_by_role("button", name="Create secret").click()

    panel = page.locator("#new-secret")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("alert")).to_contain_text("it will not be shown again")
    secret = page.locator("#new-secret-value").inner_text()
    assert re.fullmatch(r"pcl_sps_[A-Za-z0-9_-]{43}", secret)
    login = f"docker login prodacr.example.com -u {principal.client_id} -p {secret}"
    expect(panel.get_by_text(login, exact=True)).to_be_visible()
    expect(panel).to_contain_text(f"skopeo login prodacr.example.com -u {principal.client_id}")
    assert page.evaluate("window.identityMarker") == "the detail page"
    expect(page).to_have_url(detail_url)
    screenshots(page, "secret-shown-once")

    panel.get_by_role("button", name="Copy the secret").click()
    expect(panel.get_by_role("button", name="Copy the secret")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # It signs in to the API as the service principal.
    basic = httpx.BasicAuth(str(principal.client_id), secret)
    signed_in = httpx.get(f"{live_server.url}/api/v1/registries/", auth=basic, timeout=10)
    assert signed_in.status_code == 200
    assert [row["name"] for row in signed_in.json()["results"]] == ["prodacr"]

    # After a reload only its hint is left.
    page.reload()
    expect(page.locator("#new-secret")).to_have_count(0)
    assert secret not in page.content()
    hint = secret.removeprefix("pcl_sps_")[:6]
    row = page.locator("#secrets tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_have_text(f"{hint}…")
    expect(row).to_contain_text("GitHub Actions")
    expect(row).to_contain_text("Active")
    screenshots(page, "only-the-hint")

    # Revoking asks in place, then the row says so and the API refuses the secret.
    row.get_by_role("button", name=f"Revoke secret {hint}").click()
    confirm = page.locator("#secrets tr.confirm-row")
    expect(confirm).to_contain_text(f"Revoke secret {hint}… of ci-deployer?")
    screenshots(page, "revoke-confirm")
    confirm.get_by_role("button", name="Revoke secret").click()
    expect(row).to_contain_text("Revoked")
    expect(page.locator("#messages")).to_contain_text(f"Secret {hint}… revoked")
    screenshots(page, "revoked")
    refused = httpx.get(f"{live_server.url}/api/v1/registries/", auth=basic, timeout=10)
    assert refused.status_code == 401

    # Disabling is a switch on the same page.
    page.get_by_role("button", name="Disable").click()
    status = page.locator("#status")
    expect(status).to_contain_text("Disabled")
    expect(status.get_by_role("button", name="Enable")).to_be_visible()
    principal.refresh_from_db()
    assert not principal.enabled
    screenshots(page, "disabled")

    browser_log.assert_clean()


def test_a_user_creates_an_access_token_uses_it_and_revokes_it(
    page, live_server, screenshots, browser_log, linus
):
    sign_in(page, "linus")

    # The account menu leads to the access tokens page.
    page.get_by_label("Account menu for linus").click()
    page.get_by_role("link", name="Access tokens").click()
    expect(page).to_have_url(f"{live_server.url}/account/tokens/")
    expect(page.get_by_role("heading", name="Access tokens", level=1)).to_be_visible()
    expect(page.get_by_text("You have no access tokens.")).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    screenshots(page, "no-tokens")

    page.get_by_label("Name").fill("laptop")
    page.get_by_label("Expires in").select_option("30")
    page.get_by_role("button", name="Create token").click()

    panel = page.locator("#new-token")
    expect(panel.get_by_role("alert")).to_contain_text("it will not be shown again")
    token = page.locator("#new-token-value").inner_text()
    assert re.fullmatch(r"pcl_pat_[A-Za-z0-9_-]{43}", token)
    expect(
        panel.get_by_text(f"docker login prodacr.example.com -u linus -p {token}")
    ).to_be_visible()
    expect(panel).to_contain_text(f"Authorization: Bearer {token}")
    screenshots(page, "token-shown-once")

    # The token signs in to the live API as linus.
    bearer = {"Authorization": f"Bearer {token}"}
    mine = api(live_server, "tokens/", **bearer)
    assert mine.status_code == 200
    assert [row["name"] for row in mine.json()["results"]] == ["laptop"]
    registries = api(live_server, "registries/", **bearer)
    assert [row["name"] for row in registries.json()["results"]] == ["prodacr"]

    # The list shows its hint and that it was used; the token itself is gone from the page.
    page.reload()
    assert token not in page.content()
    row = page.locator("#tokens tbody tr")
    expect(row.get_by_role("rowheader")).to_have_text("laptop")
    expect(row).to_contain_text(f"{token.removeprefix('pcl_pat_')[:6]}…")
    expect(row).not_to_contain_text("Never")
    screenshots(page, "token-listed")

    row.get_by_role("button", name="Revoke token laptop").click()
    confirm = page.locator("#tokens tr.confirm-row")
    expect(confirm).to_contain_text("Revoke token laptop")
    confirm.get_by_role("button", name="Revoke token").click()
    expect(row).to_contain_text("Revoked")
    screenshots(page, "token-revoked")

    refused = api(live_server, "registries/", **bearer)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="api"'

    browser_log.assert_clean()


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": PHONE_WIDTH, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_new_pages_fit_a_375px_screen(phone, live_server, screenshots, grace):
    registry = Registry.objects.create(name="prodacr", login_server="https://prodacr.example.com")
    principal = ServicePrincipal.objects.create(name="ci-deployer", owner=grace)
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope=registry.scope,
        service_principal=principal,
    )
    log = watch(phone, live_server.url)
    sign_in(phone, "grace")

    for path, name in [
        ("/service-principals/", "list"),
        ("/service-principals/new/", "create"),
        (f"/service-principals/{principal.pk}/", "detail"),
        ("/account/tokens/", "tokens"),
    ]:
        phone.goto(path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        screenshots(phone, name)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} is {width}px wide on a 375px screen"

    # With a new secret's panel, long commands and all.
    phone.goto(f"/service-principals/{principal.pk}/")
    phone.get_by_text("New secret", exact=True).click()
    phone.get_by_role("button", name="Create secret").click()
    expect(phone.locator("#new-secret")).to_be_visible()
    screenshots(phone, "new-secret")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the new secret's panel is {width}px wide"
    log.assert_clean()
