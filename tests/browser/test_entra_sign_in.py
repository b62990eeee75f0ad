"""Single sign-on with Microsoft Entra ID in headless Chromium, end to end.

Alice clicks "Sign in with Microsoft" on the portal, picks her account and accepts on the
fake Entra ID's consent page, and lands back on the portal signed in; her groups now exist in
the portal. An administrator gives one of those groups AcrPush on a namespace; Alice runs
``portcullis login`` with an Entra access token (what ``az account get-access-token`` hands
out), which goes through ``/oauth2/exchange``, and skopeo pushes to a real docker-registry
that asks the portal's token server. Then she signs out everywhere, and her refresh token
stops working.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from accounts.models import Group, GroupMembership
from registry.models import Namespace, Registry, RoleAssignment, RoleDefinition
from tests.browser.test_journey import watch
from tests.fixtures.images import build_image
from tests.fixtures.registry import free_port, start_portal_registry

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

PORTCULLIS = Path(sys.executable).parent / "portcullis"


def skopeo(*args: str, auth_file: Path) -> subprocess.CompletedProcess:
    env = {
        "REGISTRY_AUTH_FILE": str(auth_file),
        "PATH": "/usr/bin:/bin",
        "HOME": str(auth_file.parent),
    }
    command = [shutil.which("skopeo") or "skopeo", "--insecure-policy", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def sign_in_with_microsoft(page: Page, account: str) -> None:
    page.get_by_role("button", name="Sign in with Microsoft").click()
    # The fake Entra ID's consent page, on its own origin.
    expect(page.get_by_role("heading", name="Fake Entra ID")).to_be_visible()
    page.get_by_label("Account").select_option(label=account)
    page.get_by_role("button", name="Accept").click()


def test_alice_signs_in_with_microsoft_and_her_group_lets_her_push(
    page, live_server, entra, settings, token_signing_key, screenshots, tmp_path
):
    settings.PORTAL_URL = live_server.url
    base = live_server.url
    log = watch(page, base)
    registry = Registry.objects.create(
        name="ssoacr", login_server=f"http://127.0.0.1:{free_port()}", service="ssoacr-service"
    )
    Namespace.objects.create(registry=registry, name="team-a")
    alice = entra.add_user("alice@contoso.com", "Alice Smith")
    entra.add_user("bob@contoso.com", "Bob Jones")
    developers = entra.add_group("Developers", alice)
    entra.add_group("Team A pushers", developers)  # Alice is in it through Developers

    # The sign-in page offers Microsoft; the portal sends a stranger there first.
    page.goto("/registries/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/registries/")
    expect(page.get_by_role("button", name="Sign in with Microsoft")).to_be_visible()
    screenshots(page, "sign-in")

    sign_in_with_microsoft(page, "Alice Smith (alice@contoso.com)")

    # Back on the portal, signed in, on the page she asked for.
    expect(page).to_have_url(f"{base}/registries/")
    expect(page.get_by_label("Account menu for alice@contoso.com")).to_be_visible()
    user = get_user_model().objects.get(username="alice@contoso.com")
    assert user.entra_object_id == alice.object_id
    assert set(GroupMembership.objects.filter(user=user).values_list("group__name", flat=True)) == {
        "Developers",
        "Team A pushers",
    }

    # Her profile says where her groups came from and when they were read.
    page.get_by_label("Account menu for alice@contoso.com").click()
    page.get_by_role("link", name="Profile and sign-in").click()
    expect(page.get_by_role("heading", name="Alice Smith", level=1)).to_be_visible()
    expect(page.locator("#groups-refreshed")).to_contain_text("Entra ID memberships last refreshed")
    expect(page.get_by_text("Team A pushers")).to_be_visible()
    screenshots(page, "profile")

    # An administrator gives the group AcrPush on team-a.
    RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name="AcrPush"),
        scope="/registries/ssoacr/namespaces/team-a",
        group=Group.objects.get(name="Team A pushers"),
    )

    # Alice signs her tools in with an Entra token, as az acr login does, and pushes.
    server = start_portal_registry(tmp_path / "registry", registry_name="ssoacr")
    try:
        auth_file = tmp_path / "alice" / "auth.json"
        login = subprocess.run(
            [str(PORTCULLIS), "login", server.url],
            capture_output=True,
            text=True,
            timeout=60,
            env={
                "HOME": str(tmp_path / "alice"),
                "PATH": os.environ["PATH"],
                "PORTCULLIS_ENTRA_TOKEN": entra.access_token(alice),
                "REGISTRY_AUTH_FILE": str(auth_file),
            },
        )
        assert login.returncode == 0, login.stderr
        image = build_image(tmp_path / "image", seed="entra-journey")
        name = f"team-a/sso-{uuid.uuid4().hex[:8]}"
        pushed = skopeo(
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{image.layout_dir}",
            f"docker://{server.host}/{name}:1.0",
            auth_file=auth_file,
        )
        assert pushed.returncode == 0, pushed.stderr
        # Her group grants team-a only.
        elsewhere = skopeo(
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            f"oci:{image.layout_dir}",
            f"docker://{server.host}/team-b/sso:1.0",
            auth_file=auth_file,
        )
        assert elsewhere.returncode != 0

        # Signing out everywhere ends the browser session and the refresh token.
        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page).to_have_url(f"{base}/accounts/login/")
        expect(page.locator("#messages")).to_contain_text("You are signed out everywhere")
        screenshots(page, "signed-out-everywhere")
        after = skopeo(
            "inspect",
            "--tls-verify=false",
            f"docker://{server.host}/{name}:1.0",
            auth_file=auth_file,
        )
        assert after.returncode != 0
    finally:
        server.stop()

    page.goto("/registries/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/registries/")
    assert log.console_errors == [] and log.page_errors == []


def test_a_person_of_another_tenant_sees_why_they_were_not_signed_in(page, live_server, entra):
    entra.add_user("mallory@fabrikam.com", "Mallory", tenant_id=str(uuid.uuid4()))
    page.goto("/accounts/login/")

    sign_in_with_microsoft(page, "Mallory (mallory@fabrikam.com)")

    expect(page.get_by_role("heading", name="You were not signed in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("not by this portal's tenant")
    page.get_by_role("button", name="Back to sign-in").click()
    expect(page.get_by_role("heading", name="Sign in to Portcullis")).to_be_visible()
    assert not get_user_model().objects.exists()
