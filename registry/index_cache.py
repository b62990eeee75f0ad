"""Answers computed from a registry's index, remembered while that index stands.

A registry's *index stamp* (``registry.models.IndexStamp``) is renewed by the database in the
same transaction as any write to the registry's repositories, manifests or tags. Anything
computed from those rows can therefore be kept under the stamp: once a change is committed, no
reader can reach an answer from before it. The stamp is read before the answer is computed,
so a kept answer is never older than its key (a change committed in between makes it newer).

Kept answers live in the ``index-lists`` cache for at most ``INDEX_LIST_CACHE_SECONDS``
(0: nothing is kept). Keys are digests; they never hold a secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches

from registry import selectors

CACHE = "index-lists"
T = TypeVar("T")


def stamped_key(registry_name: str, parts: Iterable[str]) -> str | None:
    """A cache key for ``parts`` of the registry named ``registry_name`` as its index stands
    now; None when nothing may be kept (keeping is off, no such registry, or no stamp)."""
    if not settings.INDEX_LIST_CACHE_SECONDS:
        return None
    found = selectors.index_stamp(registry_name)
    if found is None or found[1] is None:
        return None
    registry_id, stamp = found
    text = "\0".join((str(registry_id), str(stamp), *parts))
    return "index:" + hashlib.sha256(text.encode()).hexdigest()


def kept(registry_name: str, parts: Iterable[str], compute: Callable[[], T]) -> T:
    """``compute()``, or what it gave for the same ``parts`` while the registry's index has
    not changed since. ``parts`` must name everything else the answer depends on."""
    key = stamped_key(registry_name, parts)
    if key is None:
        return compute()
    found = caches[CACHE].get(key)
    if found is None:
        found = compute()
        caches[CACHE].set(key, found)
    return found
