"""Browser fixtures: headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright.

No browser is downloaded; when Chromium is missing the tests skip with the install command
(and fail in CI, where ``PORTCULLIS_REQUIRE_ALL`` is set).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import caches

CHROMIUM = os.environ.get("PORTCULLIS_CHROMIUM", "/usr/bin/chromium")
# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """Each journey signs in like a new visitor: allauth counts sign-ins per address in the
    default cache, which the live server shares with every test of this process, and a whole
    worker's browser journeys in one minute would otherwise meet its 429."""
    caches["default"].clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip("chromium not installed: apt-get install chromium")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshots(request) -> Iterator[object]:
    """Save a full-page screenshot per step under ``test-results/<test name>/``."""
    folder = Path("test-results") / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)  # only this run's pictures
    folder.mkdir(parents=True)
    taken: list[Path] = []

    def shoot(page, name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    shoot.taken = taken  # type: ignore[attr-defined]
    yield shoot
