"""The task outbox itself: rows written with the caller's transaction (and only if it commits),
sent after commit, kept while the broker is down, then sent oldest first by the dispatcher,
never twice, past rows locked by another dispatcher, and forgotten a week after dispatch.

Broker tests use their own redis-server (see conftest) and read what reached it from Redis."""

from __future__ import annotations

import base64
import datetime
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from mfi.models import TaskOutbox, WorkerHeartbeat
from mfi.outbox import outbox_dispatch_pending, outbox_enqueue, outbox_purge
from mfi.tasks import outbox_dispatch, worker_heartbeat


class Rollback(Exception):
    pass


def queued_args(broker) -> list[list]:
    """The positional arguments of the messages waiting in Redis, next to be consumed first."""
    return [
        json.loads(base64.b64decode(json.loads(raw)["body"]))[0] for raw in broker.queued_messages()
    ]


@pytest.fixture
def in_process():
    """Eager Celery even when CI gives the suite a real broker."""
    from mfi.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


# --- without a broker (eager Celery) -------------------------------------------------------------


def test_a_rolled_back_change_queues_nothing(db, in_process, django_capture_on_commit_callbacks):
    # when
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        outbox_enqueue(worker_heartbeat, "never")
        raise Rollback
    # then
    assert callbacks == []
    assert TaskOutbox.objects.count() == 0
    assert WorkerHeartbeat.objects.count() == 0


def test_without_a_broker_the_task_runs_in_process_once_the_change_commits(
    db, in_process, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        row = outbox_enqueue(worker_heartbeat, "committed")
        ran_before_commit = WorkerHeartbeat.objects.filter(token="committed").exists()
    # then
    row.refresh_from_db()
    assert ran_before_commit is False
    assert WorkerHeartbeat.objects.filter(token="committed").count() == 1
    assert (row.task_name, row.args, row.kwargs, row.attempts, row.last_error) == (
        "mfi.tasks.worker_heartbeat",
        ["committed"],
        {},
        1,
        "",
    )
    assert row.dispatched_at is not None


def test_a_task_failing_in_process_is_recorded_on_its_row_not_raised(
    db, in_process, django_capture_on_commit_callbacks
):
    # given a heartbeat token longer than the column allows
    token = "x" * 65
    # when
    with django_capture_on_commit_callbacks(execute=True):
        row = outbox_enqueue(worker_heartbeat, token)
    # then
    row.refresh_from_db()
    assert row.dispatched_at is not None
    assert row.last_error == "DataError: value too long for type character varying(64)\n"


def test_the_dispatcher_task_sends_pending_rows_and_forgets_old_dispatched_ones(db, in_process):
    # given a row left pending, one dispatched 8 days ago and one dispatched 6 days ago
    pending = TaskOutbox.objects.create(task_name=worker_heartbeat.name, args=["late"])
    old, recent = (
        TaskOutbox.objects.create(task_name=worker_heartbeat.name, args=[name])
        for name in ("old", "recent")
    )
    now = timezone.now()
    TaskOutbox.objects.filter(pk=old.pk).update(dispatched_at=now - datetime.timedelta(days=8))
    TaskOutbox.objects.filter(pk=recent.pk).update(dispatched_at=now - datetime.timedelta(days=6))
    # when
    result = outbox_dispatch()
    # then
    assert result == {"sent": 1, "failed": 0, "pending": 0, "purged": 1}
    assert sorted(TaskOutbox.objects.values_list("pk", flat=True)) == [pending.pk, recent.pk]
    assert list(WorkerHeartbeat.objects.values_list("token", flat=True)) == ["late"]
    assert outbox_purge() == 0


# --- with a broker --------------------------------------------------------------------------------


@pytest.mark.redis
def test_with_the_broker_up_the_row_is_sent_at_commit_and_never_again(
    db, running_broker, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        row = outbox_enqueue(worker_heartbeat, "sent-once")
    again = outbox_dispatch_pending()
    # then
    row.refresh_from_db()
    assert (row.attempts, row.last_error, row.dispatched_at is not None) == (1, "", True)
    assert again == {"sent": 0, "failed": 0, "pending": 0}
    assert queued_args(running_broker) == [["sent-once"]]


@pytest.mark.redis
def test_rows_kept_while_the_broker_is_down_are_sent_oldest_first_when_it_is_back(
    db, broker, django_capture_on_commit_callbacks
):
    # given three commits while Redis is down
    broker.stop()
    for token in ("first", "second", "third"):
        with django_capture_on_commit_callbacks(execute=True):
            outbox_enqueue(worker_heartbeat, token)
    # when the dispatcher runs with Redis still down, then with Redis back, in two rounds
    while_down = outbox_dispatch_pending()
    broker.start()
    first_round = outbox_dispatch_pending(limit=2)
    call_command("outbox_dispatch", stdout=(output := _Output()))
    # then
    assert while_down == {"sent": 0, "failed": 1, "pending": 3}
    assert first_round == {"sent": 2, "failed": 0, "pending": 1}
    assert output.text == "sent 1, failed 0, still pending 0\n"
    assert queued_args(broker) == [["first"], ["second"], ["third"]]
    # the first commit tried once, the dispatcher's round while down tried the oldest once more
    assert list(TaskOutbox.objects.order_by("pk").values_list("attempts", "last_error")) == [
        (3, ""),
        (1, ""),
        (1, ""),
    ]


@pytest.mark.redis
def test_a_row_of_an_unknown_task_is_skipped_without_holding_up_the_others(db, running_broker):
    # given a row of a task since renamed, before a row of a real one
    TaskOutbox.objects.create(task_name="mfi.tasks.renamed_long_ago")
    TaskOutbox.objects.create(task_name=worker_heartbeat.name, args=["behind"])
    # when
    counts = outbox_dispatch_pending()
    # then
    assert counts == {"sent": 1, "failed": 1, "pending": 1}
    stuck = TaskOutbox.objects.get(dispatched_at__isnull=True)
    assert (stuck.task_name, stuck.attempts) == ("mfi.tasks.renamed_long_ago", 1)
    assert stuck.last_error == "NotRegistered: 'mfi.tasks.renamed_long_ago'"
    assert queued_args(running_broker) == [["behind"]]


@pytest.mark.redis
def test_a_row_locked_by_another_dispatcher_is_skipped_not_sent_twice(transactional_db, broker):
    # given two pending rows, the first being sent by another dispatcher (its row lock held)
    broker.stop()
    held, free = (outbox_enqueue(worker_heartbeat, token) for token in ("held", "free"))
    broker.start()
    locked, release = threading.Event(), threading.Event()

    def other_dispatcher():
        try:
            with transaction.atomic():
                TaskOutbox.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_dispatcher)
    thread.start()
    assert locked.wait(timeout=30)
    # when this dispatcher runs meanwhile, and again once the other one let go
    try:
        meanwhile = outbox_dispatch_pending()
    finally:
        release.set()
        thread.join(timeout=30)
    afterwards = outbox_dispatch_pending()
    # then
    assert meanwhile == {"sent": 1, "failed": 0, "pending": 1}
    assert afterwards == {"sent": 1, "failed": 0, "pending": 0}
    assert queued_args(broker) == [["free"], ["held"]]


class _Output:
    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass
