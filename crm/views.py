"""Party screens: list, detail with links, consents and history, create and edit."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.selectors import events_for_objects
from compliance.selectors import compliance_panel
from crm import privacy, services
from crm.choices import PartyKind
from crm.filters import PartyFilter
from crm.forms import ConsentForm, ConsentWithdrawForm, EnterpriseForm, PartyLinkForm, PersonForm
from crm.privacy import ACCESS_ACTIONS, party_access_record
from crm.selectors import parties_visible_to, party_consents, party_get_for_user, party_links
from mfi.forms import apply_service_errors
from mfi.permissions import capability_required
from users.roles import Capability

_KINDS = {
    PartyKind.PERSON: (PersonForm, services.person_create, services.person_update, "person"),
    PartyKind.ENTERPRISE: (
        EnterpriseForm,
        services.enterprise_create,
        services.enterprise_update,
        "enterprise",
    ),
}


@capability_required(Capability.PARTY_VIEW)
def party_list(request):
    party_filter = PartyFilter(
        request.GET, queryset=parties_visible_to(request.user), request=request
    )
    page = Paginator(party_filter.qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "crm/party_list.html",
        {
            "filter": party_filter,
            "page": page,
            "query": query.urlencode(),
            "can_edit": request.user.has_capability(Capability.PARTY_EDIT),
            "erasure_requests": (
                privacy.erasure_requests_pending_for(request.user).count()
                if privacy.can_approve_erasure(request.user)
                else None
            ),
        },
    )


def _detail_context(request, party):
    return {
        "party": party,
        "specific": party.specific,
        "can_edit": request.user.has_capability(Capability.PARTY_EDIT),
        "perms_loan_apply": request.user.has_capability(Capability.LOAN_APPLY),
    }


@capability_required(Capability.PARTY_VIEW)
def party_detail(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    party_access_record(actor=request.user, party=party, view="party_detail")
    context = _detail_context(request, party)
    context.update(
        {
            "links": party_links(party=party),
            "consents": party_consents(party=party),
            "link_form": PartyLinkForm(),
            "compliance": compliance_panel(request.user, party=party),
            "tab": "overview",
        }
    )
    return render(request, "crm/party_detail.html", context)


@capability_required(Capability.PARTY_VIEW)
def party_history(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    related = [party, party.specific, *party.consents.all(), *party_links(party=party)]
    context = _detail_context(request, party)
    events = events_for_objects(targets=related).exclude(action__in=ACCESS_ACTIONS)
    context.update({"events": events[:200], "tab": "history"})
    return render(request, "crm/party_history.html", context)


def _save_with_service(request, form, save):
    """Run a service with the form's data; map its validation errors back onto the form."""
    if not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return None


@capability_required(Capability.PARTY_EDIT)
def party_create(request, kind: str):
    if kind not in _KINDS:
        raise Http404
    form_class, create, _update, label = _KINDS[kind]
    form = form_class(request.POST or None, user=request.user)
    if request.method == "POST":
        party = _save_with_service(
            request, form, lambda data: create(actor=request.user, data=data)
        )
        if party is not None:
            messages.success(request, _("%(name)s was registered.") % {"name": party})
            return redirect(party.get_absolute_url())
    return render(request, "crm/party_form.html", {"form": form, "kind": kind, "label": label})


@capability_required(Capability.PARTY_EDIT)
def party_edit(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    form_class, _create, update, label = _KINDS[party.kind]
    specific = party.specific
    form = form_class(request.POST or None, instance=specific, user=request.user)
    if request.method == "POST":
        saved = _save_with_service(
            request,
            form,
            lambda data: update(actor=request.user, **{label: specific}, data=data),
        )
        if saved is not None:
            messages.success(request, _("Changes to %(name)s were saved.") % {"name": saved})
            return redirect(saved.get_absolute_url())
    return render(
        request,
        "crm/party_form.html",
        {
            "form": form,
            "kind": party.kind,
            "label": label,
            "party": party,
        },
    )


@require_POST
@capability_required(Capability.PARTY_EDIT)
def party_link_add(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    form = PartyLinkForm(request.POST)
    if form.is_valid():
        try:
            other = party_get_for_user(user=request.user, party_id=form.cleaned_data["to_party"])
            services.party_link_create(
                actor=request.user, from_party=party, to_party=other, kind=form.cleaned_data["kind"]
            )
            messages.success(request, _("Link added."))
        except Http404:
            messages.error(request, _("No party with that number in your scope."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("Choose a relation and the other party's number."))
    return redirect(party.get_absolute_url() + "#links")


@require_POST
@capability_required(Capability.PARTY_EDIT)
def party_link_delete(request, pk: int, link_id: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    link = next((link for link in party_links(party=party) if link.pk == link_id), None)
    if link is None:
        raise Http404
    services.party_link_delete(actor=request.user, link=link)
    messages.success(request, _("Link removed."))
    return redirect(party.get_absolute_url() + "#links")


@capability_required(Capability.PARTY_EDIT)
def consent_add(request, pk: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    form = ConsentForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        consent = _save_with_service(
            request,
            form,
            lambda data: services.consent_record(
                actor=request.user,
                party=party,
                purpose=data["purpose"],
                given_on=data["given_on"],
                evidence=data.get("evidence"),
                notes=data.get("notes", ""),
            ),
        )
        if consent is not None:
            messages.success(request, _("Consent recorded."))
            return redirect(party.get_absolute_url() + "#consents")
    return render(request, "crm/consent_form.html", {"form": form, "party": party})


@require_POST
@capability_required(Capability.PARTY_EDIT)
def consent_withdraw(request, pk: int, consent_id: int):
    party = party_get_for_user(user=request.user, party_id=pk)
    consent = get_object_or_404(party.consents, pk=consent_id)
    form = ConsentWithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the date the consent was withdrawn."))
    else:
        try:
            services.consent_withdraw(
                actor=request.user, consent=consent, withdrawn_on=form.cleaned_data["withdrawn_on"]
            )
            messages.success(request, _("Consent withdrawn."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect(party.get_absolute_url() + "#consents")


@capability_required(Capability.PARTY_VIEW)
def consent_evidence(request, pk: int, consent_id: int):
    """Serve a consent's evidence file, only to users who may see the party."""
    party = party_get_for_user(user=request.user, party_id=pk)
    consent = get_object_or_404(party.consents, pk=consent_id)
    if not consent.evidence:
        raise Http404
    return FileResponse(
        consent.evidence.open("rb"),
        as_attachment=True,
        filename=consent.evidence.name.rsplit("/", 1)[-1],
    )
