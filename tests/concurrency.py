"""Races on real PostgreSQL for the concurrency tests: each call in its own thread (and so its
own database connection), all released at once by a barrier."""

from __future__ import annotations

import threading

from django.db import connections


def closed_after(call):
    """The call, closing its thread's database connections when it is done."""

    def run():
        try:
            return call()
        finally:
            connections.close_all()

    return run


def race(calls):
    """Run the calls at once; returns what each returned or raised, in the calls' order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=20)
            outcomes[index] = closed_after(call)()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes
