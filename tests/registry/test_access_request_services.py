"""Access-request services: asking, deciding, extending and the periodic sweep."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Group, GroupMembership
from registry.access_requests import policy, selectors
from registry.access_requests.services import (
    access_request_approve,
    access_request_cancel,
    access_request_deny,
    access_request_extend,
    access_requests_sweep,
    scope_policy,
)
from registry.models import AccessRequest, AuditEvent, Namespace, RoleAssignment
from registry.permissions import engine
from registry.permissions.scopes import parse_scope
from registry.services import ActionRefused
from tests.factories import RepositoryFactory
from tests.fixtures.access_requests import TEAM_A, TEAM_B, ask, assign, person

pytestmark = pytest.mark.django_db

Status = AccessRequest.Status
DAY = datetime.timedelta(days=1)


def audit_actions(access_request):
    return list(
        AuditEvent.objects.filter(details__request=access_request.pk)
        .order_by("pk")
        .values_list("action", flat=True)
    )


# Asking ----------------------------------------------------------------------------------


def test_a_developer_asks_for_a_role_for_thirty_days_by_default(crew):
    asked = ask(crew)

    assert asked.status == Status.PENDING
    assert asked.user == crew.dave
    assert asked.requested_by == crew.dave
    assert asked.scope == TEAM_A
    assert asked.duration_days == 30
    assert asked.approvals_required == 1
    assert asked.pending_until == pytest.approx(
        asked.created_at + datetime.timedelta(days=14), abs=datetime.timedelta(seconds=5)
    )
    assert audit_actions(asked) == ["accessRequest.create"]


def test_the_scope_is_stored_in_the_registrys_spelling(crew):
    asked = ask(crew, scope="/registries/PROD1/namespaces/team-a")

    assert asked.scope == TEAM_A
    assert "|/registries/prod1|" in asked.scope_ancestry


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ("/", "scope"),
        ("/registries/prod1/namespaces/team-z", "scope"),
        ("/registries/nosuchregistry", "scope"),
        ("team-a", "scope"),
    ],
)
def test_a_request_names_an_existing_registry_namespace_or_repository(crew, scope, field):
    with pytest.raises(ValidationError) as caught:
        ask(crew, scope=scope)
    assert field in caught.value.message_dict
    assert not AccessRequest.objects.exists()


def test_a_request_needs_a_justification(crew):
    with pytest.raises(ValidationError) as caught:
        ask(crew, justification="   ")
    assert "justification" in caught.value.message_dict


@pytest.mark.parametrize("days", [0, 366, "30", True])
def test_a_duration_is_from_one_day_to_the_maximum(crew, days):
    with pytest.raises(ValidationError) as caught:
        ask(crew, duration_days=days)
    assert "duration_days" in caught.value.message_dict


def test_permanent_grants_only_where_the_namespace_allows_them(crew):
    with pytest.raises(ValidationError) as caught:
        ask(crew, duration_days=None)
    assert "duration_days" in caught.value.message_dict

    Namespace.objects.filter(pk=crew.team_a.pk).update(permanent_grants_allowed=True)
    assert ask(crew, duration_days=None).is_permanent


def test_one_asks_for_oneself_or_a_service_principal_one_owns(crew, dave_ci):
    for_ci = ask(crew, principal=dave_ci)
    assert for_ci.service_principal == dave_ci
    assert for_ci.principal_type == "service_principal"

    with pytest.raises(ValidationError):
        ask(crew, principal=crew.carl)
    with pytest.raises(ValidationError):
        ask(crew, actor=crew.carl, principal=dave_ci)
    dave_ci.enabled = False
    dave_ci.save()
    with pytest.raises(ValidationError):
        ask(crew, role_name="AcrPull", principal=dave_ci)


def test_the_same_request_cannot_be_pending_twice(crew):
    ask(crew)
    with pytest.raises(ActionRefused, match="already pending"):
        ask(crew, scope="/registries/prod1/namespaces/team-a")
    assert ask(crew, scope=TEAM_B).status == Status.PENDING


def test_one_cannot_ask_for_what_one_holds_already(crew):
    with pytest.raises(ActionRefused, match="already holds"):
        ask(crew, actor=crew.sam, role_name="AcrPush")


def test_a_service_principal_cannot_ask(crew, dave_ci):
    with pytest.raises(PermissionDenied):
        ask(crew, actor=dave_ci)


def test_two_approvals_where_any_covering_namespace_wants_them(crew):
    Namespace.objects.filter(pk=crew.team_a.pk).update(approvals_required=2)
    RepositoryFactory(registry=crew.registry, name="team-a/backend/api")
    Namespace.objects.create(registry=crew.registry, name="team-a/backend")

    assert scope_policy(parse_scope("/registries/prod1/repositories/team-a/backend/api")) == (
        scope_policy(parse_scope(TEAM_A))
    )
    asked = ask(crew, scope="/registries/prod1/repositories/team-a/backend/api")
    assert asked.approvals_required == 2
    assert ask(crew, scope=TEAM_B).approvals_required == 1
    # Permanent grants need every covering namespace to allow them.
    Namespace.objects.filter(name="team-a/backend").update(permanent_grants_allowed=True)
    nested = scope_policy(parse_scope("/registries/prod1/namespaces/team-a/backend"))
    assert not nested.permanent_grants_allowed
    Namespace.objects.filter(name="team-a").update(permanent_grants_allowed=True)
    assert scope_policy(
        parse_scope("/registries/prod1/namespaces/team-a/backend")
    ).permanent_grants_allowed


# Approving -------------------------------------------------------------------------------


def test_the_team_lead_approves_and_the_assignment_expires_with_the_grant(crew):
    asked = ask(crew)

    outcome = access_request_approve(actor=crew.linda, access_request=asked)

    done = outcome.access_request
    assert outcome.changed
    assert done.status == Status.APPROVED
    assert done.decided_by == crew.linda
    assignment = done.assignment
    assert (assignment.role.name, assignment.scope, assignment.user) == (
        "AcrPush",
        TEAM_A,
        crew.dave,
    )
    assert assignment.expires_at == done.grant_expires_at
    assert assignment.expires_at == pytest.approx(
        timezone.now() + datetime.timedelta(days=30), abs=datetime.timedelta(seconds=5)
    )
    assert done.remind_at == assignment.expires_at - datetime.timedelta(days=7)
    assert engine.is_allowed(crew.dave, "content/write", f"{TEAM_A}")
    assert audit_actions(asked) == ["accessRequest.create", "accessRequest.approve"]
    assert AuditEvent.objects.filter(
        action="roleAssignment.create", details__assignment=assignment.pk
    ).exists()


def test_an_approver_may_shorten_but_not_lengthen_the_grant(crew):
    asked = ask(crew, duration_days=30)
    with pytest.raises(ValidationError):
        access_request_approve(actor=crew.linda, access_request=asked, duration_days=31)
    with pytest.raises(ValidationError):
        access_request_approve(actor=crew.linda, access_request=asked, duration_days=None)

    done = access_request_approve(actor=crew.linda, access_request=asked, duration_days=7)

    assert done.access_request.granted_days == 7
    assert done.access_request.assignment.expires_at == pytest.approx(
        timezone.now() + datetime.timedelta(days=7), abs=datetime.timedelta(seconds=5)
    )


def test_a_permanent_grant_has_no_expiry(crew):
    Namespace.objects.filter(pk=crew.team_a.pk).update(permanent_grants_allowed=True)
    asked = ask(crew, duration_days=None)

    done = access_request_approve(actor=crew.sam, access_request=asked).access_request

    assert done.assignment.expires_at is None
    assert done.grant_expires_at is None
    assert done.remind_at is None


def test_nobody_approves_their_own_request(crew, dave_ci):
    own = ask(crew, actor=crew.linda, role_name="AcrPush")
    with pytest.raises(PermissionDenied, match="own"):
        access_request_approve(actor=crew.linda, access_request=own)
    # Asking for one's service principal is one's own request too.
    assign("Owner", TEAM_A, user=crew.dave)
    for_ci = ask(crew, principal=dave_ci)
    with pytest.raises(PermissionDenied, match="own"):
        access_request_approve(actor=crew.dave, access_request=for_ci)
    assert not RoleAssignment.objects.filter(service_principal=dave_ci).exists()


@pytest.mark.parametrize("who", ["rita", "carl"])
def test_approving_needs_role_assignments_write_at_the_scope(crew, who):
    asked = ask(crew)
    with pytest.raises(PermissionDenied, match="roleAssignments/write"):
        access_request_approve(actor=getattr(crew, who), access_request=asked)
    asked.refresh_from_db()
    assert asked.status == Status.PENDING
    assert not asked.approvals.exists()


def test_a_lead_of_another_namespace_cannot_approve(crew):
    crew.team_b.owners.set([crew.carl])
    with pytest.raises(PermissionDenied):
        access_request_approve(actor=crew.carl, access_request=ask(crew))


def test_approving_an_approved_request_again_changes_nothing(crew):
    asked = ask(crew)
    first = access_request_approve(actor=crew.linda, access_request=asked)

    again = access_request_approve(actor=crew.linda, access_request=asked)
    other = access_request_approve(actor=crew.sam, access_request=asked)

    assert not again.changed
    assert not other.changed
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 1
    assert again.access_request.assignment == first.access_request.assignment
    assert audit_actions(asked).count("accessRequest.approve") == 1


@pytest.mark.parametrize("ending", ["cancel", "deny", "expire"])
def test_a_cancelled_denied_or_expired_request_cannot_be_approved(crew, ending):
    asked = ask(crew)
    if ending == "cancel":
        access_request_cancel(actor=crew.dave, access_request=asked)
    elif ending == "deny":
        access_request_deny(actor=crew.sam, access_request=asked, reason="Use team-b.")
    else:
        with time_machine.travel(timezone.now() + datetime.timedelta(days=15)):
            access_requests_sweep()

    with pytest.raises(ActionRefused, match="can no longer be approved"):
        access_request_approve(actor=crew.linda, access_request=asked)
    assert not RoleAssignment.objects.filter(user=crew.dave).exists()


def test_an_overdue_request_expires_when_someone_tries_to_approve_it(crew):
    asked = ask(crew)
    later = timezone.now() + datetime.timedelta(days=14, minutes=1)
    with time_machine.travel(later), pytest.raises(ActionRefused, match="expired"):
        access_request_approve(actor=crew.linda, access_request=asked)
    asked.refresh_from_db()
    assert asked.status == Status.EXPIRED
    assert not RoleAssignment.objects.filter(user=crew.dave).exists()


def test_two_approvals_need_two_different_team_leads(crew):
    Namespace.objects.filter(pk=crew.team_a.pk).update(approvals_required=2)
    asked = ask(crew, duration_days=30)

    first = access_request_approve(actor=crew.linda, access_request=asked, duration_days=14)
    same_again = access_request_approve(actor=crew.linda, access_request=asked)

    assert first.changed and first.access_request.status == Status.PENDING
    assert not same_again.changed
    assert not RoleAssignment.objects.filter(user=crew.dave).exists()
    assert list(selectors.inbox(crew.linda)) == []
    assert list(selectors.inbox(crew.sam)) == [asked]

    second = access_request_approve(actor=crew.sam, access_request=asked)

    assert second.access_request.status == Status.APPROVED
    # The shortest of the approvals wins.
    assert second.access_request.granted_days == 14
    assert list(asked.approvals.values_list("step", "approver__username")) == [
        (1, "linda"),
        (2, "sam"),
    ]
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 1


def test_a_first_approval_keeps_the_request_alive_for_another_fourteen_days(crew):
    Namespace.objects.filter(pk=crew.team_a.pk).update(approvals_required=2)
    start = timezone.now()
    asked = ask(crew)
    with time_machine.travel(start + datetime.timedelta(days=10)):
        access_request_approve(actor=crew.linda, access_request=asked)
    with time_machine.travel(start + datetime.timedelta(days=20)):
        assert access_requests_sweep().expired_requests == 0
        done = access_request_approve(actor=crew.sam, access_request=asked)
    assert done.access_request.status == Status.APPROVED


def test_a_group_holding_owner_makes_its_members_approvers(crew):
    group = Group.objects.create(name="platform")
    GroupMembership.objects.create(group=group, user=crew.carl)
    assign("Owner", f"/registries/{crew.registry.name}", group=group)
    asked = ask(crew)

    assert list(selectors.inbox(crew.carl)) == [asked]
    assert access_request_approve(actor=crew.carl, access_request=asked).changed


def test_an_expired_assignment_does_not_make_an_approver(crew):
    assign(
        "Owner",
        f"/registries/{crew.registry.name}",
        user=crew.carl,
        expires_at=timezone.now() - DAY,
    )
    asked = ask(crew)
    assert list(selectors.inbox(crew.carl)) == []
    with pytest.raises(PermissionDenied):
        access_request_approve(actor=crew.carl, access_request=asked)


def test_a_custom_role_with_role_assignments_write_makes_an_approver(crew):
    from registry.permissions.assignments import custom_role_create

    custom_role_create(
        actor=None, name="AccessManager", actions=["roleAssignments/write", "metadata/read"]
    )
    assign("AccessManager", TEAM_A, user=crew.carl)
    asked = ask(crew)
    assert selectors.may_decide(crew.carl, asked)


def test_owners_of_a_namespace_decide_inside_it_and_nowhere_else(crew):
    RepositoryFactory(registry=crew.registry, name="team-a/web")
    RepositoryFactory(registry=crew.registry, name="team-ab/web")
    inside = ask(crew, scope="/registries/prod1/repositories/team-a/web")
    beside = ask(crew, scope="/registries/prod1/repositories/team-ab/web")
    at_registry = ask(crew, scope="/registries/prod1")

    assert set(selectors.inbox(crew.linda)) == {inside}
    assert not selectors.may_decide(crew.linda, beside)
    assert not selectors.may_decide(crew.linda, at_registry)


def test_the_approvers_named_for_emails_are_those_who_may_decide(crew, alice):
    group = Group.objects.create(name="platform")
    GroupMembership.objects.create(group=group, user=crew.carl)
    assign("Owner", TEAM_A, group=group)
    asked = ask(crew)

    approvers = selectors.approvers_of(asked)

    assert [u.username for u in approvers] == ["carl", "linda", "sam"]
    assert all(selectors.may_decide(u, asked) for u in approvers)
    assert not selectors.may_decide(crew.rita, asked)


def test_where_nobody_leads_the_superusers_hear_of_a_request(crew, alice):
    asked = ask(crew, scope=TEAM_B)

    assert [u.username for u in selectors.approvers_of(asked)] == ["alice"]
    assert list(selectors.inbox(alice)) == [asked]


# Denying, cancelling ---------------------------------------------------------------------


def test_denying_needs_a_reason(crew):
    asked = ask(crew)
    with pytest.raises(ValidationError):
        access_request_deny(actor=crew.linda, access_request=asked, reason="  ")

    outcome = access_request_deny(actor=crew.linda, access_request=asked, reason="Use AcrPull.")

    assert outcome.access_request.status == Status.DENIED
    assert outcome.access_request.reason == "Use AcrPull."
    again = access_request_deny(actor=crew.sam, access_request=asked, reason="Indeed.")
    assert not again.changed
    assert audit_actions(asked) == ["accessRequest.create", "accessRequest.deny"]


def test_the_requester_cannot_deny_and_others_cannot_cancel(crew):
    asked = ask(crew)
    with pytest.raises(PermissionDenied):
        access_request_deny(actor=crew.dave, access_request=asked, reason="Never mind.")
    with pytest.raises(PermissionDenied):
        access_request_cancel(actor=crew.linda, access_request=asked)

    assert access_request_cancel(actor=crew.dave, access_request=asked).changed
    assert not access_request_cancel(actor=crew.dave, access_request=asked).changed
    with pytest.raises(ActionRefused):
        access_request_deny(actor=crew.linda, access_request=asked, reason="Too late.")


def test_an_approved_request_cannot_be_cancelled(crew):
    asked = ask(crew)
    access_request_approve(actor=crew.linda, access_request=asked)
    with pytest.raises(ActionRefused, match="can no longer be cancelled"):
        access_request_cancel(actor=crew.dave, access_request=asked)


# Extending -------------------------------------------------------------------------------


def test_an_extension_moves_the_same_assignment_on_from_its_expiry(crew):
    asked = ask(crew, duration_days=30)
    granted = access_request_approve(actor=crew.linda, access_request=asked).access_request
    before = granted.assignment.expires_at

    extension = access_request_extend(
        actor=crew.dave, access_request=granted, justification="Release month.", duration_days=7
    )
    with pytest.raises(ActionRefused, match="already pending"):
        access_request_extend(actor=crew.dave, access_request=granted, justification="Again.")
    done = access_request_approve(actor=crew.sam, access_request=extension).access_request

    assert extension.extends == granted
    assert done.assignment == granted.assignment
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 1
    granted.assignment.refresh_from_db()
    assert granted.assignment.expires_at == before + datetime.timedelta(days=7)
    granted.refresh_from_db()
    assert granted.status == Status.EXPIRED
    assert f"Extended by access request {extension.pk}" in granted.reason
    assert AuditEvent.objects.filter(action="roleAssignment.extend").count() == 1


def test_only_a_running_time_bound_grant_of_ones_own_can_be_extended(crew):
    asked = ask(crew)
    with pytest.raises(ActionRefused):
        access_request_extend(actor=crew.dave, access_request=asked, justification="More.")
    granted = access_request_approve(actor=crew.linda, access_request=asked).access_request
    with pytest.raises(PermissionDenied):
        access_request_extend(actor=crew.linda, access_request=granted, justification="More.")
    RoleAssignment.objects.filter(pk=granted.assignment_id).update(expires_at=timezone.now() - DAY)
    AccessRequest.objects.filter(pk=granted.pk).update(grant_expires_at=timezone.now() - DAY)
    granted.refresh_from_db()
    with pytest.raises(ActionRefused):
        access_request_extend(actor=crew.dave, access_request=granted, justification="More.")


# The sweep -------------------------------------------------------------------------------


def test_a_request_untouched_for_fourteen_days_expires(crew):
    start = timezone.now()
    asked = ask(crew)

    with time_machine.travel(start + datetime.timedelta(days=13)):
        assert access_requests_sweep().expired_requests == 0
    with time_machine.travel(start + datetime.timedelta(days=14, seconds=1)):
        report = access_requests_sweep()
        assert access_requests_sweep().expired_requests == 0

    asked.refresh_from_db()
    assert report.expired_requests == 1
    assert asked.status == Status.EXPIRED
    assert audit_actions(asked) == ["accessRequest.create", "accessRequest.expire"]


def test_an_ended_grant_is_marked_expired_and_stops_granting(crew):
    start = timezone.now()
    granted = access_request_approve(
        actor=crew.linda, access_request=ask(crew, duration_days=7)
    ).access_request

    with time_machine.travel(start + datetime.timedelta(days=7, minutes=1)):
        assert not engine.is_allowed(crew.dave, "content/write", TEAM_A)
        report = access_requests_sweep()

    granted.refresh_from_db()
    assert report.expired_grants == 1
    assert granted.status == Status.EXPIRED
    assert granted.reason == "The grant reached its expiry."
    # The assignment stays, expired, for the record.
    assert RoleAssignment.objects.filter(pk=granted.assignment_id).exists()
    assert "accessRequest.grantExpire" in audit_actions(granted)


def test_a_removed_assignment_ends_the_grant(crew):
    granted = access_request_approve(actor=crew.linda, access_request=ask(crew)).access_request
    RoleAssignment.objects.filter(pk=granted.assignment_id).delete()

    assert access_requests_sweep().expired_grants == 1
    granted.refresh_from_db()
    assert granted.reason == "The role assignment was removed."


def test_the_holder_is_reminded_once_a_week_before_the_end(
    crew, django_capture_on_commit_callbacks
):
    start = timezone.now()
    granted = access_request_approve(
        actor=crew.linda, access_request=ask(crew, duration_days=30)
    ).access_request
    mail.outbox.clear()

    with time_machine.travel(start + datetime.timedelta(days=22)):
        assert access_requests_sweep().reminders == 0
    with time_machine.travel(start + datetime.timedelta(days=23, minutes=1)):
        with django_capture_on_commit_callbacks(execute=True):
            assert access_requests_sweep().reminders == 1
        assert access_requests_sweep().reminders == 0

    assert [m.to for m in mail.outbox] == [["dave@example.com"]]
    assert "ends soon" in mail.outbox[0].subject
    assert f"/access-requests/{granted.pk}/#extend" in mail.outbox[0].body


def test_a_short_grant_is_reminded_halfway(crew):
    assert policy.reminder_lead(datetime.timedelta(days=2)) == datetime.timedelta(days=1)
    assert policy.reminder_lead(datetime.timedelta(days=90)) == datetime.timedelta(days=7)


# Emails ----------------------------------------------------------------------------------


def test_each_step_mails_the_requester_and_the_approvers_with_links(
    crew, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_URL = "https://portal.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        asked = ask(crew)
    created = {tuple(m.to) for m in mail.outbox}
    assert created == {("dave@example.com",), ("linda@example.com",), ("sam@example.com",)}
    to_linda = next(m for m in mail.outbox if m.to == ["linda@example.com"])
    assert "dave asks for AcrPush at /registries/prod1/namespaces/team-a" in to_linda.body
    assert to_linda.subject == (
        f"[Portcullis] Access request {asked.pk}: dave asks for AcrPush at {TEAM_A}"
    )
    to_dave = next(m for m in mail.outbox if m.to == ["dave@example.com"])
    assert "You asked for AcrPush" in to_dave.body
    assert f"https://portal.example.com/access-requests/{asked.pk}/" in to_linda.body
    assert "https://portal.example.com/access-requests/inbox/" in to_linda.body

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        access_request_deny(actor=crew.linda, access_request=asked, reason="Use AcrPull.")
    assert len(mail.outbox) == 3
    to_dave = next(m for m in mail.outbox if m.to == ["dave@example.com"])
    assert "denied" in to_dave.subject
    assert "Reason: Use AcrPull." in to_dave.body
    assert "https://portal.example.com/access-requests/\n" in to_dave.body


def test_nothing_is_mailed_when_the_step_fails(crew, django_capture_on_commit_callbacks):
    asked = ask(crew)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        access_request_approve(actor=crew.carl, access_request=asked)
    assert mail.outbox == []


def test_the_smallest_built_in_role_for_an_action():
    assert policy.smallest_role_for("content/write") == "AcrPush"
    assert policy.smallest_role_for("content/read") == "AcrPull"
    assert policy.smallest_role_for("content/delete") == "AcrDelete"
    assert policy.smallest_role_for("metadata/write") == "Contributor"
    assert policy.smallest_role_for("roleAssignments/write") == "Owner"
    assert policy.smallest_role_for("auditLog/read") == "Auditor"
    assert policy.smallest_role_for("nonsense/write") is None


def test_a_second_person_with_nothing_sees_no_request(crew):
    asked = ask(crew)
    nobody = person("nobody")
    assert list(selectors.readable_by(nobody)) == []
    assert list(selectors.readable_by(crew.dave)) == [asked]
    assert list(selectors.readable_by(crew.linda)) == [asked]
