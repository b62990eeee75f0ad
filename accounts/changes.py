"""Answers a web process remembers while PostgreSQL tells it nothing behind them has changed.

A few answers are read on almost every API request and rarely change: the credential a caller
presents (a personal access token with its user, a service principal's secret with the
principal), what the caller holds (``registry.permissions.engine.grants_of``) and a registry's
index stamp. Each read is a round trip to the database, and on a kept list page those round
trips are most of the work.

Triggers in the database announce every committed change to the rows behind those answers on
one channel (``NOTIFY portcullis_changes``; the payload names a topic: ``credentials``,
``index:<registry id>``). Each web process runs one listener thread (``Feed``) on a connection
of its own, and a ``Memo`` of a topic forgets everything it holds when its topic is announced.

A memo answers from memory only while the listener is *live*: connected, listening, and hearing
its own heartbeat, which it sends every ``CHANGE_FEED_HEARTBEAT_SECONDS``. A connection that
broke without a word, or a pooler that drops notifications (PgBouncer in transaction mode),
stops the heartbeats, and the memo goes back to the database within two of them. It also does
whenever the feed is off (``CHANGE_FEED``, off on SQLite), still starting, or reconnecting; and
inside a transaction, whose reads may include its own uncommitted writes. Whenever the listener
was not live, everything remembered is forgotten before it is trusted again.

What this trades: a change committed by another process shows here once its notification
arrives (the database sends it at commit; here it takes well under a millisecond) instead of
at the very next statement. A change committed by this process is forgotten at its commit
(``forget_on_commit``).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "portcullis_changes"
HEARTBEAT = "heartbeat"
# Topics: users, tokens, role assignments and definitions, group memberships; index stamps.
CREDENTIALS = "credentials"
INDEX = "index"
T = TypeVar("T")
_MISSING = object()


class Memo:
    """Answers of one topic, each computed once while the feed reports no change to it."""

    def __init__(self, topic: str, *, limit: int = 10_000) -> None:
        self.topic = topic
        self.limit = limit
        self._lock = threading.Lock()
        self._values: dict[Hashable, Any] = {}
        self._version = 0
        FEED.register(self)

    def get(
        self,
        key: Hashable,
        compute: Callable[[], T],
        *,
        keep: Callable[[T], bool] = bool,
        fresh: Callable[[T], bool] | None = None,
    ) -> T:
        """The answer remembered for ``key``, or ``compute()``'s, remembered when ``keep`` of
        it is true (by default: when it is truthy, so nothing is remembered of a miss).
        ``fresh``, if given, says whether a remembered answer still holds (one that expires
        with time, which no notification announces)."""
        if not FEED.trusted():
            return compute()
        with self._lock:
            found = self._values.get(key, _MISSING)
            version = self._version
        if found is not _MISSING and (fresh is None or fresh(found)):
            return found
        value = compute()
        if keep(value):
            with self._lock:
                # A change announced while computing may be missing from the value: keep
                # nothing then, as the next question would rather ask again.
                if self._version == version and FEED.trusted():
                    if len(self._values) >= self.limit:
                        self._values.clear()
                    self._values[key] = value
        return value

    def forget(self) -> None:
        with self._lock:
            self._version += 1
            self._values.clear()


class Feed:
    """The listener thread of this process, started on first use (after gunicorn forks)."""

    def __init__(self) -> None:
        self._memos: dict[str, list[Memo]] = {}
        self._start_lock = threading.Lock()
        self._pid: int | None = None
        self._live_until = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def register(self, memo: Memo) -> None:
        self._memos.setdefault(memo.topic, []).append(memo)

    def forget(self, topic: str) -> None:
        for memo in self._memos.get(topic, ()):
            memo.forget()

    def trusted(self) -> bool:
        """Whether memos may answer for this thread now."""
        if not settings.CHANGE_FEED:
            return False
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return False
        if self._pid != os.getpid():
            self._start()
        return time.monotonic() < self._live_until

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._live_until = 0.0
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="portcullis-changes", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """End the listener and close its connection (tests do, before their database goes);
        the next ``trusted()`` starts a new one."""
        with self._start_lock:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            self._thread = None
            self._pid = None
            self._lapse()

    # The listener thread ------------------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        delay = 0.5
        while not stop.is_set():
            try:
                self._listen(stop)
            except (psycopg.Error, OSError) as exc:
                logger.warning("change feed: %s; answering from the database until it is back", exc)
            except Exception:
                logger.exception("change feed stopped; answering from the database")
                self._lapse()
                return
            self._lapse()
            if stop.wait(delay):
                return
            delay = min(delay * 2, 30.0)

    def _listen(self, stop: threading.Event) -> None:
        interval = float(settings.CHANGE_FEED_HEARTBEAT_SECONDS)
        params = connections[DEFAULT_DB_ALIAS].get_connection_params()
        params.pop("cursor_factory", None)
        params["application_name"] = "portcullis-changes"
        with psycopg.Connection.connect(**params, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            mine = f"{HEARTBEAT}:{os.getpid()}:{secrets.token_hex(8)}"
            while not stop.is_set():
                connection.execute("SELECT pg_notify(%s, %s)", [CHANNEL, mine])
                deadline = time.monotonic() + interval
                while (remaining := deadline - time.monotonic()) > 0:
                    for note in connection.notifies(timeout=remaining):
                        self._heard(note.payload, mine, interval)

    def _heard(self, payload: str, mine: str, interval: float) -> None:
        if payload == mine:
            if time.monotonic() >= self._live_until:
                self._forget_all()  # whatever happened while not live was not heard
            self._live_until = time.monotonic() + 2 * interval
            return
        self.forget(payload.partition(":")[0])

    def _lapse(self) -> None:
        self._live_until = 0.0
        self._forget_all()

    def _forget_all(self) -> None:
        for topic in self._memos:
            self.forget(topic)


FEED = Feed()


def forget_on_commit(topic: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Forget everything remembered of ``topic`` when the current transaction commits (at once
    outside one): what this process writes shows in its own next answer, whichever comes
    first of this and the database's notification."""
    transaction.on_commit(lambda: FEED.forget(topic), using=using)
