"""Funding reconciliation: funds received from a platform against the loans they refinance,
repayments owed to the platform out of finalised reports, and the monthly statement (HTML and
PDF) a platform may ask for as proof that its funds went to the borrowers."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mfi.money import ZERO
from mfi.pdf import render_pdf
from mfi.permissions import capability_required
from p2p_export import reconciliation
from p2p_export.choices import ReportStatus
from p2p_export.forms import FundingForm, PeriodForm, PlatformRepaymentForm
from p2p_export.selectors import (
    fundable_publications,
    funding_statements,
    platforms_visible_to,
    report_get_for_user,
    reports_visible_to,
)
from p2p_export.views.common import form_action, form_refused, run_action
from users.roles import Capability


def _period(request) -> PeriodForm:
    source = request.POST if request.method == "POST" else request.GET
    return PeriodForm.from_query(source, platforms=platforms_visible_to(request.user))


def _page_url(platform, year: int, month: int) -> str:
    query = urlencode({"platform": platform.code, "year": year, "month": month})
    return f"{reverse('p2p_export:reconciliation')}?{query}"


@capability_required(Capability.P2P_VIEW)
def reconciliation_page(request):
    """One platform and month: funds received, what is owed and paid back to the platform, and
    the forms to record both (P2P_RECONCILE)."""
    period = _period(request)
    context = {"period": period}
    if period.is_valid():
        platform, year, month = (period.cleaned_data[key] for key in ("platform", "year", "month"))
        statements = funding_statements(
            user=request.user, platform=platform, year=year, month=month
        )
        reports = list(
            reports_visible_to(request.user)
            .filter(platform=platform, year=year, month=month)
            .exclude(status=ReportStatus.OPEN)
            .prefetch_related("platform_repayments")
        )
        for report in reports:
            owed = reconciliation.amount_owed(report)
            paid = {row.publication_id: row.amount for row in report.platform_repayments.all()}
            report.owed_total = sum(owed.values(), ZERO)
            report.paid_total = sum(paid.values(), ZERO)
            report.left_to_pay = sum((value for pk, value in owed.items() if pk not in paid), ZERO)
        context.update(
            {
                "platform": platform,
                "year": year,
                "month": month,
                "statements": statements,
                "reports": reports,
                "can_reconcile": request.user.has_capability(Capability.P2P_RECONCILE),
                "funding_form": FundingForm(
                    publications=fundable_publications(request.user, platform)
                ),
                "repayment_form": PlatformRepaymentForm(),
                "hidden": {"platform": platform.code, "year": year, "month": month},
            }
        )
    return render(request, "p2p_export/reconciliation.html", context)


@require_POST
@capability_required(Capability.P2P_RECONCILE)
def funding_record(request):
    period = _period(request)
    if not period.is_valid():
        return form_refused(request, period, reverse("p2p_export:reconciliation"))
    platform, year, month = (period.cleaned_data[key] for key in ("platform", "year", "month"))
    back = _page_url(platform, year, month)
    form = FundingForm(request.POST, publications=fundable_publications(request.user, platform))
    return form_action(
        request,
        form,
        lambda data: reconciliation.funding_record(actor=request.user, **data),
        _("Funds recorded and posted to the ledger."),
        back,
    )


@require_POST
@capability_required(Capability.P2P_RECONCILE)
def platform_repayment_record(request, pk: int):
    """Record the payment to the platform of what a finalised report says is owed."""
    report = report_get_for_user(request.user, pk)
    back = _page_url(report.platform, report.year, report.month)
    form = PlatformRepaymentForm(request.POST)
    if not form.is_valid():
        return form_refused(request, form, back)
    recorded: list = []

    def record():
        recorded.extend(
            reconciliation.platform_repayment_record(
                actor=request.user,
                report=report,
                paid_on=form.cleaned_data["paid_on"],
                reference=form.cleaned_data["reference"],
            )
        )

    response = run_action(request, record, _("Repayment to the platform recorded."), back)
    if recorded:
        messages.info(
            request,
            ngettext(
                "%(count)s loan posted to the ledger.",
                "%(count)s loans posted to the ledger.",
                len(recorded),
            )
            % {"count": len(recorded)},
        )
    return response


@capability_required(Capability.P2P_VIEW)
def statement(request):
    """The platform's statement of a month (``?format=pdf`` to print it)."""
    period = _period(request)
    if not period.is_valid():
        return render(request, "p2p_export/statement.html", {"period": period}, status=400)
    platform, year, month = (period.cleaned_data[key] for key in ("platform", "year", "month"))
    context = {
        "period": period,
        "platform": platform,
        "year": year,
        "month": month,
        "statements": funding_statements(
            user=request.user, platform=platform, year=year, month=month
        ),
    }
    if request.GET.get("format") == "pdf":
        title = _("Funding statement: %(platform)s, %(period)s") % {
            "platform": platform.name,
            "period": f"{year}-{month:02d}",
        }
        pdf = render_pdf("p2p_export/statement_pdf.html", context, title=title, user=request.user)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="{platform.code}-statement-{year}-{month:02d}.pdf"'
        )
        return response
    context["pdf_url"] = "?" + urlencode(
        {"platform": platform.code, "year": year, "month": month, "format": "pdf"}
    )
    return render(request, "p2p_export/statement.html", context)


urlpatterns = [
    path("reconciliation/", reconciliation_page, name="reconciliation"),
    path("reconciliation/funding/", funding_record, name="funding_record"),
    path(
        "reconciliation/reports/<int:pk>/paid/",
        platform_repayment_record,
        name="platform_repayment_record",
    ),
    path("reconciliation/statement/", statement, name="statement"),
]
