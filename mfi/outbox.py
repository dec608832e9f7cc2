"""The transactional task outbox: a task that must run is written to the database in the same
transaction as the change that needs it, then handed to the broker from there.

``outbox_enqueue(task, *args, **kwargs)`` inserts a ``TaskOutbox`` row in the caller's
transaction and, once that transaction commits, tries to send the task at once. If the broker is
down the commit still succeeds: the row stays pending (its attempts and last error recorded) and
the dispatcher sends it later, oldest first. The dispatcher runs as the beat task
``mfi.tasks.outbox_dispatch`` and as ``manage.py outbox_dispatch [--loop]``; several can run at
once, each row being locked while it is sent (``SELECT … FOR UPDATE SKIP LOCKED``).

Delivery is at least once: a dispatcher that dies after the broker accepted a message and before
its own commit leaves the row pending, and it is sent again. Every task sent through the outbox is
idempotent (running it twice has the effect of running it once).

With eager Celery (no ``REDIS_URL``) there is no broker to lose a message: the task runs in
process when the transaction commits, as a bare ``on_commit(task.delay)`` did.
"""

from __future__ import annotations

import datetime
import logging
import time
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from mfi.models import TaskOutbox

logger = logging.getLogger(__name__)

DISPATCH_BATCH = 100
KEEP_DISPATCHED_DAYS = 7
_ERROR_MAX_CHARS = 2000
# A broker that cannot be reached fails every row the same way: stop the round at the first one.
_BROKER_DOWN = (BrokerOperationalError, OSError)  # OSError: refused, reset, timed out
# After a broker could not be reached, commits stop trying to send to it for this long (each
# try costs a connection timeout) and leave their rows to the dispatcher. Per broker URL.
BROKER_PAUSE_SECONDS = 10.0
_broker_paused_until: dict[str, float] = {}


def tasks_run_in_process() -> bool:
    """True when Celery runs tasks eagerly in this process (no broker configured)."""
    from mfi.celery import app

    return bool(app.conf.task_always_eager)


def outbox_enqueue(task: Task, *args: Any, **kwargs: Any) -> TaskOutbox:
    """Record ``task(*args, **kwargs)`` in the current transaction; send it once that commits.

    Arguments must be JSON values (ids, ISO dates, strings), as for any task of this project.
    Outside a transaction the row is committed and sent at once.
    """
    row = TaskOutbox.objects.create(task_name=task.name, args=list(args), kwargs=dict(kwargs))
    transaction.on_commit(partial(outbox_dispatch_row, row_id=row.pk), robust=True)
    return row


def outbox_dispatch_row(*, row_id: int) -> bool:
    """Send one pending row now (the after-commit path). Returns whether it was sent; a row
    already sent, or being sent by a dispatcher, is left alone."""
    if tasks_run_in_process():
        row = _claim_for_in_process_run(TaskOutbox.objects.filter(pk=row_id))
        if row is None:
            return False
        _run_in_process(row)
        return True
    if time.monotonic() < _broker_paused_until.get(_broker_url(), 0.0):
        return False
    with transaction.atomic():
        row = _pending().filter(pk=row_id).select_for_update(skip_locked=True).first()
        if row is None:
            return False
        sent, _broker_down = _send(row)
    return sent


def outbox_dispatch_pending(*, limit: int = DISPATCH_BATCH) -> dict[str, int]:
    """Send up to ``limit`` pending rows, oldest first, one short transaction each.

    Returns ``{"sent": n, "failed": n, "pending": n}`` (``pending``: rows still waiting after the
    round). A broker that cannot be reached ends the round at once; a row that fails for its own
    reason (say a task name no longer registered) is skipped and the round goes on.
    """
    sent = failed = 0
    skipped: list[int] = []
    for _ in range(limit):
        candidates = _pending().exclude(pk__in=skipped).order_by("created_at", "pk")
        if tasks_run_in_process():
            row = _claim_for_in_process_run(candidates)
            if row is None:
                break
            _run_in_process(row)
            sent += 1
            continue
        with transaction.atomic():
            row = candidates.select_for_update(skip_locked=True).first()
            if row is None:
                break
            ok, broker_down = _send(row)
        if ok:
            sent += 1
            continue
        failed += 1
        skipped.append(row.pk)
        if broker_down:
            break
    return {"sent": sent, "failed": failed, "pending": _pending().count()}


def outbox_purge(*, older_than_days: int = KEEP_DISPATCHED_DAYS) -> int:
    """Delete rows dispatched more than ``older_than_days`` ago; pending rows are never deleted.
    Returns how many were deleted."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted, _by_model = TaskOutbox.objects.filter(dispatched_at__lt=cutoff).delete()
    return deleted


def _pending():
    return TaskOutbox.objects.filter(dispatched_at__isnull=True)


def _broker_url() -> str:
    from mfi.celery import app

    return str(app.conf.broker_url)


def _task(name: str) -> Task:
    from mfi.celery import app

    try:
        return app.tasks[name]
    except KeyError:
        # A process that has not imported the app's tasks modules yet (a management command).
        app.loader.import_default_modules()
        return app.tasks[name]


def _send(row: TaskOutbox) -> tuple[bool, bool]:
    """Hand a locked row to the broker; returns (sent, the broker could not be reached)."""
    try:
        # No publish retries here: a broker that is down must not hold the caller's request.
        _task(row.task_name).apply_async(args=row.args, kwargs=row.kwargs, retry=False)
    except Exception as exc:
        broker_down = isinstance(exc, _BROKER_DOWN)
        if broker_down:
            _broker_paused_until[_broker_url()] = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning("outbox row %s (%s) not sent: %r", row.pk, row.task_name, exc)
        TaskOutbox.objects.filter(pk=row.pk).update(
            attempts=F("attempts") + 1, last_error=_error_text(exc)
        )
        return False, broker_down
    TaskOutbox.objects.filter(pk=row.pk).update(
        dispatched_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
    )
    _broker_paused_until.pop(_broker_url(), None)
    return True, False


def _claim_for_in_process_run(candidates) -> TaskOutbox | None:
    """Mark the first pending candidate dispatched in its own short transaction, so the task then
    runs outside it (its own transactions commit, and its failure rolls back nothing of ours)."""
    with transaction.atomic():
        pending = candidates.filter(dispatched_at__isnull=True)
        row = pending.select_for_update(skip_locked=True).first()
        if row is None:
            return None
        TaskOutbox.objects.filter(pk=row.pk).update(
            dispatched_at=timezone.now(), attempts=F("attempts") + 1
        )
    return row


def _run_in_process(row: TaskOutbox) -> None:
    """Eager Celery: run the task now. Its failure is logged and kept on the row, and does not
    reach the code whose commit queued it (as with a worker)."""
    try:
        _task(row.task_name).apply_async(args=row.args, kwargs=row.kwargs)
    except Exception as exc:
        logger.exception("outbox row %s (%s) failed in process", row.pk, row.task_name)
        TaskOutbox.objects.filter(pk=row.pk).update(last_error=_error_text(exc))


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_ERROR_MAX_CHARS]
