"""The compliance dashboard's position figures as a snapshot: counted for the whole institution,
split by branch and offer, so that any user's dashboard adds up a few hundred rows instead of
joining every running loan to its borrower's coverage, cases and checks.

A snapshot is taken every few minutes (the beat), after the nightly evaluation and when a user
asks for it; the dashboard reads the latest one while it is younger than
``COMPLIANCE_POSITION_MAX_AGE`` seconds and was judged against today's date, and counts live
otherwise (a small institution without a beat, or right after a restart). The drill-down lists
are always live, and the dashboard says when its position figures were counted.
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from compliance.dashboards import (
    POSITION_METRICS,
    Counts,
    DashboardFilters,
    compliance_viewer,
    position_counts,
)
from compliance.models import PositionFigure, PositionSnapshot

KEPT = 1  # snapshots kept: a reader adds up the newest in one query, so none older is needed
LOCK = 0x636F6D70  # advisory lock: one snapshot is counted at a time


def position_refresh(*, today: datetime.date | None = None) -> PositionSnapshot | None:
    """Count the position figures of the whole institution now and keep them as the latest
    snapshot. None when another refresh is counting at this moment (it will do)."""
    today = today or timezone.localdate()
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK])
            if not cursor.fetchone()[0]:
                return None
        filters = DashboardFilters(
            user=None, date_from=today, date_to=today, today=today, institution_wide=True
        )
        slices = position_counts(filters, sliced=True)
        snapshot = PositionSnapshot.objects.create(
            taken_at=timezone.now(),
            as_of=today,
            seconds=Decimal(str(round(time.perf_counter() - started, 3))),
        )
        PositionFigure.objects.bulk_create(
            PositionFigure(
                snapshot=snapshot,
                branch_id=branch_id,
                offer_id=offer_id,
                metric=metric,
                dimension=dimension,
                key=key,
                count=figure["count"],
                amount=figure["amount"],
            )
            for (branch_id, offer_id), counts in slices.items()
            for (metric, dimension), groups in counts.items()
            for key, figure in groups.items()
            if figure["count"]
        )
        stale = PositionSnapshot.objects.order_by("-taken_at").values_list("pk", flat=True)[KEPT:]
        PositionSnapshot.objects.filter(pk__in=list(stale)).delete()
    return snapshot


def latest_snapshot(today: datetime.date) -> PositionSnapshot | None:
    """The newest snapshot if it is recent enough to stand for now (and judged on ``today``)."""
    oldest = timezone.now() - datetime.timedelta(seconds=settings.COMPLIANCE_POSITION_MAX_AGE)
    return (
        PositionSnapshot.objects.filter(taken_at__gte=oldest, as_of=today)
        .order_by("-taken_at")
        .first()
    )


def _snapshot_figures(filters: DashboardFilters):
    """The latest fresh snapshot's rows for the filters' branches and offer, with when it was
    taken; None when there is no fresh snapshot, or for a user who may not see the figures or
    whose scope is not a set of branches (both counted live: nothing, or few rows)."""
    if not settings.COMPLIANCE_POSITION_MAX_AGE or not compliance_viewer(filters):
        return None
    if filters.user.sees_assigned_only:
        return None
    snapshot = latest_snapshot(filters.today)
    if snapshot is None:
        return None
    figures = PositionFigure.objects.filter(snapshot=snapshot)
    if filters.branch_ids is not None:
        figures = figures.filter(branch_id__in=filters.branch_ids)
    if filters.offer is not None:
        figures = figures.filter(offer=filters.offer)
    return figures.order_by(), snapshot.taken_at


def snapshot_counts(filters: DashboardFilters) -> tuple[Counts, datetime.datetime] | None:
    """The position figures for the filters added up from the latest fresh snapshot, with when
    it was taken; None when the dashboard counts them live (see ``_snapshot_figures``)."""
    found = _snapshot_figures(filters)
    if found is None:
        return None
    figures, taken_at = found
    counts: Counts = {}
    for row in figures.values("metric", "dimension", "key").annotate(
        count=Sum("count"), amount=Sum("amount")
    ):
        counts.setdefault((row["metric"], row["dimension"]), {})[row["key"]] = {
            "count": row["count"],
            "amount": row["amount"],
        }
    return counts, taken_at


def snapshot_figure(
    filters: DashboardFilters, metric: str, key: str = ""
) -> tuple[int, datetime.datetime] | None:
    """What the dashboard shows for one figure when it reads the snapshot: (count, counted at);
    None when the dashboard counts that figure live (its drill-down then has the same length).
    Without a key, the figure is the metric's total (every dimension splits the same rows)."""
    if metric not in POSITION_METRICS:
        return None
    found = _snapshot_figures(filters)
    if found is None:
        return None
    figures, taken_at = found
    figures = figures.filter(metric=metric)
    if key:
        dimension, _sep, value = key.partition(":")
        figures = figures.filter(dimension=dimension, key=value)
    total = figures.values("dimension").annotate(count=Sum("count")).order_by("dimension").first()
    return (total["count"] if total else 0), taken_at
