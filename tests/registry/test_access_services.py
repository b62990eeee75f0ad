"""Access-control services beyond the basics: naming principals, assigning to people who have not
signed in yet, duplicates, removing custom roles; and the engine on groups and inactive accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Group, ServicePrincipal, User
from registry.models import AuditEvent, RoleAssignment, RoleDefinition
from registry.permissions import engine
from registry.permissions.assignments import (
    custom_role_create,
    custom_role_delete,
    is_placeholder,
    parse_principal_reference,
    principal_find,
    principal_get_or_invite,
    principal_reference,
    role_assignment_create,
    role_assignment_create_by_reference,
)
from registry.services import ActionRefused
from tests.factories import UserFactory
from tests.registry.access_support import APP_A, REGISTRY_SCOPE, TEAM_A, assign

pytestmark = pytest.mark.django_db

OBJECT_ID = "5F2B9C1E-0A4D-4E8B-9C3F-1D2E3F4A5B6C"


def _role(name="AcrPush"):
    return RoleDefinition.objects.get(name=name)


# Naming principals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("user:alice", ("user", "alice")),
        (" group:platform ", ("group", "platform")),
        ("sp:0b6f…", ("service_principal", "0b6f…")),
        ("service_principal:ci", ("service_principal", "ci")),
        ("USER:Alice", ("user", "Alice")),
    ],
)
def test_principal_references_name_a_kind_and_a_name(text, parsed):
    assert parse_principal_reference(text) == parsed


@pytest.mark.parametrize("text", ["alice", "user:", "robot:r2d2", ":alice"])
def test_malformed_principal_references_say_the_grammar(text):
    with pytest.raises(ValidationError, match="user:<username or email>"):
        parse_principal_reference(text)


def test_users_are_found_by_username_then_email(world, alice):
    carol = UserFactory(username="carol", email="Carol.Shaw@Example.com")
    assert principal_find(principal_type="user", reference="carol") == carol
    assert principal_find(principal_type="user", reference="CAROL") == carol
    assert principal_find(principal_type="user", reference="carol.shaw@example.com") == carol
    with pytest.raises(ValidationError, match="no user with the username or email 'nobody'"):
        principal_find(principal_type="user", reference="nobody")


def test_an_email_that_several_users_share_is_refused_as_ambiguous(world):
    UserFactory(username="x1", email="shared@example.com")
    UserFactory(username="x2", email="shared@example.com")
    with pytest.raises(ValidationError, match="Several users"):
        principal_find(principal_type="user", reference="shared@example.com")


def test_groups_are_found_by_name_or_object_id(world):
    local = Group.objects.create(name="platform")
    directory = Group.objects.create(name="Platform Engineers", object_id=OBJECT_ID.lower())
    assert principal_find(principal_type="group", reference="platform") == local
    assert principal_find(principal_type="group", reference=OBJECT_ID) == directory
    assert principal_find(principal_type="group", reference="Platform Engineers") == directory


def test_groups_with_the_same_name_must_be_named_by_object_id(world):
    Group.objects.create(name="devs", object_id="00000000-0000-0000-0000-000000000001")
    Group.objects.create(name="devs", object_id="00000000-0000-0000-0000-000000000002")
    with pytest.raises(ValidationError, match="object id"):
        principal_find(principal_type="group", reference="devs")


def test_service_principals_are_found_by_client_id_or_name(world):
    ci = ServicePrincipal.objects.create(name="ci")
    assert principal_find(principal_type="service_principal", reference=str(ci.client_id)) == ci
    assert principal_find(principal_type="service_principal", reference="ci") == ci
    assert principal_reference(ci) == str(ci.client_id)
    with pytest.raises(ValidationError, match="no service principal"):
        principal_find(
            principal_type="service_principal", reference="00000000-0000-0000-0000-000000000009"
        )


# People who have not signed in yet --------------------------------------------------------


def test_an_unknown_email_becomes_a_placeholder_user_without_a_password(world, alice):
    user = principal_get_or_invite(
        actor=alice, principal_type="user", reference=" New.Person@Example.com "
    )
    assert (user.username, user.email) == ("new.person@example.com", "new.person@example.com")
    assert not user.has_usable_password()
    assert is_placeholder(user)
    event = AuditEvent.objects.get(action="user.invite")
    assert (event.actor, event.scope, event.details["email"]) == (alice, "/", user.email)

    # Named again, by the same address in any case: the same row, no second audit event.
    again = principal_get_or_invite(
        actor=alice, principal_type="user", reference="new.person@example.com"
    )
    assert again == user
    assert AuditEvent.objects.filter(action="user.invite").count() == 1


def test_only_the_person_the_address_names_can_take_a_placeholder_over(world, alice, client):
    user = principal_get_or_invite(actor=alice, principal_type="user", reference="new@example.com")
    assert not client.login(username="new@example.com", password="")
    # The password-reset mail goes to the address itself: whoever reads it is its owner.
    client.post(reverse("account_reset_password"), {"email": "new@example.com"})
    assert [message.to for message in mail.outbox] == [["new@example.com"]]
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_a_user_who_signed_in_is_no_placeholder(world, bob):
    assert not is_placeholder(bob)


def test_an_unknown_object_id_becomes_a_directory_group_named_after_it(world, alice):
    group = principal_get_or_invite(actor=alice, principal_type="group", reference=OBJECT_ID)
    assert (group.name, group.object_id) == (OBJECT_ID.lower(), OBJECT_ID.lower())
    assert principal_reference(group) == OBJECT_ID.lower()
    assert AuditEvent.objects.get(action="group.invite").details["object_id"] == group.object_id


@pytest.mark.parametrize(
    ("principal_type", "reference", "hint"),
    [
        ("user", "nobody", "give their email address"),
        ("group", "platform", "give its object id"),
        ("service_principal", "ci", "no service principal"),
    ],
)
def test_other_unknown_principals_are_refused_with_a_hint(
    world, alice, principal_type, reference, hint
):
    with pytest.raises(ValidationError, match=hint):
        principal_get_or_invite(actor=alice, principal_type=principal_type, reference=reference)
    assert User.objects.count() == 1
    assert not Group.objects.exists()


def test_a_placeholder_is_not_left_behind_when_the_assignment_is_refused(world, alice):
    with pytest.raises(ValidationError) as caught:
        role_assignment_create_by_reference(
            actor=alice,
            role=_role(),
            scope="/registries/prod1/namespaces/nothing",
            principal_type="user",
            principal="new@example.com",
            expires_at=timezone.now() - timedelta(days=1),
        )
    assert set(caught.value.message_dict) == {"scope", "expires_at"}
    assert not User.objects.filter(email="new@example.com").exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


def test_every_problem_with_an_assignment_is_reported_at_once(world, alice):
    with pytest.raises(ValidationError) as caught:
        role_assignment_create_by_reference(
            actor=alice,
            role=_role(),
            scope="/registries/nosuch1",
            principal_type="group",
            principal="nobody-knows",
        )
    assert set(caught.value.message_dict) == {"scope", "principal"}


def test_assigning_by_email_grants_the_placeholder_its_role(world, alice):
    assignment = role_assignment_create_by_reference(
        actor=alice,
        role=_role(),
        scope=TEAM_A,
        principal_type="user",
        principal="newcomer@example.com",
    )
    newcomer = User.objects.get(email="newcomer@example.com")
    assert assignment.user == newcomer
    assert engine.is_allowed(newcomer, "content/write", APP_A)
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["user.invite", "roleAssignment.create"]


# Duplicates --------------------------------------------------------------------------------


def test_the_same_role_at_the_same_scope_cannot_be_assigned_twice(world, alice, bob):
    first = role_assignment_create(actor=alice, role=_role(), scope=TEAM_A, principal=bob)
    with pytest.raises(ValidationError, match=f"already holds AcrPush .*assignment {first.pk}"):
        role_assignment_create(
            actor=alice, role=_role(), scope=TEAM_A.replace("prod1", "PROD1"), principal=bob
        )
    assert RoleAssignment.objects.count() == 1


def test_an_expired_assignment_does_not_block_a_new_one(world, alice, bob):
    old = assign("AcrPush", TEAM_A, user=bob)
    RoleAssignment.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
    role_assignment_create(actor=alice, role=_role(), scope=TEAM_A, principal=bob)
    assert RoleAssignment.objects.filter(user=bob).count() == 2


def test_another_role_or_scope_is_no_duplicate(world, alice, bob):
    role_assignment_create(actor=alice, role=_role(), scope=TEAM_A, principal=bob)
    role_assignment_create(actor=alice, role=_role("AcrPull"), scope=TEAM_A, principal=bob)
    role_assignment_create(actor=alice, role=_role(), scope=REGISTRY_SCOPE, principal=bob)
    assert RoleAssignment.objects.filter(user=bob).count() == 3


# Custom roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Tag Manager", "a/b", "-x", "x" * 65, ""])
def test_custom_role_names_fit_in_urls(alice, name):
    with pytest.raises(ValidationError) as caught:
        custom_role_create(actor=alice, name=name, actions=["metadata/read"])
    assert "name" in caught.value.message_dict


def test_an_unused_custom_role_can_be_deleted_and_that_is_audited(alice):
    role = custom_role_create(actor=alice, name="Tagger", actions=["metadata/write"])
    custom_role_delete(actor=alice, role=role)
    assert not RoleDefinition.objects.filter(name="Tagger").exists()
    assert AuditEvent.objects.get(action="roleDefinition.delete").details == {"role": "Tagger"}


def test_a_custom_role_in_use_cannot_be_deleted(world, alice, bob):
    role = custom_role_create(actor=alice, name="Tagger", actions=["metadata/write"])
    assignment = role_assignment_create(actor=alice, role=role, scope=TEAM_A, principal=bob)
    RoleAssignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    with pytest.raises(ActionRefused, match="used by 1 role assignment"):
        custom_role_delete(actor=alice, role=role)
    assert RoleDefinition.objects.filter(name="Tagger").exists()


@pytest.mark.parametrize("name", ["Owner", "AcrPush", "Auditor"])
def test_built_in_roles_cannot_be_deleted(alice, name):
    with pytest.raises(ActionRefused, match="built-in roles are read-only"):
        custom_role_delete(actor=alice, role=_role(name))
    assert RoleDefinition.objects.filter(name=name).exists()
    assert not AuditEvent.objects.exclude(action__startswith="token.").exists()


# The engine on groups and inactive principals ---------------------------------------------


def test_a_group_holds_its_own_assignments(world, platform, erin):
    assert engine.is_allowed(platform, "content/write", APP_A)
    decision = engine.explain(platform, "content/write", APP_A)
    assert decision.explanation == f"allowed via AcrPush assigned to group platform at {TEAM_A}"


def test_an_inactive_account_is_denied_and_the_explanation_says_why(world, bob):
    assign("Owner", REGISTRY_SCOPE, user=bob)
    bob.is_active = False
    bob.save()
    decision = engine.explain(bob, "content/read", APP_A)
    assert not decision.allowed
    assert decision.explanation == "denied: the account of bob is inactive"


def test_a_disabled_service_principal_is_denied_and_the_explanation_says_why(world):
    ci = ServicePrincipal.objects.create(name="ci", enabled=False)
    assign("Owner", REGISTRY_SCOPE, service_principal=ci)
    decision = engine.explain(ci, "content/read", APP_A)
    assert decision.explanation == "denied: service principal ci is disabled"
