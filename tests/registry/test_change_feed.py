"""The change feed (``accounts.changes``): token rows and index stamps answered from memory
while the database announces every change to them, and from the database otherwise.

The feed itself needs PostgreSQL (LISTEN/NOTIFY); CI runs these on it. The rules that decide
whether memory may answer at all are checked on every database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.changes import CHANNEL, FEED, Memo
from accounts.models import (
    TOKEN_ROWS,
    Group,
    GroupMembership,
    PersonalAccessToken,
    ServicePrincipal,
)
from accounts.services import service_principal_secret_create
from registry import selectors
from registry.models import RoleAssignment, RoleDefinition, Tag
from registry.models.index import INDEX_STAMPS, lock_index
from registry.permissions.engine import grants_of
from tests.factories import TagFactory, UserFactory
from tests.registry.access_support import REGISTRY, TEAM_A, assign
from tests.registry.api_support import api_url, basic, bearer
from tests.registry.race_support import run_in_threads

JSON = {"HTTP_ACCEPT": "application/json"}
WAIT = 5.0


def eventually(check: Callable[[], bool], what: str) -> float:
    """Seconds until ``check()`` held; fails after ``WAIT``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < WAIT, f"not within {WAIT} s: {what}"
        time.sleep(0.01)
    return time.monotonic() - started


def in_another_connection(call: Callable[[], object]) -> None:
    """Run ``call`` in a thread of its own, so its writes commit on another connection."""
    [result] = run_in_threads(call)
    if isinstance(result, Exception):
        raise result


@pytest.fixture
def trusted(monkeypatch):
    """Memory may answer, as if the feed were live (for the rules around it)."""
    monkeypatch.setattr(FEED, "trusted", lambda: True)


@pytest.fixture
def feed(settings):
    """The real feed, live, on the test database."""
    if connection.vendor != "postgresql":
        pytest.skip("the change feed needs PostgreSQL (LISTEN/NOTIFY)")
    settings.CHANGE_FEED = True
    settings.CHANGE_FEED_HEARTBEAT_SECONDS = 0.2
    FEED.stop()  # a listener from an earlier test would keep its own heartbeat
    eventually(FEED.trusted, "the feed is live")
    yield FEED
    FEED.stop()


class Counter:
    def __init__(self, value: object = "answer") -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> object:
        self.calls += 1
        return self.value


# The rules of a memo ------------------------------------------------------------------------


def test_a_memo_remembers_a_truthy_answer_while_trusted(trusted):
    memo, compute = Memo("test-topic"), Counter()
    assert [memo.get("k", compute) for _ in range(3)] == ["answer"] * 3
    assert compute.calls == 1
    memo.forget()
    assert memo.get("k", compute) == "answer"
    assert compute.calls == 2


def test_a_miss_is_never_remembered(trusted):
    """Unknown tokens are asked about every time: guessing must not fill memory."""
    memo, compute = Memo("test-topic"), Counter(None)
    assert [memo.get("k", compute) for _ in range(3)] == [None] * 3
    assert compute.calls == 3


def test_an_answer_computed_while_a_change_was_announced_is_not_kept(trusted):
    memo = Memo("test-topic")
    calls = []

    def racing() -> str:
        calls.append(1)
        if len(calls) == 1:
            memo.forget()  # the change arrives while the database is being read
        return f"answer {len(calls)}"

    assert memo.get("k", racing) == "answer 1"  # used for this question, not kept
    assert memo.get("k", racing) == "answer 2"
    assert memo.get("k", racing) == "answer 2"
    assert len(calls) == 2


def test_a_full_memo_starts_over(trusted):
    memo = Memo("test-topic", limit=3)
    for key in "abc":
        memo.get(key, Counter(key))
    compute = Counter("d")
    memo.get("d", compute)
    again = Counter("a")
    memo.get("a", again)
    assert again.calls == 1  # "a" went when the memo filled up


@pytest.mark.django_db
def test_memory_never_answers_with_the_feed_off(settings):
    settings.CHANGE_FEED = False
    memo, compute = Memo("test-topic"), Counter()
    memo.get("k", compute)
    memo.get("k", compute)
    assert compute.calls == 2
    assert not FEED.trusted()


@pytest.mark.django_db
def test_memory_never_answers_on_sqlite_or_inside_a_transaction(settings):
    settings.CHANGE_FEED = True
    # The test runs inside a transaction (and, on SQLite, with no notifications at all).
    assert connection.in_atomic_block
    assert not FEED.trusted()


@pytest.mark.django_db(transaction=True)
def test_an_index_write_here_is_forgotten_when_it_commits(trusted, world):
    INDEX_STAMPS.get("somewhere", lambda: (1, 2))
    with transaction.atomic():
        lock_index(world.pk)
        assert INDEX_STAMPS.get("somewhere", lambda: (3, 4)) == (1, 2)  # not yet committed
    assert INDEX_STAMPS.get("somewhere", lambda: (5, 6)) == (5, 6)


@pytest.mark.django_db(transaction=True)
def test_a_token_written_here_is_forgotten_when_it_commits(trusted, alice):
    TOKEN_ROWS.get("digest", lambda: ("row",))
    bearer(alice)  # creating a token is a write of the accounts services
    assert TOKEN_ROWS.get("digest", lambda: ("new row",)) == ("new row",)


@pytest.mark.django_db(transaction=True)
def test_what_someone_holds_is_remembered_until_an_assignment_changes_here(trusted, world):
    carol = UserFactory(username="carol")
    assignment = assign("Owner", TEAM_A, user=carol)
    assert grants_of(carol).allows("content/write", TEAM_A)
    assert _queries_of(lambda: grants_of(carol)) == []
    assignment.delete()
    assert not grants_of(carol).can_see(TEAM_A)
    group = Group.objects.create(name="team-a-devs")
    assign("AcrPull", TEAM_A, group=group)
    GroupMembership.objects.create(user=carol, group=group)
    assert grants_of(carol).allows("content/read", TEAM_A)


@pytest.mark.django_db(transaction=True)
def test_an_expiring_assignment_is_not_remembered_past_its_expiry(trusted, world):
    carol = UserFactory(username="carol")
    assign("Owner", TEAM_A, user=carol, expires_at=timezone.now() + timedelta(seconds=1))
    assert grants_of(carol).allows("content/write", TEAM_A)
    assert _queries_of(lambda: grants_of(carol)) == []
    time.sleep(1.1)  # no notification says so: the expiry itself is checked
    assert not grants_of(carol).can_see(TEAM_A)


# The feed, live on PostgreSQL -----------------------------------------------------------------


def _token_of(headers: dict[str, str]) -> PersonalAccessToken:
    presented = headers["HTTP_AUTHORIZATION"].split()[1]
    found = PersonalAccessToken.find(presented)
    assert found is not None
    return found


@pytest.fixture
def big(world):
    for n in range(3):
        TagFactory(manifest__repository=world.repositories.get(name="team-a/app"), name=f"v{n}")
    return world


def _tags_url() -> str:
    return api_url("tag-list", registry=REGISTRY, repository="team-a/app")


def warm(client, headers: dict[str, str]) -> bytes:
    """Ask for the tag page until it is answered from memory alone; its content."""
    first = client.get(_tags_url(), **headers)
    assert first.status_code == 200, first.content
    # The token's first use is recorded (a write, announced), and the fixtures' own writes
    # may still be arriving: ask until nothing is left to read.
    eventually(lambda: _queries_of(lambda: client.get(_tags_url(), **headers)) == [], "memory")
    again = client.get(_tags_url(), **headers)
    assert again.status_code == 200
    assert again.content == first.content
    return again.content


def _queries_of(call: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        call()
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_a_kept_page_is_answered_without_a_query_while_the_feed_is_live(feed, client, big, alice):
    warm(client, {**JSON, **bearer(alice)})


@pytest.mark.django_db(transaction=True)
def test_a_token_revoked_elsewhere_is_refused_once_announced(feed, client, big, alice):
    headers = {**JSON, **bearer(alice)}
    token = _token_of(headers)
    warm(client, headers)

    def revoke() -> None:
        # A bare update from another process, as the admin or a shell would write it.
        PersonalAccessToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())

    in_another_connection(revoke)
    eventually(lambda: client.get(_tags_url(), **headers).status_code == 401, "refused")
    assert client.get(_tags_url(), **headers).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_user_deactivated_elsewhere_is_refused_once_announced(feed, client, big, alice):
    headers = {**JSON, **bearer(alice)}
    warm(client, headers)
    user_model = type(alice)
    in_another_connection(lambda: user_model.objects.filter(pk=alice.pk).update(is_active=False))
    eventually(lambda: client.get(_tags_url(), **headers).status_code == 401, "refused")


@pytest.mark.django_db(transaction=True)
def test_an_expired_token_is_refused_from_memory_too(feed, client, big, alice):
    headers = {**JSON, **bearer(alice)}
    token = _token_of(headers)
    PersonalAccessToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timedelta(seconds=1)
    )
    eventually(lambda: client.get(_tags_url(), **headers).status_code == 200, "accepted")
    # Remembered now; the expiry is checked on every use, not only when the row is read.
    time.sleep(1.1)
    assert client.get(_tags_url(), **headers).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_restricted_callers_kept_page_needs_no_query_until_their_access_changes(
    feed, client, big
):
    carol = UserFactory(username="carol")
    assignment = assign("AcrPull", TEAM_A, user=carol)
    headers = {**JSON, **bearer(carol)}
    warm(client, headers)
    in_another_connection(lambda: RoleAssignment.objects.filter(pk=assignment.pk).delete())
    eventually(lambda: client.get(_tags_url(), **headers).status_code == 404, "hidden")


def _robot_headers(name: str = "robot") -> tuple[ServicePrincipal, dict[str, str]]:
    robot = ServicePrincipal.objects.create(name=name)
    secret = service_principal_secret_create(service_principal=robot).secret
    return robot, {**JSON, **basic(robot.client_id, secret)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["disable the principal", "revoke the secret"])
def test_a_service_principal_changed_elsewhere_is_refused_once_announced(feed, client, big, change):
    robot, headers = _robot_headers()
    assign("AcrPull", TEAM_A, service_principal=robot)
    warm(client, headers)

    def write() -> None:
        if change == "disable the principal":
            ServicePrincipal.objects.filter(pk=robot.pk).update(enabled=False)
        else:
            robot.secrets.update(revoked_at=timezone.now())

    in_another_connection(write)
    eventually(lambda: client.get(_tags_url(), **headers).status_code == 401, "refused")


@pytest.mark.django_db(transaction=True)
def test_an_index_change_elsewhere_shows_once_announced(feed, client, big, alice):
    headers = {**JSON, **bearer(alice)}

    def names() -> list[str]:
        response = client.get(_tags_url(), **headers)
        assert response.status_code == 200, response.content
        return sorted(row["name"] for row in response.json()["results"])

    warm(client, headers)
    assert names() == ["v0", "v1", "v2"]
    app = big.repositories.get(name="team-a/app")
    in_another_connection(lambda: TagFactory(manifest__repository=app, name="v3"))
    eventually(lambda: names() == ["v0", "v1", "v2", "v3"], "the new tag listed")
    in_another_connection(lambda: Tag.objects.filter(repository=app, name="v0").delete())
    eventually(lambda: names() == ["v1", "v2", "v3"], "the deleted tag gone")


@pytest.mark.django_db(transaction=True)
def test_a_lost_listener_sends_every_question_to_the_database_until_it_is_back(feed, big):
    stamp = selectors.index_stamp(REGISTRY)
    eventually(lambda: _queries_of(lambda: selectors.index_stamp(REGISTRY)) == [], "memory")
    assert selectors.index_stamp(REGISTRY) == stamp

    with connection.cursor() as cursor:  # as a database restart would
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'portcullis-changes' AND datname = current_database()"
        )
        assert cursor.fetchone() == (True,)
    eventually(lambda: not feed.trusted(), "the feed lapses")
    with CaptureQueriesContext(connection) as queries:
        assert selectors.index_stamp(REGISTRY) == stamp
    assert len(queries) == 1

    eventually(feed.trusted, "the feed is back")
    eventually(lambda: _queries_of(lambda: selectors.index_stamp(REGISTRY)) == [], "memory")


@pytest.mark.django_db(transaction=True)
def test_the_database_announces_changes_to_tokens_users_and_indexes(big, alice):
    if connection.vendor != "postgresql":
        pytest.skip("notifications are PostgreSQL's")
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    app = big.repositories.get(name="team-a/app")
    with psycopg.Connection.connect(**params, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")

        def heard() -> list[str]:
            # Each committed transaction announces each topic once (a factory may commit a
            # manifest and then its tag: two transactions).
            return sorted({n.payload for n in listener.notifies(timeout=0.5)})

        bearer(alice)
        assert heard() == ["credentials"]
        type(alice).objects.filter(pk=alice.pk).update(first_name="Alice")
        assert heard() == ["credentials"]
        TagFactory(manifest__repository=app, name="v9")
        assert heard() == [f"index:{big.pk}"]
        Tag.objects.filter(repository=app).update(write_enabled=False)
        assert heard() == [f"index:{big.pk}"]
        with transaction.atomic():
            Tag.objects.filter(repository=app).delete()
            bearer(alice)
        assert heard() == ["credentials", f"index:{big.pk}"]
        group = Group.objects.create(name="team-a-devs")
        assert heard() == []  # a group alone gives nothing
        GroupMembership.objects.create(user=alice, group=group)
        assert heard() == ["credentials"]
        assignment = assign("AcrPull", TEAM_A, group=group)
        assert heard() == ["credentials"]
        RoleAssignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now())
        assert heard() == ["credentials"]
        RoleDefinition.objects.filter(name="AcrPull").update(description="Pulls images.")
        assert heard() == ["credentials"]
        robot, _ = _robot_headers()
        assert heard() == ["credentials"]
        robot.secrets.update(revoked_at=timezone.now())
        assert heard() == ["credentials"]
