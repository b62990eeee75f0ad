"""Racing approvals, with two real database connections (one per thread).

Two team leads approve the same one-approval request at the same moment. The first locks the
request row; the second waits for that lock and then finds the request approved, so it changes
nothing and says so. A second test takes the row lock away to show that the approval rows'
unique constraint alone still lets only one approval win: the loser's insert waits on the
winner's uncommitted row (PostgreSQL) and then fails, which the service answers as "already
approved". Either way exactly one role assignment exists.

The threads use their own connections (Django's are per thread) on committed data, hence
``transactional_db``. Run on PostgreSQL in CI; on SQLite the write lock of the IMMEDIATE
transactions serializes the two threads, and the outcome must be the same.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from registry.access_requests import services
from registry.models import AccessRequest, AccessRequestApproval, AuditEvent, RoleAssignment
from tests.fixtures.access_requests import ask
from tests.registry.race_support import TIMEOUT, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def hold_inside_the_transaction(monkeypatch, function_name: str) -> tuple[threading.Event, ...]:
    """Make the first call of ``services.<function_name>`` signal ``entered`` and wait for
    ``release`` before going on, still inside its transaction (the row lock held)."""
    entered, release = threading.Event(), threading.Event()
    original = getattr(services, function_name)
    first = threading.Lock()

    def held(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if first.acquire(blocking=False):
            entered.set()
            assert release.wait(TIMEOUT)
        return result

    monkeypatch.setattr(services, function_name, held)
    return entered, release


def approve(actor, access_request_id: int) -> services.Outcome:
    found = AccessRequest.objects.get(pk=access_request_id)
    return services.access_request_approve(actor=actor, access_request=found)


def test_two_leads_approving_at_once_create_one_assignment(crew, monkeypatch):
    asked = ask(crew)
    entered, release = hold_inside_the_transaction(monkeypatch, "_grant")
    results: list[Any] = []

    def linda() -> services.Outcome:
        return approve(crew.linda, asked.pk)

    finished: dict[str, bool] = {}

    def sam() -> services.Outcome:
        # Start only once linda holds the lock and has created the assignment, uncommitted.
        assert entered.wait(TIMEOUT)
        threading.Timer(0.5, release.set).start()  # let sam block on the lock first
        outcome = approve(crew.sam, asked.pk)
        finished["after linda let go"] = release.is_set()
        return outcome

    results = run_in_threads(linda, sam)

    assert all(isinstance(r, services.Outcome) for r in results), results
    changed = sorted(r.changed for r in results)
    assert changed == [False, True]
    # sam waited for linda's transaction: his answer came after she let go of the row.
    assert finished == {"after linda let go": True}
    assert not results[1].changed
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 1
    assert AccessRequestApproval.objects.filter(request=asked).count() == 1
    assert AuditEvent.objects.filter(action="accessRequest.approve").count() == 1
    asked.refresh_from_db()
    assert asked.status == AccessRequest.Status.APPROVED
    assert asked.assignment == RoleAssignment.objects.get(user=crew.dave)


def test_without_the_row_lock_the_unique_step_still_lets_one_approval_win(
    crew, monkeypatch, caplog
):
    asked = ask(crew)

    def unlocked(access_request: AccessRequest) -> AccessRequest:
        # What a service that forgot select_for_update would read.
        return AccessRequest.objects.select_related(
            "role", "user", "service_principal", "requested_by", "extends"
        ).get(pk=access_request.pk)

    monkeypatch.setattr(services, "_locked", unlocked)
    both_read = threading.Barrier(2, timeout=TIMEOUT)
    original_create = AccessRequestApproval.objects.create

    def create_after_both_read(**kwargs: Any) -> AccessRequestApproval:
        if connection.vendor == "postgresql":
            both_read.wait()  # both have read "pending, no approvals yet": both take step 1
        return original_create(**kwargs)

    monkeypatch.setattr(AccessRequestApproval.objects, "create", create_after_both_read)

    results = run_in_threads(
        lambda: approve(crew.linda, asked.pk), lambda: approve(crew.sam, asked.pk)
    )

    assert all(isinstance(r, services.Outcome) for r in results), results
    assert sorted(r.changed for r in results) == [False, True]
    loser = next(r for r in results if not r.changed)
    assert "already approved" in loser.message
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 1
    steps = AccessRequestApproval.objects.filter(request=asked).values_list("step", flat=True)
    assert list(steps) == [1]
    if connection.vendor == "postgresql":
        # Both inserted step 1; the database refused the second.
        assert "lost a race" in caplog.text


def test_a_cancel_racing_an_approval_leaves_one_consistent_outcome(crew, monkeypatch):
    asked = ask(crew)
    entered, release = hold_inside_the_transaction(monkeypatch, "_grant")

    def dave_cancels() -> Any:
        assert entered.wait(TIMEOUT)
        threading.Timer(0.5, release.set).start()
        found = AccessRequest.objects.get(pk=asked.pk)
        return services.access_request_cancel(actor=crew.dave, access_request=found)

    approval, cancel = run_in_threads(lambda: approve(crew.linda, asked.pk), dave_cancels)

    assert isinstance(approval, services.Outcome) and approval.changed
    assert isinstance(cancel, services.ActionRefused)
    asked.refresh_from_db()
    assert asked.status == AccessRequest.Status.APPROVED
    assert RoleAssignment.objects.filter(user=crew.dave).count() == 1
