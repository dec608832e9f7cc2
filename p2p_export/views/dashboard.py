"""The P2P manager's dashboard: per platform, publications by state (each number opens the
filtered list), amounts fundraising and funded, errors to fix, consent gaps and the sync."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mfi.outbox import outbox_enqueue, tasks_run_in_process
from mfi.permissions import capability_required
from p2p_export.selectors import dashboard_figures, next_sync_at, platform_get_for_user
from p2p_export.views.common import REFUSALS, refusal_text
from users.roles import Capability


def list_url(**query) -> str:
    """The publication list filtered by ``query`` (empty values left out)."""
    query = {key: value for key, value in query.items() if value not in ("", None, False)}
    return reverse("p2p_export:publication_list") + ("?" + urlencode(query) if query else "")


@capability_required(Capability.P2P_VIEW)
def dashboard(request):
    """Per platform: publications by state, amounts fundraising/funded, errors, consent gaps,
    next and last synchronisation."""
    figures = dashboard_figures(user=request.user)
    for box in figures:
        code = box.platform.code
        box.links = {
            "all": list_url(platform=code),
            "errors": list_url(platform=code, has_error="on"),
            "consent": list_url(platform=code, consent_gap="on"),
        }
        for row in box.states:
            row.url = list_url(platform=code, state=row.state)
    context = {
        "figures": figures,
        "next_sync": next_sync_at(),
        "can_manage": request.user.has_capability(Capability.P2P_MANAGE),
    }
    return render(request, "p2p_export/dashboard.html", context)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def sync_now(request, code: str):
    """Run the platform's sync cycle now: in process when there is no broker (its summary shown
    at once), else through the task outbox (kept and sent later if the broker is down)."""
    from p2p_export.tasks import sync_platform

    platform = platform_get_for_user(request.user, code)
    if not tasks_run_in_process():
        outbox_enqueue(sync_platform, platform.code)
        messages.info(
            request, _("Synchronisation of %(platform)s started.") % {"platform": platform}
        )
        return redirect("p2p_export:dashboard")
    try:
        result = sync_platform.delay(platform.code)
    except REFUSALS as exc:
        messages.error(request, refusal_text(exc))
        return redirect("p2p_export:dashboard")
    for summary in result.get(propagate=False) or []:
        errors = summary.get("errors") or []
        text = _(
            "%(platform)s synchronised: %(pushed)s pushed, %(changed)s status changes, "
            "%(lines)s repayment lines, %(news)s news sent."
        ) % {
            "platform": platform.name,
            "pushed": summary.get("pushed", 0),
            "changed": summary.get("statuses_changed", 0),
            "lines": summary.get("repayment_lines", 0),
            "news": summary.get("journals_sent", 0),
        }
        messages.success(request, text)
        for error in errors:
            messages.warning(request, error)
    return redirect("p2p_export:dashboard")


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("platforms/<slug:code>/sync/", sync_now, name="sync_now"),
]
