"""Service principal pages: list, create, detail with the enabled switch, secrets shown once,
revoked in place, delete."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ServicePrincipal, ServicePrincipalSecret
from accounts.services import service_principal_secret_create
from registry.models import AuditEvent, Namespace
from tests.accounts.conftest import MANAGERS, USERS, assign
from tests.factories import RegistryFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SECRET_RE = re.compile(r"pcl_sps_[A-Za-z0-9_-]{43}")


def url(name: str, *args: object) -> str:
    return reverse(f"accounts:{name}", args=args)


def page(principal: ServicePrincipal, name: str = "service_principal_detail") -> str:
    return url(name, principal.pk)


# Who may see what: the matrix ----------------------------------------------------------------

# Every page of one service principal, with the method that changes something.
PAGES = [
    ("service_principal_detail", "get", None),
    ("service_principal_edit", "get", None),
    ("service_principal_edit", "post", {"name": "renamed", "description": ""}),
    ("service_principal_set_enabled", "post", {"enabled": "false"}),
    ("service_principal_delete", "get", None),
    ("secret_create", "get", None),
    ("secret_create", "post", {"description": "x", "expires_in": "30"}),
    ("service_principal_delete", "post", None),
]
IDS = [f"{method}-{name}" for name, method, _ in PAGES]


@pytest.mark.parametrize(("name", "method", "data"), PAGES, ids=IDS)
def test_anonymous_is_sent_to_sign_in(client, ci, name, method, data):
    response = getattr(client, method)(page(ci, name), data or {})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize(("name", "method", "data"), PAGES, ids=IDS)
def test_only_managers_reach_its_pages(client, personas, ci, who, name, method, data):
    client.force_login(personas[who])

    response = getattr(client, method)(page(ci, name), data or {})

    if who in MANAGERS:
        assert response.status_code in {200, 302}, response.content
    else:
        assert response.status_code == 404
        ci.refresh_from_db()
        assert (ci.name, ci.enabled) == ("ci", True)
        assert not ci.secrets.exists()
        assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


@pytest.mark.parametrize("who", USERS)
def test_revoking_a_secret_is_for_managers_only(client, personas, ci, who):
    issued = service_principal_secret_create(service_principal=ci)
    client.force_login(personas[who])

    response = client.post(url("secret_revoke", ci.pk, issued.record.pk))

    issued.record.refresh_from_db()
    if who in MANAGERS:
        assert response.status_code == 302
        assert issued.record.revoked_at is not None
    else:
        assert response.status_code == 404
        assert issued.record.revoked_at is None


def test_the_list_shows_mine_and_all_to_those_who_manage_all(client, bob, dave, ci, robot):
    client.force_login(bob)
    mine = client.get(url("service_principal_list")).content.decode()
    assert "ci" in mine and "robot" not in mine
    assert "?show=all" not in mine
    # Asking for all shows only one's own when one does not manage all.
    assert "robot" not in client.get(url("service_principal_list") + "?show=all").content.decode()

    client.force_login(dave)
    assert "robot" not in client.get(url("service_principal_list")).content.decode()
    everything = client.get(url("service_principal_list") + "?show=all").content.decode()
    assert "robot" in everything and "ci" in everything


def test_the_list_costs_a_fixed_number_of_queries(client, alice, django_assert_max_num_queries):
    for n in range(25):
        principal = ServicePrincipal.objects.create(name=f"sp{n}", owner=alice)
        service_principal_secret_create(service_principal=principal)
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        response = client.get(url("service_principal_list") + "?show=all")
    assert response.content.decode().count("badge ok") == 25


def test_the_main_navigation_leads_to_service_principals(client, bob):
    client.force_login(bob)
    html = client.get(url("service_principal_list")).content.decode()
    assert (
        f'<a href="{url("service_principal_list")}" aria-current="page">Service principals</a>'
        in html
    )
    assert f'<a href="{url("token_list")}">Access tokens</a>' in html


# Create and edit -----------------------------------------------------------------------------


def test_a_user_creates_one_and_owns_it(client, carol):
    client.force_login(carol)
    response = client.post(
        url("service_principal_create"), {"name": "ci-deployer", "description": "Deploys"}
    )

    created = ServicePrincipal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page(created)
    assert created.owner == carol
    assert AuditEvent.objects.get(action="servicePrincipal.create").actor == carol
    detail = client.get(response["Location"]).content.decode()
    assert "Service principal ci-deployer created." in detail
    assert str(created.client_id) in detail
    assert "No roles yet" in detail


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "This field is required."), ("ci deployer", "letters, digits"), ("CI", "already exists")],
)
def test_invalid_names_are_shown_on_the_form(client, bob, ci, name, message):
    client.force_login(bob)
    response = client.post(url("service_principal_create"), {"name": name})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ServicePrincipal.objects.count() == 1


def test_editing_renames_it(client, bob, ci):
    client.force_login(bob)
    response = client.post(page(ci, "service_principal_edit"), {"name": "ci2", "description": ""})
    assert response.status_code == 302
    ci.refresh_from_db()
    assert (ci.name, ci.description) == ("ci2", "")


# The detail page -----------------------------------------------------------------------------


def test_the_detail_page_lists_roles_and_secrets_without_their_values(client, bob, ci, prod1):
    assign("AcrPush", prod1.scope, service_principal=ci)
    issued = service_principal_secret_create(service_principal=ci, description="github")
    client.force_login(bob)

    html = client.get(page(ci)).content.decode()

    assert "AcrPush" in html and "/registries/prod1" in html
    assert f"{issued.record.hint}…" in html
    assert "github" in html
    assert issued.secret not in html
    assert not SECRET_RE.search(html)


def test_the_switch_disables_and_enables_in_place(client, bob, ci):
    client.force_login(bob)

    response = client.post(page(ci, "service_principal_set_enabled"), {"enabled": "false"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<article id="status"')
    assert "Disabled" in html and ">Enable</button>" in html
    assert "servicePrincipalChanged" in response["HX-Trigger"]
    ci.refresh_from_db()
    assert not ci.enabled

    client.post(page(ci, "service_principal_set_enabled"), {"enabled": "true"}, **HTMX)
    ci.refresh_from_db()
    assert ci.enabled
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["servicePrincipal.disable", "servicePrincipal.enable"]


def test_the_switch_works_without_javascript(client, bob, ci):
    client.force_login(bob)
    response = client.post(page(ci, "service_principal_set_enabled"), {"enabled": "false"})
    assert response.status_code == 302
    assert response["Location"] == page(ci)
    ci.refresh_from_db()
    assert not ci.enabled


def test_deleting_asks_in_place_then_leaves_for_the_list(client, bob, ci):
    client.force_login(bob)
    confirm = client.get(page(ci, "service_principal_delete"), **HTMX).content.decode()
    assert confirm.lstrip().startswith('<article id="confirm"')
    assert "Delete ci" in confirm

    response = client.post(page(ci, "service_principal_delete"), **HTMX)

    assert response["HX-Redirect"] == url("service_principal_list")
    assert not ServicePrincipal.objects.exists()


# Secrets -------------------------------------------------------------------------------------


@pytest.fixture
def registries_for_ci(ci):
    """prod1 (where ci holds AcrPush on team-a) and lab1 (plain HTTP, where it holds nothing)."""
    prod1 = RegistryFactory(name="prod1", login_server="https://prod1.example.com")
    Namespace.objects.create(registry=prod1, name="team-a")
    RegistryFactory(name="lab1", login_server="http://127.0.0.1:5000")
    assign("AcrPush", f"{prod1.scope}/namespaces/team-a", service_principal=ci)
    return prod1


def test_a_new_secret_is_shown_once_with_the_commands_to_use_it(client, bob, ci, registries_for_ci):
    client.force_login(bob)

    response = client.post(
        url("secret_create", ci.pk), {"description": "github", "expires_in": "90"}, **HTMX
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="secrets"')
    [secret] = set(SECRET_RE.findall(html))
    record = ServicePrincipalSecret.objects.get()
    assert record.description == "github"
    assert ServicePrincipalSecret.find(str(ci.client_id), secret) == record
    assert "it will not be shown again" in html
    assert f"docker login prod1.example.com -u {ci.client_id} -p {secret}" in html
    assert f"skopeo login prod1.example.com -u {ci.client_id} -p {secret}" in html
    # Only the registries it holds a role in.
    assert "127.0.0.1:5000" not in html
    assert "secretCreated" in response["HX-Trigger"]

    # The next look at the page shows only its hint.
    again = client.get(page(ci)).content.decode()
    assert secret not in again
    assert f"{record.hint}…" in again


def test_without_roles_the_commands_name_the_registries_the_viewer_sees(client, alice, ci):
    RegistryFactory(name="lab1", login_server="http://127.0.0.1:5000")
    client.force_login(alice)
    html = client.post(url("secret_create", ci.pk), {"expires_in": "365"}, **HTMX).content.decode()
    [secret] = set(SECRET_RE.findall(html))
    assert "holds no role yet" in html
    assert f"docker login 127.0.0.1:5000 -u {ci.client_id} -p {secret}" in html
    assert f"skopeo login --tls-verify=false 127.0.0.1:5000 -u {ci.client_id}" in html


def test_without_javascript_the_secret_is_shown_on_the_page(client, bob, ci):
    client.force_login(bob)
    form = client.get(url("secret_create", ci.pk))
    assert form.status_code == 200
    assert "New secret for ci" in form.content.decode()

    response = client.post(url("secret_create", ci.pk), {"expires_in": "365"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert len(set(SECRET_RE.findall(html))) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"expires_in": "9999"}, "Select a valid choice."),
        ({"expires_in": "date"}, "Pick the date it should expire on."),
        ({"expires_in": "date", "expires_on": "2001-01-01"}, "Pick a date after today."),
        ({"expires_in": "date", "expires_on": "2999-01-01"}, "Pick a date no later than"),
        ({"expires_in": "30", "description": "x" * 101}, "at most 100 characters"),
    ],
)
def test_a_bad_expiry_is_shown_on_the_form(client, bob, ci, data, message):
    client.force_login(bob)
    response = client.post(url("secret_create", ci.pk), data, **HTMX)
    assert response.status_code == 400
    assert response["HX-Reswap"] == "outerHTML"
    assert message in response.content.decode()
    assert not ServicePrincipalSecret.objects.exists()


def test_a_secret_may_expire_on_a_chosen_date(client, bob, ci):
    day = timezone.now().date() + timedelta(days=40)
    client.force_login(bob)
    client.post(url("secret_create", ci.pk), {"expires_in": "date", "expires_on": day}, **HTMX)
    assert ServicePrincipalSecret.objects.get().expires_at.date() == day


def test_revoking_a_secret_asks_in_place_and_can_be_cancelled(client, bob, ci):
    issued = service_principal_secret_create(service_principal=ci)
    client.force_login(bob)
    revoke = url("secret_revoke", ci.pk, issued.record.pk)

    confirm = client.get(revoke, **HTMX).content.decode()
    assert confirm.lstrip().startswith(f'<tr id="secret-{issued.record.pk}" class="confirm-row"')
    assert f"Revoke secret {issued.record.hint}… of ci?" in confirm

    cancelled = client.get(page(ci), HTTP_HX_TARGET=f"secret-{issued.record.pk}", **HTMX)
    assert cancelled.content.decode().lstrip().startswith(f'<tr id="secret-{issued.record.pk}">')

    revoked = client.post(revoke, **HTMX)
    row = revoked.content.decode()
    assert row.lstrip().startswith(f'<tr id="secret-{issued.record.pk}">')
    assert "Revoked" in row
    assert "secretRevoked" in revoked["HX-Trigger"]
    assert ServicePrincipalSecret.find(str(ci.client_id), issued.secret) is None
    assert AuditEvent.objects.get(action="servicePrincipal.secret.revoke").actor == bob


def test_a_secret_of_another_service_principal_is_a_404(client, bob, ci, robot):
    other = service_principal_secret_create(service_principal=robot[0])
    client.force_login(bob)
    assert client.post(url("secret_revoke", ci.pk, other.record.pk)).status_code == 404
    assert (
        client.get(page(ci), HTTP_HX_TARGET=f"secret-{other.record.pk}", **HTMX).status_code == 404
    )


def test_the_detail_page_costs_a_fixed_number_of_queries(
    client, bob, ci, prod1, django_assert_max_num_queries
):
    for _ in range(20):
        service_principal_secret_create(service_principal=ci)
    for role in ("AcrPull", "AcrPush", "Reader"):
        assign(role, prod1.scope, service_principal=ci)
    client.force_login(bob)
    with django_assert_max_num_queries(8):
        response = client.get(page(ci))
    assert response.content.decode().count("Revoke secret") == 20
