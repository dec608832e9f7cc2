"""Follow-up news for lenders: drafts generated from real events (repayment milestones,
renewals, coaching, field follow-ups), edited and approved by staff, then sent."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from mfi.forms import call_service
from mfi.permissions import capability_required
from p2p_export import journals
from p2p_export.choices import JournalStatus
from p2p_export.forms import JournalForm
from p2p_export.selectors import (
    journal_get_for_user,
    journals_visible_to,
    platform_get_for_user,
    platforms_visible_to,
    publications_visible_to,
)
from p2p_export.views.common import (
    REFUSALS,
    manager_action,
    refusal_text,
    run_action,
)
from users.roles import Capability

PAGE_SIZE = 50
EDITABLE = (JournalStatus.DRAFT, JournalStatus.APPROVED)
# What needs a person first: drafts, then approved items waiting to go, then the rest.
STATUS_ORDER = (
    JournalStatus.DRAFT,
    JournalStatus.APPROVED,
    JournalStatus.SENT,
    JournalStatus.DISCARDED,
)


@capability_required(Capability.P2P_VIEW)
def journal_list(request):
    """News items, drafts first; filter by platform, status or publication."""
    items = journals_visible_to(request.user)
    platform_code = request.GET.get("platform", "")
    status = request.GET.get("status", "")
    publication_id = request.GET.get("publication", "")
    if platform_code:
        items = items.filter(publication__platform__code=platform_code)
    if status in JournalStatus.values:
        items = items.filter(status=status)
    if publication_id.isdigit():
        items = items.filter(publication_id=int(publication_id))
    rank = Case(
        *(When(status=status, then=Value(order)) for order, status in enumerate(STATUS_ORDER)),
        default=Value(len(STATUS_ORDER)),
    )
    items = items.order_by(rank, "-created_at", "-pk")
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "query": query.urlencode(),
        "platforms": platforms_visible_to(request.user),
        "statuses": JournalStatus.choices,
        "platform_code": platform_code,
        "status": status,
        "can_manage": request.user.has_capability(Capability.P2P_MANAGE),
    }
    return render(request, "p2p_export/journal_list.html", context)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def journal_generate(request, code: str):
    """Draft news for every newsworthy event not drafted yet on the platform's funded loans."""
    platform = platform_get_for_user(request.user, code)
    publications = publications_visible_to(request.user).filter(
        platform=platform, state__in=journals.NEWS_STATES, is_anonymised=False
    )
    drafted = 0
    for publication in publications.order_by("pk"):
        try:
            drafted += len(journals.journal_generate(actor=request.user, publication=publication))
        except REFUSALS as exc:
            messages.error(request, f"{publication.loan.number}: {refusal_text(exc)}")
    messages.success(
        request,
        ngettext("%(count)s news item drafted.", "%(count)s news items drafted.", drafted)
        % {"count": drafted},
    )
    return redirect(reverse("p2p_export:journal_list") + f"?platform={platform.code}")


@capability_required(Capability.P2P_VIEW)
def journal_edit(request, pk: int):
    """Read a news item; P2P managers edit a draft (an approved one goes back to draft)."""
    journal = journal_get_for_user(request.user, pk)
    can_edit = request.user.has_capability(Capability.P2P_MANAGE) and journal.status in EDITABLE
    form = JournalForm(initial={"subject": journal.subject, "body": journal.body})
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = JournalForm(request.POST, request.FILES)
        if form.is_valid():
            done = call_service(
                form,
                lambda: journals.journal_update(
                    actor=request.user,
                    journal=journal,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    image=form.cleaned_data["image"],
                ),
            )
            if done is not None:
                messages.success(request, _("News item saved."))
                return redirect("p2p_export:journal_edit", pk=journal.pk)
        status = 400
    context = {
        "journal": journal,
        "form": form,
        "can_edit": can_edit,
        "can_manage": request.user.has_capability(Capability.P2P_MANAGE),
    }
    return render(request, "p2p_export/journal_edit.html", context, status=status)


journal_approve = manager_action(
    journal_get_for_user,
    journals.journal_approve,
    "journal",
    "p2p_export:journal_edit",
    gettext_lazy("News item approved."),
)
journal_discard = manager_action(
    journal_get_for_user,
    journals.journal_discard,
    "journal",
    "p2p_export:journal_edit",
    gettext_lazy("News item discarded."),
)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def journal_send(request, pk: int):
    """Send an approved item; a file platform takes it with the next package; a failure is
    kept on the item for the next try."""
    journal = journal_get_for_user(request.user, pk)
    back = reverse("p2p_export:journal_edit", args=[journal.pk])

    def send():
        sent = journals.journal_send(actor=request.user, journal=journal)
        if sent.last_error:
            raise ValidationError(sent.last_error)
        return sent

    return run_action(request, send, _("News item sent (or queued for the next package)."), back)


urlpatterns = [
    path("news/", journal_list, name="journal_list"),
    path("news/platforms/<slug:code>/generate/", journal_generate, name="journal_generate"),
    path("news/<int:pk>/", journal_edit, name="journal_edit"),
    path("news/<int:pk>/approve/", journal_approve, name="journal_approve"),
    path("news/<int:pk>/discard/", journal_discard, name="journal_discard"),
    path("news/<int:pk>/send/", journal_send, name="journal_send"),
]
