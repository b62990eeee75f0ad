"""Writes to service principals, their secrets and personal access tokens: checked and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import PersonalAccessToken, ServicePrincipal, ServicePrincipalSecret
from accounts.services import (
    personal_access_token_create,
    personal_access_token_revoke,
    service_principal_create,
    service_principal_delete,
    service_principal_secret_create,
    service_principal_secret_revoke,
    service_principal_set_enabled,
    service_principal_update,
)
from registry import audit
from registry.models import AuditEvent, RoleAssignment
from tests.accounts.conftest import assign

pytestmark = pytest.mark.django_db


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


# Service principals ------------------------------------------------------------------------


def test_creating_makes_the_user_its_owner_and_is_audited(bob):
    created = service_principal_create(actor=bob, name=" ci-deployer ", description=" Deploys ")

    assert created.owner == bob
    assert created.name == "ci-deployer"
    assert created.description == "Deploys"
    assert created.enabled
    [event] = events("servicePrincipal.create")
    assert event.actor == bob
    assert event.scope == "/"
    assert event.details == {
        "service_principal": "ci-deployer",
        "client_id": str(created.client_id),
        "owner": "bob",
        "enabled": True,
    }


def test_one_created_by_a_service_principal_has_no_owner(root_robot):
    principal, _ = root_robot
    created = service_principal_create(actor=principal, name="child")
    assert created.owner is None
    [event] = events("servicePrincipal.create")
    assert event.actor is None
    assert event.actor_name == "sp:root-robot"


@pytest.mark.parametrize(
    "name", ["", "-ci", "ci-", "ci deployer", "ci/deployer", "ci:x", "é", "a" * 65]
)
def test_a_malformed_name_is_refused(bob, name):
    with pytest.raises(ValidationError) as caught:
        service_principal_create(actor=bob, name=name)
    assert "letters, digits" in caught.value.message_dict["name"][0]
    assert not ServicePrincipal.objects.exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


@pytest.mark.parametrize("name", ["c", "ci", "CI.deploy_2", "a" * 64])
def test_names_may_use_letters_digits_dots_dashes_underscores(bob, name):
    assert service_principal_create(actor=bob, name=name).name == name


def test_names_are_unique_ignoring_case(bob, ci):
    with pytest.raises(ValidationError) as caught:
        service_principal_create(actor=bob, name="CI")
    assert caught.value.message_dict["name"] == ["A service principal named 'ci' already exists."]
    assert ServicePrincipal.objects.count() == 1


def test_updating_records_what_changed(bob, ci):
    service_principal_update(actor=bob, service_principal=ci, name="ci2", description="new")

    ci.refresh_from_db()
    assert (ci.name, ci.description) == ("ci2", "new")
    [event] = events("servicePrincipal.update")
    assert event.details["changes"] == {
        "name": {"from": "ci", "to": "ci2"},
        "description": {"from": "GitHub Actions", "to": "new"},
    }


def test_an_update_that_changes_nothing_records_nothing(bob, ci):
    service_principal_update(actor=bob, service_principal=ci, name="ci", description=None)
    assert not events("servicePrincipal.update")


def test_renaming_to_a_taken_name_is_refused(bob, ci):
    service_principal_create(actor=bob, name="other")
    with pytest.raises(ValidationError):
        service_principal_update(actor=bob, service_principal=ci, name="OTHER")
    ci.refresh_from_db()
    assert ci.name == "ci"


def test_disabling_and_enabling_are_audited_once_each(bob, ci):
    service_principal_set_enabled(actor=bob, service_principal=ci, enabled=False)
    service_principal_set_enabled(actor=bob, service_principal=ci, enabled=False)
    ci.refresh_from_db()
    assert not ci.enabled
    service_principal_set_enabled(actor=bob, service_principal=ci, enabled=True)

    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["servicePrincipal.disable", "servicePrincipal.enable"]


def test_deleting_takes_its_secrets_and_role_assignments(bob, ci, prod1):
    service_principal_secret_create(service_principal=ci)
    assign("AcrPull", prod1.scope, service_principal=ci)

    service_principal_delete(actor=bob, service_principal=ci)

    assert not ServicePrincipal.objects.exists()
    assert not ServicePrincipalSecret.objects.exists()
    assert not RoleAssignment.objects.exists()
    [event] = events("servicePrincipal.delete")
    assert event.details["service_principal"] == "ci"
    assert event.details["role_assignments"] == 1


# Secrets -----------------------------------------------------------------------------------


def test_a_new_secret_is_audited_without_its_value(bob, ci):
    issued = service_principal_secret_create(actor=bob, service_principal=ci, description="gh")

    [event] = events("servicePrincipal.secret.create")
    assert event.actor == bob
    assert event.details["hint"] == issued.record.hint
    assert event.details["description"] == "gh"
    assert event.details["secret"] == issued.record.pk
    assert issued.secret not in str(event.details)


@pytest.mark.parametrize("days", [1, 365, 730])
def test_a_secret_may_live_up_to_two_years(ci, days):
    issued = service_principal_secret_create(service_principal=ci, lifetime=timedelta(days=days))
    expected = timezone.now() + timedelta(days=days)
    assert abs(issued.record.expires_at - expected) < timedelta(minutes=1)


@pytest.mark.parametrize("lifetime", [timedelta(days=731), timedelta(0), timedelta(days=-1)])
def test_a_lifetime_out_of_bounds_is_refused(ci, lifetime):
    with pytest.raises(ValidationError) as caught:
        service_principal_secret_create(service_principal=ci, lifetime=lifetime)
    assert "expires_at" in caught.value.message_dict
    assert not ServicePrincipalSecret.objects.exists()


def test_a_long_description_is_refused(ci):
    with pytest.raises(ValidationError):
        service_principal_secret_create(service_principal=ci, description="x" * 101)


def test_revoking_a_secret_is_audited_once(bob, ci):
    issued = service_principal_secret_create(service_principal=ci)

    service_principal_secret_revoke(actor=bob, secret=issued.record)
    service_principal_secret_revoke(actor=bob, secret=issued.record)

    assert ServicePrincipalSecret.find(str(ci.client_id), issued.secret) is None
    [event] = events("servicePrincipal.secret.revoke")
    assert event.details["hint"] == issued.record.hint
    assert event.details["service_principal"] == "ci"


# Personal access tokens ----------------------------------------------------------------------


def test_a_new_token_is_audited_as_its_user_by_default(bob):
    issued = personal_access_token_create(user=bob, name="laptop")
    [event] = events("token.create")
    assert event.actor == bob
    assert event.details["user"] == "bob"
    assert event.details["name"] == "laptop"
    assert issued.token not in str(event.details)


def test_a_token_issued_by_an_operator_is_audited_as_the_system(bob):
    personal_access_token_create(user=bob, name="laptop", actor=None)
    [event] = events("token.create")
    assert event.actor is None
    assert event.actor_name == "system"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_name(bob, name):
    with pytest.raises(ValidationError) as caught:
        personal_access_token_create(user=bob, name=name)
    assert "name" in caught.value.message_dict
    assert not PersonalAccessToken.objects.exists()


def test_a_token_lives_at_most_a_year(bob):
    with pytest.raises(ValidationError):
        personal_access_token_create(user=bob, name="x", lifetime=timedelta(days=366))
    issued = personal_access_token_create(user=bob, name="x", lifetime=timedelta(days=365))
    assert issued.record.expires_at > timezone.now() + timedelta(days=364)


def test_revoking_a_token_is_audited_once(bob):
    issued = personal_access_token_create(user=bob, name="laptop")
    personal_access_token_revoke(token=issued.record)
    personal_access_token_revoke(token=issued.record)
    [event] = events("token.revoke")
    assert event.actor == bob
    assert event.details["name"] == "laptop"


# The audit log and its actors ----------------------------------------------------------------


def test_the_audit_log_names_a_service_principal_actor(ci):
    event = audit.record(actor=ci, action="locks.update", scope="/registries/prod1")
    assert event.actor is None
    assert event.actor_name == "sp:ci"


def test_the_audit_log_names_users_and_the_system(bob):
    assert audit.record(actor=bob, action="x", scope="/").actor_name == "bob"
    assert audit.record(actor=None, action="x", scope="/").actor_name == "system"
