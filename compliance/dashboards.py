"""The compliance manager's dashboard: every figure, and the list of rows behind each one.

A figure is the count of one *metric* (a named queryset: "open cases", "loans more than 30 days
late", "desk visits whose wait was measured" ...), possibly broken down by one *dimension* (offer,
island, sector, agent, day, source ...). The dashboard counts a metric per dimension value with
one grouped query; the drill-down list of a figure is the same metric's queryset filtered on the
same group expression, so a number and the length of its list cannot disagree.

Position figures (coverage, non-compliance, PAR, source health) describe today; flow figures
(time to first contact, cure rate, desk, agent productivity) count what happened in the period.
Every figure is scoped to the user's branches (narrowed by the branch filter) and, where a row
belongs to a loan, to the offer filter. Sources serve the whole institution and are not scoped.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from urllib.parse import urlencode

from django import forms
from django.db.models import (
    Aggregate,
    Avg,
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models import Case as CaseWhen
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounting.selectors import ledger_branch_scope
from compliance.choices import (
    CaseOutcome,
    CaseStatus,
    CheckStatus,
    DeskVisitStatus,
    RunStatus,
    SourceKind,
)
from compliance.models import (
    Case,
    ComplianceCheck,
    DeskVisit,
    FollowUp,
    Source,
    SourceRun,
)
from compliance.scoping import cases_visible_to, desk_visits_visible_to, follow_ups_visible_to
from crm.choices import Island, LinkKind, Sector
from crm.models import PartyLink
from loans.choices import PORTFOLIO_STATUSES
from loans.models import Loan, Offer
from loans.portfolio import _ratio as par_ratio  # PAR to 4 places, as the portfolio report
from loans.selectors import loans_visible_to
from mfi.money import ZERO
from users.models import Branch, User
from users.roles import Capability

DEFAULT_PERIOD_DAYS = 90
HOURS = Decimal("0.1")

# Loans behind each PAR figure (the portfolio report's thresholds: more than n days past due).
PAR_DAYS = {"par1": 1, "par30": 30, "par90": 90}


class Median(Aggregate):
    """The median of a column or expression (PostgreSQL ``percentile_cont(0.5)``)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


# --- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardFilters:
    """Who is looking, the period (inclusive dates) and the optional branch and offer.

    ``institution_wide`` counts every branch for no one in particular (the position snapshot,
    ``compliance.position``, which each user's scope then adds up); ``user`` is None then."""

    user: User | None
    date_from: datetime.date
    date_to: datetime.date
    branch: Branch | None = None
    offer: Offer | None = None
    today: datetime.date = field(default_factory=timezone.localdate)
    institution_wide: bool = False

    @cached_property
    def branch_ids(self) -> list[int] | None:
        """The branches covered: the chosen one and those below it, within the user's scope."""
        if self.institution_wide:
            return None
        return ledger_branch_scope(self.user, self.branch.pk if self.branch else None)

    @property
    def query(self) -> dict[str, str]:
        """The filters as URL parameters (for drill-down and export links)."""
        params = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.branch is not None:
            params["branch"] = str(self.branch.pk)
        if self.offer is not None:
            params["offer"] = str(self.offer.pk)
        return params

    def in_branches(self, queryset: QuerySet, branch_field: str) -> QuerySet:
        if self.branch_ids is None:
            return queryset
        return queryset.filter(**{f"{branch_field}__in": self.branch_ids})

    def in_offer(self, queryset: QuerySet, offer_field: str) -> QuerySet:
        return queryset if self.offer is None else queryset.filter(**{offer_field: self.offer})

    def in_period(self, queryset: QuerySet, day_field: str) -> QuerySet:
        """Rows of the period's days. For a moment (``opened_at__date``) the local days become
        a range of instants, so an index on the column serves and no row is converted."""
        if day_field.endswith("__date"):
            start, end = (
                timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
                for day in (self.date_from, self.date_to + datetime.timedelta(days=1))
            )
            moment = day_field.removesuffix("__date")
            return queryset.filter(**{f"{moment}__gte": start, f"{moment}__lt": end})
        return queryset.filter(
            **{f"{day_field}__gte": self.date_from, f"{day_field}__lte": self.date_to}
        )


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; every field is optional (the period defaults to 90 days)."""

    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.none(), required=False
    )
    offer = forms.ModelChoiceField(
        label=_("Offer"), queryset=Offer.objects.order_by("name"), required=False
    )

    def __init__(self, data=None, *, user: User, today: datetime.date | None = None):
        from users.selectors import branches_visible_to

        super().__init__(data)
        self.user = user
        self.today = today or timezone.localdate()
        self.fields["branch"].queryset = branches_visible_to(user).order_by("name")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        date_to = data.get("date_to") or self.today
        date_from = data.get("date_from") or date_to - datetime.timedelta(
            days=DEFAULT_PERIOD_DAYS - 1
        )
        if date_from > date_to:
            raise forms.ValidationError(
                {"date_to": _("The end of the period must not be before its start.")}
            )
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def shown(self) -> DashboardFilterForm:
        """The form to show once valid: the period it defaulted to filled in."""
        return DashboardFilterForm(self.filters().query, user=self.user, today=self.today)

    def filters(self) -> DashboardFilters:
        data = self.cleaned_data
        return DashboardFilters(
            user=self.user,
            date_from=data["date_from"],
            date_to=data["date_to"],
            branch=data.get("branch"),
            offer=data.get("offer"),
            today=self.today,
        )


# --- metrics: the querysets behind the figures ---------------------------------------------------


def _as_key(expression) -> Coalesce:
    """A group expression as text ("" when empty), so URL keys compare to it directly."""
    return Coalesce(Cast(expression, CharField()), Value(""))


def _sector(party: str) -> Coalesce:
    """An enterprise's sector, or for a person the sector of the first enterprise they own."""
    owned = (
        PartyLink.objects.filter(
            from_party=OuterRef(party), kind=LinkKind.OWNER, to_party__enterprise__isnull=False
        )
        .order_by("pk")
        .values("to_party__enterprise__sector")[:1]
    )
    return Coalesce(F(f"{party}__enterprise__sector"), Subquery(owned), Value(""))


def _offer_currency() -> Concat:
    """PAR is a ratio of amounts, so the portfolio splits by offer *and* currency: ``3-CVE``."""
    return Concat(
        Cast("product_version__product__offer_id", CharField()),
        Value("-"),
        "currency",
        output_field=CharField(),
    )


def _coverage_state(today: datetime.date, relation: str = "coverage") -> CaseWhen:
    """``fresh`` when the borrower has a record of the kind within its source's freshness
    period, ``stale`` when only older ones, ``unknown`` when none (unknown is never compliant).
    Reads the ``relation`` that ``_coverage_relation`` joins."""
    return CaseWhen(
        When(**{f"{relation}__fresh_until__gte": today}, then=Value("fresh")),
        When(**{f"{relation}__fresh_until__isnull": False}, then=Value("stale")),
        default=Value("unknown"),
        output_field=CharField(),
    )


def _coverage_relation(kind: str) -> FilteredRelation:
    """A loan's borrower's maintained coverage of one source kind (``PartyCoverage``: one row
    per borrower and kind, so the join is a single hash join)."""
    return FilteredRelation(
        "borrower__registry_coverage", condition=Q(borrower__registry_coverage__kind=kind)
    )


def _loans_with_coverage(kind: str) -> Callable[[DashboardFilters], QuerySet[Loan]]:
    def rows(filters: DashboardFilters) -> QuerySet[Loan]:
        return active_loans(filters).alias(coverage=_coverage_relation(kind))

    rows.__doc__ = f"Running loans with their borrower's {kind} coverage."
    return rows


def _by(path: str) -> Callable[[DashboardFilters], Coalesce]:
    return lambda filters: _as_key(path)


# Each dimension maps the filters to the group expression of a row.
CASE_DIMENSIONS = {
    "offer": _by("loan__product_version__product__offer_id"),
    "island": _by("party__island"),
    "sector": lambda filters: _sector("party"),
    "agent": _by("owner_id"),
}
CHECK_DIMENSIONS = {
    "offer": _by("requirement__offer_id"),
    "island": _by("party__island"),
    "sector": lambda filters: _sector("party"),
    "agent": _by("party__assigned_to_id"),  # the member of staff the borrower is assigned to
}
LOAN_DIMENSIONS = {"offer": lambda filters: _offer_currency()}
OWNER = {"agent": _by("owner_id")}
DAY = {"day": _by("business_date")}


def compliance_viewer(filters: DashboardFilters) -> bool:
    if filters.institution_wide:
        return True
    return filters.user.is_authenticated and filters.user.has_capability(Capability.COMPLIANCE_VIEW)


def active_loans(filters: DashboardFilters) -> QuerySet[Loan]:
    """Running loans (active or overpaid) of the branches and offer."""
    visible = Loan.objects.all() if filters.institution_wide else loans_visible_to(filters.user)
    loans = visible.filter(status__in=PORTFOLIO_STATUSES)
    loans = filters.in_offer(
        filters.in_branches(loans, "branch_id"), "product_version__product__offer"
    )
    return loans.select_related("product_version__product__offer").order_by("number")


def _par(days: int) -> Callable[[DashboardFilters], QuerySet]:
    def rows(filters: DashboardFilters) -> QuerySet[Loan]:
        return active_loans(filters).filter(days_past_due__gt=days)

    rows.__doc__ = f"Running loans more than {days} days past due."
    return rows


def _cases(filters: DashboardFilters) -> QuerySet[Case]:
    visible = Case.objects.all() if filters.institution_wide else cases_visible_to(filters.user)
    cases = filters.in_branches(visible, "branch_id")
    return filters.in_offer(cases, "loan__product_version__product__offer")


def open_cases(filters: DashboardFilters) -> QuerySet[Case]:
    """Cases not closed yet, whenever they were opened."""
    return _cases(filters).exclude(status=CaseStatus.CLOSED).order_by("-opened_at", "-pk")


def non_compliant_checks(filters: DashboardFilters) -> QuerySet[ComplianceCheck]:
    """The current (latest) evaluations that found a running loan non-compliant."""
    checks = ComplianceCheck.objects.filter(
        is_latest=True,
        status=CheckStatus.NON_COMPLIANT,
        loan__status__in=PORTFOLIO_STATUSES,
    ).select_related("loan", "party", "requirement")
    checks = filters.in_offer(filters.in_branches(checks, "loan__branch_id"), "requirement__offer")
    return checks.order_by("-evaluated_at", "-pk")


def cases_opened(filters: DashboardFilters) -> QuerySet[Case]:
    return filters.in_period(_cases(filters), "opened_at__date").order_by("opened_at", "pk")


def cases_contacted_after_opening(filters: DashboardFilters) -> QuerySet[Case]:
    """Cases opened in the period whose borrower has been contacted (behind the delays)."""
    return cases_opened(filters).filter(first_contact_at__isnull=False)


def cases_not_contacted(filters: DashboardFilters) -> QuerySet[Case]:
    """Cases opened in the period with no call or visit logged yet."""
    return cases_opened(filters).filter(first_contact_at__isnull=True)


def cases_first_contacted(filters: DashboardFilters) -> QuerySet[Case]:
    """Cases whose first call or visit happened in the period (credited to the case owner)."""
    return filters.in_period(_cases(filters), "first_contact_at__date").order_by(
        "first_contact_at", "pk"
    )


def cases_closed(filters: DashboardFilters) -> QuerySet[Case]:
    return filters.in_period(
        _cases(filters).filter(status=CaseStatus.CLOSED), "closed_at__date"
    ).order_by("closed_at", "pk")


def cases_cured(filters: DashboardFilters) -> QuerySet[Case]:
    """Cases closed in the period because a later check found the borrower compliant."""
    return cases_closed(filters).filter(outcome=CaseOutcome.CURED)


def follow_ups_logged(filters: DashboardFilters) -> QuerySet[FollowUp]:
    """Calls and visits made in the period (by their author)."""
    follow_ups = filters.in_branches(follow_ups_visible_to(filters.user), "party__branch_id")
    follow_ups = filters.in_offer(follow_ups, "case__loan__product_version__product__offer")
    return filters.in_period(follow_ups, "occurred_at__date").order_by("occurred_at", "pk")


def desk_visits(filters: DashboardFilters) -> QuerySet[DeskVisit]:
    """Walk-ins at the service desks of the branches in the period (not tied to an offer)."""
    visits = filters.in_branches(desk_visits_visible_to(filters.user), "branch_id")
    return filters.in_period(visits, "business_date").order_by("business_date", "branch", "ticket")


def desk_visits_waited(filters: DashboardFilters) -> QuerySet[DeskVisit]:
    """Visits whose wait is known: service started (those still waiting are not averaged)."""
    return desk_visits(filters).filter(service_started_at__isnull=False)


def desk_visits_left(filters: DashboardFilters) -> QuerySet[DeskVisit]:
    return desk_visits(filters).filter(status=DeskVisitStatus.LEFT)


def source_failures(filters: DashboardFilters) -> QuerySet[SourceRun]:
    """Failed pulls and files of the period, any source."""
    runs = SourceRun.objects.filter(status=RunStatus.FAILED).select_related("source")
    return filters.in_period(runs, "started_at__date").order_by("-started_at", "-pk")


@dataclass(frozen=True)
class Metric:
    """A named set of rows behind dashboard figures, and how it may be broken down."""

    title: str
    row_kind: str  # loan, check, case, follow_up, desk_visit, run: how a drill-down row looks
    base: Callable[[DashboardFilters], QuerySet]
    dimensions: dict[str, Callable] = field(default_factory=dict)

    def scoped(self, filters: DashboardFilters) -> QuerySet:
        """The metric's rows, or none for a user without the compliance view."""
        rows = self.base(filters)
        return rows if compliance_viewer(filters) else rows.none()

    def rows(self, filters: DashboardFilters, key: str = "") -> QuerySet:
        """The rows of the whole metric, or of one group (``key`` = ``dimension:value``).

        Raises ``KeyError`` for a dimension the metric does not have."""
        rows = self.scoped(filters)
        if not key:
            return rows
        dimension, _sep, value = key.partition(":")
        group = self.dimensions[dimension](filters)
        return rows.annotate(group_key=group).filter(group_key=value)

    def grouped(self, filters: DashboardFilters, dimension: str, **aggregates) -> dict[str, dict]:
        """``{group value: {"count": n, **aggregates}}`` in one query."""
        rows = (
            self.scoped(filters)
            .annotate(group_key=self.dimensions[dimension](filters))
            .order_by()
            .values("group_key")
            .annotate(count=Count("pk"), **aggregates)
        )
        return {row.pop("group_key"): row for row in rows}

    def counted_by(
        self, filters: DashboardFilters, dimensions, by: dict[str, str] | None = None
    ) -> dict[tuple, dict[str, dict[str, dict]]]:
        """``{slice: {dimension: {group value: {"count": n}}}}`` for several dimensions in one
        query: the rows' group values are read once and counted here (a metric's rows are the
        few thousand open cases or failed checks, not the portfolio). ``by`` names the fields
        that split the counts into slices (none: one slice, ``()``)."""
        names, slices = list(dimensions), list(by or {})
        rows = (
            self.scoped(filters)
            .annotate(**{f"group_{name}": self.dimensions[name](filters) for name in names})
            .annotate(**{f"slice_{name}": F(path) for name, path in (by or {}).items()})
            .order_by()
            .values_list(
                *(f"slice_{name}" for name in slices), *(f"group_{name}" for name in names)
            )
        )
        counts: dict[tuple, dict[str, Counter]] = {}
        for values in rows:
            counted = counts.setdefault(
                tuple(values[: len(slices)]), {name: Counter() for name in names}
            )
            for name, value in zip(names, values[len(slices) :], strict=True):
                counted[name][value] += 1
        return {
            key: {
                name: {value: {"count": count} for value, count in counter.items()}
                for name, counter in counted.items()
            }
            for key, counted in counts.items()
        }


METRICS: dict[str, Metric] = {
    "active-loans": Metric(_("Running loans"), "loan", active_loans, LOAN_DIMENSIONS),
    **{
        f"coverage-{kind}": Metric(
            _("Running loans by state of the %(source)s data") % {"source": label},
            "loan",
            _loans_with_coverage(kind),
            {"state": (lambda filters: _coverage_state(filters.today))},
        )
        for kind, label in SourceKind.choices
    },
    **{
        slug: Metric(
            _("Running loans more than %(days)s days past due") % {"days": days},
            "loan",
            _par(days),
            LOAN_DIMENSIONS,
        )
        for slug, days in PAR_DAYS.items()
    },
    "open-cases": Metric(_("Open cases"), "case", open_cases, CASE_DIMENSIONS),
    "non-compliant-checks": Metric(
        _("Non-compliant current checks"), "check", non_compliant_checks, CHECK_DIMENSIONS
    ),
    "cases-opened": Metric(_("Cases opened in the period"), "case", cases_opened),
    "contacted": Metric(
        _("Cases opened in the period and contacted"), "case", cases_contacted_after_opening
    ),
    "not-contacted": Metric(
        _("Cases opened in the period, not contacted yet"), "case", cases_not_contacted
    ),
    "cases-first-contacted": Metric(
        _("Cases first contacted in the period"), "case", cases_first_contacted, OWNER
    ),
    "cases-closed": Metric(_("Cases closed in the period"), "case", cases_closed, OWNER),
    "cases-cured": Metric(_("Cases closed as cured in the period"), "case", cases_cured, OWNER),
    "follow-ups": Metric(
        _("Calls and visits in the period"),
        "follow_up",
        follow_ups_logged,
        {"agent": _by("author_id")},
    ),
    "desk-visits": Metric(_("Desk visits"), "desk_visit", desk_visits, DAY),
    "desk-waited": Metric(
        _("Desk visits with a measured wait"), "desk_visit", desk_visits_waited, DAY
    ),
    "desk-left": Metric(_("Desk visitors who left unserved"), "desk_visit", desk_visits_left, DAY),
    "source-failures": Metric(
        _("Failed source runs in the period"),
        "run",
        source_failures,
        {"source": _by("source_id")},
    ),
}


def metric_rows(filters: DashboardFilters, slug: str, key: str = "") -> QuerySet:
    """The drill-down list of a figure. ``KeyError`` for an unknown metric or breakdown."""
    return METRICS[slug].rows(filters, key)


# --- the position figures, counted live ---------------------------------------------------------

# ``{(metric, dimension): {group value: {"count": n, "amount": a}}}``: what the dashboard's
# position sections show, whether counted live or added up from a snapshot.
Counts = dict[tuple[str, str], dict[str, dict]]

# The metrics a position snapshot holds (the others are always counted live).
POSITION_METRICS = frozenset(
    {
        "active-loans",
        "open-cases",
        "non-compliant-checks",
        *(f"coverage-{kind}" for kind in SourceKind.values),
        *PAR_DAYS,
    }
)

# Where each kind of row says its branch and offer (the slices of a position snapshot).
SLICES = {
    "loan": {"branch": "branch_id", "offer": "product_version__product__offer_id"},
    "case": {"branch": "branch_id", "offer": "loan__product_version__product__offer_id"},
    "check": {"branch": "loan__branch_id", "offer": "requirement__offer_id"},
}


class _Tally:
    """Counts per slice (``()`` when not split)."""

    def __init__(self):
        self.slices: dict[tuple, Counts] = {}

    def add(self, slice_key: tuple, metric: str, dimension: str, key: str, count: int, amount=ZERO):
        groups = self.slices.setdefault(slice_key, {}).setdefault((metric, dimension), {})
        figure = groups.setdefault(key, {"count": 0, "amount": ZERO})
        figure["count"] += count
        figure["amount"] += amount


def position_counts(filters: DashboardFilters, sliced: bool = False) -> dict[tuple, Counts]:
    """Coverage, non-compliance and PAR counted from the rows themselves, in four queries.
    ``sliced`` splits every count by (branch, offer) for the position snapshot; otherwise the
    one slice is ``()``."""
    tally = _Tally()
    _count_loans(filters, tally, SLICES["loan"] if sliced else {})
    for slug, kind in (("open-cases", "case"), ("non-compliant-checks", "check")):
        by = SLICES[kind] if sliced else {}
        for slice_key, dimensions in (
            METRICS[slug].counted_by(filters, NON_COMPLIANCE_DIMENSIONS, by).items()
        ):
            for dimension, groups in dimensions.items():
                for value, row in groups.items():
                    tally.add(slice_key, slug, dimension, value, row["count"])
    return tally.slices


def _count_loans(filters: DashboardFilters, tally: _Tally, by: dict[str, str]) -> None:
    """Every source kind's fresh / stale / unknown counts in one pass over the running loans
    (the same expressions as each ``coverage-<kind>`` metric's drill-down), then the running
    loans and PAR per offer and currency in a second."""
    kinds = [kind for kind, _label in SourceKind.choices]
    slices = {f"slice_{name}": F(path) for name, path in by.items()}
    loans = METRICS["active-loans"].scoped(filters).annotate(**slices)
    combinations = (
        loans.alias(**{f"coverage_{kind}": _coverage_relation(kind) for kind in kinds})
        .annotate(
            **{
                f"state_{kind}": _coverage_state(filters.today, f"coverage_{kind}")
                for kind in kinds
            }
        )
        .order_by()
        .values(*slices, *(f"state_{kind}" for kind in kinds))
        .annotate(count=Count("pk"))
    )
    for row in combinations:
        slice_key = tuple(row[name] for name in slices)
        for kind in kinds:
            tally.add(slice_key, f"coverage-{kind}", "state", row[f"state_{kind}"], row["count"])
    groups = (
        loans.annotate(group_key=_offer_currency())
        .order_by()
        .values(*slices, "group_key")
        .annotate(
            count=Count("pk"),
            outstanding=Coalesce(Sum("principal_outstanding"), ZERO),
            **{
                f"{slug}_count": Count("pk", filter=Q(days_past_due__gt=days))
                for slug, days in PAR_DAYS.items()
            },
            **{
                f"{slug}_principal": Coalesce(
                    Sum("principal_outstanding", filter=Q(days_past_due__gt=days)), ZERO
                )
                for slug, days in PAR_DAYS.items()
            },
        )
    )
    for row in groups:
        slice_key, value = tuple(row[name] for name in slices), row["group_key"]
        tally.add(slice_key, "active-loans", "offer", value, row["count"], row["outstanding"])
        for slug in PAR_DAYS:
            tally.add(
                slice_key, slug, "offer", value, row[f"{slug}_count"], row[f"{slug}_principal"]
            )


# --- the dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A count and the link to exactly the rows it counts."""

    count: int
    url: str


@dataclass
class CoverageRow:
    kind: str
    label: str
    fresh: Figure
    stale: Figure
    unknown: Figure
    fresh_share: Decimal | None  # fresh / running loans, 4 places; None without running loans


@dataclass
class GroupRow:
    """Non-compliance of one offer, island, sector or agent."""

    key: str
    label: str
    open_cases: Figure
    non_compliant_checks: Figure


@dataclass
class ParRow:
    key: str
    offer: str
    currency: str
    loans: Figure
    outstanding_principal: Decimal
    par1: Decimal
    par30: Decimal
    par90: Decimal
    par1_loans: Figure
    par30_loans: Figure
    par90_loans: Figure

    @property
    def ratios(self) -> list[tuple[str, Ratio, Figure, str]]:
        """(name, ratio, the loans behind it, metric) of PAR1, PAR30 and PAR90."""
        return [
            (slug.upper(), getattr(self, slug), getattr(self, f"{slug}_loans"), slug)
            for slug in PAR_DAYS
        ]


@dataclass
class Delays:
    """Time from a case's opening (detection) to its first call or visit, in hours and days."""

    opened: Figure
    contacted: Figure
    not_contacted: Figure
    median_hours: Decimal | None
    average_hours: Decimal | None

    @property
    def median_days(self) -> Decimal | None:
        return None if self.median_hours is None else (self.median_hours / 24).quantize(HOURS)

    @property
    def average_days(self) -> Decimal | None:
        return None if self.average_hours is None else (self.average_hours / 24).quantize(HOURS)


@dataclass
class Cure:
    closed: Figure
    cured: Figure
    rate: Decimal | None  # cured / closed, 4 places; None when nothing closed


@dataclass
class DeskRow:
    """One day at the desks (or the whole period): volumes and times in minutes."""

    day: datetime.date | None
    visits: Figure
    waited: Figure
    left: Figure
    average_wait_minutes: Decimal | None
    median_wait_minutes: Decimal | None
    average_service_minutes: Decimal | None


@dataclass
class AgentRow:
    key: str
    agent: str
    follow_ups: Figure
    cases_contacted: Figure
    cases_closed: Figure


@dataclass
class SourceRow:
    source: Source
    failures: Figure

    @property
    def is_available(self) -> bool:
        return self.source.unavailable_since is None


@dataclass
class Dashboard:
    filters: DashboardFilters
    active_loans: Figure
    coverage: list[CoverageRow]
    open_cases: Figure
    non_compliant_checks: Figure
    non_compliance: dict[str, list[GroupRow]]
    par: list[ParRow]
    delays: Delays
    cure: Cure
    desk: list[DeskRow]
    desk_total: DeskRow
    agents: list[AgentRow]
    sources: list[SourceRow]
    position_taken_at: datetime.datetime | None = None  # None: the position figures are live

    @property
    def non_compliance_tables(self) -> list[tuple[str, str, list[GroupRow]]]:
        """(dimension, its name, rows) for each breakdown of non-compliance."""
        return [
            (dimension, NON_COMPLIANCE_DIMENSIONS[dimension], rows)
            for dimension, rows in self.non_compliance.items()
        ]


NON_COMPLIANCE_DIMENSIONS = {
    "offer": _("Offer"),
    "island": _("Island"),
    "sector": _("Sector"),
    "agent": _("Agent"),
}


class Ratio(Decimal):
    """A share to 4 places (``0.1250``), shown as a percentage (``12.50 %``)."""

    @property
    def percent(self) -> str:
        return f"{(self * 100).quantize(Decimal('0.01'))} %"


def _ratio_or_none(part: int | Decimal, whole: int | Decimal) -> Ratio | None:
    return Ratio(par_ratio(Decimal(part), Decimal(whole))) if whole else None


def _hours(value: datetime.timedelta | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 3600).quantize(HOURS)


def _minutes(value: datetime.timedelta | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.total_seconds()) / 60).quantize(HOURS)


EMPTY_LABEL = {
    "offer": _("No offer"),
    "island": _("Island not recorded"),
    "sector": _("Sector not recorded"),
    "agent": _("Unassigned"),
}


def _is_id(value: str) -> bool:
    """A primary key as text (keys come from URLs: anything else names no row)."""
    return value.isdigit() and len(value) <= 9


def _group_names(dimension: str, values) -> dict[str, str]:
    """The display name of each group value of a dimension (one query for offers or staff)."""
    ids = [int(value) for value in values if _is_id(value)]
    if dimension == "offer":
        names = {
            str(pk): name for pk, name in Offer.objects.filter(pk__in=ids).values_list("pk", "name")
        }
    elif dimension == "agent":
        names = {str(user.pk): user.display_name for user in User.objects.filter(pk__in=ids)}
    else:
        names = {"island": dict(Island.choices), "sector": dict(Sector.choices)}[dimension]
    return {value: str(names.get(value) or EMPTY_LABEL[dimension]) for value in values}


class _Builder:
    """Counts the metrics for one set of filters and links each count to its drill-down."""

    def __init__(self, filters: DashboardFilters, counts: Counts):
        self.filters = filters
        self.counts = counts  # the position figures (live or from a snapshot)
        self._query: str | None = None
        self._prefix = ""

    def url(self, slug: str, key: str = "") -> str:
        """The drill-down of a figure (a few hundred per page: the common parts built once)."""
        if self._query is None:
            self._query = urlencode(self.filters.query)
            self._prefix = reverse("compliance:compliance_drilldown", args=["-"])[:-2]
        tail = "&" + urlencode({"key": key}) if key else ""
        return f"{self._prefix}{slug}/?{self._query}{tail}"

    def figure(self, slug: str, counts: dict[str, dict], value: str, dimension: str) -> Figure:
        count = counts.get(value, {}).get("count", 0)
        return Figure(count, self.url(slug, f"{dimension}:{value}"))

    def total(self, slug: str, counts: dict[str, dict]) -> Figure:
        """The whole metric: every row falls in exactly one group, so the groups add up."""
        return Figure(sum(row["count"] for row in counts.values()), self.url(slug))

    # the sections ---------------------------------------------------------------------------

    def counted(self, metric: str, dimension: str) -> dict[str, dict]:
        return self.counts.get((metric, dimension), {})

    def coverage(self) -> tuple[Figure, list[CoverageRow]]:
        active = sum(row["count"] for row in self.counted("active-loans", "offer").values())
        rows = []
        for kind, label in SourceKind.choices:
            slug = f"coverage-{kind}"
            counts = self.counted(slug, "state")
            fresh = self.figure(slug, counts, "fresh", "state")
            rows.append(
                CoverageRow(
                    kind=kind,
                    label=str(label),
                    fresh=fresh,
                    stale=self.figure(slug, counts, "stale", "state"),
                    unknown=self.figure(slug, counts, "unknown", "state"),
                    fresh_share=_ratio_or_none(fresh.count, active),
                )
            )
        return Figure(active, self.url("active-loans")), rows

    def non_compliance(self) -> tuple[Figure, Figure, dict[str, list[GroupRow]]]:
        tables = {}
        for dimension in NON_COMPLIANCE_DIMENSIONS:
            cases = self.counted("open-cases", dimension)
            checks = self.counted("non-compliant-checks", dimension)
            names = _group_names(dimension, cases.keys() | checks.keys())
            tables[dimension] = sorted(
                (
                    GroupRow(
                        key=value,
                        label=name,
                        open_cases=self.figure("open-cases", cases, value, dimension),
                        non_compliant_checks=self.figure(
                            "non-compliant-checks", checks, value, dimension
                        ),
                    )
                    for value, name in names.items()
                ),
                key=lambda row: (-row.open_cases.count, -row.non_compliant_checks.count, row.label),
            )
        return (
            self.total("open-cases", cases),
            self.total("non-compliant-checks", checks),
            tables,
        )

    def par(self) -> list[ParRow]:
        loans = self.counted("active-loans", "offer")
        offers = _group_names("offer", {value.partition("-")[0] for value in loans})
        none = {"count": 0, "amount": ZERO}
        rows = []
        for value, row in loans.items():
            offer_id, _sep, currency = value.partition("-")
            key = f"offer:{value}"
            figures = {}
            for slug in PAR_DAYS:
                part = self.counted(slug, "offer").get(value, none)
                figures[slug] = Ratio(par_ratio(part["amount"], row["amount"]))
                figures[f"{slug}_loans"] = Figure(part["count"], self.url(slug, key))
            rows.append(
                ParRow(
                    key=value,
                    offer=offers[offer_id],
                    currency=currency,
                    loans=Figure(row["count"], self.url("active-loans", key)),
                    outstanding_principal=row["amount"],
                    **figures,
                )
            )
        return sorted(rows, key=lambda row: (row.offer, row.currency))

    def delays(self) -> Delays:
        duration = ExpressionWrapper(
            F("first_contact_at") - F("opened_at"), output_field=DurationField()
        )
        figures = (
            METRICS["cases-opened"]
            .scoped(self.filters)
            .order_by()
            .aggregate(
                opened=Count("pk"),
                contacted=Count("pk", filter=Q(first_contact_at__isnull=False)),
                not_contacted=Count("pk", filter=Q(first_contact_at__isnull=True)),
                average=Avg(duration),
                median=Median(duration, output_field=DurationField()),
            )
        )
        return Delays(
            opened=Figure(figures["opened"], self.url("cases-opened")),
            contacted=Figure(figures["contacted"], self.url("contacted")),
            not_contacted=Figure(figures["not_contacted"], self.url("not-contacted")),
            median_hours=_hours(figures["median"]),
            average_hours=_hours(figures["average"]),
        )

    def desk(self) -> tuple[list[DeskRow], DeskRow]:
        wait = ExpressionWrapper(
            F("service_started_at") - F("checked_in_at"), output_field=DurationField()
        )
        service = ExpressionWrapper(
            F("served_at") - F("service_started_at"), output_field=DurationField()
        )
        aggregates = {
            "waited": Count("pk", filter=Q(service_started_at__isnull=False)),
            "left": Count("pk", filter=Q(status=DeskVisitStatus.LEFT)),
            "average_wait": Avg(wait),
            "median_wait": Median(wait, output_field=DurationField()),
            "average_service": Avg(service),
        }
        days = METRICS["desk-visits"].grouped(self.filters, "day", **aggregates)
        total = (
            METRICS["desk-visits"]
            .scoped(self.filters)
            .order_by()
            .aggregate(count=Count("pk"), **aggregates)
        )

        def row(day: datetime.date | None, figures: dict, key: str = "") -> DeskRow:
            return DeskRow(
                day=day,
                visits=Figure(figures["count"], self.url("desk-visits", key)),
                waited=Figure(figures["waited"], self.url("desk-waited", key)),
                left=Figure(figures["left"], self.url("desk-left", key)),
                average_wait_minutes=_minutes(figures["average_wait"]),
                median_wait_minutes=_minutes(figures["median_wait"]),
                average_service_minutes=_minutes(figures["average_service"]),
            )

        rows = [
            row(datetime.date.fromisoformat(value), figures, f"day:{value}")
            for value, figures in sorted(days.items())
        ]
        return rows, row(None, total)

    def agents(self) -> tuple[list[AgentRow], Cure]:
        follow_ups = METRICS["follow-ups"].grouped(self.filters, "agent")
        contacted = METRICS["cases-first-contacted"].grouped(self.filters, "agent")
        closed = METRICS["cases-closed"].grouped(
            self.filters, "agent", cured=Count("pk", filter=Q(outcome=CaseOutcome.CURED))
        )
        names = _group_names("agent", follow_ups.keys() | contacted.keys() | closed.keys())
        rows = sorted(
            (
                AgentRow(
                    key=value,
                    agent=name,
                    follow_ups=self.figure("follow-ups", follow_ups, value, "agent"),
                    cases_contacted=self.figure("cases-first-contacted", contacted, value, "agent"),
                    cases_closed=self.figure("cases-closed", closed, value, "agent"),
                )
                for value, name in names.items()
            ),
            key=lambda row: (-row.follow_ups.count, -row.cases_closed.count, row.agent),
        )
        closed_total = self.total("cases-closed", closed)
        cured_total = sum(row["cured"] for row in closed.values())
        cure = Cure(
            closed=closed_total,
            cured=Figure(cured_total, self.url("cases-cured")),
            rate=_ratio_or_none(cured_total, closed_total.count),
        )
        return rows, cure

    def sources(self) -> list[SourceRow]:
        failures = METRICS["source-failures"].grouped(self.filters, "source")
        return [
            SourceRow(source, self.figure("source-failures", failures, str(source.pk), "source"))
            for source in Source.objects.filter(is_active=True).order_by("kind", "name")
        ]


def dashboard_build(filters: DashboardFilters) -> Dashboard:
    """Every dashboard figure for the filters, in a fixed number of queries: the position
    figures from the latest snapshot while it is fresh (``compliance.position``), else counted
    live; the period's figures always live."""
    from compliance.position import snapshot_counts

    snapshot = snapshot_counts(filters)
    if snapshot is None:
        counts, taken_at = position_counts(filters).get((), {}), None
    else:
        counts, taken_at = snapshot
    builder = _Builder(filters, counts)
    active, coverage = builder.coverage()
    open_total, checks_total, non_compliance = builder.non_compliance()
    desk_days, desk_total = builder.desk()
    agents, cure = builder.agents()
    return Dashboard(
        filters=filters,
        active_loans=active,
        coverage=coverage,
        open_cases=open_total,
        non_compliant_checks=checks_total,
        non_compliance=non_compliance,
        par=builder.par(),
        delays=builder.delays(),
        cure=cure,
        desk=desk_days,
        desk_total=desk_total,
        agents=agents,
        sources=builder.sources(),
        position_taken_at=taken_at,
    )


# --- naming a figure's group, and the dashboard as one table (CSV) -------------------------------

COVERAGE_STATES = {
    "fresh": _("Fresh data"),
    "stale": _("Stale data"),
    "unknown": _("No data (unknown)"),
}
DIMENSION_LABELS = {
    **NON_COMPLIANCE_DIMENSIONS,
    "state": _("Data"),
    "day": _("Day"),
    "source": _("Source"),
}


def group_label(key: str) -> str:
    """``Offer: Microcrédito Produtivo (CVE)`` for a drill-down key, "" without one."""
    if not key:
        return ""
    dimension, _sep, value = key.partition(":")
    if dimension == "offer" and "-" in value:
        offer_id, _sep, currency = value.partition("-")
        name = f"{_group_names('offer', [offer_id])[offer_id]} ({currency})"
    elif dimension in EMPTY_LABEL:
        name = _group_names(dimension, [value])[value]
    elif dimension == "state":
        name = COVERAGE_STATES.get(value, value)
    elif dimension == "source":
        source = Source.objects.filter(pk=int(value)).first() if _is_id(value) else None
        name = source.name if source else value
    else:
        name = value
    return f"{DIMENSION_LABELS.get(dimension, dimension)}: {name}"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Figure):
        return str(value.count)
    return str(value)


def dashboard_table(dashboard: Dashboard) -> list[list[str]]:
    """Every figure of the dashboard as rows of (section, group, figure, value), for CSV."""
    table = [[str(_("Section")), str(_("Group")), str(_("Figure")), str(_("Value"))]]

    def add(section, group, figures: list[tuple]) -> None:
        table.extend(
            [str(section), str(group), str(label), _text(value)] for label, value in figures
        )

    everything = _("All")
    add(_("Coverage"), everything, [(_("Running loans"), dashboard.active_loans)])
    for row in dashboard.coverage:
        add(
            _("Coverage"),
            row.label,
            [
                (COVERAGE_STATES["fresh"], row.fresh),
                (COVERAGE_STATES["stale"], row.stale),
                (COVERAGE_STATES["unknown"], row.unknown),
                (_("Share with fresh data"), row.fresh_share),
            ],
        )
    add(
        _("Non-compliance"),
        everything,
        [
            (_("Open cases"), dashboard.open_cases),
            (_("Non-compliant checks"), dashboard.non_compliant_checks),
        ],
    )
    for dimension, rows in dashboard.non_compliance.items():
        section = _("Non-compliance by %(dimension)s") % {
            "dimension": str(NON_COMPLIANCE_DIMENSIONS[dimension]).lower()
        }
        for row in rows:
            add(
                section,
                row.label,
                [
                    (_("Open cases"), row.open_cases),
                    (_("Non-compliant checks"), row.non_compliant_checks),
                ],
            )
    for row in dashboard.par:
        add(
            _("Portfolio at risk"),
            f"{row.offer} ({row.currency})",
            [
                (_("Running loans"), row.loans),
                (_("Outstanding principal"), row.outstanding_principal),
                (_("PAR1"), row.par1),
                (_("PAR30"), row.par30),
                (_("PAR90"), row.par90),
                (_("Loans more than 30 days late"), row.par30_loans),
            ],
        )
    delays = dashboard.delays
    add(
        _("Detection to first contact"),
        everything,
        [
            (_("Cases opened"), delays.opened),
            (_("Cases opened and contacted"), delays.contacted),
            (_("Cases opened, not contacted yet"), delays.not_contacted),
            (_("Median (hours)"), delays.median_hours),
            (_("Average (hours)"), delays.average_hours),
        ],
    )
    cure = dashboard.cure
    add(
        _("Cure rate"),
        everything,
        [
            (_("Cases closed"), cure.closed),
            (_("Cases cured"), cure.cured),
            (_("Cure rate"), cure.rate),
        ],
    )
    for row in [*dashboard.desk, dashboard.desk_total]:
        add(
            _("Service desk"),
            row.day.isoformat() if row.day else everything,
            [
                (_("Visits"), row.visits),
                (_("Left without service"), row.left),
                (_("Average wait (minutes)"), row.average_wait_minutes),
                (_("Median wait (minutes)"), row.median_wait_minutes),
                (_("Average service (minutes)"), row.average_service_minutes),
            ],
        )
    for row in dashboard.agents:
        add(
            _("Agent productivity"),
            row.agent,
            [
                (_("Calls and visits"), row.follow_ups),
                (_("Cases first contacted"), row.cases_contacted),
                (_("Cases closed"), row.cases_closed),
            ],
        )
    for row in dashboard.sources:
        add(
            _("Source health"),
            row.source.name,
            [
                (_("Unavailable since"), row.source.unavailable_since),
                (_("Last success"), row.source.last_success_at),
                (_("Failed runs"), row.failures),
            ],
        )
    return table


# --- charts (server-side SVG, drawn by the templates) --------------------------------------------

CHART_WIDTH = 400  # drawing units; the SVG scales to its column (a phone's ~360 px)
CHART_BAR_MAX = 320  # leaves room for the value after the longest bar
CHART_ROW = 46  # a label line above each bar
COLUMN_AREA = 160


@dataclass(frozen=True)
class Bar:
    """One bar: its label, the value as printed, its length (or height) in px and its link."""

    label: str
    text: str
    length: int
    offset: int
    url: str

    @property
    def top(self) -> int:
        """Where a column starts (columns grow up from the chart's baseline)."""
        return COLUMN_AREA - self.length

    @property
    def text_x(self) -> int:
        return self.length + 6


@dataclass(frozen=True)
class Chart:
    """Horizontal bars (one row of ``step`` px each), or columns ``step`` px wide."""

    slug: str
    title: str
    bars: list[Bar]
    step: int = CHART_ROW
    vertical: bool = False

    @property
    def height(self) -> int:
        return COLUMN_AREA + 24 if self.vertical else len(self.bars) * self.step

    @property
    def width(self) -> int:
        return CHART_WIDTH

    @property
    def bar_width(self) -> int:
        return self.step - 2 if self.step > 4 else self.step


def _bars(values: list[tuple[str, Decimal | int, str, str]], scale: int, step: int) -> list[Bar]:
    """``(label, value, text, url)`` → bars scaled so the largest value fills ``scale`` px."""
    largest = max((value for _label, value, _text, _url in values), default=0)
    return [
        Bar(str(label), text, int(value * scale / largest) if largest else 0, index * step, url)
        for index, (label, value, text, url) in enumerate(values)
    ]


def charts(dashboard: Dashboard) -> dict[str, Chart]:
    """The dashboard's pictures: each bar is a figure of the tables and links to the same list."""
    coverage = [
        (
            row.label,
            row.fresh_share or 0,
            row.fresh_share.percent if row.fresh_share else "—",
            row.fresh.url,
        )
        for row in dashboard.coverage
    ]
    cases = [
        (row.label, row.open_cases.count, str(row.open_cases.count), row.open_cases.url)
        for row in dashboard.non_compliance["offer"]
    ]
    par30 = [
        (f"{row.offer} ({row.currency})", row.par30, row.par30.percent, row.par30_loans.url)
        for row in dashboard.par
    ]
    desk = [
        (row.day.isoformat(), row.visits.count, str(row.visits.count), row.visits.url)
        for row in dashboard.desk
    ]
    step = max(1, min(40, CHART_WIDTH // max(len(desk), 1)))
    result = [
        Chart(
            "coverage",
            _("Running loans with fresh data, by source"),
            _bars(coverage, CHART_BAR_MAX, CHART_ROW),
        ),
        Chart("open_cases", _("Open cases by offer"), _bars(cases, CHART_BAR_MAX, CHART_ROW)),
        Chart("par30", _("PAR30 by offer"), _bars(par30, CHART_BAR_MAX, CHART_ROW)),
        Chart(
            "desk", _("Desk visits per day"), _bars(desk, COLUMN_AREA, step), step, vertical=True
        ),
    ]
    return {chart.slug: chart for chart in result if chart.bars}
