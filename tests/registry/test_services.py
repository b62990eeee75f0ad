"""Services: every write validates, changes the database and writes its audit row."""

import pytest
from django.core.exceptions import ValidationError

from registry import services
from registry.models import AuditEvent, Namespace, Registry, Repository
from tests.factories import ManifestFactory, NamespaceFactory, RegistryFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_registry_create_derives_service_and_audits(alice):
    registry = services.registry_create(
        actor=alice, name="prod1", login_server="https://registry.example.com:5000/"
    )
    assert registry.login_server == "https://registry.example.com:5000"
    assert registry.service == "registry.example.com:5000"
    event = AuditEvent.objects.get(action="registry.create")
    assert event.actor == alice
    assert event.actor_name == "alice"
    assert event.scope == "/registries/prod1"
    assert event.details["login_server"] == "https://registry.example.com:5000"


def test_registry_create_queues_a_health_check_and_a_sync(
    alice, django_capture_on_commit_callbacks
):
    # The test settings run tasks straight away; a closed port makes the check fail.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        registry = services.registry_create(
            actor=alice, name="prod1", login_server="http://127.0.0.1:9"
        )
    # A health check and a first sync of the index.
    assert len(callbacks) == 2
    registry.refresh_from_db()
    assert registry.health_checked_at is not None
    assert registry.is_healthy is False
    assert "127.0.0.1:9" in registry.health_detail


@pytest.mark.parametrize(
    ("name", "login_server"),
    [
        ("ab", "https://r.example.com"),
        ("bad-name", "https://r.example.com"),
        ("a" * 51, "https://r.example.com"),
        ("prod1", "ftp://r.example.com"),
        ("prod1", "not a url"),
    ],
)
def test_registry_create_refuses_bad_input_and_writes_nothing(alice, name, login_server):
    with pytest.raises(ValidationError):
        services.registry_create(actor=alice, name=name, login_server=login_server)
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_registry_names_are_unique_ignoring_case(alice):
    services.registry_create(actor=alice, name="prod1", login_server="https://a.example.com")
    with pytest.raises(ValidationError):
        services.registry_create(actor=alice, name="PROD1", login_server="https://b.example.com")
    assert Registry.objects.count() == 1


def test_registry_update_records_what_changed(alice):
    registry = RegistryFactory(name="prod1", tier="Basic")
    services.registry_update(actor=alice, registry=registry, tier="Premium", description="x")
    event = AuditEvent.objects.get(action="registry.update")
    assert event.details["changes"]["tier"] == {"from": "Basic", "to": "Premium"}


def test_registry_update_with_no_change_writes_no_audit_row(alice):
    registry = RegistryFactory(name="prod1", tier="Basic")
    services.registry_update(actor=alice, registry=registry, tier="Basic")
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_registry_delete_forgets_the_index_only(alice):
    tag = TagFactory(manifest__repository__registry__name="prod1")
    registry = tag.repository.registry
    services.registry_delete(actor=alice, registry=registry)
    assert not Registry.objects.exists()
    assert not Repository.objects.exists()
    event = AuditEvent.objects.get(action="registry.delete")
    assert event.details == {"repositories": 1}


def test_namespace_create_with_owners(alice, bob):
    registry = RegistryFactory()
    namespace = services.namespace_create(
        actor=alice, registry=registry, name="team-a/backend", owners=[bob]
    )
    assert list(namespace.owners.all()) == [bob]
    event = AuditEvent.objects.get(action="namespace.create")
    assert event.scope == f"/registries/{registry.name}/namespaces/team-a/backend"
    assert event.details["owners"] == ["bob"]


@pytest.mark.parametrize("name", ["Team-A", "team a", "team-a/", "-x", ""])
def test_namespace_create_refuses_bad_names(alice, name):
    registry = RegistryFactory()
    with pytest.raises(ValidationError):
        services.namespace_create(actor=alice, registry=registry, name=name)
    assert not Namespace.objects.exists()


def test_namespace_names_are_unique_per_registry(alice):
    first, second = RegistryFactory(), RegistryFactory()
    services.namespace_create(actor=alice, registry=first, name="team-a")
    services.namespace_create(actor=alice, registry=second, name="team-a")
    with pytest.raises(ValidationError):
        services.namespace_create(actor=alice, registry=first, name="team-a")


def test_namespace_limit_follows_the_tier(alice):
    registry = RegistryFactory(tier="Basic")
    for i in range(registry.limits.namespaces):
        NamespaceFactory(registry=registry, name=f"team-{i}")
    with pytest.raises(services.ActionRefused, match="Basic tier allows 10 namespaces"):
        services.namespace_create(actor=alice, registry=registry, name="one-more")


def test_namespace_update_and_delete_keep_repositories(alice, bob):
    namespace = NamespaceFactory(name="team-a")
    ManifestFactory(repository__registry=namespace.registry, repository__name="team-a/app")
    services.namespace_update(actor=alice, namespace=namespace, description="Team A", owners=[bob])
    namespace.refresh_from_db()
    assert namespace.description == "Team A"
    services.namespace_delete(actor=alice, namespace=namespace)
    assert Repository.objects.filter(name="team-a/app").exists()
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["namespace.update", "namespace.delete"]


def test_lock_updates_are_audited_and_validated(alice):
    tag = TagFactory()
    services.tag_update_locks(actor=alice, tag=tag, write_enabled=False)
    tag.refresh_from_db()
    assert tag.write_enabled is False
    event = AuditEvent.objects.get(action="locks.update")
    assert event.details == {"locks": {"write_enabled": False}, "tag": tag.name}
    with pytest.raises(ValidationError):
        services.repository_update_locks(actor=alice, repository=tag.repository, bogus=True)
