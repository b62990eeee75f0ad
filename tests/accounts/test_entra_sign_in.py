"""Signing in with Microsoft Entra ID, through the fake Entra ID (``tests/fakes/entra.py``).

Each test drives the real round trip with Django's test client: the portal's "Sign in with
Microsoft" button, the fake's consent page, the callback, where the portal fetches tokens, the
profile and the groups from the fake over HTTP.
"""

from __future__ import annotations

import html

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from accounts.entra.directory import entra_user_invite
from accounts.models import Group, GroupMembership, User
from registry.models import AuditEvent, Registry, RoleAssignment, RoleDefinition
from registry.permissions import engine
from tests.fakes.entra import sign_in_with_microsoft

pytestmark = pytest.mark.django_db

SCOPE = "/registries/prod1"


@pytest.fixture
def prod1(db):
    return Registry.objects.create(name="prod1", login_server="http://127.0.0.1:5999")


def assign(role: str, **principal) -> RoleAssignment:
    return RoleAssignment.objects.create(
        role=RoleDefinition.objects.get(name=role), scope=SCOPE, **principal
    )


def signed_in_as(client) -> User | None:
    user = client.get(reverse("profile:detail")).wsgi_request.user
    return user if user.is_authenticated else None


# The sign-in page --------------------------------------------------------------------------


def test_sign_in_page_has_no_microsoft_button_when_not_configured(client):
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Microsoft" not in page
    assert '<label for="id_password">' in page


def test_microsoft_sign_in_is_404_when_not_configured(client):
    assert client.post("/accounts/microsoft/login/").status_code == 404
    assert client.get("/accounts/microsoft/login/callback/?code=x&state=y").status_code == 404


def test_sign_in_page_offers_microsoft_when_configured(client, entra):
    page = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Microsoft" in page
    assert 'action="/accounts/microsoft/login/?process=login' in page
    assert '<label for="id_password">' in page  # local accounts still sign in


# The first sign-in -------------------------------------------------------------------------


def test_first_sign_in_creates_the_user_and_their_groups(client, entra):
    alice = entra.add_user("alice@contoso.com", "Alice Smith")
    platform = entra.add_group("Platform", alice)
    engineering = entra.add_group("Engineering", platform)  # alice through Platform

    response = sign_in_with_microsoft(client, entra, alice)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")
    user = User.objects.get(entra_object_id=alice.object_id)
    assert signed_in_as(client) == user
    assert (user.username, user.email) == ("alice@contoso.com", "alice@contoso.com")
    assert (user.first_name, user.last_name) == ("Alice", "Smith")
    assert user.entra_tenant_id == entra.tenant_id
    assert not user.has_usable_password()
    assert user.groups_refreshed_at is not None
    groups = {g.object_id: g.name for g in Group.objects.all()}
    # Both groups, the nested one included; the directory role in Graph's answer is not one.
    assert groups == {platform.object_id: "Platform", engineering.object_id: "Engineering"}
    assert set(GroupMembership.objects.filter(user=user).values_list("group__name", "source")) == {
        ("Platform", "entra"),
        ("Engineering", "entra"),
    }
    assert SocialAccount.objects.get(user=user).uid == alice.object_id


def test_groups_are_read_page_by_page(client, entra):
    entra.page_size = 2
    alice = entra.add_user("alice@contoso.com")
    for number in range(5):
        entra.add_group(f"team-{number}", alice)

    sign_in_with_microsoft(client, entra, alice)

    user = User.objects.get(entra_object_id=alice.object_id)
    assert sorted(user.portal_groups.values_list("name", flat=True)) == [
        f"team-{n}" for n in range(5)
    ]
    # 5 groups and a directory role, 2 a page.
    assert entra.count("/transitiveMemberOf") == 3


def test_the_sign_in_returns_to_the_page_asked_for(client, entra):
    alice = entra.add_user("alice@contoso.com")
    response = sign_in_with_microsoft(client, entra, alice, next_url="/registries/")
    assert response["Location"] == "/registries/"


def test_every_sign_in_is_audited_when_it_changes_something(client, entra):
    alice = entra.add_user("alice@contoso.com")
    entra.add_group("Platform", alice)

    sign_in_with_microsoft(client, entra, alice)

    created = AuditEvent.objects.get(action="user.create")
    assert created.actor_name == "entra"
    assert created.details["username"] == "alice@contoso.com"
    refresh = AuditEvent.objects.get(action="groupMembership.refresh")
    assert refresh.details["added"] == ["Platform"] and refresh.details["removed"] == []

    client.post(reverse("account_logout"))
    sign_in_with_microsoft(client, entra, alice)
    assert AuditEvent.objects.filter(action="groupMembership.refresh").count() == 1


# Later sign-ins refresh the groups ---------------------------------------------------------


def test_each_sign_in_replaces_the_entra_memberships_and_keeps_local_ones(client, entra):
    alice = entra.add_user("alice@contoso.com")
    platform = entra.add_group("Platform", alice)
    ops = entra.add_group("Ops", alice)
    sign_in_with_microsoft(client, entra, alice)
    user = User.objects.get(entra_object_id=alice.object_id)
    local = Group.objects.create(name="release-managers")
    GroupMembership.objects.create(group=local, user=user)
    first_refresh = user.groups_refreshed_at

    entra.remove_member(ops, alice)
    platform.display_name = "Platform Engineering"
    newcomers = entra.add_group("Newcomers", alice)
    client.post(reverse("account_logout"))
    sign_in_with_microsoft(client, entra, alice)

    user.refresh_from_db()
    assert set(user.group_memberships.values_list("group__name", "source")) == {
        ("Platform Engineering", "entra"),
        ("Newcomers", "entra"),
        ("release-managers", "local"),
    }
    assert Group.objects.get(object_id=platform.object_id).name == "Platform Engineering"
    assert Group.objects.filter(object_id=newcomers.object_id).exists()
    # The group Alice left stays (others may be in it, assignments may name it).
    assert Group.objects.filter(object_id=ops.object_id).exists()
    assert user.groups_refreshed_at > first_refresh


def test_removal_from_an_entra_group_removes_the_access_at_the_next_sign_in(client, entra, prod1):
    alice = entra.add_user("alice@contoso.com")
    pushers = entra.add_group("Pushers", alice)
    sign_in_with_microsoft(client, entra, alice)
    assign("AcrPush", group=Group.objects.get(object_id=pushers.object_id))
    user = User.objects.get(entra_object_id=alice.object_id)
    assert engine.is_allowed(user, "content/write", SCOPE)

    entra.remove_member(pushers, alice)
    client.post(reverse("account_logout"))
    sign_in_with_microsoft(client, entra, alice)

    assert not engine.is_allowed(User.objects.get(pk=user.pk), "content/write", SCOPE)


def test_the_profile_shows_groups_and_when_they_were_refreshed(client, entra):
    alice = entra.add_user("alice@contoso.com", "Alice Smith")
    entra.add_group("Platform", alice)
    sign_in_with_microsoft(client, entra, alice)

    page = client.get(reverse("profile:detail")).content.decode()

    assert "Entra ID memberships last refreshed" in page
    assert "Platform" in page and "from Entra ID" in page
    assert alice.object_id in page
    assert "Two-factor authentication" not in page  # Entra does that for these accounts


# Assignments made before the first sign-in -------------------------------------------------


def test_roles_given_to_an_email_attach_at_first_sign_in(client, entra, prod1):
    # What the role-assignment pages do for someone who has not signed in yet.
    placeholder = User(username="alice@contoso.com", email="alice@contoso.com")
    placeholder.set_unusable_password()
    placeholder.save()
    assign("AcrPull", user=placeholder)
    alice = entra.add_user("alice@contoso.com")

    sign_in_with_microsoft(client, entra, alice)

    user = User.objects.get(pk=placeholder.pk)
    assert user.entra_object_id == alice.object_id
    assert User.objects.count() == 1
    assert signed_in_as(client) == user
    assert engine.is_allowed(user, "content/read", SCOPE)


def test_roles_given_to_a_mail_address_that_is_not_the_upn_attach(client, entra, prod1):
    placeholder = User(username="alice.smith@contoso.com", email="alice.smith@contoso.com")
    placeholder.set_unusable_password()
    placeholder.save()
    alice = entra.add_user("asmith@contoso.onmicrosoft.com", email="alice.smith@contoso.com")

    sign_in_with_microsoft(client, entra, alice)

    assert User.objects.get(pk=placeholder.pk).entra_object_id == alice.object_id


def test_roles_given_to_an_object_id_attach_at_first_sign_in(client, entra, prod1):
    alice = entra.add_user("alice@contoso.com")
    placeholder = entra_user_invite(object_id=alice.object_id)
    assign("AcrPush", user=placeholder)

    sign_in_with_microsoft(client, entra, alice)

    user = User.objects.get(pk=placeholder.pk)
    assert user.username == "alice@contoso.com"  # named after the UPN from now on
    assert engine.is_allowed(user, "content/write", SCOPE)


def test_roles_given_to_a_group_object_id_attach_at_first_sign_in(client, entra, prod1):
    alice = entra.add_user("alice@contoso.com")
    pushers = entra.add_group("Pushers", alice)
    # What the role-assignment pages do for a directory group nobody of has signed in yet.
    waiting = Group.objects.create(name=pushers.object_id, object_id=pushers.object_id)
    assign("AcrPush", group=waiting)

    sign_in_with_microsoft(client, entra, alice)

    waiting.refresh_from_db()
    assert waiting.name == "Pushers"
    assert Group.objects.count() == 1
    assert engine.is_allowed(User.objects.get(username="alice@contoso.com"), "content/write", SCOPE)


# Refusals ----------------------------------------------------------------------------------


def test_a_person_of_another_tenant_is_refused(client, entra):
    mallory = entra.add_user(
        "mallory@fabrikam.com", tenant_id="4c1f6b6e-0000-4000-8000-000000000001"
    )
    entra.add_group("Fabrikam staff", mallory)

    response = sign_in_with_microsoft(client, entra, mallory)

    assert response.status_code == 401
    assert "not by this portal's tenant" in html.unescape(response.content.decode())
    assert not User.objects.exists() and not Group.objects.exists()
    assert signed_in_as(client) is None


def test_a_graph_failure_refuses_the_sign_in_and_writes_nothing(client, entra):
    entra.graph_failure = 503
    alice = entra.add_user("alice@contoso.com")
    entra.add_group("Platform", alice)

    response = sign_in_with_microsoft(client, entra, alice)

    page = response.content.decode()
    assert response.status_code == 401
    assert "group memberships could not be read" in page and "503" in page
    assert not User.objects.exists() and not Group.objects.exists()
    assert not SocialAccount.objects.exists()
    assert signed_in_as(client) is None


def test_a_graph_failure_on_a_later_page_writes_nothing(client, entra):
    entra.page_size = 1
    entra.graph_failure, entra.graph_failure_page = 500, 2
    alice = entra.add_user("alice@contoso.com")
    for number in range(3):
        entra.add_group(f"team-{number}", alice)

    response = sign_in_with_microsoft(client, entra, alice)

    assert response.status_code == 401
    assert not User.objects.exists() and not Group.objects.exists()


def test_a_graph_failure_leaves_an_existing_users_groups_as_they_were(client, entra):
    alice = entra.add_user("alice@contoso.com")
    platform = entra.add_group("Platform", alice)
    sign_in_with_microsoft(client, entra, alice)
    client.post(reverse("account_logout"))
    before = User.objects.get().groups_refreshed_at

    entra.remove_member(platform, alice)
    entra.graph_failure = 429
    response = sign_in_with_microsoft(client, entra, alice)

    assert response.status_code == 401
    user = User.objects.get()
    assert list(user.portal_groups.values_list("name", flat=True)) == ["Platform"]
    assert user.groups_refreshed_at == before


def test_a_local_account_with_the_same_address_is_not_taken_over(client, entra, bob):
    impostor = entra.add_user("bob@example.com")

    response = sign_in_with_microsoft(client, entra, impostor)

    page = response.content.decode()
    assert response.status_code == 403
    assert "The local account bob already uses bob@example.com" in page
    assert impostor.object_id in page  # what an administrator sets to link them
    bob.refresh_from_db()
    assert bob.entra_object_id == "" and bob.has_usable_password()
    assert User.objects.count() == 1
    assert signed_in_as(client) is None


def test_a_local_account_an_administrator_linked_signs_in_with_microsoft(client, entra, bob):
    person = entra.add_user("bob@example.com")
    bob.entra_object_id = person.object_id
    bob.save()

    sign_in_with_microsoft(client, entra, person)

    assert signed_in_as(client) == bob


def test_cancelling_on_the_consent_page_signs_nobody_in(client, entra):
    alice = entra.add_user("alice@contoso.com")

    response = sign_in_with_microsoft(client, entra, alice, decision="cancel")

    assert response.status_code == 302
    assert response["Location"] == reverse("socialaccount_login_cancelled")
    assert not User.objects.exists()


def test_a_deactivated_user_is_not_signed_in(client, entra):
    alice = entra.add_user("alice@contoso.com")
    sign_in_with_microsoft(client, entra, alice)
    client.post(reverse("account_logout"))
    User.objects.filter(entra_object_id=alice.object_id).update(is_active=False)

    response = sign_in_with_microsoft(client, entra, alice)

    assert response["Location"] == reverse("account_inactive")
    assert signed_in_as(client) is None


def test_a_replayed_callback_signs_nobody_in(client, entra):
    alice = entra.add_user("alice@contoso.com")
    response = sign_in_with_microsoft(client, entra, alice)
    assert response.status_code == 302
    client.post(reverse("account_logout"))

    # The same state and code again (a stolen redirect): the state is spent.
    replay = client.get(response.wsgi_request.get_full_path())

    assert replay.status_code == 401
    assert signed_in_as(client) is None
