"""A worker killed with SIGKILL in the middle of a task: the message was never acknowledged
(``acks_late``), Redis hands it to the next worker, and the task takes effect once."""

from __future__ import annotations

import pytest

from mfi.models import TaskOutbox, WorkerHeartbeat
from mfi.outbox import outbox_enqueue
from mfi.tasks import reliability_probe
from tests.reliability.conftest import wait_for

pytestmark = pytest.mark.redis


def _tokens(prefix: str) -> list[str]:
    return sorted(
        WorkerHeartbeat.objects.filter(token__startswith=prefix).values_list("token", flat=True)
    )


def test_a_task_whose_worker_is_killed_is_redelivered_and_done_once(
    transactional_db, running_broker, start_worker
):
    # given a task that takes a few seconds, sent through the outbox, and a worker running it
    row = outbox_enqueue(reliability_probe, "probe-kill", 2.0)
    row.refresh_from_db()
    assert (row.dispatched_at is not None, row.last_error) == (True, "")
    first = start_worker("doomed")
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(token=f"probe-kill:started:{first.pid}").exists(),
        seconds=60,
        what="the first worker to start the task",
    )

    # when the worker is killed mid-task and another one starts
    first.kill()
    done_before_the_kill = WorkerHeartbeat.objects.filter(token="probe-kill").exists()
    second = start_worker("survivor")
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(token="probe-kill").exists(),
        seconds=60,
        what="the second worker to finish the task",
    )
    wait_for(
        lambda: running_broker.unacked_count() == 0, seconds=10, what="the message to be acked"
    )

    # then the task was sent once, started by both workers and done exactly once
    assert done_before_the_kill is False
    assert list(TaskOutbox.objects.values_list("task_name", "attempts")) == [
        ("mfi.tasks.reliability_probe", 1)
    ]
    assert _tokens("probe-kill") == sorted(
        ["probe-kill", f"probe-kill:started:{first.pid}", f"probe-kill:started:{second.pid}"]
    )
    assert running_broker.queue_length() == 0
