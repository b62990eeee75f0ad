"""Two writers of one registry's index at once, with two real database connections.

Every index write renews the registry's stamp, so each writing transaction holds the stamp's
row until it commits. A writer that locked a tag and then waited for the stamp, while the
stamp's holder went on to need that tag, would deadlock; writers therefore take the index lock
(``registry.models.index.lock_index``) first and queue up. Run on PostgreSQL in CI, where the
deadlock would happen; on SQLite the write lock of IMMEDIATE transactions serializes the two
threads and the outcome must be the same.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import transaction

from registry import services
from registry.models import IndexStamp, Tag
from registry.models.index import lock_index
from tests.factories import RegistryFactory, RepositoryFactory, TagFactory
from tests.registry.race_support import TIMEOUT, run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_portal_write_waits_for_an_index_writer_instead_of_deadlocking(alice):
    app = RepositoryFactory(registry=RegistryFactory(name="prod1"), name="team-a/app")
    first = TagFactory(manifest__repository=app, name="first")
    second = TagFactory(manifest__repository=app, name="second")
    stamp = IndexStamp.objects.get(registry_id=app.registry_id).stamp
    wrote_first, portal_started = threading.Event(), threading.Event()

    def applier() -> str:
        # As the event applier does: the index lock, then several statements.
        with transaction.atomic():
            lock_index(app.registry_id)
            Tag.objects.filter(pk=first.pk).update(write_enabled=False)
            wrote_first.set()
            assert portal_started.wait(TIMEOUT)
            time.sleep(0.5)  # the portal's write is under way (or waiting) by now
            Tag.objects.filter(pk=second.pk).update(delete_enabled=False)
        return "applied"

    def portal() -> str:
        assert wrote_first.wait(TIMEOUT)
        portal_started.set()
        tag = Tag.objects.select_related("repository").get(pk=second.pk)
        services.tag_update_locks(actor=alice, tag=tag, read_enabled=False)
        return "locked"

    assert run_in_threads(applier, portal) == ["applied", "locked"]
    second.refresh_from_db()
    assert (second.delete_enabled, second.read_enabled) == (False, False)
    assert IndexStamp.objects.get(registry_id=app.registry_id).stamp != stamp
