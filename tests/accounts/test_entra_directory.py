"""The writes behind an Entra sign-in (``accounts.entra.directory``) that the round trips do
not reach: placeholders made by object id, two first sign-ins at once, and what an account
made by single sign-on may not do with passwords."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.entra import directory
from accounts.entra.graph import DirectoryGroup
from accounts.entra.tokens import EntraIdentity
from accounts.models import User

pytestmark = pytest.mark.django_db

TENANT = str(uuid.uuid4())


def identity(username="alice@contoso.com", object_id=None, **fields) -> EntraIdentity:
    return EntraIdentity(
        tenant_id=TENANT,
        object_id=object_id or str(uuid.uuid4()),
        username=username,
        email=fields.pop("email", ""),
        name=fields.pop("name", "Alice Smith"),
    )


def test_the_invite_command_prints_the_username_to_assign_roles_to():
    object_id = str(uuid.uuid4())
    out = io.StringIO()

    call_command("entra_invite", object_id=object_id, upn="Alice@Contoso.com", stdout=out)

    assert out.getvalue().strip() == "alice@contoso.com"
    user = User.objects.get()
    assert user.entra_object_id == object_id and not user.has_usable_password()
    # Again: the same user, not a second one.
    call_command("entra_invite", object_id=object_id, stdout=io.StringIO())
    assert User.objects.count() == 1


def test_the_invite_command_refuses_what_is_not_an_object_id():
    with pytest.raises(CommandError, match="not an Entra object id"):
        call_command("entra_invite", object_id="alice", stdout=io.StringIO())


def test_an_invite_never_takes_a_local_account(bob):
    with pytest.raises(ValidationError, match="belongs to another account"):
        directory.entra_user_invite(object_id=str(uuid.uuid4()), upn="bob")
    bob.refresh_from_db()
    assert bob.entra_object_id == ""


def test_an_invite_by_object_id_names_an_email_placeholder_too():
    placeholder = User(username="alice@contoso.com", email="alice@contoso.com")
    placeholder.set_unusable_password()
    placeholder.save()
    object_id = str(uuid.uuid4())

    user = directory.entra_user_invite(object_id=object_id, upn="alice@contoso.com")

    assert user.pk == placeholder.pk and user.entra_object_id == object_id


def test_two_first_sign_ins_at_once_make_one_user(monkeypatch):
    person = identity()
    first = directory.entra_user_sign_in(identity=person, groups=[])
    real_find, real_username = directory._find_user, directory._username_for
    attempts = []

    def stale_find(found_identity):
        # The first attempt looked before the other sign-in committed its new user.
        attempts.append(found_identity)
        return (None, False) if len(attempts) == 1 else real_find(found_identity)

    def stale_username(found_identity, user):
        return (
            found_identity.username if len(attempts) == 1 else real_username(found_identity, user)
        )

    monkeypatch.setattr(directory, "_find_user", stale_find)
    monkeypatch.setattr(directory, "_username_for", stale_username)

    second = directory.entra_user_sign_in(
        identity=person, groups=[DirectoryGroup(str(uuid.uuid4()), "Platform")]
    )

    assert len(attempts) == 2  # the unique object id stopped the first, the second found it
    assert second.user.pk == first.user.pk
    assert User.objects.count() == 1
    assert list(second.user.portal_groups.values_list("name", flat=True)) == ["Platform"]


def test_a_changed_upn_renames_the_user_unless_the_name_is_taken(bob):
    person = identity("alice@contoso.com")
    user = directory.entra_user_sign_in(identity=person, groups=[]).user

    renamed = directory.entra_user_sign_in(
        identity=identity("alice.smith@contoso.com", object_id=person.object_id), groups=[]
    ).user
    kept = directory.entra_user_sign_in(
        identity=identity("bob", object_id=person.object_id), groups=[]
    ).user

    assert renamed.pk == user.pk and renamed.username == "alice.smith@contoso.com"
    assert kept.username == "alice.smith@contoso.com"  # "bob" is someone else's


def test_an_entra_account_has_no_portal_password_to_change_or_set(client):
    user = directory.entra_user_sign_in(identity=identity(), groups=[]).user
    client.force_login(user)

    for name in ("account_change_password", "account_set_password"):
        page = client.get(reverse(name))
        assert page.status_code == 403
        assert "looks after its password" in page.content.decode()
    client.post(
        reverse("account_set_password"),
        {"password1": "x-Long-pw-1234", "password2": "x-Long-pw-1234"},
    )
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_a_password_reset_cannot_give_an_entra_account_a_password():
    from allauth.account.adapter import get_adapter
    from django.core.exceptions import PermissionDenied

    user = directory.entra_user_sign_in(identity=identity(), groups=[]).user
    with pytest.raises(PermissionDenied):
        get_adapter().set_password(user, "x-Long-pw-1234")  # what a reset ends in


def test_local_accounts_still_change_their_password(client, bob):
    client.force_login(bob)
    assert client.get(reverse("account_change_password")).status_code == 200
