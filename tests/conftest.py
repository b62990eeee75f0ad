"""Shared fixtures: personas and the real parts (registry process, skopeo, Chromium).

Tests that need a part that is missing skip with the command that installs it; when
``PORTCULLIS_REQUIRE_ALL`` is set (``.ci/run`` sets it), any skip fails the run instead.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.fixtures.registry",
    "tests.fixtures.receiver",
    "tests.fixtures.access_requests",
    "tests.fakes.entra",
]

REQUIRE_ALL = os.environ.get("PORTCULLIS_REQUIRE_ALL", "") not in {"", "0", "false"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Integration and browser tests need the real registry, so they join its fixture's group
    # and run on one worker under xdist.
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("registry"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        # In CI every part is installed; a skip there means a test silently vanished.
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI, which must run every test: {reason}"
    return report


@pytest.fixture
def alice(db, django_user_model):
    """Alice, a portal administrator."""
    return django_user_model.objects.create_user(
        "alice", "alice@example.com", "alice-password-1", is_staff=True, is_superuser=True
    )


@pytest.fixture
def bob(db, django_user_model):
    """Bob, a signed-in user who is not an administrator."""
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def admin_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def token_signing_key(tmp_path, settings):
    """A token signing key of this test's own (``TOKEN_SIGNING_KEY_FILE``), already created."""
    from pathlib import Path

    from registry.tokens.keys import generate_signing_key
    from registry.tokens.signing import signing_key

    settings.TOKEN_SIGNING_KEY_FILE = str(tmp_path / "keys" / "token-signing-key.pem")
    generate_signing_key(Path(settings.TOKEN_SIGNING_KEY_FILE))
    signing_key.cache_clear()
    yield signing_key()
    signing_key.cache_clear()
