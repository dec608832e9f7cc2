"""Platform tasks."""

import socket
import uuid

from celery import shared_task

from mfi.services import heartbeat_record


@shared_task(name="mfi.tasks.worker_heartbeat", acks_late=True, time_limit=30, soft_time_limit=20)
def worker_heartbeat(token: str | None = None) -> str:
    """Record that a worker is alive. Idempotent: the same token is recorded once."""
    heartbeat = heartbeat_record(token=token or uuid.uuid4().hex, worker=socket.gethostname())
    return heartbeat.token
