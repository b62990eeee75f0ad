"""Running calls in threads, each with its own database connection, for tests of races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

TIMEOUT = 30


def run_in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in a thread of its own (its own database connection); their results or
    the exceptions they raised, in order."""
    results: list[Any] = [None] * len(calls)

    def target(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = call()
        except Exception as exc:  # the test inspects it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=target, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a racing call hung"
    return results
