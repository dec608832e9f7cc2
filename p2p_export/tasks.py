"""P2P tasks: take ids, call one service. All are idempotent (a repeat sends nothing twice: the
push looks the loan up on the platform first, writes carry stable idempotency keys) and retry
with backoff on transient errors only (the platform unreachable, timeouts, 5xx)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from p2p_export import services, sync
from p2p_export.choices import OutboxStatus
from p2p_export.http import TransientError
from p2p_export.models import OutboxMessage, Publication

RETRY = {
    "acks_late": True,
    "autoretry_for": (TransientError,),
    "retry_backoff": 30,
    "retry_backoff_max": 900,
    "retry_jitter": True,
    "max_retries": 6,
}


def _actor(actor_id: int | None):
    return get_user_model().objects.filter(pk=actor_id).first() if actor_id else None


@shared_task(name="p2p_export.tasks.push_publication", time_limit=300, soft_time_limit=270, **RETRY)
def push_publication(publication_id: int, actor_id: int | None = None) -> dict:
    """Push one validated profile. Refusals (validation, consent) are recorded, not retried."""
    publication = Publication.objects.filter(pk=publication_id).first()
    if publication is None:
        return {"publication": publication_id, "result": "gone"}
    try:
        outcome = services.publication_push(actor=_actor(actor_id), publication=publication)
    except ValidationError as exc:
        return {"publication": publication_id, "result": "refused", "errors": exc.messages}
    return {
        "publication": publication_id,
        "result": "pushed",
        "state": outcome.publication.state,
        "found_existing": outcome.found_existing,
    }


@shared_task(
    name="p2p_export.tasks.send_outbox_message", time_limit=120, soft_time_limit=100, **RETRY
)
def send_outbox_message(message_id: int) -> str:
    """Send one takedown or anonymisation request; retried while the platform is unreachable."""
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        return "gone"
    message = services.outbox_send(message=message)
    if message.status == OutboxStatus.PENDING and message.last_error:
        raise TransientError(message.last_error)
    return message.status


@shared_task(name="p2p_export.tasks.sync_platform", time_limit=1800, soft_time_limit=1700, **RETRY)
def sync_platform(code: str, dry_run: bool = False) -> list[dict]:
    return [summary.as_dict() for summary in sync.sync_all(code=code, dry_run=dry_run)]


@shared_task(name="p2p_export.tasks.sync_all", time_limit=3600, soft_time_limit=3500, **RETRY)
def sync_all() -> list[dict]:
    """The hourly cycle on every active platform (beat: ``p2p-sync``)."""
    return [summary.as_dict() for summary in sync.sync_all()]
