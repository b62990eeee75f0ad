"""The registry admin user's services: off by default, two passwords shown once, stored as
digests, regenerated one at a time, all revoked when it is turned off."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from registry import services
from registry.models import AuditEvent, Registry, RegistryAdminPassword
from registry.services import ActionRefused

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:5999")


def works(registry: Registry, password: str) -> bool:
    registry.refresh_from_db()
    return RegistryAdminPassword.find(registry, password) is not None


def test_it_is_disabled_by_default(registry):
    assert registry.admin_user_enabled is False
    assert not registry.admin_passwords.exists()


def test_enabling_issues_two_passwords_kept_only_as_digests(alice, registry):
    passwords = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)

    assert set(passwords) == {"password", "password2"}
    assert all(p.startswith("pcl_adm_") and len(p) > 40 for p in passwords.values())
    assert works(registry, passwords["password"]) and works(registry, passwords["password2"])
    stored = list(RegistryAdminPassword.objects.values_list("digest", "hint"))
    assert len(stored) == 2
    assert not any(p in str(stored) for p in passwords.values())


def test_setting_the_state_it_has_changes_nothing(alice, registry):
    assert services.admin_user_set_enabled(actor=alice, registry=registry, enabled=False) == {}
    services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    assert services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True) == {}
    assert RegistryAdminPassword.objects.count() == 2
    assert AuditEvent.objects.filter(action__startswith="registry.adminUser").count() == 1


def test_regenerating_replaces_one_password_and_keeps_the_other(alice, registry):
    old = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)

    new = services.admin_user_regenerate(actor=alice, registry=registry, name="password")

    assert new != old["password"]
    assert works(registry, new)
    assert not works(registry, old["password"])
    assert works(registry, old["password2"])


def test_disabling_revokes_both_and_enabling_again_brings_new_ones(alice, registry):
    first = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    services.admin_user_set_enabled(actor=alice, registry=registry, enabled=False)
    assert not registry.admin_passwords.filter(revoked_at__isnull=True).exists()

    second = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)

    assert not any(works(registry, p) for p in first.values())
    assert all(works(registry, p) for p in second.values())


def test_a_password_works_only_for_its_own_registry(alice, registry):
    other = Registry.objects.create(name="prod2", login_server="http://127.0.0.1:5998")
    services.admin_user_set_enabled(actor=alice, registry=other, enabled=True)
    mine = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    assert not works(other, mine["password"])


def test_regenerating_needs_it_enabled_and_a_known_name(alice, registry):
    with pytest.raises(ActionRefused, match="disabled"):
        services.admin_user_regenerate(actor=alice, registry=registry, name="password")
    services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    with pytest.raises(ValidationError, match="password or password2"):
        services.admin_user_regenerate(actor=alice, registry=registry, name="password3")


def test_every_change_is_audited_without_the_passwords(alice, registry):
    passwords = services.admin_user_set_enabled(actor=alice, registry=registry, enabled=True)
    again = services.admin_user_regenerate(actor=alice, registry=registry, name="password2")
    services.admin_user_set_enabled(actor=alice, registry=registry, enabled=False)

    events = AuditEvent.objects.order_by("pk")
    assert [(e.action, e.actor_name, e.scope) for e in events] == [
        ("registry.adminUser.enable", "alice", "/registries/prod1"),
        ("registry.adminUser.regenerate", "alice", "/registries/prod1"),
        ("registry.adminUser.disable", "alice", "/registries/prod1"),
    ]
    assert events[1].details == {"name": "password2"}
    logged = str(list(events.values_list("details", flat=True)))
    assert not any(p in logged for p in [*passwords.values(), again])
