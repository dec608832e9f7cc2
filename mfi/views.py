"""Shell screens: home dashboard, global search, health, system status."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounting.selectors import entries_awaiting_check
from audit.selectors import audit_search
from compliance.selectors import compliance_home_counts
from crm.selectors import parties_visible_to, party_counts, party_counts_by_branch, party_search
from crm.timeline import task_counts_for_user
from loans.selectors import loan_dashboard
from mfi.health import health_report
from mfi.models import WorkerHeartbeat
from mfi.permissions import capability_required
from mfi.services import heartbeat_request
from users.roles import ASSIGNED_ONLY_ROLES, Capability, Role


@login_required
def home(request):
    user = request.user
    context = {
        "counts": party_counts(user=user) if user.has_capability(Capability.PARTY_VIEW) else None
    }
    if user.role in ASSIGNED_ONLY_ROLES or user.role == Role.LOAN_OFFICER:
        context["my_parties"] = list(
            parties_visible_to(user).filter(assigned_to=user).order_by("-updated_at")[:8]
        )
    if user.role in {
        Role.BRANCH_MANAGER,
        Role.MANAGER,
        Role.ADMINISTRATOR,
        Role.AUDITOR,
        Role.COMPLIANCE_OFFICER,
        Role.CREDIT_COMMITTEE,
        Role.ACCOUNTANT,
    }:
        context["by_branch"] = party_counts_by_branch(user=user)
    if user.has_capability(Capability.AUDIT_SEARCH):
        context["recent_events"] = list(audit_search(user=user)[:8])
    if user.has_capability(Capability.LOAN_VIEW) and user.role in {
        Role.LOAN_OFFICER,
        Role.BRANCH_MANAGER,
        Role.CREDIT_COMMITTEE,
        Role.MANAGER,
    }:
        context["loans"] = loan_dashboard(user=user)
    if user.has_capability(Capability.PARTY_EDIT):
        context["task_counts"] = task_counts_for_user(user=user)
    if user.has_capability(Capability.LEDGER_APPROVE):
        context["entries_to_check"] = entries_awaiting_check(user=user)
    context["compliance"] = compliance_home_counts(user)
    return render(request, "home.html", context)


@login_required
def search(request):
    text = request.GET.get("q", "")
    results = party_search(user=request.user, text=text)
    return render(request, "search.html", {"q": text, "results": results})


@never_cache
@require_GET
def healthz(request):
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)


@capability_required(Capability.USER_ADMIN)
def system_status(request):
    token = None
    if request.method == "POST":
        token = heartbeat_request()
    healthy, report = health_report()
    return render(
        request,
        "system_status.html",
        {
            "healthy": healthy,
            "report": report,
            "token": token,
            "heartbeats": WorkerHeartbeat.objects.all()[:10],
        },
    )
