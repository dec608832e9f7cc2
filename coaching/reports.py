"""Coaching reports as data, in the ``accounting.reports.Report`` shape (rendered to HTML, CSV
and PDF by the same helpers' conventions):

* coaching activity by coach and by product for a period: sessions held, hours, no-shows,
  revenue invoiced (net of VAT, invoices not cancelled, issued in the period), volunteer value
  (held hours of volunteer coaches × their hourly rate) and goals achieved / total;
* portfolio quality of coached vs not-coached borrowers.

"In the period" for an engagement means active or completed and overlapping the period: started
on or before its end and not completed before its start. Amounts are in the institution's default
currency (other currencies are left out); ratios are decimals to 4 places, half up.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accounting.reports import Column, Report, Row, RowKind
from coaching.choices import EngagementStatus, InvoiceStatus, SessionStatus
from coaching.models import Coach, CoachingProduct, Engagement, Goal
from coaching.selectors import (
    engagements_visible_to,
    invoices_visible_to,
    minutes_to_hours,
    sessions_visible_to,
)
from loans.choices import PORTFOLIO_STATUSES
from loans.models import Installment
from loans.selectors import loans_visible_to
from mfi.money import DEFAULT_CURRENCY, ZERO, round_money
from users.models import Branch

RATIO = Decimal("0.0001")
MINUTES_PER_HOUR = Decimal(60)
PAR_DAYS = 30
CHART_ROW = 40  # pixels per bar, gap included
CHART_BAR_MAX = 380  # pixels of the longest bar

REPORT_TITLES = {
    "activity": _("Coaching activity"),
    "portfolio": _("Portfolio quality: coached vs not coached"),
}


def ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part / whole`` to 4 places (half up); None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, rounding=ROUND_HALF_UP)


class CoachingReportForm(forms.Form):
    """The period and, optionally, one branch of the user's scope."""

    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        branches = Branch.objects.order_by("name")
        branch_ids = user.branch_scope_ids()
        if branch_ids is not None:
            branches = branches.filter(pk__in=branch_ids)
        self.fields["branch"].queryset = branches
        self.fields["branch"].empty_label = _("All my branches")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the period is before its start."))
        return cleaned


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | None
    length: int  # pixels, out of CHART_BAR_MAX
    y: int  # top of the bar, pixels


@dataclass
class CoachingReport(Report):
    """A coaching report; ``chart`` holds the bars of the portfolio report's PAR30 chart."""

    chart: list[Bar] = field(default_factory=list)

    @property
    def chart_height(self) -> int:
        return len(self.chart) * CHART_ROW


def _branch_filter(branch: Branch | None, user) -> tuple[list[int] | None, str]:
    if branch is not None:
        return [branch.pk], branch.name
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return None, str(_("All branches"))
    names = Branch.objects.filter(pk__in=branch_ids).order_by("name").values_list("name", flat=True)
    return branch_ids, ", ".join(names) or "—"


def _facts(date_from, date_to, branch_label, currency) -> list[tuple[str, str]]:
    return [
        (_("Period"), f"{date_from.isoformat()} – {date_to.isoformat()}"),
        (_("Branch"), branch_label),
        (_("Currency"), currency),
    ]


def engagements_in_period(
    engagements: QuerySet[Engagement], *, date_from: datetime.date, date_to: datetime.date
) -> QuerySet[Engagement]:
    """Engagements active or completed at some time in the period."""
    return engagements.filter(
        status__in=(EngagementStatus.ACTIVE, EngagementStatus.COMPLETED),
        started_on__lte=date_to,
    ).filter(Q(completed_on__isnull=True) | Q(completed_on__gte=date_from))


def _day_bounds(date_from, date_to):
    from django.utils import timezone

    start = timezone.make_aware(datetime.datetime.combine(date_from, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min)
    )
    return start, end


# --- activity ------------------------------------------------------------------------------------


@dataclass
class _Activity:
    held: int = 0
    minutes: int = 0
    no_shows: int = 0
    revenue: Decimal = ZERO
    volunteer_value: Decimal = ZERO  # full precision; rounded when shown
    goals_achieved: int = 0
    goals_total: int = 0

    def add(self, other: _Activity) -> None:
        self.held += other.held
        self.minutes += other.minutes
        self.no_shows += other.no_shows
        self.revenue += other.revenue
        self.volunteer_value += other.volunteer_value
        self.goals_achieved += other.goals_achieved
        self.goals_total += other.goals_total

    def values(self, name: str, currency: str) -> dict[str, object]:
        return {
            "name": name,
            "sessions_held": self.held,
            "hours": minutes_to_hours(self.minutes),
            "no_shows": self.no_shows,
            "revenue": self.revenue,
            "volunteer_value": round_money(self.volunteer_value, currency),
            "goals": f"{self.goals_achieved} / {self.goals_total}",
        }


def coaching_activity_report(
    *,
    user,
    date_from: datetime.date,
    date_to: datetime.date,
    branch: Branch | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> CoachingReport:
    """Coaching activity of the period by coach, then by product, then in total."""
    branch_ids, branch_label = _branch_filter(branch, user)
    start, end = _day_bounds(date_from, date_to)
    sessions = sessions_visible_to(user).filter(scheduled_at__gte=start, scheduled_at__lt=end)
    invoices = (
        invoices_visible_to(user)
        .filter(issue_date__gte=date_from, issue_date__lte=date_to, currency=currency)
        .exclude(status__in=(InvoiceStatus.CANCELLED, InvoiceStatus.DRAFT))
    )
    goals = Goal.objects.filter(
        engagement__in=engagements_in_period(
            Engagement.objects.filter(pk__in=engagements_visible_to(user).values("pk")),
            date_from=date_from,
            date_to=date_to,
        )
    )
    if branch_ids is not None:
        sessions = sessions.filter(engagement__party__branch_id__in=branch_ids)
        invoices = invoices.filter(branch_id__in=branch_ids)
        goals = goals.filter(engagement__party__branch_id__in=branch_ids)

    cells: dict[tuple[int, int], _Activity] = defaultdict(_Activity)
    session_rows = (
        sessions.order_by()
        .values("engagement__coach_id", "engagement__product_id")
        .annotate(
            held=Count("pk", filter=Q(status=SessionStatus.HELD)),
            minutes=Coalesce(
                Sum("duration_minutes", filter=Q(status=SessionStatus.HELD)),
                Value(0),
                output_field=IntegerField(),
            ),
            no_shows=Count("pk", filter=Q(status=SessionStatus.NO_SHOW)),
        )
    )
    coaches = {coach.pk: coach for coach in Coach.objects.select_related("user")}
    for item in session_rows:
        coach = coaches[item["engagement__coach_id"]]
        cell = cells[(coach.pk, item["engagement__product_id"])]
        cell.held += item["held"]
        cell.minutes += item["minutes"]
        cell.no_shows += item["no_shows"]
        if coach.is_volunteer and coach.currency == currency:
            cell.volunteer_value += Decimal(item["minutes"]) / MINUTES_PER_HOUR * coach.hourly_rate
    for item in (
        invoices.order_by()
        .values("engagement__coach_id", "engagement__product_id")
        .annotate(revenue=Sum("net"))
    ):
        cells[(item["engagement__coach_id"], item["engagement__product_id"])].revenue += item[
            "revenue"
        ]
    for item in (
        goals.order_by()
        .values("engagement__coach_id", "engagement__product_id")
        .annotate(
            total=Count("pk"),
            achieved=Count("pk", filter=Q(is_achieved=True, achieved_on__lte=date_to)),
        )
    ):
        cell = cells[(item["engagement__coach_id"], item["engagement__product_id"])]
        cell.goals_total += item["total"]
        cell.goals_achieved += item["achieved"]

    by_coach: dict[int, _Activity] = defaultdict(_Activity)
    by_product: dict[int, _Activity] = defaultdict(_Activity)
    total = _Activity()
    for (coach_id, product_id), cell in cells.items():
        by_coach[coach_id].add(cell)
        by_product[product_id].add(cell)
        total.add(cell)
    products = CoachingProduct.objects.in_bulk(list(by_product))

    rows = [Row(RowKind.SECTION, {"name": _("By coach")})]
    for coach_id in sorted(by_coach, key=lambda pk: (coaches[pk].display_name, pk)):
        rows.append(
            Row(RowKind.LINE, by_coach[coach_id].values(coaches[coach_id].display_name, currency))
        )
    rows.append(Row(RowKind.SECTION, {"name": _("By product")}))
    for product_id in sorted(by_product, key=lambda pk: (products[pk].name, pk)):
        rows.append(
            Row(RowKind.LINE, by_product[product_id].values(products[product_id].name, currency))
        )
    rows.append(Row(RowKind.TOTAL, total.values(str(_("Total")), currency)))
    return CoachingReport(
        slug="activity",
        title=REPORT_TITLES["activity"],
        columns=[
            Column("name", _("Coach / product"), wide=True),
            Column("sessions_held", _("Sessions held"), nowrap=True),
            Column("hours", _("Hours"), nowrap=True),
            Column("no_shows", _("No-shows"), nowrap=True),
            Column("revenue", _("Revenue invoiced"), is_amount=True),
            Column("volunteer_value", _("Volunteer value"), is_amount=True),
            Column("goals", _("Goals achieved / total"), nowrap=True),
        ],
        rows=rows,
        currency=currency,
        facts=_facts(date_from, date_to, branch_label, currency),
        filename_stem=f"coaching-activity-{date_from.isoformat()}-{date_to.isoformat()}",
        empty_message=str(_("No coaching activity in this period.")),
    )


# --- portfolio quality -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioGroup:
    """Portfolio figures of one group of borrowers; ratios to 4 places, None when undefined."""

    loans: int
    outstanding: Decimal
    par30: Decimal | None
    repayment_rate: Decimal | None
    renewals: int


def _installment_sum(suffix: str):
    """Principal + interest + fees + penalties of installments, ``due`` or ``paid``."""
    return (
        Coalesce(Sum(f"principal_{suffix}"), ZERO)
        + Coalesce(Sum(f"interest_{suffix}"), ZERO)
        + Coalesce(Sum(f"fee_{suffix}"), ZERO)
        + Coalesce(Sum(f"penalty_{suffix}"), ZERO)
    )


def _group_figures(loans, *, date_from, date_to) -> PortfolioGroup:
    figures = loans.order_by().aggregate(
        count=Count("pk"),
        outstanding=Coalesce(Sum("principal_outstanding"), ZERO),
        at_risk=Coalesce(Sum("principal_outstanding", filter=Q(days_past_due__gt=PAR_DAYS)), ZERO),
        renewals=Count(
            "pk",
            filter=Q(
                previous_loan__isnull=False,
                disbursed_on__gte=date_from,
                disbursed_on__lte=date_to,
            ),
        ),
    )
    repayments = Installment.objects.filter(
        loan__in=loans.values("pk"), due_date__gte=date_from, due_date__lte=date_to
    ).aggregate(due=_installment_sum("due"), paid=_installment_sum("paid"))
    return PortfolioGroup(
        loans=figures["count"],
        outstanding=figures["outstanding"],
        par30=ratio(figures["at_risk"], figures["outstanding"]),
        repayment_rate=ratio(repayments["paid"], repayments["due"]),
        renewals=figures["renewals"],
    )


def portfolio_groups(
    *,
    user,
    date_from: datetime.date,
    date_to: datetime.date,
    branch: Branch | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> dict[str, PortfolioGroup]:
    """The portfolio figures of coached and not-coached borrowers (keys ``coached``,
    ``not_coached``): loans in ``PORTFOLIO_STATUSES`` of the user's scope; a borrower is coached
    when they had an engagement active or completed in the period."""
    branch_ids, _label = _branch_filter(branch, user)
    loans = loans_visible_to(user).filter(status__in=PORTFOLIO_STATUSES, currency=currency)
    if branch_ids is not None:
        loans = loans.filter(branch_id__in=branch_ids)
    coached = Exists(
        engagements_in_period(
            Engagement.objects.filter(party_id=OuterRef("borrower_id")),
            date_from=date_from,
            date_to=date_to,
        )
    )
    loans = loans.annotate(is_coached=coached)
    return {
        "coached": _group_figures(
            loans.filter(is_coached=True), date_from=date_from, date_to=date_to
        ),
        "not_coached": _group_figures(
            loans.filter(is_coached=False), date_from=date_from, date_to=date_to
        ),
    }


def par30_chart(groups: list[tuple[str, PortfolioGroup]]) -> list[Bar]:
    """Horizontal bars of PAR30, scaled so the larger ratio fills the chart."""
    largest = max((group.par30 or ZERO for _label, group in groups), default=ZERO)
    bars = []
    for index, (label, group) in enumerate(groups):
        value = group.par30 or ZERO
        length = int(value / largest * CHART_BAR_MAX) if largest else 0
        bars.append(Bar(str(label), group.par30, length, index * CHART_ROW))
    return bars


def _ratio_text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def coached_portfolio_report(
    *,
    user,
    date_from: datetime.date,
    date_to: datetime.date,
    branch: Branch | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> CoachingReport:
    """Loans, outstanding principal, PAR30, repayment rate and renewals of the borrowers coached
    in the period against the others."""
    _ids, branch_label = _branch_filter(branch, user)
    figures = portfolio_groups(
        user=user, date_from=date_from, date_to=date_to, branch=branch, currency=currency
    )
    labelled = [(_("Coached"), figures["coached"]), (_("Not coached"), figures["not_coached"])]
    rows = [
        Row(
            RowKind.LINE,
            {
                "group": label,
                "loans": group.loans,
                "outstanding": group.outstanding,
                "par30": _ratio_text(group.par30),
                "repayment_rate": _ratio_text(group.repayment_rate),
                "renewals": group.renewals,
            },
        )
        for label, group in labelled
    ]
    return CoachingReport(
        slug="portfolio",
        title=REPORT_TITLES["portfolio"],
        columns=[
            Column("group", _("Borrowers"), wide=True),
            Column("loans", _("Loans"), nowrap=True),
            Column("outstanding", _("Outstanding principal"), is_amount=True),
            Column("par30", _("PAR30"), nowrap=True),
            Column("repayment_rate", _("Repayment rate"), nowrap=True),
            Column("renewals", _("Renewals"), nowrap=True),
        ],
        rows=rows,
        currency=currency,
        facts=_facts(date_from, date_to, branch_label, currency),
        filename_stem=f"coached-portfolio-{date_from.isoformat()}-{date_to.isoformat()}",
        chart=par30_chart(labelled),
    )


BUILDERS = {"activity": coaching_activity_report, "portfolio": coached_portfolio_report}
