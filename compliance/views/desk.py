"""Service-desk screens for a tablet at the branch: check-in, the live queue, serving and
handing off, and the day's figures."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from compliance.desk import (
    desk_branch_for,
    desk_branches,
    desk_call_next,
    desk_check_in,
    desk_day_figures,
    desk_figure_branches,
    desk_find_party,
    desk_finish,
    desk_mark_left,
    desk_queue,
    desk_start_service,
    desk_visit_get_for_user,
    parse_day,
)
from compliance.forms_field import CheckInForm, FinishForm
from mfi.forms import apply_service_errors
from mfi.permissions import capability_required
from users.roles import Capability

desk_required = capability_required(Capability.DESK)


def _desk_url(branch) -> str:
    return f"{reverse('compliance:desk')}?branch={branch.pk}"


def _branch(request):
    """The desk being operated: ``branch`` from the query or the form, else the user's own."""
    return desk_branch_for(request.user, request.POST.get("branch") or request.GET.get("branch"))


def _finish_form(visit, data=None) -> FinishForm:
    return FinishForm(data, auto_id=f"id_finish{visit.pk}_%s", prefix=None)


def _render_desk(request, branch, *, check_in_form=None, finish_forms=None, lookup_results=()):
    context = {"branch": branch, "branches": desk_branches(request.user)}
    if branch is not None:
        queue = desk_queue(user=request.user, branch=branch)
        finish_forms = finish_forms or {}
        mine = [visit for visit in queue.in_service if visit.served_by_id == request.user.pk]
        context.update(
            queue=queue,
            serving=[(visit, finish_forms.get(visit.pk) or _finish_form(visit)) for visit in mine],
            check_in_form=check_in_form or CheckInForm(user=request.user),
            lookup_results=lookup_results,
        )
    return render(request, "compliance/desk/desk.html", context)


@desk_required
def desk(request):
    """The desk of one branch: check-in, the queue, the visitors being served."""
    return _render_desk(request, _branch(request))


@require_GET
@desk_required
def desk_queue_partial(request):
    """htmx: the waiting queue, visitors in service and served today (polled every 15 s)."""
    branch = _branch(request)
    if branch is None:
        raise PermissionDenied
    return render(
        request,
        "compliance/desk/_queue.html",
        {
            "branch": branch,
            "queue": desk_queue(user=request.user, branch=branch),
        },
    )


@require_GET
@desk_required
def desk_lookup(request):
    """htmx: clients matching the NIF, civil ID or phone being typed, to pick for check-in."""
    query = request.GET.get("q", "")
    return render(
        request,
        "compliance/desk/_lookup.html",
        {"results": desk_find_party(request.user, query), "query": query.strip()},
    )


@require_POST
@desk_required
def desk_check_in_view(request):
    branch = _branch(request)
    if branch is None:
        raise PermissionDenied
    form = CheckInForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            visit = desk_check_in(
                actor=request.user,
                branch=branch,
                reason=data["reason"],
                party=data.get("party"),
                visitor_name=data.get("visitor_name") or "",
                visitor_phone=data.get("visitor_phone") or "",
                notes=data.get("notes") or "",
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Ticket %(ticket)s: %(visitor)s is in the queue.")
                % {"ticket": visit.ticket, "visitor": visit.visitor_label},
            )
            return redirect(_desk_url(branch))
    party = form.cleaned_data.get("party") if hasattr(form, "cleaned_data") else None
    return _render_desk(
        request, branch, check_in_form=form, lookup_results=[party] if party else ()
    )


def _visit_action(view):
    """POST on one visit of the user's desks (404 outside them); back to that desk after."""

    @wraps(view)
    @require_POST
    @desk_required
    def wrapped(request, pk: int):
        visit = desk_visit_get_for_user(request.user, pk)
        try:
            response = view(request, visit)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            response = None
        return response or redirect(_desk_url(visit.branch))

    return wrapped


@_visit_action
def desk_start(request, visit):
    desk_start_service(actor=request.user, visit=visit)
    messages.success(
        request,
        _("Serving ticket %(ticket)s: %(visitor)s.")
        % {"ticket": visit.ticket, "visitor": visit.visitor_label},
    )


@_visit_action
def desk_left(request, visit):
    desk_mark_left(actor=request.user, visit=visit)
    messages.info(request, _("Ticket %(ticket)s left without service.") % {"ticket": visit.ticket})


@_visit_action
def desk_finish_view(request, visit):
    form = _finish_form(visit, request.POST)
    if form.is_valid():
        try:
            done = desk_finish(actor=request.user, visit=visit, **form.service_arguments())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Ticket %(ticket)s served (%(hand_off)s).")
                % {"ticket": done.ticket, "hand_off": done.get_hand_off_display().lower()},
            )
            return None
    return _render_desk(request, visit.branch, finish_forms={visit.pk: form})


@require_POST
@desk_required
def desk_call_next_view(request):
    branch = _branch(request)
    if branch is None:
        raise PermissionDenied
    visit = desk_call_next(actor=request.user, branch=branch)
    if visit is None:
        messages.info(request, _("Nobody is waiting."))
    else:
        messages.success(
            request,
            _("Serving ticket %(ticket)s: %(visitor)s.")
            % {"ticket": visit.ticket, "visitor": visit.visitor_label},
        )
    return redirect(_desk_url(branch))


def _figures_reader(view):
    """Desk staff and compliance readers (managers, auditors) may read the desk figures."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not desk_figure_branches(request.user).exists():
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@_figures_reader
def desk_figures(request):
    """One branch's desk on one day: visits, served, left, wait and service minutes."""
    branches = desk_figure_branches(request.user)
    branch = desk_branch_for(request.user, request.GET.get("branch"), branches=branches)
    day = parse_day(request.GET.get("date")) or timezone.localdate()
    if request.GET.get("date") and parse_day(request.GET.get("date")) is None:
        messages.error(request, _("Give the date as YYYY-MM-DD; showing today."))
    figures = desk_day_figures(branch=branch, day=day) if branch is not None else None
    return render(
        request,
        "compliance/desk/figures.html",
        {"branch": branch, "branches": branches, "day": day, "figures": figures},
    )


urlpatterns = [
    path("desk/", desk, name="desk"),
    path("desk/queue/", desk_queue_partial, name="desk_queue"),
    path("desk/lookup/", desk_lookup, name="desk_lookup"),
    path("desk/check-in/", desk_check_in_view, name="desk_check_in"),
    path("desk/call-next/", desk_call_next_view, name="desk_call_next"),
    path("desk/<int:pk>/start/", desk_start, name="desk_start"),
    path("desk/<int:pk>/finish/", desk_finish_view, name="desk_finish"),
    path("desk/<int:pk>/left/", desk_left, name="desk_left"),
    path("desk/figures/", desk_figures, name="desk_figures"),
]
