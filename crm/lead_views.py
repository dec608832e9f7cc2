"""Screens of the leads pipeline, saved party segments and the duplicate review."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import duplicates, leads
from crm.choices import LeadStage
from crm.forms import LeadForm, LeadMoveForm, PartyMergeForm, SegmentForm
from crm.selectors import party_get_for_user
from mfi.permissions import capability_required
from users.roles import Capability


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@capability_required(Capability.PARTY_EDIT)
def lead_pipeline(request):
    stage = request.GET.get("stage", "")
    lead_list = leads.leads_visible_to(request.user)
    if stage in LeadStage.values:
        lead_list = lead_list.filter(stage=stage)
    return render(
        request,
        "crm/lead_pipeline.html",
        {
            "pipeline": leads.leads_pipeline(user=request.user),
            "leads": lead_list[:200],
            "stage": stage,
            "stage_labels": dict(LeadStage.choices),
        },
    )


@capability_required(Capability.PARTY_EDIT)
def lead_create(request, party_id: int):
    party = party_get_for_user(user=request.user, party_id=party_id)
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            leads.lead_create(actor=request.user, party=party, source=form.cleaned_data["source"])
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, _("%(name)s is in the pipeline.") % {"name": party})
            return redirect("crm:lead_pipeline")
    return render(request, "crm/lead_form.html", {"form": form, "party": party})


@require_POST
@capability_required(Capability.PARTY_EDIT)
def lead_move(request, lead_id: int):
    lead = leads.lead_get_for_user(user=request.user, lead_id=lead_id)
    form = LeadMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a stage."))
    else:
        try:
            leads.lead_move(
                actor=request.user,
                lead=lead,
                to_stage=form.cleaned_data["to_stage"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("%(name)s moved.") % {"name": lead.party})
    return redirect("crm:lead_pipeline")


@capability_required(Capability.PARTY_VIEW)
def segment_list(request):
    """My and shared segments; with a filter in the query string, a form to save it."""
    query = ""
    if request.method == "POST":
        form = SegmentForm(request.POST)
        query = request.POST.get("query", "")
        if form.is_valid():
            try:
                segment = leads.segment_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    query=form.cleaned_data["query"],
                    is_shared=form.cleaned_data["is_shared"],
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment})
                return redirect("crm:segment_list")
    else:
        query = leads.segment_query_normalise(request.GET.urlencode())
        form = SegmentForm(initial={"query": query}) if query else None
    return render(
        request,
        "crm/segment_list.html",
        {"segments": leads.segments_for_user(user=request.user), "form": form, "query": query},
    )


@capability_required(Capability.PARTY_VIEW)
def segment_open(request, segment_id: int):
    """A segment is the party list with the segment's filter."""
    segment = leads.segment_get_for_user(user=request.user, segment_id=segment_id)
    return redirect(f"{reverse('crm:party_list')}?{segment.query}")


@capability_required(Capability.PARTY_EDIT)
def duplicate_review(request):
    return render(
        request,
        "crm/duplicate_review.html",
        {"pairs": duplicates.likely_duplicates(user=request.user)},
    )


@require_POST
@capability_required(Capability.PARTY_EDIT)
def party_merge(request):
    form = PartyMergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the two parties to merge."))
        return redirect("crm:duplicate_review")
    keep = party_get_for_user(user=request.user, party_id=form.cleaned_data["keep"])
    remove = party_get_for_user(user=request.user, party_id=form.cleaned_data["remove"])
    try:
        kept = duplicates.parties_merge(actor=request.user, keep=keep, remove=remove)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("crm:duplicate_review")
    messages.success(request, _("The two records were merged into %(name)s.") % {"name": kept})
    return redirect(kept.get_absolute_url())
