"""Ledger screens: overview, chart, journal entries (maker-checker), periods."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounting import services
from accounting.choices import EntryStatus
from accounting.forms import EntryLineFormSet, ManualEntryForm, PeriodForm, ReasonForm
from accounting.models import Account, AccountingPeriod
from accounting.selectors import entries_visible_to, trial_balance
from audit.selectors import events_for_object
from mfi.forms import apply_service_errors
from mfi.permissions import capability_required
from users.roles import Capability
from users.selectors import branches_visible_to


def _entry_or_404(user, pk: int):
    entry = entries_visible_to(user).filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@capability_required(Capability.LEDGER_VIEW)
def overview(request):
    user = request.user
    scope = user.branch_scope_ids()
    today = timezone.localdate()
    balance = trial_balance(as_of=today, branch_ids=scope)
    drafts = entries_visible_to(user).filter(status=EntryStatus.DRAFT)
    return render(
        request,
        "accounting/overview.html",
        {
            "today": today,
            "trial": balance,
            "draft_count": drafts.count(),
            "can_draft": user.has_capability(Capability.LEDGER_DRAFT),
        },
    )


@capability_required(Capability.LEDGER_VIEW)
def chart_of_accounts(request):
    accounts = Account.objects.select_related("parent", "branch").order_by("code")
    return render(request, "accounting/chart.html", {"accounts": accounts})


@capability_required(Capability.LEDGER_VIEW)
def entry_list(request):
    entries = entries_visible_to(request.user)
    status = request.GET.get("status", "")
    if status in EntryStatus.values:
        entries = entries.filter(status=status)
    page = Paginator(entries.order_by("-entry_date", "-pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounting/entry_list.html",
        {
            "page": page,
            "status": status,
            "statuses": EntryStatus.choices,
            "query": f"status={status}" if status else "",
            "can_draft": request.user.has_capability(Capability.LEDGER_DRAFT),
        },
    )


@capability_required(Capability.LEDGER_VIEW)
def entry_detail(request, pk: int):
    entry = _entry_or_404(request.user, pk)
    user = request.user
    lines = list(entry.lines.select_related("account"))
    return render(
        request,
        "accounting/entry_detail.html",
        {
            "entry": entry,
            "lines": lines,
            "total_debit": sum(line.debit for line in lines),
            "total_credit": sum(line.credit for line in lines),
            "reversal": getattr(entry, "reversed_by", None) if entry.pk else None,
            "events": events_for_object(target=entry),
            "can_check": user.has_capability(Capability.LEDGER_APPROVE)
            and entry.status == EntryStatus.DRAFT
            and entry.created_by_id != user.pk,
            "can_reverse": user.has_capability(Capability.LEDGER_APPROVE)
            and entry.status == EntryStatus.POSTED
            and entry.source != "reversal",
            "reason_form": ReasonForm(),
        },
    )


@capability_required(Capability.LEDGER_DRAFT)
def entry_create(request):
    form = ManualEntryForm(request.POST or None, user=request.user)
    lines = EntryLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        specs = [
            services.LineSpec(
                row.cleaned_data["account"],
                debit=row.cleaned_data.get("debit") or 0,
                credit=row.cleaned_data.get("credit") or 0,
                description=row.cleaned_data.get("description", ""),
            )
            for row in lines
            if not row.is_blank
        ]
        try:
            entry = services.manual_entry_draft(
                actor=request.user, lines=specs, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Entry drafted; another person must approve it."))
            return redirect(entry.get_absolute_url())
    return render(request, "accounting/entry_form.html", {"form": form, "lines": lines})


def _checker_action(request, pk: int, action):
    entry = _entry_or_404(request.user, pk)
    try:
        action(entry)
    except (ValidationError, PermissionDenied) as exc:
        text = _error_text(exc) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text or _("You may not do this."))
    return redirect(entry.get_absolute_url())


@require_POST
@capability_required(Capability.LEDGER_APPROVE)
def entry_approve(request, pk: int):
    def approve(entry):
        services.manual_entry_approve(actor=request.user, entry=entry)
        messages.success(request, _("Entry approved and posted."))

    return _checker_action(request, pk, approve)


@require_POST
@capability_required(Capability.LEDGER_APPROVE)
def entry_reject(request, pk: int):
    def reject(entry):
        services.manual_entry_reject(
            actor=request.user, entry=entry, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Entry rejected."))

    return _checker_action(request, pk, reject)


@require_POST
@capability_required(Capability.LEDGER_APPROVE)
def entry_reverse(request, pk: int):
    form = ReasonForm(request.POST)
    entry = _entry_or_404(request.user, pk)
    if not form.is_valid():
        messages.error(request, _("Give a reason and a valid date for the reversal."))
        return redirect(entry.get_absolute_url())
    try:
        reversal = services.journal_entry_reverse(
            actor=request.user,
            entry=entry,
            reason=form.cleaned_data["reason"],
            entry_date=form.cleaned_data.get("entry_date"),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc) if isinstance(exc, ValidationError) else str(exc))
        return redirect(entry.get_absolute_url())
    messages.success(request, _("Reversal posted."))
    return redirect(reversal.get_absolute_url())


@capability_required(Capability.LEDGER_VIEW)
def periods(request):
    user = request.user
    form = PeriodForm(request.POST or None, user=user)
    if request.method == "POST":
        action = request.POST.get("action")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == "close_year":
                    services.year_end_close(actor=user, branch=data["branch"], year=data["year"])
                elif data.get("month") and action == "reopen":
                    services.period_reopen(
                        actor=user, branch=data["branch"], year=data["year"], month=data["month"]
                    )
                elif data.get("month") and action == "close":
                    services.period_close(
                        actor=user, branch=data["branch"], year=data["year"], month=data["month"]
                    )
                else:
                    raise ValidationError(_("Choose a month."))
                messages.success(request, _("Done."))
                return redirect("accounting:periods")
            except ValidationError as exc:
                messages.error(request, _error_text(exc))
            except PermissionDenied:
                messages.error(request, _("Your role may not do this."))
    branches = list(branches_visible_to(user))
    closed = {
        (p.branch_id, p.year, p.month) for p in AccountingPeriod.objects.filter(branch__in=branches)
    }
    today = timezone.localdate()
    months = []
    for offset in range(12):
        year, month = divmod(today.year * 12 + today.month - 1 - offset, 12)
        month += 1
        months.append(
            {
                "year": year,
                "month": month,
                "label": datetime.date(year, month, 1).strftime("%Y-%m"),
                "cells": [
                    {"branch": branch, "closed": (branch.pk, year, month) in closed}
                    for branch in branches
                ],
            }
        )
    return render(
        request,
        "accounting/periods.html",
        {
            "form": form,
            "branches": branches,
            "months": months,
            "can_close": user.has_capability(Capability.LEDGER_CLOSE),
            "can_reopen": user.has_capability(Capability.LEDGER_REOPEN),
        },
    )
