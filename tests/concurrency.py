"""Races on real PostgreSQL for the concurrency tests: each call in its own thread (and so its
own database connection), all released at once by a barrier."""

from __future__ import annotations

import threading

from django.db import connections


def race(calls):
    """Run the calls at once; returns what each returned or raised, in the calls' order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=20)
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes
