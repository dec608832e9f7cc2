"""Reads of sources, runs, registry records and the reconciliation queue, scoped to the user.

Sources and their runs' counts are institution-wide facts every compliance reader may see.
Registry records follow their party: branch staff see those of parties in their branch subtree,
head-office roles all. Data not tied to one of our parties (quarantined raw rows, unmatched
records, the reconciliation queue) is for head-office roles only: it may name anyone.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from compliance.choices import ReconciliationStatus, Transport
from compliance.models import (
    QuarantinedRow,
    ReconciliationItem,
    RegistryRecord,
    Source,
    SourceRun,
)
from crm.models import Party
from users.roles import Capability

# While a source is unavailable it is asked again after at most this many minutes.
RETRY_UNAVAILABLE_MINUTES = 30


def may_read(user) -> bool:
    return user.is_authenticated and user.has_capability(Capability.COMPLIANCE_VIEW)


def sees_registry_wide(user) -> bool:
    """Whether the user may see data that is not tied to one of our parties."""
    return may_read(user) and not user.sees_assigned_only and user.branch_scope_ids() is None


def _month_start(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def is_fresh(source: Source, now: datetime.datetime | None = None) -> bool:
    """Whether the source's last successful delivery is within its freshness window."""
    if source.last_success_at is None:
        return False
    now = now or timezone.now()
    return now - source.last_success_at <= datetime.timedelta(days=source.freshness_days)


def sources_overview(*, user) -> list[Source]:
    """Every source with ``records_this_month`` (new records stored since the 1st),
    ``open_items`` (its open reconciliation items) and ``fresh``; two queries."""
    if not may_read(user):
        return []
    now = timezone.now()
    stored = (
        SourceRun.objects.filter(source=OuterRef("pk"), started_at__gte=_month_start(now))
        .values("source")
        .annotate(total=Sum("records_stored"))
        .values("total")
    )
    queued = (
        ReconciliationItem.objects.filter(
            record__source=OuterRef("pk"), status=ReconciliationStatus.OPEN
        )
        .values("record__source")
        .annotate(total=Count("pk"))
        .values("total")
    )
    sources = list(
        Source.objects.annotate(
            records_this_month=Coalesce(Subquery(stored, output_field=IntegerField()), 0),
            open_items=Coalesce(Subquery(queued, output_field=IntegerField()), 0),
        )
    )
    for source in sources:
        source.fresh = is_fresh(source, now)
    return sources


def source_get(*, user, pk: int) -> Source:
    source = Source.objects.filter(pk=pk).first() if may_read(user) else None
    if source is None:
        raise Http404
    source.fresh = is_fresh(source)
    return source


def source_runs(*, source: Source, limit: int = 25) -> list[SourceRun]:
    return list(source.runs.select_related("party", "triggered_by")[:limit])


def runs_visible_to(user) -> QuerySet[SourceRun]:
    """Runs with their counts; a per-party lookup only for users who may see that party."""
    if not may_read(user):
        return SourceRun.objects.none()
    runs = SourceRun.objects.select_related("source", "party", "triggered_by")
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return runs
    return runs.filter(Q(party__isnull=True) | Q(party__branch_id__in=branch_ids))


def run_get(*, user, pk: int) -> SourceRun:
    run = runs_visible_to(user).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


def run_quarantine(*, user, run: SourceRun) -> QuerySet[QuarantinedRow]:
    """The run's quarantined rows (raw registry content): head-office readers only."""
    if not sees_registry_wide(user):
        return QuarantinedRow.objects.none()
    return run.quarantined.all()


def records_visible_to(user) -> QuerySet[RegistryRecord]:
    """Registry records of the parties the user may see (all, with unmatched ones, for
    head-office roles)."""
    if not may_read(user):
        return RegistryRecord.objects.none()
    records = RegistryRecord.objects.select_related("source", "party")
    if sees_registry_wide(user):
        return records
    if user.sees_assigned_only:
        return records.filter(party__assigned_to=user)
    return records.filter(party__branch_id__in=user.branch_scope_ids())


def party_latest_records(*, party: Party) -> list[RegistryRecord]:
    """The party's latest record from each source (each facility, for banks)."""
    return list(
        RegistryRecord.objects.filter(party=party)
        .select_related("source")
        .order_by("source__kind", "source__name", "source_id", "registry_number", "-as_of", "-pk")
        .distinct("source__kind", "source__name", "source_id", "registry_number")
    )


def party_record_history(*, party: Party, limit: int = 100) -> list[RegistryRecord]:
    return list(
        RegistryRecord.objects.filter(party=party)
        .select_related("source")
        .order_by("-as_of", "-retrieved_at", "-pk")[:limit]
    )


def reconciliation_items(*, user, status: str = ReconciliationStatus.OPEN):
    """The reconciliation queue (head-office readers only), oldest first, with ``candidate_parties``
    set on each item (one query for all of them)."""
    if not sees_registry_wide(user):
        return ReconciliationItem.objects.none()
    items = ReconciliationItem.objects.select_related("record__source", "resolved_by")
    return items.filter(status=status).order_by("created_at", "pk")


def with_candidates(items) -> list[ReconciliationItem]:
    items = list(items)
    ids = {candidate for item in items for candidate in item.candidates}
    parties = Party.objects.in_bulk(ids)
    for item in items:
        item.candidate_parties = [parties[pk] for pk in item.candidates if pk in parties]
    return items


def reconciliation_get(*, user, pk: int) -> ReconciliationItem:
    item = (
        ReconciliationItem.objects.select_related("record__source", "record__party")
        .filter(pk=pk)
        .first()
        if sees_registry_wide(user)
        else None
    )
    if item is None:
        raise Http404
    return with_candidates([item])[0]


def sources_due(now: datetime.datetime | None = None) -> list[Source]:
    """Active HTTP sources whose pull interval has passed since their last pull (a source that
    is unavailable is asked again after at most ``RETRY_UNAVAILABLE_MINUTES``)."""
    now = now or timezone.now()
    due = []
    for source in Source.objects.filter(is_active=True, transport=Transport.HTTP).order_by("pk"):
        minutes = source.pull_every_minutes
        if source.unavailable_since is not None:
            minutes = min(minutes, RETRY_UNAVAILABLE_MINUTES)
        if source.last_pull_at is None or now - source.last_pull_at >= datetime.timedelta(
            minutes=minutes
        ):
            due.append(source)
    return due


def inbound_folder(source: Source) -> Path:
    """Where files of a source are dropped: ``COMPLIANCE_INBOUND_DIR / <folder or code>``."""
    return Path(settings.COMPLIANCE_INBOUND_DIR) / (source.inbound_folder or source.code)


def sources_with_inbound_folder() -> list[Source]:
    """Active sources whose inbound folder exists (any transport: a file is always welcome)."""
    return [
        source
        for source in Source.objects.filter(is_active=True).order_by("pk")
        if inbound_folder(source).is_dir()
    ]
