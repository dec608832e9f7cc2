"""Compliance tasks: registry pulls, inbound folders, per-party refreshes and evaluations.

Each task takes ids and calls one service. A pull that fails is recorded (run and source health)
and not retried here: the schedule asks again (sooner while the source is unavailable, see
``sources_due``). Retries with backoff are for the database going away under a task.
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError

from compliance.choices import RunTrigger
from compliance.ingest import inbound_ingest, party_refresh, source_pull
from compliance.models import Source
from compliance.sources.selectors import sources_due, sources_with_inbound_folder
from crm.models import Party
from users.models import User

_RETRYING = {
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 30,
    "retry_jitter": True,
    "max_retries": 3,
}


@shared_task(
    name="compliance.tasks.pull_source", time_limit=1800, soft_time_limit=1750, **_RETRYING
)
def pull_source(
    source_id: int,
    trigger: str = RunTrigger.SCHEDULE,
    as_of: str | None = None,
    user_id: int | None = None,
) -> int | None:
    """Pull one source's reporting month (``as_of`` ISO date, default the latest), on behalf of a
    user when ``user_id`` is given; returns the run's id (None if a pull was already running)."""
    try:
        run = source_pull(
            source=Source.objects.get(pk=source_id),
            trigger=trigger,
            actor=User.objects.get(pk=user_id) if user_id else None,
            as_of=datetime.date.fromisoformat(as_of) if as_of else None,
        )
    except ValidationError as exc:
        if getattr(exc, "code", None) == "source_busy":
            return None
        raise
    return run.pk


@shared_task(
    name="compliance.tasks.ingest_inbound", time_limit=3600, soft_time_limit=3500, **_RETRYING
)
def ingest_inbound(source_id: int) -> list[int]:
    """Ingest the CSV files waiting in one source's inbound folder; returns the runs' ids."""
    return [run.pk for run in inbound_ingest(source=Source.objects.get(pk=source_id))]


@shared_task(name="compliance.tasks.pull_due_sources", acks_late=True, time_limit=300)
def pull_due_sources() -> dict[str, list[int]]:
    """Queue a pull of every HTTP source whose interval has passed, and a scan of every inbound
    folder that exists. Returns the source ids queued."""
    pulled = [source.pk for source in sources_due()]
    scanned = [source.pk for source in sources_with_inbound_folder()]
    for source_id in pulled:
        pull_source.delay(source_id)
    for source_id in scanned:
        ingest_inbound.delay(source_id)
    return {"pulled": pulled, "scanned": scanned}


@shared_task(
    name="compliance.tasks.refresh_party", time_limit=600, soft_time_limit=570, **_RETRYING
)
def refresh_party(party_id: int, user_id: int) -> list[int]:
    """Ask every HTTP source about one party now, on behalf of a user; returns the runs' ids."""
    party = Party.objects.get(pk=party_id)
    user = User.objects.get(pk=user_id)
    return [run.pk for run in party_refresh(actor=user, party=party)]


@shared_task(
    name="compliance.tasks.evaluate_parties", time_limit=1800, soft_time_limit=1750, **_RETRYING
)
def evaluate_parties(party_ids: list[int]) -> dict[str, int]:
    """Re-evaluate the loans of these borrowers (new registry evidence arrived for them)."""
    from compliance.evaluation import evaluate_loans

    return evaluate_loans(party_ids=list(party_ids))


@shared_task(
    name="compliance.tasks.evaluate_all", time_limit=7200, soft_time_limit=7100, **_RETRYING
)
def evaluate_all() -> dict[str, int]:
    """The nightly evaluation of every monitored loan."""
    from compliance.evaluation import evaluate_loans
    from compliance.position import position_refresh

    result = evaluate_loans(party_ids=None)
    position_refresh()  # the dashboard's morning figures reflect the night's evaluation
    return result


@shared_task(name="compliance.tasks.refresh_position", time_limit=600, **_RETRYING)
def refresh_position() -> int | None:
    """Count the dashboard's position figures again (compliance/position.py); the snapshot's id,
    or None when another refresh was already counting."""
    from compliance.position import position_refresh

    snapshot = position_refresh()
    return snapshot.pk if snapshot else None
