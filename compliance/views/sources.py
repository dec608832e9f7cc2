"""Compliance screens of the registry sources: their health, runs and quarantined rows, file
uploads, the reconciliation queue and a party's registry panel.

Reading needs COMPLIANCE_VIEW, acting COMPLIANCE_MANAGE. Thin views: parse with a form, call a
service of ``compliance.ingest`` (or queue its task), render; a refusal becomes a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from compliance import ingest
from compliance.choices import RunTrigger, Transport
from compliance.forms_sources import PartySearchForm, PullForm, ResolveForm, SourceFileForm
from compliance.sources import selectors
from compliance.tasks import pull_source, refresh_party
from crm.selectors import party_get_for_user, party_search
from mfi.outbox import outbox_enqueue
from mfi.permissions import capability_required
from users.roles import Capability

PAGE_SIZE = 50
_read = capability_required(Capability.COMPLIANCE_VIEW)
_act = capability_required(Capability.COMPLIANCE_MANAGE)


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


@_read
def source_list(request):
    return render(
        request,
        "compliance/sources/source_list.html",
        {
            "sources": selectors.sources_overview(user=request.user),
            "can_manage": request.user.has_capability(Capability.COMPLIANCE_MANAGE),
            "sees_queue": selectors.sees_registry_wide(request.user),
        },
    )


def _source_page(request, source, *, upload_form=None, status=200):
    return render(
        request,
        "compliance/sources/source_detail.html",
        {
            "source": source,
            "runs": selectors.source_runs(source=source),
            "can_manage": request.user.has_capability(Capability.COMPLIANCE_MANAGE),
            "upload_form": upload_form or SourceFileForm(),
            "pull_form": PullForm(),
            "is_http": source.transport == Transport.HTTP,
            "inbound_folder": selectors.inbound_folder(source),
        },
        status=status,
    )


@_read
def source_detail(request, pk: int):
    return _source_page(request, selectors.source_get(user=request.user, pk=pk))


@require_POST
@_act
def source_pull(request, pk: int):
    """Pull the source now, through the task (eager without a broker: done before the redirect)."""
    source = selectors.source_get(user=request.user, pk=pk)
    form = PullForm(request.POST)
    if source.transport != Transport.HTTP:
        messages.error(request, _("This source delivers files; upload a file instead."))
    elif not form.is_valid():
        messages.error(request, _("Enter a valid date."))
    else:
        as_of = form.cleaned_data["as_of"]
        outbox_enqueue(
            pull_source,
            source.pk,
            str(RunTrigger.ON_DEMAND),
            as_of=as_of.isoformat() if as_of else None,
            user_id=request.user.pk,
        )
        messages.info(request, _("The pull has started; its run is listed below when done."))
    return redirect(source.get_absolute_url())


@require_POST
@_act
def source_upload(request, pk: int):
    source = selectors.source_get(user=request.user, pk=pk)
    form = SourceFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _source_page(request, source, upload_form=form, status=400)
    try:
        run = ingest.file_ingest(
            source=source,
            path_or_file=form.cleaned_data["file"],
            actor=request.user,
            trigger=RunTrigger.UPLOAD,
        )
    except (ValidationError, PermissionDenied) as exc:
        form.add_error("file", _refusal(exc))
        return _source_page(request, source, upload_form=form, status=400)
    return redirect("compliance:run_detail", pk=run.pk)


@_read
def run_detail(request, pk: int):
    run = selectors.run_get(user=request.user, pk=pk)
    page = Paginator(selectors.run_quarantine(user=request.user, run=run), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "compliance/sources/run_detail.html",
        {"run": run, "page": page, "sees_raw": selectors.sees_registry_wide(request.user)},
    )


@_read
def reconciliation_list(request):
    page = Paginator(selectors.reconciliation_items(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = selectors.with_candidates(page.object_list)
    return render(
        request,
        "compliance/sources/reconciliation_list.html",
        {
            "page": page,
            "sees_queue": selectors.sees_registry_wide(request.user),
            "can_manage": request.user.has_capability(Capability.COMPLIANCE_MANAGE),
        },
    )


@_act
def reconciliation_resolve(request, pk: int):
    """GET: the item, its candidates and a party search; POST: match to a party or dismiss."""
    item = selectors.reconciliation_get(user=request.user, pk=pk)
    search = PartySearchForm(request.GET or None)
    found = (
        party_search(user=request.user, text=search.cleaned_data["q"]) if search.is_valid() else []
    )
    form = ResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        party = None
        try:
            if form.cleaned_data["decision"] == ResolveForm.MATCH:
                party = party_get_for_user(user=request.user, party_id=form.cleaned_data["party"])
            ingest.reconciliation_resolve(actor=request.user, item=item, party=party)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _refusal(exc))
        else:
            if party is None:
                messages.success(request, _("The record was dismissed."))
            else:
                messages.success(
                    request, _("The record now belongs to %(party)s.") % {"party": party}
                )
            return redirect("compliance:reconciliation_list")
    return render(
        request,
        "compliance/sources/reconciliation_resolve.html",
        {"item": item, "search": search, "found": found, "form": form},
        status=400 if form.errors else 200,
    )


@_read
def party_registries(request, party_pk: int):
    party = party_get_for_user(user=request.user, party_id=party_pk)
    return render(
        request,
        "compliance/sources/party_registries.html",
        {
            "party": party,
            "latest": selectors.party_latest_records(party=party),
            "history": selectors.party_record_history(party=party),
            "can_manage": request.user.has_capability(Capability.COMPLIANCE_MANAGE),
        },
    )


@require_POST
@_act
def party_refresh(request, party_pk: int):
    """Ask every HTTP source about the party now, through the task (eager without a broker)."""
    party = party_get_for_user(user=request.user, party_id=party_pk)
    outbox_enqueue(refresh_party, party.pk, request.user.pk)
    messages.info(request, _("The registries are being asked; their answers appear below."))
    return redirect("compliance:party_registries", party_pk=party.pk)


urlpatterns = [
    path("sources/", source_list, name="source_list"),
    path("sources/<int:pk>/", source_detail, name="source_detail"),
    path("sources/<int:pk>/pull/", source_pull, name="source_pull"),
    path("sources/<int:pk>/upload/", source_upload, name="source_upload"),
    path("sources/runs/<int:pk>/", run_detail, name="run_detail"),
    path("reconciliation/", reconciliation_list, name="reconciliation_list"),
    path("reconciliation/<int:pk>/", reconciliation_resolve, name="reconciliation_resolve"),
    path("party/<int:party_pk>/registries/", party_registries, name="party_registries"),
    path("party/<int:party_pk>/registries/refresh/", party_refresh, name="party_refresh"),
]
