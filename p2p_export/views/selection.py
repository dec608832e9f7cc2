"""Eligible loans: active, disbursed loans matching the manager's criteria, with the reasons a
loan may not be published; ticked loans are selected through ``publication_select``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mfi.permissions import capability_required
from p2p_export.forms import EligibilityForm, SelectLoansForm
from p2p_export.selectors import (
    EligibilityCriteria,
    eligible_candidates,
    ineligibility_reasons,
    platforms_visible_to,
)
from p2p_export.services import publication_select
from p2p_export.views.common import REFUSALS, refusal_text
from users.roles import Capability

PAGE_SIZE = 50


def _criteria_form(request, platforms) -> EligibilityForm:
    query = request.GET.copy()
    if not query.get("platform") and platforms.exists():
        query["platform"] = platforms.first().pk
    return EligibilityForm(query, user=request.user, platforms=platforms)


def _select(request, platforms):
    """Select each ticked loan that is still a candidate in the user's scope; a refusal of one
    loan is reported and the others go on."""
    platform = platforms.filter(pk=request.POST.get("platform") or 0).first()
    if platform is None:
        messages.error(request, _("Choose a platform."))
        return redirect("p2p_export:eligible")
    visible = eligible_candidates(user=request.user, criteria=EligibilityCriteria(platform))
    ticked = [int(value) for value in request.POST.getlist("loans") if value.isdigit()]
    form = SelectLoansForm(
        request.POST,
        platforms=platforms,
        loan_ids=list(visible.filter(pk__in=ticked).values_list("pk", flat=True)),
    )
    back = redirect(request.get_full_path())
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return back
    selected = 0
    for loan in visible.filter(pk__in=form.cleaned_data["loans"]).order_by("number"):
        try:
            publication_select(actor=request.user, platform=platform, loan=loan)
        except REFUSALS as exc:
            messages.error(request, f"{loan.number}: {refusal_text(exc)}")
        else:
            selected += 1
    if selected:
        messages.success(
            request,
            ngettext(
                "%(count)s loan selected for %(platform)s.",
                "%(count)s loans selected for %(platform)s.",
                selected,
            )
            % {"count": selected, "platform": platform.name},
        )
    return back


@capability_required(Capability.P2P_VIEW)
def eligible(request):
    """GET: the candidates and why some may not be published; POST (P2P_MANAGE): select the
    ticked loans for the platform."""
    platforms = platforms_visible_to(request.user)
    can_manage = request.user.has_capability(Capability.P2P_MANAGE)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        return _select(request, platforms)
    form = _criteria_form(request, platforms)
    page = None
    reasons: dict[int, list[str]] = {}
    if form.is_valid():
        criteria = form.criteria()
        page = Paginator(
            eligible_candidates(user=request.user, criteria=criteria), PAGE_SIZE
        ).get_page(request.GET.get("page"))
        reasons = ineligibility_reasons(criteria.platform, list(page.object_list))
        for loan in page.object_list:
            loan.p2p_reasons = reasons[loan.pk]
    context = {
        "form": form,
        "page": page,
        "can_manage": can_manage,
        "platform": form.cleaned_data.get("platform") if form.is_valid() else None,
        "eligible_count": sum(1 for problems in reasons.values() if not problems),
    }
    return render(request, "p2p_export/eligible.html", context)


urlpatterns = [path("eligible/", eligible, name="eligible")]
