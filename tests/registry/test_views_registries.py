"""Registry pages: list, create, detail, edit, delete, health check."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import AuditEvent, Registry
from tests.factories import ManifestFactory, NamespaceFactory, RegistryFactory, TagFactory
from tests.fixtures.images import build_and_push
from tests.fixtures.registry import free_port

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# Permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("registry_list", {}),
        ("registry_create", {}),
        ("registry_detail", {"registry": "registry001"}),
        ("registry_edit", {"registry": "registry001"}),
        ("registry_delete", {"registry": "registry001"}),
    ],
)
def test_anonymous_is_sent_to_sign_in(client, name, kwargs):
    url = reverse(f"registry:{name}", kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize(
    ("name", "method", "status"),
    [
        ("registry_list", "get", 200),
        # Registries are added at "/", which everyone sees: a 403 that names the action.
        ("registry_create", "get", 403),
        ("registry_create", "post", 403),
        ("registry_detail", "get", 404),
        ("registry_edit", "get", 404),
        ("registry_edit", "post", 404),
        ("registry_delete", "get", 404),
        ("registry_delete", "post", 404),
        ("registry_check_health", "post", 404),
        ("registry_sync", "post", 404),
    ],
)
def test_users_without_a_role_find_nothing(client, bob, name, method, status):
    registry = RegistryFactory(name="prodreg1")
    client.force_login(bob)
    kwargs = {} if name in {"registry_list", "registry_create"} else {"registry": registry.name}
    response = getattr(client, method)(reverse(f"registry:{name}", kwargs=kwargs))
    assert response.status_code == status
    assert registry.login_server not in response.content.decode()
    assert Registry.objects.filter(pk=registry.pk).exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_unknown_registry_is_404(admin_client):
    response = admin_client.get("/registries/nosuchregistry/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", ["/registries/ab/", "/registries/bad-name!/", "/registries/a%00b/"]
)
def test_invalid_registry_names_in_urls_are_404(admin_client, path):
    assert admin_client.get(path).status_code == 404


# List -----------------------------------------------------------------------------------


def test_list_shows_registries_with_counts_and_health(admin_client):
    healthy = RegistryFactory(name="healthy1", is_healthy=True, tier="Premium")
    RegistryFactory(name="downreg1", is_healthy=False, health_detail="connection refused")
    for tag in TagFactory.create_batch(3, manifest__repository__registry=healthy):
        assert tag.repository.registry == healthy
    NamespaceFactory(registry=healthy)
    response = admin_client.get(reverse("registry:registry_list"))
    assert response.status_code == 200
    rows = {r.name: r for r in response.context["registries"]}
    assert rows["healthy1"].repository_count == 3
    assert rows["healthy1"].tag_count == 3
    assert rows["healthy1"].namespace_count == 1
    assert rows["downreg1"].repository_count == 0
    html = response.content.decode()
    assert "Healthy" in html
    assert "Unreachable" in html
    assert "Premium" in html


@pytest.mark.parametrize("count", [5, 50])
def test_list_queries_do_not_grow_with_registries(
    admin_client, django_assert_max_num_queries, count
):
    for registry in RegistryFactory.create_batch(count):
        TagFactory(manifest__repository__registry=registry)
    with django_assert_max_num_queries(4):
        response = admin_client.get(reverse("registry:registry_list"))
    assert response.status_code == 200
    assert len(response.context["registries"]) == count


# Create -----------------------------------------------------------------------------------


def test_staff_creates_a_registry(admin_client, alice):
    response = admin_client.post(
        reverse("registry:registry_create"),
        {
            "name": "prodacr01",
            "login_server": "https://registry.example.com/",
            "service": "",
            "tier": "Premium",
            "description": "Production",
        },
    )
    registry = Registry.objects.get(name="prodacr01")
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:registry_detail", args=["prodacr01"])
    assert registry.login_server == "https://registry.example.com"
    assert registry.service == "registry.example.com"
    assert registry.tier == "Premium"
    event = AuditEvent.objects.get(action="registry.create")
    assert event.actor == alice
    assert event.scope == "/registries/prodacr01"


@pytest.mark.parametrize("name", ["ab", "bad-name!", "x" * 51, ""])
def test_bad_registry_names_are_form_errors(admin_client, name):
    response = admin_client.post(
        reverse("registry:registry_create"),
        {"name": name, "login_server": "https://registry.example.com", "tier": "Standard"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_duplicate_registry_names_are_refused_ignoring_case(admin_client):
    RegistryFactory(name="prodacr01")
    response = admin_client.post(
        reverse("registry:registry_create"),
        {"name": "ProdACR01", "login_server": "https://other.example.com", "tier": "Basic"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Registry.objects.count() == 1


@pytest.mark.parametrize("login_server", ["ftp://example.com", "not a url", ""])
def test_bad_login_servers_are_form_errors(admin_client, login_server):
    response = admin_client.post(
        reverse("registry:registry_create"),
        {"name": "prodacr01", "login_server": login_server, "tier": "Standard"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["login_server"]
    assert not Registry.objects.exists()


def test_unknown_tier_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("registry:registry_create"),
        {"name": "prodacr01", "login_server": "https://r.example.com", "tier": "Gold"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["tier"]
    assert not Registry.objects.exists()


# Detail -------------------------------------------------------------------------------------


def test_detail_shows_connection_tier_limits_and_namespaces(admin_client):
    registry = RegistryFactory(name="localreg1", login_server="http://127.0.0.1:5000", tier="Basic")
    NamespaceFactory(registry=registry, name="team-a")
    ManifestFactory(repository__registry=registry, size=3 * 1024 * 1024)
    response = admin_client.get(reverse("registry:registry_detail", args=["localreg1"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "docker login 127.0.0.1:5000" in html
    assert "insecure-registries" in html  # plain HTTP: the daemon.json note
    assert "1 of 10" in html  # namespaces used of the Basic tier's 10
    assert "3.0\xa0MB" in html  # storage used
    assert "team-a/" in html
    assert response.context["storage_bytes"] == 3 * 1024 * 1024


def test_https_registries_get_no_insecure_note(admin_client):
    RegistryFactory(name="securereg", login_server="https://registry.example.com")
    response = admin_client.get(reverse("registry:registry_detail", args=["securereg"]))
    html = response.content.decode()
    assert "docker login registry.example.com" in html
    assert "insecure-registries" not in html


def test_detail_names_are_case_insensitive(admin_client):
    RegistryFactory(name="prodacr01")
    assert admin_client.get("/registries/ProdAcr01/").status_code == 200


def test_detail_fragment_for_a_region(admin_client):
    registry = RegistryFactory(name="prodacr01")
    response = admin_client.get(
        reverse("registry:registry_detail", args=[registry.name]),
        HTTP_HX_TARGET="usage",
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<article id="usage"')
    assert "<html" not in html
    assert 'id="namespaces"' not in html


# Edit ---------------------------------------------------------------------------------------


def test_staff_edits_a_registry(admin_client, alice):
    registry = RegistryFactory(name="prodacr01", tier="Standard")
    response = admin_client.post(
        reverse("registry:registry_edit", args=[registry.name]),
        {"login_server": "https://new.example.com", "service": "", "tier": "Premium"},
    )
    assert response.status_code == 302
    registry.refresh_from_db()
    assert registry.login_server == "https://new.example.com"
    assert registry.tier == "Premium"
    event = AuditEvent.objects.get(action="registry.update")
    assert event.actor == alice
    assert event.details["changes"]["tier"] == {"from": "Standard", "to": "Premium"}


def test_edit_form_shows_current_values_and_errors(admin_client):
    registry = RegistryFactory(name="prodacr01", login_server="https://old.example.com")
    page = admin_client.get(reverse("registry:registry_edit", args=[registry.name]))
    assert 'value="https://old.example.com"' in page.content.decode()
    response = admin_client.post(
        reverse("registry:registry_edit", args=[registry.name]),
        {"login_server": "nonsense", "tier": "Standard"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["login_server"]
    registry.refresh_from_db()
    assert registry.login_server == "https://old.example.com"
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


# Delete -------------------------------------------------------------------------------------


def test_delete_asks_first_and_says_images_stay(admin_client):
    registry = RegistryFactory(name="prodacr01")
    TagFactory(manifest__repository__registry=registry)
    response = admin_client.get(reverse("registry:registry_delete", args=[registry.name]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "images in the registry are not touched" in html
    assert "1 repository" in html
    assert Registry.objects.filter(pk=registry.pk).exists()


def test_staff_deletes_a_registry(admin_client, alice):
    registry = RegistryFactory(name="prodacr01")
    TagFactory(manifest__repository__registry=registry)
    response = admin_client.post(reverse("registry:registry_delete", args=[registry.name]))
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:registry_list")
    assert not Registry.objects.exists()
    event = AuditEvent.objects.get(action="registry.delete")
    assert event.actor == alice
    assert event.details == {"repositories": 1}
    followed = admin_client.get(response["Location"])
    assert "Nothing stored in the registry itself was touched" in followed.content.decode()


def test_delete_with_htmx_redirects_the_browser(admin_client):
    registry = RegistryFactory(name="prodacr01")
    response = admin_client.post(reverse("registry:registry_delete", args=[registry.name]), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("registry:registry_list")
    assert not Registry.objects.exists()


# Health -------------------------------------------------------------------------------------


def test_check_health_of_a_registry_that_is_down(admin_client):
    registry = RegistryFactory(name="downreg1", login_server=closed_port_url())
    response = admin_client.post(reverse("registry:registry_check_health", args=[registry.name]))
    assert response.status_code == 302
    registry.refresh_from_db()
    assert registry.is_healthy is False
    assert registry.health_checked_at is not None
    followed = admin_client.get(response["Location"])
    assert "did not answer" in followed.content.decode()


def test_check_health_with_htmx_rerenders_the_health_region(admin_client):
    registry = RegistryFactory(name="downreg1", login_server=closed_port_url())
    response = admin_client.post(
        reverse("registry:registry_check_health", args=[registry.name]), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<article id="health"')
    assert "Unreachable" in html
    assert "<html" not in html
    assert "registryHealthChecked" in response["HX-Trigger"]


@pytest.mark.integration
def test_check_health_of_a_running_registry(admin_client, registry_server):
    registry = RegistryFactory(name="livereg1", login_server=registry_server.url)
    response = admin_client.post(
        reverse("registry:registry_check_health", args=[registry.name]), **HTMX
    )
    assert response.status_code == 200
    assert "Healthy" in response.content.decode()
    registry.refresh_from_db()
    assert registry.is_healthy is True


def test_check_health_needs_post(admin_client):
    registry = RegistryFactory(name="prodacr01")
    response = admin_client.get(reverse("registry:registry_check_health", args=[registry.name]))
    assert response.status_code == 405


# Sync ---------------------------------------------------------------------------------------


@pytest.mark.integration
def test_sync_now_fills_the_index_and_is_audited(
    admin_client, alice, registry_server_fresh, image_workdir, django_capture_on_commit_callbacks
):
    build_and_push(image_workdir / "sync", registry_server_fresh.host, "team-a/api:1.0")
    registry = RegistryFactory(name="livereg1", login_server=registry_server_fresh.url)

    # The test settings run tasks at once, so the queued sync happens on commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("registry:registry_sync", args=[registry.name]), **HTMX
        )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<article id="health"')
    assert "registrySyncQueued" in response["HX-Trigger"]
    assert list(registry.repositories.values_list("name", flat=True)) == ["team-a/api"]
    assert registry.repositories.get().tags.get().name == "1.0"
    registry.refresh_from_db()
    assert registry.last_synced_at is not None
    event = AuditEvent.objects.get(action="registry.sync.request")
    assert (event.actor, event.scope) == (alice, "/registries/livereg1")


def test_sync_needs_post(admin_client):
    registry = RegistryFactory(name="prodacr01")
    response = admin_client.get(reverse("registry:registry_sync", args=[registry.name]))
    assert response.status_code == 405
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()
