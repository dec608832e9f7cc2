"""The compliance manager's dashboard and the drill-down list behind each of its numbers.

Both read ``compliance.dashboards`` only: the dashboard counts a metric, the drill-down lists the
same metric's rows. ``?format=csv`` exports either; ``?format=pdf`` prints the dashboard.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from accounting.reports import Column, Report, Row, RowKind
from compliance.dashboards import (
    COVERAGE_STATES,
    METRICS,
    PAR_DAYS,
    DashboardFilterForm,
    DashboardFilters,
    charts,
    dashboard_build,
    dashboard_table,
    group_label,
    metric_rows,
)
from compliance.position import position_refresh, snapshot_figure
from mfi.pdf import render_pdf
from mfi.permissions import capability_required
from users.roles import Capability

PAGE_SIZE = 50


def _csv_response(table: list[list[str]], filename: str) -> HttpResponse:
    stream = io.StringIO()
    csv.writer(stream).writerows(table)
    response = HttpResponse(stream.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _stem(name: str, filters: DashboardFilters) -> str:
    return f"{name}-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}"


def _facts(filters: DashboardFilters, counted_at=None) -> list[tuple[str, str]]:
    """The filters, and when the position figures were counted (``counted_at`` of a snapshot;
    None: live)."""
    counted = (
        _("%(time)s (lists live)") % {"time": _when(counted_at)} if counted_at else _("now (live)")
    )
    return [
        (_("Period"), f"{filters.date_from.isoformat()} – {filters.date_to.isoformat()}"),
        (_("Branch"), filters.branch.name if filters.branch else _("All my branches")),
        (_("Offer"), filters.offer.name if filters.offer else _("All offers")),
        (_("Figures as of"), filters.today.isoformat()),
        (_("Coverage, cases and PAR counted"), counted),
    ]


@capability_required(Capability.COMPLIANCE_VIEW)
@require_GET
def compliance_dashboard(request):
    """The figures for the filters (default: the last 90 days, every branch and offer in the
    user's scope); ``?format=csv`` for the whole table, ``?format=pdf`` to print it."""
    form = DashboardFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "compliance/dashboards/dashboard.html", {"form": form}, status=400)
    filters = form.filters()
    dashboard = dashboard_build(filters)
    output = request.GET.get("format", "html")
    if output == "csv":
        return _csv_response(dashboard_table(dashboard), _stem("compliance-dashboard", filters))
    context = {
        "form": form.shown(),
        "dashboard": dashboard,
        "facts": _facts(filters, dashboard.position_taken_at),
        "charts": charts(dashboard),
        "states": COVERAGE_STATES,
        "par_columns": [slug.upper() for slug in PAR_DAYS],
    }
    if output == "pdf":
        title = _("Compliance dashboard")
        pdf = render_pdf(
            "compliance/dashboards/dashboard_pdf.html", context, title=title, user=request.user
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="{_stem("compliance-dashboard", filters)}.pdf"'
        )
        return response
    context["export"] = {
        kind: "?" + urlencode({**filters.query, "format": kind}) for kind in ("csv", "pdf")
    }
    context["recount"] = reverse("compliance:position_refresh") + "?" + urlencode(filters.query)
    return render(request, "compliance/dashboards/dashboard.html", context)


@capability_required(Capability.COMPLIANCE_VIEW)
@require_POST
def position_recount(request):
    """Count the dashboard's position figures again now (instead of waiting for the next
    scheduled count), then show the dashboard with the same filters."""
    snapshot = position_refresh()
    if snapshot is None:
        messages.info(request, _("The figures are being counted right now; reload in a moment."))
    else:
        messages.success(
            request,
            _("Coverage, cases and PAR counted again at %(time)s.")
            % {"time": _when(snapshot.taken_at)},
        )
    form = DashboardFilterForm(request.GET, user=request.user)
    query = urlencode(form.filters().query) if form.is_valid() else ""
    return redirect(reverse("compliance:compliance_dashboard") + ("?" + query if query else ""))


# --- drill-down ----------------------------------------------------------------------------------


def _url(name: str, *args) -> str:
    """A link to another compliance screen, or none while that screen does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _minutes(start, end) -> str:
    return str(round((end - start).total_seconds() / 60)) if start and end else ""


LOAN_COLUMNS = [
    Column("number", _("Loan"), nowrap=True),
    Column("borrower", _("Borrower"), wide=True),
    Column("branch", _("Branch"), hide_on_phone=True),
    Column("offer", _("Offer"), hide_on_phone=True),
    Column("currency", _("Currency"), nowrap=True, hide_on_phone=True),
    Column("outstanding", _("Outstanding principal"), is_amount=True),
    Column("days_past_due", _("Days past due"), nowrap=True),
]
CHECK_COLUMNS = [
    Column("loan", _("Loan"), nowrap=True),
    Column("party", _("Borrower"), wide=True),
    Column("requirement", _("Requirement"), hide_on_phone=True),
    Column("reason", _("Reason"), wide=True),
    Column("evaluated_at", _("Evaluated"), nowrap=True, hide_on_phone=True),
]
CASE_COLUMNS = [
    Column("number", _("Case"), nowrap=True),
    Column("party", _("Borrower"), wide=True),
    Column("branch", _("Branch"), hide_on_phone=True),
    Column("kind", _("Issue"), hide_on_phone=True),
    Column("severity", _("Severity"), hide_on_phone=True),
    Column("status", _("Status"), nowrap=True),
    Column("owner", _("Owner"), hide_on_phone=True),
    Column("opened_at", _("Opened"), nowrap=True, hide_on_phone=True),
    Column("first_contact_at", _("First contact"), nowrap=True, hide_on_phone=True),
    Column("closed_at", _("Closed"), nowrap=True, hide_on_phone=True),
    Column("outcome", _("Outcome"), hide_on_phone=True),
]
FOLLOW_UP_COLUMNS = [
    Column("occurred_at", _("When"), nowrap=True),
    Column("party", _("Borrower"), wide=True),
    Column("kind", _("Kind"), nowrap=True, hide_on_phone=True),
    Column("outcome", _("Outcome")),
    Column("case", _("Case"), nowrap=True, hide_on_phone=True),
    Column("author", _("By"), hide_on_phone=True),
]
DESK_COLUMNS = [
    Column("day", _("Date"), nowrap=True),
    Column("ticket", _("Ticket"), nowrap=True),
    Column("branch", _("Branch"), hide_on_phone=True),
    Column("visitor", _("Visitor"), wide=True),
    Column("reason", _("Reason"), hide_on_phone=True),
    Column("status", _("Status"), nowrap=True),
    Column("wait", _("Wait (min)"), nowrap=True),
    Column("service", _("Service (min)"), nowrap=True, hide_on_phone=True),
]
RUN_COLUMNS = [
    Column("source", _("Source"), wide=True),
    Column("started_at", _("Started"), nowrap=True),
    Column("trigger", _("Trigger"), hide_on_phone=True),
    Column("error", _("Error"), wide=True),
]


def _loan_row(loan) -> Row:
    return Row(
        RowKind.LINE,
        {
            "number": loan.number,
            "borrower": loan.borrower.display_name,
            "branch": loan.branch.name,
            "offer": loan.product_version.product.offer.name,
            "currency": loan.currency,
            "outstanding": loan.principal_outstanding,
            "days_past_due": loan.days_past_due,
        },
        links={"number": loan.get_absolute_url(), "borrower": loan.borrower.get_absolute_url()},
        currency=loan.currency,
    )


def _check_row(check) -> Row:
    return Row(
        RowKind.LINE,
        {
            "loan": check.loan.number,
            "party": check.party.display_name,
            "requirement": check.requirement.get_kind_display(),
            "reason": check.reason,
            "evaluated_at": _when(check.evaluated_at),
        },
        links={"loan": check.loan.get_absolute_url(), "party": check.party.get_absolute_url()},
    )


def _case_row(case) -> Row:
    return Row(
        RowKind.LINE,
        {
            "number": case.number,
            "party": case.party.display_name,
            "branch": case.branch.name,
            "kind": case.get_kind_display(),
            "severity": case.get_severity_display(),
            "status": case.get_status_display(),
            "owner": case.owner.display_name if case.owner_id else "",
            "opened_at": _when(case.opened_at),
            "first_contact_at": _when(case.first_contact_at),
            "closed_at": _when(case.closed_at),
            "outcome": case.get_outcome_display() if case.outcome else "",
        },
        links={"number": _url("compliance:case_detail", case.pk)},
    )


def _follow_up_row(follow_up) -> Row:
    case = follow_up.case
    return Row(
        RowKind.LINE,
        {
            "occurred_at": _when(follow_up.occurred_at),
            "party": follow_up.party.display_name,
            "kind": follow_up.get_kind_display(),
            "outcome": follow_up.get_outcome_display(),
            "case": case.number if case else "",
            "author": follow_up.author.display_name,
        },
        links={
            "party": follow_up.party.get_absolute_url(),
            "case": _url("compliance:case_detail", case.pk) if case else "",
        },
    )


def _desk_row(visit) -> Row:
    return Row(
        RowKind.LINE,
        {
            "day": visit.business_date,
            "ticket": visit.ticket,
            "branch": visit.branch.name,
            "visitor": visit.visitor_label,
            "reason": visit.get_reason_display(),
            "status": visit.get_status_display(),
            "wait": _minutes(visit.checked_in_at, visit.service_started_at),
            "service": _minutes(visit.service_started_at, visit.served_at),
        },
    )


def _run_row(run) -> Row:
    return Row(
        RowKind.LINE,
        {
            "source": run.source.name,
            "started_at": _when(run.started_at),
            "trigger": run.get_trigger_display(),
            "error": run.error,
        },
        links={"source": _url("compliance:source_detail", run.source_id)},
    )


ROW_LAYOUTS = {
    "loan": (LOAN_COLUMNS, _loan_row),
    "check": (CHECK_COLUMNS, _check_row),
    "case": (CASE_COLUMNS, _case_row),
    "follow_up": (FOLLOW_UP_COLUMNS, _follow_up_row),
    "desk_visit": (DESK_COLUMNS, _desk_row),
    "run": (RUN_COLUMNS, _run_row),
}


@capability_required(Capability.COMPLIANCE_VIEW)
@require_GET
def compliance_drilldown(request, metric: str):
    """The rows behind one dashboard number: the metric, the same filters and the group
    (``key=dimension:value``); ``?format=csv`` exports every row."""
    if metric not in METRICS:
        raise Http404
    form = DashboardFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "compliance/dashboards/drilldown.html", {"form": form}, status=400)
    filters = form.filters()
    key = request.GET.get("key", "")
    try:
        rows = metric_rows(filters, metric, key)
    except KeyError:
        raise Http404 from None
    columns, make_row = ROW_LAYOUTS[METRICS[metric].row_kind]
    title = str(METRICS[metric].title)
    label = group_label(key)

    def report(objects) -> Report:
        return Report(
            slug=metric,
            title=title,
            columns=columns,
            rows=[make_row(obj) for obj in objects],
            currency=None,
            facts=_facts(filters),
            filename_stem=_stem(metric, filters),
            empty_message=_("No rows."),
        )

    if request.GET.get("format") == "csv":
        built = report(rows)
        return _csv_response(built.csv_rows(), built.filename_stem)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    built = report(page.object_list)
    query = {**filters.query, **({"key": key} if key else {})}
    return render(
        request,
        "compliance/dashboards/drilldown.html",
        {
            "form": form.shown(),
            "title": title,
            "group": label,
            "key": key,
            "report": built,
            "rows": built.display_rows(),
            "page": page,
            "query": urlencode(query),
            "back": reverse("compliance:compliance_dashboard") + "?" + urlencode(filters.query),
            "csv": "?" + urlencode({**query, "format": "csv"}),
            "counted": _counted_note(snapshot_figure(filters, metric, key), page.paginator.count),
        },
    )


def _counted_note(counted, live: int) -> str:
    """Says so when the dashboard's number came from the snapshot and the live list differs."""
    if counted is None or counted[0] == live:
        return ""
    return _(
        "The dashboard counted %(count)s at %(time)s; this list is live and has %(live)s "
        "(counted again every 5 minutes)."
    ) % {"count": counted[0], "time": _when(counted[1]), "live": live}


urlpatterns = [
    path("dashboard/", compliance_dashboard, name="compliance_dashboard"),
    path("dashboard-position/recount/", position_recount, name="position_refresh"),
    path("dashboard/<slug:metric>/", compliance_drilldown, name="compliance_drilldown"),
]
