"""Personal-data screens: a party's privacy tab (who looked at the record, data export, erasure
request), the approvers' list of pending erasure requests, approve and reject."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import privacy
from crm.models import ErasureRequest
from crm.selectors import party_get_for_user
from mfi.permissions import capability_required
from users.roles import Capability


class ErasureRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("What the person asked for, and why"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class ErasureReviewForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=250)


@capability_required(Capability.PARTY_VIEW)
def party_privacy(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    can_edit = request.user.has_capability(Capability.PARTY_EDIT)
    return render(
        request,
        "crm/privacy/party_privacy.html",
        {
            "party": party,
            "tab": "privacy",
            "can_edit": can_edit,
            "can_see_access_log": request.user.has_capability(Capability.AUDIT_SEARCH),
            "access_log": privacy.party_access_log(user=request.user, party=party),
            "erasure_requests": party.erasure_requests.select_related(
                "requested_by", "reviewed_by"
            ),
            "blockers": privacy.erasure_blockers(party),
            "is_erased": privacy.is_erased(party),
            "erasure_form": ErasureRequestForm() if can_edit else None,
        },
    )


def _export_filename(party, extension: str) -> str:
    return f"personal-data-party-{party.pk}.{extension}"


@capability_required(Capability.PARTY_EDIT)
def party_export_json(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    data = privacy.party_data_export(party=party, actor=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_filename(party, "json")}"'
    return response


@capability_required(Capability.PARTY_EDIT)
def party_export_pdf(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    pdf = privacy.party_data_export_pdf(party=party, actor=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_export_filename(party, "pdf")}"'
    return response


@require_POST
@capability_required(Capability.PARTY_EDIT)
def erasure_request_add(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    form = ErasureRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write down what the person asked for and why."))
    else:
        try:
            privacy.party_erasure_request_create(
                actor=request.user, party=party, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Erasure request recorded; a manager will review it."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("crm:party_privacy", pk=party.pk)


def _require_approver(request) -> None:
    if not privacy.can_approve_erasure(request.user):
        raise PermissionDenied


@login_required
def erasure_request_list(request):
    _require_approver(request)
    return render(
        request,
        "crm/privacy/erasure_request_list.html",
        {
            "requests": privacy.erasure_requests_pending_for(request.user),
            "review_form": ErasureReviewForm(),
        },
    )


def _pending_request(request, request_id: int) -> ErasureRequest:
    _require_approver(request)
    return get_object_or_404(privacy.erasure_requests_pending_for(request.user), pk=request_id)


@require_POST
@login_required
def erasure_request_approve(request, request_id: int):
    erasure = _pending_request(request, request_id)
    form = ErasureReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        privacy.party_erasure_request_approve(actor=request.user, request=erasure, note=note)
        messages.success(request, _("The personal data was erased."))
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    return redirect("crm:erasure_request_list")


@require_POST
@login_required
def erasure_request_reject(request, request_id: int):
    erasure = _pending_request(request, request_id)
    form = ErasureReviewForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        privacy.party_erasure_request_reject(actor=request.user, request=erasure, note=note)
        messages.success(request, _("The erasure request was rejected."))
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    return redirect("crm:erasure_request_list")
