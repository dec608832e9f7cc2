"""Screens of the client timeline, the quick interaction form and "My tasks"."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import interactions
from crm.forms import InteractionForm, TaskReassignForm
from crm.selectors import party_get_for_user
from crm.timeline import (
    TIMELINE_KIND_VALUES,
    party_timeline,
    task_counts_for_user,
    task_get_for_user,
    tasks_grouped_for_user,
    timeline_kind_choices,
)
from mfi.forms import apply_service_errors
from mfi.permissions import capability_required
from users.roles import Capability


def _timeline_context(request, party, form):
    kinds = [kind for kind in request.GET.getlist("kind") if kind in TIMELINE_KIND_VALUES]
    return {
        "party": party,
        "specific": party.specific,
        "can_edit": request.user.has_capability(Capability.PARTY_EDIT),
        "perms_loan_apply": request.user.has_capability(Capability.LOAN_APPLY),
        "tab": "timeline",
        "entries": party_timeline(user=request.user, party=party, kinds=kinds or None),
        "kind_choices": timeline_kind_choices(),
        "selected_kinds": kinds,
        "form": form,
    }


@capability_required(Capability.PARTY_VIEW)
def party_timeline_view(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    form = None
    if request.user.has_capability(Capability.PARTY_EDIT):
        form = InteractionForm(user=request.user, party=party)
    return render(request, "crm/party_timeline.html", _timeline_context(request, party, form))


@require_POST
@capability_required(Capability.PARTY_EDIT)
def interaction_add(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    form = InteractionForm(request.POST, user=request.user, party=party)
    if form.is_valid():
        data = form.cleaned_data
        try:
            interaction = interactions.interaction_record(
                actor=request.user,
                party=party,
                kind=data["kind"],
                summary=data["summary"],
                outcome=data.get("outcome") or "",
                notes=data.get("notes") or "",
                occurred_at=data.get("occurred_at"),
                loan=data.get("loan"),
                next_action_date=data.get("next_action_date"),
                next_action_title=data.get("next_action_title") or "",
                assignee=data.get("assignee"),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if interaction.next_action_date:
                messages.success(
                    request,
                    _("Interaction recorded; follow-up task due on %(date)s.")
                    % {"date": interaction.next_action_date.isoformat()},
                )
            else:
                messages.success(request, _("Interaction recorded."))
            return redirect(reverse("crm:party_timeline", args=[party.pk]))
    return render(request, "crm/party_timeline.html", _timeline_context(request, party, form))


@capability_required(Capability.PARTY_VIEW)
def task_list(request):
    groups = tasks_grouped_for_user(user=request.user)
    can_edit = request.user.has_capability(Capability.PARTY_EDIT)
    sections = [
        ("overdue", _("Overdue"), groups.overdue),
        ("today", _("Today"), groups.today),
        ("this_week", _("This week"), groups.this_week),
        ("later", _("Later"), groups.later),
    ]
    return render(
        request,
        "crm/task_list.html",
        {
            "groups": groups,
            "sections": sections,
            "can_edit": can_edit,
            "assignees": list(TaskReassignForm(user=request.user).fields["assigned_to"].queryset)
            if can_edit
            else [],
        },
    )


@capability_required(Capability.PARTY_VIEW)
def task_card(request):
    """The "My tasks" card of the home page (loaded by htmx, or opened on its own)."""
    return render(
        request, "crm/_task_card.html", {"task_counts": task_counts_for_user(user=request.user)}
    )


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("crm:task_list")


def _run_task_service(request, run, success_message: str):
    try:
        run()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not change this task."))
    else:
        messages.success(request, success_message)
    return _back(request)


@require_POST
@capability_required(Capability.PARTY_EDIT)
def task_complete(request, task_id: int):
    task = task_get_for_user(user=request.user, task_id=task_id)
    return _run_task_service(
        request,
        lambda: interactions.task_complete(actor=request.user, task=task),
        _("Task done: %(title)s") % {"title": task.title},
    )


@require_POST
@capability_required(Capability.PARTY_EDIT)
def task_cancel(request, task_id: int):
    task = task_get_for_user(user=request.user, task_id=task_id)
    return _run_task_service(
        request,
        lambda: interactions.task_cancel(actor=request.user, task=task),
        _("Task cancelled: %(title)s") % {"title": task.title},
    )


@require_POST
@capability_required(Capability.PARTY_EDIT)
def task_reassign(request, task_id: int):
    task = task_get_for_user(user=request.user, task_id=task_id)
    form = TaskReassignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("Choose a colleague of your branches."))
        return _back(request)
    assignee = form.cleaned_data["assigned_to"]
    return _run_task_service(
        request,
        lambda: interactions.task_reassign(actor=request.user, task=task, assigned_to=assignee),
        _("Task given to %(name)s.") % {"name": assignee.display_name},
    )
