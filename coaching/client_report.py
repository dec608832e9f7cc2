"""A client's coaching report: for one party, over an optional period, its engagements (hours
used against the package), goals, sessions (held and no-shows, with agreed actions), feedback,
invoices and payments, and the current state of its loans. HTML (phone-friendly) or
``?format=pdf`` (WeasyPrint). Read-only.

Scope: the party must be visible to the user (``crm.selectors.party_get_for_user``) and, for a
coach, be one of their clients; the engagements are those the user may see
(``engagements_visible_to``), invoices those of ``invoices_visible_to`` (coaching managers) and
loans those of ``loans_visible_to``. Out of scope is indistinguishable from missing (404).

Period: a session counts when its local date is within the period; an invoice when its issue
date is, a payment when its date is; an engagement when it overlaps the period (requested on or
before its end, not closed before its start). Hours used against the package are the
engagement's whole held hours, whatever the period.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coaching.choices import InvoiceStatus, SessionStatus
from coaching.models import CoachingPayment, Engagement, Feedback, Goal, Session
from coaching.selectors import (
    HoursUsed,
    engagement_hours,
    engagements_visible_to,
    invoices_visible_to,
    minutes_to_hours,
)
from crm.models import Party
from crm.selectors import party_get_for_user
from mfi.permissions import capability_required
from users.roles import Capability

ZERO = Decimal(0)
LOAN_STATUSES_SHOWN = ("approved", "active", "overpaid", "rescheduled")


class ClientReportPeriodForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start of the period is after its end."))
        return cleaned


@dataclass
class EngagementBlock:
    engagement: Engagement
    hours: HoursUsed
    goals: list[Goal]
    sessions: list[Session]
    feedback: Feedback | None
    sessions_held: int = 0
    sessions_no_show: int = 0
    period_hours_held: Decimal = ZERO
    goals_achieved: int = 0


@dataclass
class InvoiceTotals:
    currency: str
    count: int = 0
    total: Decimal = ZERO
    paid: Decimal = ZERO
    balance: Decimal = ZERO


@dataclass
class ClientReport:
    party: Party
    date_from: datetime.date | None
    date_to: datetime.date | None
    engagements: list[EngagementBlock]
    invoices: list = field(default_factory=list)
    payments: list[CoachingPayment] = field(default_factory=list)
    invoice_totals: list[InvoiceTotals] = field(default_factory=list)
    loans: list = field(default_factory=list)
    show_money: bool = False
    sessions_held: int = 0
    sessions_no_show: int = 0
    hours_held: Decimal = ZERO
    goals_total: int = 0
    goals_achieved: int = 0


def _in_period(day: datetime.date, start, end) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _engagement_overlaps(engagement: Engagement, start, end) -> bool:
    if end is not None and engagement.requested_on > end:
        return False
    closed = engagement.completed_on or engagement.cancelled_on
    return not (start is not None and closed is not None and closed < start)


def client_report_party(*, user, party_id: int) -> Party:
    """The party, or Http404 when missing, out of CRM scope, or (for a coach) not their client."""
    if not user.is_authenticated or not user.has_capability(Capability.COACHING_VIEW):
        raise Http404("No such party")
    party = party_get_for_user(user=user, party_id=party_id)
    if (
        user.sees_assigned_only
        and not Engagement.objects.filter(party=party, coach__user=user).exists()
    ):
        raise Http404("No such party")
    return party


def client_report_build(
    *,
    user,
    party: Party,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> ClientReport:
    """Every figure of the report, scoped to the user (see the module docstring)."""
    engagements = [
        engagement
        for engagement in engagements_visible_to(user)
        .filter(party=party)
        .prefetch_related("goals", "sessions__action_items")
        .order_by("requested_on", "pk")
        if _engagement_overlaps(engagement, date_from, date_to)
    ]
    feedback = {
        item.engagement_id: item
        for item in Feedback.objects.filter(engagement__in=[e.pk for e in engagements])
    }
    report = ClientReport(party=party, date_from=date_from, date_to=date_to, engagements=[])
    for engagement in engagements:
        sessions = sorted(
            (
                session
                for session in engagement.sessions.all()
                if _in_period(timezone.localdate(session.scheduled_at), date_from, date_to)
            ),
            key=lambda session: (session.scheduled_at, session.pk),
        )
        held = [s for s in sessions if s.status == SessionStatus.HELD]
        goals = list(engagement.goals.all())
        block = EngagementBlock(
            engagement=engagement,
            hours=engagement_hours(engagement=engagement),
            goals=goals,
            sessions=sessions,
            feedback=feedback.get(engagement.pk),
            sessions_held=len(held),
            sessions_no_show=sum(1 for s in sessions if s.status == SessionStatus.NO_SHOW),
            period_hours_held=minutes_to_hours(sum(s.duration_minutes for s in held)),
            goals_achieved=sum(1 for goal in goals if goal.is_achieved),
        )
        report.engagements.append(block)
        report.sessions_held += block.sessions_held
        report.sessions_no_show += block.sessions_no_show
        report.goals_total += len(goals)
        report.goals_achieved += block.goals_achieved
    report.hours_held = minutes_to_hours(
        sum(
            s.duration_minutes
            for block in report.engagements
            for s in block.sessions
            if s.status == SessionStatus.HELD
        )
    )

    report.show_money = user.has_capability(Capability.COACHING_MANAGE)
    if report.show_money:
        invoices = invoices_visible_to(user).filter(party=party).order_by("issue_date", "pk")
        if date_from:
            invoices = invoices.filter(issue_date__gte=date_from)
        if date_to:
            invoices = invoices.filter(issue_date__lte=date_to)
        report.invoices = list(invoices)
        totals: dict[str, InvoiceTotals] = {}
        for invoice in report.invoices:
            if invoice.status == InvoiceStatus.CANCELLED:
                continue
            row = totals.setdefault(invoice.currency, InvoiceTotals(currency=invoice.currency))
            row.count += 1
            row.total += invoice.total
            row.paid += invoice.amount_paid
            row.balance += invoice.balance
        report.invoice_totals = list(totals.values())
        payments = CoachingPayment.objects.filter(
            invoice__in=invoices_visible_to(user).filter(party=party)
        ).select_related("invoice")
        if date_from:
            payments = payments.filter(date__gte=date_from)
        if date_to:
            payments = payments.filter(date__lte=date_to)
        report.payments = list(payments.order_by("date", "pk"))

    from loans.selectors import loans_visible_to

    report.loans = list(
        loans_visible_to(user)
        .filter(Q(borrower=party), status__in=LOAN_STATUSES_SHOWN)
        .order_by("-disbursed_on", "number")
    )
    return report


def _period_label(report: ClientReport) -> str:
    if report.date_from and report.date_to:
        return f"{report.date_from:%Y-%m-%d} – {report.date_to:%Y-%m-%d}"
    if report.date_from:
        return _("from %(day)s") % {"day": f"{report.date_from:%Y-%m-%d}"}
    if report.date_to:
        return _("until %(day)s") % {"day": f"{report.date_to:%Y-%m-%d}"}
    return _("All dates")


def client_report_pdf(*, report: ClientReport, user) -> bytes:
    from weasyprint import HTML  # heavy import, only when a PDF is asked for

    from mfi.pdf import page_decorations

    title = _("Coaching report · %(party)s") % {"party": report.party.display_name}
    html = render_to_string(
        "coaching/client_report_pdf.html",
        {
            "report": report,
            "period": _period_label(report),
            "title": title,
            **page_decorations(title, user),
        },
    )
    return HTML(string=html).write_pdf()


@capability_required(Capability.COACHING_VIEW)
def client_report(request, party_id: int):
    """The report as HTML, or ``?format=pdf``; ``date_from`` / ``date_to`` narrow the period."""
    party = client_report_party(user=request.user, party_id=party_id)
    form = ClientReportPeriodForm(request.GET or None)
    date_from = date_to = None
    if form.is_bound and form.is_valid():
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    report = client_report_build(
        user=request.user, party=party, date_from=date_from, date_to=date_to
    )
    if request.GET.get("format") == "pdf" and (not form.is_bound or form.is_valid()):
        response = HttpResponse(
            client_report_pdf(report=report, user=request.user), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="coaching-report-{party.pk}.pdf"'
        return response
    params = request.GET.copy()
    params["format"] = "pdf"
    return render(
        request,
        "coaching/client_report.html",
        {
            "party": party,
            "report": report,
            "form": form,
            "period": _period_label(report),
            "pdf_query": params.urlencode(),
        },
    )
