"""Platform tasks: the worker heartbeat, the task outbox's dispatcher and the reliability probe."""

import os
import socket
import time
import uuid

from celery import shared_task

from mfi.outbox import outbox_dispatch_pending, outbox_purge
from mfi.services import heartbeat_record


@shared_task(name="mfi.tasks.worker_heartbeat", acks_late=True, time_limit=30, soft_time_limit=20)
def worker_heartbeat(token: str | None = None) -> str:
    """Record that a worker is alive. Idempotent: the same token is recorded once."""
    heartbeat = heartbeat_record(token=token or uuid.uuid4().hex, worker=socket.gethostname())
    return heartbeat.token


@shared_task(name="mfi.tasks.outbox_dispatch", acks_late=True, time_limit=120, soft_time_limit=100)
def outbox_dispatch() -> dict[str, int]:
    """Send the task outbox's pending rows (those the broker missed at commit time) and forget
    rows dispatched long ago (beat: ``outbox-dispatch``). Idempotent: a row is sent once a round,
    under a row lock, and only while pending."""
    counts = outbox_dispatch_pending()
    counts["purged"] = outbox_purge()
    return counts


@shared_task(
    name="mfi.tasks.reliability_probe", acks_late=True, time_limit=120, soft_time_limit=100
)
def reliability_probe(token: str, seconds: float = 0.0) -> str:
    """A heartbeat that takes a while, for the fault tests (``tests/reliability``) only: they kill
    a worker in the middle of it and check that it is redelivered and takes effect once.

    Each attempt first records ``<token>:started:<pid>`` (a worker killed mid-task leaves that
    trace), waits ``seconds``, then records ``token``: idempotent, the same token is kept once.
    """
    heartbeat_record(token=f"{token}:started:{os.getpid()}", worker=socket.gethostname())
    time.sleep(seconds)
    return heartbeat_record(token=token, worker=socket.gethostname()).token
