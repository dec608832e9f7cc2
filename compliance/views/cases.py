"""Compliance screens of cases and requirements: the risk-ranked worklist (the app's landing
page), a case with its checks, follow-ups, history and actions, and the requirements of offers.

Thin views: parse with a form, call a selector or a ``compliance.cases`` service, render. A
service's refusal is shown as a message (actions) or on the form (requirement pages).
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from compliance import cases as services
from compliance.filters import CaseFilter
from compliance.forms import CaseAssignForm, CaseCloseForm, CaseSolutionForm, RequirementForm
from compliance.models import OfferRequirement
from compliance.selectors import (
    PLAYBOOK_GUIDANCE,
    case_checks,
    case_events,
    case_follow_ups,
    case_for_user,
    case_owner_candidates,
    offers_with_requirements,
)
from compliance.selectors import (
    worklist as worklist_query,
)
from loans.models import Offer
from mfi.forms import apply_service_errors
from mfi.permissions import capability_required
from users.roles import Capability

PAGE_SIZE = 25


def _case_reader(view):
    """Compliance readers and the staff who follow cases up (field agents see their own)."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (
            user.has_capability(Capability.COMPLIANCE_VIEW)
            or user.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
        ):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


def _form_errors(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _case_action(request, case, form, call, success: str):
    """Validate the action's form, run the service; any refusal becomes an error message."""
    if not form.is_valid():
        messages.error(request, _form_errors(form))
    else:
        try:
            call(form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _refusal(exc))
        else:
            messages.success(request, success)
    return redirect(case.get_absolute_url())


# --- worklist and case -------------------------------------------------------------------------


@capability_required(Capability.COMPLIANCE_VIEW)
def worklist(request):
    case_filter = CaseFilter(
        request.GET, queryset=worklist_query(user=request.user), request=request
    )
    page = Paginator(case_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "compliance/cases/worklist.html",
        {"filter": case_filter, "page": page, "query": query.urlencode()},
    )


@_case_reader
def case_detail(request, pk: int):
    user = request.user
    case = case_for_user(user, pk)
    can_manage = user.has_capability(Capability.COMPLIANCE_MANAGE) and not user.is_read_only
    is_owner = case.owner_id == user.pk and user.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
    return render(
        request,
        "compliance/cases/case_detail.html",
        {
            "case": case,
            "guidance": PLAYBOOK_GUIDANCE.get(case.proposed_solution, ""),
            "checks": case_checks(case=case),
            "follow_ups": case_follow_ups(case=case),
            "events": case_events(case=case),
            "can_manage": can_manage and case.is_open,
            "can_propose": (can_manage or is_owner) and case.is_open,
            "assign_form": CaseAssignForm(
                candidates=case_owner_candidates(case=case), initial={"owner": case.owner_id}
            )
            if can_manage and case.is_open
            else None,
            "solution_form": CaseSolutionForm(
                initial={
                    "solution": case.proposed_solution,
                    "notes": case.solution_notes,
                    "watch_until": case.watch_until,
                }
            ),
            "close_form": CaseCloseForm(),
        },
    )


@require_POST
@capability_required(Capability.COMPLIANCE_MANAGE)
def case_assign(request, pk: int):
    case = case_for_user(request.user, pk)
    form = CaseAssignForm(request.POST, candidates=case_owner_candidates(case=case))
    return _case_action(
        request,
        case,
        form,
        lambda data: services.case_assign(actor=request.user, case=case, owner=data["owner"]),
        _("Case %(number)s assigned.") % {"number": case.number},
    )


@require_POST
@_case_reader
def case_propose_solution(request, pk: int):
    user = request.user
    case = case_for_user(user, pk)
    is_owner = case.owner_id == user.pk and user.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
    if user.is_read_only or not (is_owner or user.has_capability(Capability.COMPLIANCE_MANAGE)):
        raise PermissionDenied
    return _case_action(
        request,
        case,
        CaseSolutionForm(request.POST),
        lambda data: services.case_propose_solution(actor=user, case=case, **data),
        _("Solution recorded on case %(number)s.") % {"number": case.number},
    )


@require_POST
@capability_required(Capability.COMPLIANCE_MANAGE)
def case_close(request, pk: int):
    case = case_for_user(request.user, pk)
    return _case_action(
        request,
        case,
        CaseCloseForm(request.POST),
        lambda data: services.case_close(actor=request.user, case=case, outcome=data["outcome"]),
        _("Case %(number)s closed.") % {"number": case.number},
    )


# --- requirements of offers --------------------------------------------------------------------


@capability_required(Capability.COMPLIANCE_VIEW)
def requirement_list(request):
    user = request.user
    return render(
        request,
        "compliance/requirements/requirement_list.html",
        {
            "offers": offers_with_requirements(),
            "can_manage": user.has_capability(Capability.COMPLIANCE_MANAGE)
            and not user.is_read_only,
        },
    )


def _requirement_form_page(request, form, offer, requirement, save):
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError):
                apply_service_errors(form, exc)
            else:
                form.add_error(None, _refusal(exc))
        else:
            messages.success(request, _("Requirements of %(offer)s saved.") % {"offer": offer})
            return redirect("compliance:requirement_list")
    return render(
        request,
        "compliance/requirements/requirement_form.html",
        {"form": form, "offer": offer, "requirement": requirement},
    )


@capability_required(Capability.COMPLIANCE_MANAGE)
def requirement_create(request, offer_id: int):
    offer = get_object_or_404(Offer, pk=offer_id)
    return _requirement_form_page(
        request,
        RequirementForm(request.POST or None),
        offer,
        None,
        lambda data: services.requirement_create(actor=request.user, offer=offer, **data),
    )


@capability_required(Capability.COMPLIANCE_MANAGE)
def requirement_update(request, pk: int):
    requirement = get_object_or_404(OfferRequirement.objects.select_related("offer"), pk=pk)
    return _requirement_form_page(
        request,
        RequirementForm(request.POST or None, requirement=requirement),
        requirement.offer,
        requirement,
        lambda data: services.requirement_update(
            actor=request.user, requirement=requirement, **data
        ),
    )


@require_POST
@capability_required(Capability.COMPLIANCE_MANAGE)
def requirement_deactivate(request, pk: int):
    requirement = get_object_or_404(OfferRequirement, pk=pk)
    try:
        services.requirement_deactivate(actor=request.user, requirement=requirement)
    except PermissionDenied as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(
            request, _("%(requirement)s is no longer checked.") % {"requirement": requirement}
        )
    return redirect("compliance:requirement_list")


urlpatterns = [
    path("", worklist, name="worklist"),
    path("cases/<int:pk>/", case_detail, name="case_detail"),
    path("cases/<int:pk>/assign/", case_assign, name="case_assign"),
    path("cases/<int:pk>/solution/", case_propose_solution, name="case_propose_solution"),
    path("cases/<int:pk>/close/", case_close, name="case_close"),
    path("requirements/", requirement_list, name="requirement_list"),
    path("requirements/offers/<int:offer_id>/new/", requirement_create, name="requirement_create"),
    path("requirements/<int:pk>/edit/", requirement_update, name="requirement_update"),
    path(
        "requirements/<int:pk>/deactivate/",
        requirement_deactivate,
        name="requirement_deactivate",
    ),
]
