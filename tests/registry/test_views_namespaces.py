"""Namespaces, managed in place on the registry page (htmx) and on pages of their own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import AuditEvent, Namespace
from tests.factories import NamespaceFactory, RegistryFactory, RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def registry(db):
    return RegistryFactory(name="prodacr01", tier="Standard")


def url(name: str, registry, namespace: str | None = None) -> str:
    kwargs = {"registry": registry.name}
    if namespace is not None:
        kwargs["namespace"] = namespace
    return reverse(f"registry:{name}", kwargs=kwargs)


# Permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["namespace_create", "namespace_detail", "namespace_edit", "namespace_delete"]
)
def test_anonymous_is_sent_to_sign_in(client, registry, name):
    namespace = None if name == "namespace_create" else "team-a"
    response = client.get(url(name, registry, namespace))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("namespace_create", "get"),
        ("namespace_create", "post"),
        ("namespace_detail", "get"),
        ("namespace_edit", "get"),
        ("namespace_edit", "post"),
        ("namespace_delete", "get"),
        ("namespace_delete", "post"),
    ],
)
def test_users_without_a_role_find_nothing(client, bob, registry, name, method):
    NamespaceFactory(registry=registry, name="team-a")
    client.force_login(bob)
    namespace = None if name == "namespace_create" else "team-a"
    data = {"name": "team-b", "description": "x"} if method == "post" else None
    response = getattr(client, method)(url(name, registry, namespace), data)
    assert response.status_code == 404
    assert list(Namespace.objects.values_list("name", flat=True)) == ["team-a"]
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_unknown_namespace_is_404(admin_client, registry):
    assert admin_client.get(url("namespace_detail", registry, "nope")).status_code == 404


@pytest.mark.parametrize("bad", ["Team-A", "team_-a", "-team", "team-a//b", "team-a/.."])
def test_invalid_namespace_names_in_urls_are_404(admin_client, registry, bad):
    response = admin_client.get(f"/registries/{registry.name}/namespaces/{bad}/")
    assert response.status_code == 404


# Create -----------------------------------------------------------------------------------


def test_staff_creates_a_namespace_with_owners(admin_client, alice, registry):
    carol = UserFactory(username="carol")
    response = admin_client.post(
        url("namespace_create", registry),
        {"name": "team-a", "description": "Team A", "owners": [carol.pk]},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#namespaces")
    namespace = Namespace.objects.get(registry=registry, name="team-a")
    assert list(namespace.owners.all()) == [carol]
    event = AuditEvent.objects.get(action="namespace.create")
    assert event.actor == alice
    assert event.scope == "/registries/prodacr01/namespaces/team-a"
    assert event.details["owners"] == ["carol"]


def test_create_with_htmx_returns_the_namespaces_region(admin_client, registry):
    response = admin_client.post(
        url("namespace_create", registry), {"name": "team-a/backend", "description": ""}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="namespaces"')
    assert "<html" not in html
    assert "team-a/backend/" in html
    assert "namespaceChanged" in response["HX-Trigger"]
    # The success message rides along as an out-of-band swap of the messages region.
    assert 'hx-swap-oob="innerHTML"' in html
    assert "Namespace team-a/backend created." in html
    assert Namespace.objects.filter(name="team-a/backend").exists()


@pytest.mark.parametrize("name", ["Team-A", "team a", "team-a/", "-team", ""])
def test_bad_namespace_names_are_form_errors(admin_client, registry, name):
    response = admin_client.post(url("namespace_create", registry), {"name": name}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="namespaces"')
    assert 'aria-invalid="true"' in html
    assert not Namespace.objects.exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_bad_name_without_htmx_shows_the_form_page(admin_client, registry):
    response = admin_client.post(url("namespace_create", registry), {"name": "Bad Name"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert "<html" in response.content.decode()


def test_duplicate_namespace_is_a_form_error(admin_client, registry):
    NamespaceFactory(registry=registry, name="team-a")
    response = admin_client.post(url("namespace_create", registry), {"name": "team-a"})
    assert response.status_code == 200
    assert "already has a namespace with this name" in response.content.decode()
    assert Namespace.objects.count() == 1


def test_tier_limit_is_shown_on_the_form(admin_client):
    basic = RegistryFactory(name="basicreg", tier="Basic")
    for index in range(basic.limits.namespaces):
        NamespaceFactory(registry=basic, name=f"team-{index}")
    page = admin_client.get(reverse("registry:registry_detail", args=[basic.name]))
    assert "this registry has them all" in page.content.decode()
    response = admin_client.post(url("namespace_create", basic), {"name": "one-more"})
    assert response.status_code == 200
    assert "The Basic tier allows 10 namespaces" in response.content.decode()
    assert not Namespace.objects.filter(name="one-more").exists()


# Detail, edit -------------------------------------------------------------------------------


def test_namespace_page_counts_its_repositories(admin_client, registry):
    NamespaceFactory(registry=registry, name="team-a", description="The A team")
    RepositoryFactory(registry=registry, name="team-a/app")
    RepositoryFactory(registry=registry, name="team-a/backend/db")
    RepositoryFactory(registry=registry, name="team-ab/other")
    response = admin_client.get(url("namespace_detail", registry, "team-a"))
    assert response.status_code == 200
    assert response.context["repository_count"] == 2
    assert "The A team" in response.content.decode()


def test_nested_namespace_urls(admin_client, registry):
    NamespaceFactory(registry=registry, name="team-a/backend")
    response = admin_client.get("/registries/prodacr01/namespaces/team-a/backend/")
    assert response.status_code == 200
    assert response.context["namespace"].name == "team-a/backend"


def test_edit_form_as_a_row_with_htmx(admin_client, registry):
    namespace = NamespaceFactory(registry=registry, name="team-a")
    response = admin_client.get(url("namespace_edit", registry, "team-a"), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="namespace-{namespace.pk}" class="edit-row"')
    assert "<html" not in html
    assert 'name="description"' in html


def test_staff_edits_a_namespace(admin_client, alice, registry):
    namespace = NamespaceFactory(registry=registry, name="team-a", description="old")
    carol = UserFactory(username="carol")
    response = admin_client.post(
        url("namespace_edit", registry, "team-a"),
        {"description": "new", "owners": [carol.pk, alice.pk]},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="namespace-{namespace.pk}">')
    assert "alice, carol" in html
    assert "namespaceChanged" in response["HX-Trigger"]
    namespace.refresh_from_db()
    assert namespace.description == "new"
    assert {u.username for u in namespace.owners.all()} == {"alice", "carol"}
    event = AuditEvent.objects.get(action="namespace.update")
    assert event.details["changes"]["owners"] == {"from": [], "to": ["alice", "carol"]}


def test_edit_with_an_unknown_owner_is_a_form_error(admin_client, registry):
    NamespaceFactory(registry=registry, name="team-a")
    response = admin_client.post(
        url("namespace_edit", registry, "team-a"), {"owners": ["999999"]}, **HTMX
    )
    assert response.status_code == 200
    assert 'class="edit-row"' in response.content.decode()
    assert response.context["form"].errors["owners"]
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_cancel_puts_the_row_back(admin_client, registry):
    namespace = NamespaceFactory(registry=registry, name="team-a")
    response = admin_client.get(
        url("namespace_detail", registry, "team-a"),
        HTTP_HX_TARGET=f"namespace-{namespace.pk}",
        **HTMX,
    )
    assert response.content.decode().lstrip().startswith(f'<tr id="namespace-{namespace.pk}">')


# Delete -------------------------------------------------------------------------------------


def test_delete_asks_first(admin_client, registry):
    namespace = NamespaceFactory(registry=registry, name="team-a")
    RepositoryFactory(registry=registry, name="team-a/app")
    page = admin_client.get(url("namespace_delete", registry, "team-a"))
    assert page.status_code == 200
    assert "1 repository stays under it" in page.content.decode()
    row = admin_client.get(url("namespace_delete", registry, "team-a"), **HTMX)
    html = row.content.decode()
    assert html.lstrip().startswith(f'<tr id="namespace-{namespace.pk}" class="confirm-row"')
    assert "hx-post" in html
    assert Namespace.objects.exists()


def test_staff_deletes_a_namespace_and_repositories_stay(admin_client, alice, registry):
    NamespaceFactory(registry=registry, name="team-a")
    RepositoryFactory(registry=registry, name="team-a/app")
    response = admin_client.post(url("namespace_delete", registry, "team-a"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="namespaces"')
    assert "No namespaces yet" in html
    assert not Namespace.objects.exists()
    assert registry.repositories.filter(name="team-a/app").exists()
    event = AuditEvent.objects.get(action="namespace.delete")
    assert event.actor == alice


def test_delete_without_htmx_redirects(admin_client, registry):
    NamespaceFactory(registry=registry, name="team-a")
    response = admin_client.post(url("namespace_delete", registry, "team-a"))
    assert response.status_code == 302
    assert not Namespace.objects.exists()
