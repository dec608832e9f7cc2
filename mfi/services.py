"""Platform services: worker heartbeats and enqueuing them."""

from __future__ import annotations

import uuid

from django.db import transaction

from mfi.models import WorkerHeartbeat


def heartbeat_record(*, token: str, worker: str) -> WorkerHeartbeat:
    heartbeat, _created = WorkerHeartbeat.objects.get_or_create(
        token=token, defaults={"worker": worker[:200]}
    )
    return heartbeat


def heartbeat_request() -> str:
    """Enqueue a heartbeat after the current transaction commits; returns its token."""
    from mfi.tasks import worker_heartbeat

    token = uuid.uuid4().hex
    transaction.on_commit(lambda: worker_heartbeat.delay(token))
    return token
