"""Monthly repayment reports per platform (built from the actual repayments, reviewed,
finalised and locked, then sent) and, for file platforms, the monthly packages and the
platform's return file."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from mfi.money import ZERO
from mfi.permissions import capability_required
from p2p_export import packages, reconciliation, services
from p2p_export.forms import PeriodForm, ReturnFileForm
from p2p_export.selectors import (
    package_get_for_user,
    packages_visible_to,
    platform_get_for_user,
    platforms_visible_to,
    report_get_for_user,
    report_lines,
    reports_visible_to,
)
from p2p_export.views.common import form_refused, manager_action, run_action
from users.roles import Capability


@capability_required(Capability.P2P_VIEW)
def report_list(request):
    platforms = platforms_visible_to(request.user)
    reports = reports_visible_to(request.user).annotate(line_count=Count("lines"))
    code = request.GET.get("platform", "")
    if code:
        reports = reports.filter(platform__code=code)
    context = {
        "reports": reports.order_by("-year", "-month", "platform__name", "currency")[:120],
        "form": PeriodForm(platforms=platforms),
        "can_manage": request.user.has_capability(Capability.P2P_MANAGE),
    }
    return render(request, "p2p_export/report_list.html", context)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def report_build(request):
    """(Re)build a month's open reports from the repayments recorded; finalised ones stay."""
    form = PeriodForm(request.POST, platforms=platforms_visible_to(request.user))
    back = reverse("p2p_export:report_list")
    if not form.is_valid():
        return form_refused(request, form, back)
    data = form.cleaned_data
    built: list = []

    def build():
        built.extend(
            reconciliation.repayment_report_build(
                actor=request.user,
                platform=data["platform"],
                year=data["year"],
                month=data["month"],
            )
        )

    response = run_action(request, build, _("Reports built."), back)
    if len(built) == 1:
        response["Location"] = reverse("p2p_export:report_detail", args=[built[0].pk])
    return response


@capability_required(Capability.P2P_VIEW)
def report_detail(request, pk: int):
    report = report_get_for_user(request.user, pk)
    lines = report_lines(request.user, report)
    visible_total = sum((line.amount for line in lines), ZERO)
    context = {
        "report": report,
        "lines": lines,
        "visible_total": visible_total,
        "is_partial": visible_total != report.total,
        "can_manage": request.user.has_capability(Capability.P2P_MANAGE),
    }
    return render(request, "p2p_export/report_detail.html", context)


report_finalise = manager_action(
    report_get_for_user,
    reconciliation.repayment_report_finalise,
    "report",
    "p2p_export:report_detail",
    gettext_lazy("The report is finalised: it can no longer change."),
)
report_send = manager_action(
    report_get_for_user,
    reconciliation.repayment_report_send,
    "report",
    "p2p_export:report_detail",
    gettext_lazy("The report is sent (or goes with the next package)."),
)


# --- file platforms -------------------------------------------------------------------------


@capability_required(Capability.P2P_VIEW)
def package_list(request, code: str):
    platform = platform_get_for_user(request.user, code)
    context = {
        "platform": platform,
        "packages": packages_visible_to(request.user, platform)[:60],
        "pending": packages.package_pending(platform),
        "can_manage": request.user.has_capability(Capability.P2P_MANAGE),
        "return_form": ReturnFileForm(),
    }
    return render(request, "p2p_export/package_list.html", context)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def package_build(request, code: str):
    platform = platform_get_for_user(request.user, code)
    back = reverse("p2p_export:package_list", args=[platform.code])

    def build():
        if packages.package_build(actor=request.user, platform=platform) is None:
            raise ValidationError(_("Nothing to send: no new profile, news or report."))

    return run_action(request, build, _("Package built."), back)


@capability_required(Capability.P2P_VIEW)
def package_download(request, pk: int):
    package = package_get_for_user(request.user, pk)
    return FileResponse(package.file.open("rb"), as_attachment=True, filename=package.filename)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def package_deliver(request, pk: int):
    package = package_get_for_user(request.user, pk)
    return run_action(
        request,
        lambda: packages.package_deliver(actor=request.user, package=package),
        _("Package delivered to the platform."),
        reverse("p2p_export:package_list", args=[package.platform.code]),
    )


@require_POST
@capability_required(Capability.P2P_MANAGE)
def return_file_import(request, code: str):
    """Apply the platform's return file of status changes."""
    platform = platform_get_for_user(request.user, code)
    back = reverse("p2p_export:package_list", args=[platform.code])
    form = ReturnFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return form_refused(request, form, back)
    counts: dict = {}

    def apply():
        counts.update(
            services.return_file_import(
                actor=request.user, platform=platform, content=form.cleaned_data["file"].read()
            )
        )

    response = run_action(request, apply, _("Return file applied."), back)
    if counts:
        messages.info(
            request,
            ngettext(
                "%(changed)s loan changed state",
                "%(changed)s loans changed state",
                counts["changed"],
            )
            % counts
            + _("; %(unchanged)s unchanged, %(unknown)s unknown.") % counts,
        )
    return response


urlpatterns = [
    path("reports/", report_list, name="report_list"),
    path("reports/build/", report_build, name="report_build"),
    path("reports/<int:pk>/", report_detail, name="report_detail"),
    path("reports/<int:pk>/finalise/", report_finalise, name="report_finalise"),
    path("reports/<int:pk>/send/", report_send, name="report_send"),
    path("platforms/<slug:code>/packages/", package_list, name="package_list"),
    path("platforms/<slug:code>/packages/build/", package_build, name="package_build"),
    path("platforms/<slug:code>/return-file/", return_file_import, name="return_file_import"),
    path("packages/<int:pk>/download/", package_download, name="package_download"),
    path("packages/<int:pk>/deliver/", package_deliver, name="package_deliver"),
]
