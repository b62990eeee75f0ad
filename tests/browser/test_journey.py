"""An administrator's first session, in headless Chromium against the live portal.

The journey signs in through the real form, adds a registry that skopeo filled beforehand,
browses it down to a multi-arch image, and deletes that image through the confirmation UI;
the registry itself is then asked whether the image is gone. Two smaller tests check the
keyboard path through sign-in and the dashboard, and the navigation on a 375px phone screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect

from registry.backend import NotFound, RegistryClient
from registry.models import Registry
from tests.fixtures.images import build_and_push, build_index, push

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "ada-lovelace-1815"
REGISTRY = "journeyacr"
# What every page loads from the portal's own static files (htmx's name carries its version).
PAGE_ASSETS = ("pico.min.css", "portal.css", "portal.js")


@dataclass
class BrowserLog:
    """What went wrong in the browser, as it happened."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_static: list[str] = field(default_factory=list)
    loaded_static: set[str] = field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_response(self, response: Response) -> None:
        if not response.url.startswith(f"{self.origin}/static/"):
            return
        # 304: the browser revalidated its cached copy, which the portal confirmed.
        if response.ok or response.status == 304:
            self.loaded_static.add(response.url.rsplit("/", 1)[-1])
        else:
            self.failed_static.append(f"{response.status} {response.url}")

    def on_request_failed(self, request: Request) -> None:
        # ERR_ABORTED is the browser dropping a request because the page moved on (the
        # favicon of a page left at once), not the portal failing to serve it.
        if request.url.startswith(f"{self.origin}/static/") and request.failure != (
            "net::ERR_ABORTED"
        ):
            self.failed_static.append(f"{request.failure} {request.url}")

    def take_console_errors(self) -> list[str]:
        errors, self.console_errors = self.console_errors, []
        return errors

    def assert_clean(self) -> None:
        assert self.console_errors == []
        assert self.page_errors == []
        assert self.failed_static == []
        # The listeners saw the pages' assets arrive, so the checks above watched something.
        assert set(PAGE_ASSETS) <= self.loaded_static
        assert any(name.startswith("htmx") for name in self.loaded_static)


def watch(page: Page, origin: str) -> BrowserLog:
    log = BrowserLog(origin=origin)
    page.on("console", log.on_console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("response", log.on_response)
    page.on("requestfailed", log.on_request_failed)
    return log


@pytest.fixture
def browser_log(page: Page, live_server) -> BrowserLog:
    return watch(page, live_server.url)


@pytest.fixture
def ada(django_user_model):
    """Ada, a portal administrator with a password, as the sign-in form needs."""
    return django_user_model.objects.create_user(
        "ada", "ada@example.com", PASSWORD, is_staff=True, is_superuser=True
    )


def sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def in_registry(url: str, repository: str, reference: str) -> bool:
    with RegistryClient(url, timeout=10) as client:
        try:
            client.head_manifest(repository, reference)
        except NotFound:
            return False
    return True


# The journey ----------------------------------------------------------------------------


def test_an_administrator_adds_a_registry_browses_it_and_deletes_an_image(
    page, live_server, screenshots, browser_log, ada, registry_server_fresh, image_workdir, tmp_path
):
    server = registry_server_fresh
    build_and_push(image_workdir, server.host, "team-a/api:1.0")
    index = build_index(tmp_path / "web", seed="journey-web")
    push(index, server.host, "team-a/web:2.0")
    amd64, arm64 = index.children
    base = live_server.url
    repository_url = f"{base}/registries/{REGISTRY}/repositories/team-a/web/"

    # Signing in: the portal sends a stranger to the sign-in form, then back where they were.
    page.goto("/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/")
    expect(page.get_by_role("heading", name="Sign in to Portcullis", level=1)).to_be_visible()
    screenshots(page, "sign-in")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_text("Welcome back, ada.")).to_be_visible()
    expect(page.get_by_text("No registries yet.")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    screenshots(page, "dashboard")

    # Adding the registry.
    page.get_by_role("button", name="Add registry", exact=True).click()
    expect(page).to_have_url(f"{base}/registries/new/")
    expect(page.get_by_role("heading", name="Add a registry", level=1)).to_be_visible()
    page.get_by_label("Name", exact=True).fill(REGISTRY)
    page.get_by_label("Login server").fill(server.url)
    page.get_by_label("Tier", exact=True).select_option("Premium")
    page.get_by_label("Description").fill("Where the journey pushed its images.")
    screenshots(page, "add-registry")
    page.get_by_role("button", name="Add registry").click()

    expect(page).to_have_url(f"{base}/registries/{REGISTRY}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{REGISTRY} Premium")
    expect(page.locator("#messages")).to_contain_text(f"Registry {REGISTRY} added.")
    # The health check ran against the real registry as the registry was added.
    health = page.get_by_role("article").filter(has=page.get_by_role("heading", name="Health"))
    expect(health).to_contain_text("Healthy")
    expect(page.get_by_role("button", name="Copy login server")).to_have_attribute(
        "data-copy", server.host
    )
    screenshots(page, "registry-added")

    # A new registry is indexed as it is added (the test settings run background tasks at once).
    usage = page.locator("#usage")
    expect(usage).to_contain_text("2 with 2 tags")
    expect(health.get_by_role("definition").nth(1)).not_to_have_text("Never")

    # An image pushed later shows up once the index is synced again.
    build_and_push(image_workdir, server.host, "team-b/worker:0.1")
    page.get_by_role("button", name="Sync index now").click()
    expect(page.locator("#messages")).to_contain_text(f"Sync of {REGISTRY} queued")
    expect(page).to_have_url(f"{base}/registries/{REGISTRY}/")
    screenshots(page, "registry-sync-queued")
    page.reload()
    expect(usage).to_contain_text("3 with 3 tags")
    screenshots(page, "registry-synced")

    # The repository list, narrowed as the user types.
    page.get_by_role("button", name="Browse repositories").click()
    expect(page).to_have_url(f"{base}/registries/{REGISTRY}/repositories/")
    expect(page.get_by_role("heading", name="Repositories", level=1)).to_be_visible()
    results = page.locator("#repository-results")
    expect(results.get_by_role("status")).to_have_text("3 repositories.")
    expect(results.locator("tbody tr")).to_have_count(3)
    screenshots(page, "repositories")

    page.evaluate("window.journeyMarker = 'still the same page'")
    with page.expect_response(
        lambda answer: "q=web" in answer.url and answer.request.headers.get("hx-request") == "true"
    ) as search_answer:
        page.get_by_label("Search by name").press_sequentially("web", delay=40)
    assert search_answer.value.ok
    expect(results.get_by_role("status")).to_have_text("1 repository matching “web”.")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results.get_by_role("link", name="team-a/web")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/repositories/\?q=web"))
    # htmx swapped the results in place: the page itself was not reloaded.
    assert page.evaluate("window.journeyMarker") == "still the same page"
    screenshots(page, "repositories-search")

    # The repository and its tag.
    results.get_by_role("link", name="team-a/web").click()
    expect(page).to_have_url(repository_url)
    expect(page.get_by_role("heading", name="team-a/web", level=1)).to_be_visible()
    tag_row = page.locator("#tags tbody tr")
    expect(tag_row).to_have_count(1)
    expect(tag_row.get_by_role("rowheader")).to_have_text("2.0")
    expect(tag_row).to_contain_text(short(index.digest))
    expect(tag_row).to_contain_text("multi-arch")
    screenshots(page, "repository")

    tag_row.get_by_role("link", name="2.0").click()
    expect(page).to_have_url(f"{repository_url}_tags/2.0/")
    expect(page.get_by_role("heading", name="team-a/web:2.0", level=1)).to_be_visible()
    expect(page.get_by_text("OCI index · 2 platforms")).to_be_visible()
    platforms = page.get_by_role("region", name="Platforms").locator("tbody tr")
    expect(platforms).to_have_count(2)
    expect(platforms.nth(0).get_by_role("cell").nth(1)).to_have_text("amd64")
    expect(platforms.nth(1).get_by_role("cell").nth(1)).to_have_text("arm64")
    expect(platforms.nth(1).get_by_role("cell").nth(2)).to_have_text("v8")
    screenshots(page, "tag")

    # One platform image, then back up to the index it belongs to.
    platforms.get_by_role("link", name=short(arm64.digest)).click()
    expect(page).to_have_url(f"{repository_url}_manifests/{arm64.digest}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"team-a/web@{short(arm64.digest)}")
    expect(page.get_by_text("OCI image · linux/arm64/v8")).to_be_visible()
    expect(page.get_by_role("region", name=re.compile(r"^Layers"))).to_contain_text(
        arm64.layers[0].digest
    )
    screenshots(page, "platform-image")

    page.get_by_role("link", name=short(index.digest)).click()
    index_url = f"{repository_url}_manifests/{index.digest}/"
    expect(page).to_have_url(index_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"team-a/web@{short(index.digest)}")
    expect(page.get_by_role("region", name="Platforms").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_text(index.digest, exact=True)).to_be_visible()
    screenshots(page, "index")
    page.evaluate("window.journeyMarker = 'the index page'")

    # Untagging asks in place; distribution 2.8 cannot untag, and the refusal shows in place.
    confirm = page.locator("#confirm")
    page.get_by_role("button", name="Remove tag 2.0").click()
    expect(confirm.get_by_role("heading", name="Remove tag team-a/web:2.0")).to_be_visible()
    expect(page).to_have_url(index_url)
    screenshots(page, "untag-confirm")
    confirm.get_by_role("button", name="Remove tag").click()
    refusal = confirm.get_by_role("alert")
    expect(refusal).to_contain_text("The tag was not removed.")
    expect(refusal).to_contain_text("cannot remove a tag on its own")
    expect(
        refusal.get_by_role("link", name=f"Delete manifest {short(index.digest)} instead")
    ).to_be_visible()
    expect(page).to_have_url(index_url)
    screenshots(page, "untag-refused")
    # The refusal is a 409, which the browser and htmx both log; nothing else may be logged.
    refused = browser_log.take_console_errors()
    assert refused
    assert all("409" in error and "/_tags/2.0/_delete/" in error for error in refused), refused
    assert in_registry(server.url, "team-a/web", "2.0")

    # Deleting the manifest: confirmed in place, then the repository page without the tag.
    page.get_by_role("button", name="Delete manifest", exact=True).click()
    expect(
        confirm.get_by_role(
            "heading", name=f"Delete team-a/web@{short(index.digest)} from the registry"
        )
    ).to_be_visible()
    expect(confirm).to_contain_text("These tags go with it: 2.0.")
    expect(confirm).to_contain_text("multi-arch index of 2 platform images")
    expect(page).to_have_url(index_url)
    screenshots(page, "delete-confirm")
    # Both confirmations were swapped into the page it was asked from.
    assert page.evaluate("window.journeyMarker") == "the index page"
    confirm.get_by_role("button", name="Delete manifest").click()

    expect(page).to_have_url(repository_url)
    expect(page.locator("#messages")).to_contain_text(
        f"Manifest {short(index.digest)} deleted with tag(s) 2.0."
    )
    expect(page.locator("#tags")).to_contain_text("This repository has no tags.")
    expect(page.get_by_role("link", name="2.0", exact=True)).to_have_count(0)
    screenshots(page, "deleted")
    # htmx sent the browser to a fresh page (HX-Redirect), as the view asked.
    assert page.evaluate("window.journeyMarker") is None

    # The registry agrees: the index and its tag are gone, its platform images are not.
    assert not in_registry(server.url, "team-a/web", index.digest)
    assert not in_registry(server.url, "team-a/web", "2.0")
    assert in_registry(server.url, "team-a/web", amd64.digest)
    assert in_registry(server.url, "team-a/api", "1.0")

    browser_log.assert_clean()
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in screenshots.taken)


# Keyboard and small screens -------------------------------------------------------------

# Visible form controls that no label, aria-label or aria-labelledby names.
UNLABELLED_CONTROLS = """
() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => el.type !== "hidden" && el.offsetParent !== null)
  .filter((el) => !el.labels.length && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby"))
  .map((el) => el.name || el.id)
"""

# The focused element, named the way a keyboard user meets it, and whether its focus shows:
# an outline, or a box shadow that is neither transparent nor of zero size. Transitions are
# finished first: Pico fades focus rings in.
FOCUSED = """
() => {
  const el = document.activeElement;
  el.getAnimations().forEach((animation) => animation.finish());
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadows = style.boxShadow === "none" ? [] : style.boxShadow.split(/,(?![^(]*\\))/);
  const shadow = shadows.some((item) => {
    const color = item.match(/rgba?\\(([^)]*)\\)/);
    const parts = color ? color[1].split(",") : [];
    const alpha = parts.length === 4 ? parseFloat(parts[3]) : 1;
    const lengths = item.replace(/rgba?\\([^)]*\\)/, "").match(/-?[\\d.]+px/g) || [];
    const sizes = lengths.map(parseFloat);
    return alpha > 0 && sizes.some((size) => size !== 0);
  });
  const box = el.getBoundingClientRect();
  const name = (el.getAttribute("aria-label") || el.textContent || el.name || "").trim();
  return {
    stop: `${el.tagName.toLowerCase()}:${el.name || name.replace(/\\s+/g, " ")}`,
    focusVisible: el.matches(":focus-visible"),
    indicator: outline || shadow,
    onScreen: box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0,
  };
}
"""


def tab_stops(page: Page, count: int) -> list[str]:
    """Press Tab ``count`` times on a freshly loaded page; each stop must show its focus."""
    stops = []
    for _ in range(count):
        page.keyboard.press("Tab")
        # The skip link slides into view when it gets focus: wait for it to arrive.
        expect(page.locator(":focus")).to_be_in_viewport(ratio=1)
        focused = page.evaluate(FOCUSED)
        assert focused["focusVisible"], focused
        assert focused["indicator"], f"no focus indicator on {focused['stop']}"
        assert focused["onScreen"], f"{focused['stop']} has focus off screen"
        stops.append(focused["stop"])
    return stops


def test_sign_in_and_dashboard_work_from_the_keyboard(
    page, live_server, screenshots, browser_log, ada
):
    page.goto("/accounts/login/")
    expect(page.get_by_label("Username or email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_label("Keep me signed in")).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS) == []

    assert tab_stops(page, 6) == [
        "a:Skip to main content",
        "a:Portcullis",
        "input:login",
        "input:password",
        "input:remember",
        "button:Sign in",
    ]
    screenshots(page, "sign-in-focus")

    # Signing in without the mouse: type, Tab, type, Enter.
    page.get_by_label("Username or email").focus()
    page.keyboard.type("ada")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    # The navigation comes first, then the sign-in message, then the page's primary action.
    assert tab_stops(page, 10) == [
        "a:Skip to main content",
        "a:Portcullis",
        "a:Dashboard",
        "a:Registries",
        "a:Service principals",
        "a:Access",
        "a:Access requests",
        "a:API docs",
        "summary:Account menu for ada",
        "button:Dismiss",
    ]
    expect(page.locator("#messages")).to_contain_text("Successfully signed in as ada.")
    screenshots(page, "dashboard-focus")
    page.keyboard.press("Enter")
    expect(page.locator("#messages .alert")).to_have_count(0)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add registry", exact=True)).to_be_focused()

    # The skip link jumps over the navigation: the next Tab lands in the page itself.
    page.reload()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add registry", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/registries/new/")
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    screenshots(page, "add-registry-by-keyboard")

    browser_log.assert_clean()


@pytest.fixture
def phone(browser, live_server) -> Iterator[Page]:
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


@pytest.fixture
def phone_registry(registry_server_fresh, tmp_path) -> str:
    """A registry in the index with a multi-arch image, so every page has content."""
    push(
        build_index(tmp_path / "web", seed="phone-web"),
        registry_server_fresh.host,
        "team-a/web:2.0",
    )
    Registry.objects.create(name=REGISTRY, login_server=registry_server_fresh.url)
    call_command("sync_registry", REGISTRY, stdout=StringIO())
    return REGISTRY


PHONE_WIDTH = 375
_registry_page = f"/registries/{REGISTRY}"
PHONE_PAGES = [
    pytest.param("/", id="dashboard"),
    pytest.param("/registries/", id="registries"),
    pytest.param("/registries/new/", id="add-registry"),
    pytest.param(f"{_registry_page}/", id="registry"),
    pytest.param(f"{_registry_page}/repositories/", id="repositories"),
    pytest.param(f"{_registry_page}/repositories/team-a/web/", id="repository"),
    pytest.param(f"{_registry_page}/repositories/team-a/web/_tags/2.0/", id="tag"),
]


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_pages_fit_a_375px_screen_without_scrolling_sideways(
    phone, live_server, screenshots, ada, phone_registry, path
):
    log = watch(phone, live_server.url)
    sign_in(phone)

    phone.goto(path)

    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    navigation = phone.get_by_role("navigation", name="Main")
    links = navigation.get_by_role("link")
    expect(links).to_have_text(
        [
            "Portcullis",
            "Dashboard",
            "Registries",
            "Service principals",
            "Access",
            "Access requests",
            "API docs",
        ]
    )
    for item in [*links.all(), navigation.get_by_label("Account menu for ada")]:
        expect(item).to_be_in_viewport(ratio=1)
        box = item.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, (item, box)
    screenshots(phone, "phone")
    page_width = phone.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE_WIDTH, f"{path} is {page_width}px wide on a 375px screen"
    log.assert_clean()
