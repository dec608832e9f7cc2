"""Publications: the filtered list, the detail page (state, history, audit trail, platform ids,
errors per field, consent gate, takedown status) and its actions by state: validate, push,
dry run (the exact payload), withdraw, anonymise; waivers and the processed photos."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.models import Person
from mfi.permissions import capability_required
from p2p_export import services
from p2p_export.choices import (
    EDITABLE_STATES,
    FINAL_STATES,
    ON_PLATFORM_STATES,
    PublicationState,
)
from p2p_export.forms import PublicationFilterForm, ReasonForm, WaiverForm, WaiverWithdrawForm
from p2p_export.selectors import (
    consent_lines,
    photo_get_for_user,
    platforms_visible_to,
    publication_audit_trail,
    publication_borrowers,
    publication_get_for_user,
    publication_history,
    publication_photos,
    publication_search,
    publication_waivers,
    takedown_requests,
    waiver_get,
)
from p2p_export.validation import profile_errors
from p2p_export.views.common import form_action, run_action
from users.roles import Capability

S = PublicationState
PAGE_SIZE = 50
# Fields of the profile and of the loan that errors are keyed by, in the order a person reads.
FIELD_LABELS = {
    "first_name": gettext_lazy("First name"),
    "story": gettext_lazy("Story"),
    "loan_use": gettext_lazy("Loan use"),
    "activity": gettext_lazy("Activity"),
    "theme": gettext_lazy("Theme"),
    "location": gettext_lazy("Location"),
    "coarse_location": gettext_lazy("Place"),
    "family_situation": gettext_lazy("Family situation"),
    "standard_of_living": gettext_lazy("Standard of living"),
    "description_language": gettext_lazy("Description language"),
    "group_name": gettext_lazy("Group name"),
    "photo": gettext_lazy("Photo"),
    "borrowers": gettext_lazy("Borrowers"),
    "schedule": gettext_lazy("Repayment schedule"),
    "currency": gettext_lazy("Currency"),
    "disbursement_date": gettext_lazy("Disbursement date"),
    "consent": gettext_lazy("Consent"),
    "waiver": gettext_lazy("Waiver"),
    "__all__": gettext_lazy("Platform"),
}


def labelled_errors(errors: dict) -> list[tuple[str, str, list[str]]]:
    """(field, label, messages) of a publication's stored errors, in reading order."""
    order = list(FIELD_LABELS)
    keys = sorted(errors, key=lambda key: order.index(key) if key in order else len(order))
    return [(key, str(FIELD_LABELS.get(key, key)), list(errors[key])) for key in keys]


def current_errors(publication) -> dict[str, list[str]]:
    """What stands between the profile and a push: while it can be edited, our rules and the
    consent gate checked now (plus the platform's refusal when that was the last answer);
    afterwards, what was recorded."""
    stored = publication.field_errors or {}
    if publication.state not in EDITABLE_STATES:
        return stored
    errors = {key: list(messages) for key, messages in profile_errors(publication).items()}
    last = publication.events.order_by("-pk").values_list("action", flat=True).first()
    if last == "push_refused":
        for key, messages in stored.items():
            known = errors.setdefault(key, [])
            known.extend(message for message in messages if message not in known)
    return errors


def filtered_publications(user, query) -> tuple[PublicationFilterForm, object]:
    """The filter form bound to ``query`` and the publications it selects."""
    form = PublicationFilterForm(query, platforms=platforms_visible_to(user, active_only=False))
    data = form.cleaned_data if form.is_valid() else {}
    publications = publication_search(
        user,
        platform=data.get("platform"),
        state=data.get("state", ""),
        has_error=data.get("has_error", False),
        consent_gap=data.get("consent_gap", False),
        text=data.get("q", ""),
    )
    return form, publications


@capability_required(Capability.P2P_VIEW)
def publication_list(request):
    form, publications = filtered_publications(request.user, request.GET)
    page = Paginator(publications, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "p2p_export/publication_list.html", context)


def _actions(publication, user) -> dict[str, bool]:
    """Which buttons the detail page shows for the publication's state and the user's role."""
    manage = user.has_capability(Capability.P2P_MANAGE)
    state = publication.state
    return {
        "edit": manage and state in EDITABLE_STATES,
        "validate": manage and state in EDITABLE_STATES,
        "push": manage and state == S.VALIDATED,
        "dry_run": manage and state not in FINAL_STATES,
        "withdraw": manage and state not in FINAL_STATES,
        "anonymise": manage and not publication.is_anonymised,
        "waivers": manage and state not in FINAL_STATES,
        "news": manage and state in (S.FUNDED, S.REPAYING, S.ENDED),
    }


@capability_required(Capability.P2P_VIEW)
def publication_detail(request, pk: int):
    publication = publication_get_for_user(request.user, pk)
    borrowers = publication_borrowers(publication)
    context = {
        "publication": publication,
        "profile": publication.profile,
        "borrowers": borrowers,
        "photos": publication_photos(publication),
        "errors": labelled_errors(current_errors(publication)),
        "history": publication_history(publication),
        "audit_trail": publication_audit_trail(publication),
        "consent": consent_lines(publication),
        "waivers": publication_waivers(publication),
        "takedowns": takedown_requests(publication),
        "actions": _actions(publication, request.user),
        "is_on_platform": publication.state in ON_PLATFORM_STATES,
        "waiver_form": WaiverForm(persons=persons_of(publication)),
        "withdraw_form": WaiverWithdrawForm(),
        "reason_form": ReasonForm(),
    }
    return render(request, "p2p_export/publication_detail.html", context)


def persons_of(publication):
    """The publication's borrowers as persons (the choices of the waiver and photo forms)."""
    return Person.objects.filter(
        pk__in=publication.borrowers.values_list("person_id", flat=True)
    ).order_by("pk")


@require_POST
@capability_required(Capability.P2P_MANAGE)
def publication_validate(request, pk: int):
    publication = publication_get_for_user(request.user, pk)
    return run_action(
        request,
        lambda: services.publication_validate(actor=request.user, publication=publication),
        _("The profile meets the platform's rules: it is validated."),
        publication.get_absolute_url(),
    )


@require_POST
@capability_required(Capability.P2P_MANAGE)
def publication_push(request, pk: int):
    """Queue the push (a Celery task, run at once without a broker); the outcome and the
    platform's answer show on the publication."""
    publication = publication_get_for_user(request.user, pk)
    return run_action(
        request,
        lambda: services.publication_push_request(actor=request.user, publication=publication),
        _("The profile is on its way to %(platform)s.") % {"platform": publication.platform},
        publication.get_absolute_url(),
    )


def _short_payload(payload: dict) -> dict:
    """The payload as displayed: the base64 photo is abbreviated (the download is exact)."""
    shown = dict(payload)
    image = shown.get("image_encoded")
    if image:
        shown["image_encoded"] = f"{image[:48]}… ({len(image)} characters)"
    return shown


@capability_required(Capability.P2P_MANAGE)
def publication_dry_run(request, pk: int):
    """What a push would send, exactly, and what the platform would refuse; nothing is sent
    or recorded. ``?format=json`` downloads the exact payload."""
    publication = publication_get_for_user(request.user, pk)
    outcome = services.publication_push(actor=request.user, publication=publication, dry_run=True)
    if request.GET.get("format") == "json":
        response = HttpResponse(
            json.dumps(outcome.payload, indent=2, ensure_ascii=False, default=str),
            content_type="application/json; charset=utf-8",
        )
        name = f"{publication.platform.code}-{publication.internal_loan_id}-dry-run.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = {
        "publication": publication,
        "payload_text": json.dumps(
            _short_payload(outcome.payload), indent=2, ensure_ascii=False, default=str
        ),
        "payload_hash": outcome.payload_hash,
        "errors": labelled_errors(outcome.errors),
    }
    return render(request, "p2p_export/dry_run.html", context)


def _takedown_action(call, success: str):
    """The view of a takedown button that needs a reason (P2P managers):
    ``call(actor, publication, cleaned_data)``, then back to the publication."""

    @require_POST
    @capability_required(Capability.P2P_MANAGE)
    def view(request, pk: int):
        publication = publication_get_for_user(request.user, pk)
        return form_action(
            request,
            ReasonForm(request.POST),
            lambda data: call(request.user, publication, data),
            success,
            publication.get_absolute_url(),
        )

    return view


publication_withdraw = _takedown_action(
    lambda actor, publication, data: services.publication_withdraw(
        actor=actor, publication=publication, reason=data["reason"], anonymise=data["anonymise"]
    ),
    gettext_lazy("The profile is withdrawn."),
)
publication_anonymise = _takedown_action(
    lambda actor, publication, data: services.borrower_anonymise(
        actor=actor, publication=publication, reason=data["reason"]
    ),
    gettext_lazy("The borrower is anonymised."),
)


@capability_required(Capability.P2P_VIEW)
def photo(request, pk: int):
    """The processed copy of a profile photo (what the platform receives), never the original."""
    photo = photo_get_for_user(request.user, pk)
    response = FileResponse(photo.processed.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@capability_required(Capability.P2P_MANAGE)
def waiver_add(request, pk: int):
    publication = publication_get_for_user(request.user, pk)
    form = WaiverForm(request.POST, request.FILES, persons=persons_of(publication))
    back = (
        reverse("p2p_export:profile_edit", args=[publication.pk]) + "#waivers"
        if request.POST.get("next") == "profile"
        else publication.get_absolute_url() + "#consent"
    )
    return form_action(
        request,
        form,
        lambda data: services.waiver_add(actor=request.user, loan=publication.loan, **data),
        _("The signed waiver is on file."),
        back,
    )


@require_POST
@capability_required(Capability.P2P_MANAGE)
def waiver_withdraw(request, pk: int, waiver_id: int):
    """The person withdrew their waiver: every publication of the loan is taken down."""
    publication = publication_get_for_user(request.user, pk)
    waiver = waiver_get(publication, waiver_id)
    back = publication.get_absolute_url() + "#consent"
    form = WaiverWithdrawForm(request.POST)
    return form_action(
        request,
        form,
        lambda data: services.waiver_withdraw(
            actor=request.user, waiver=waiver, withdrawn_on=data["withdrawn_on"]
        ),
        _("The waiver is withdrawn; the profile is taken down."),
        back,
    )


@capability_required(Capability.P2P_VIEW)
def waiver_scan(request, pk: int, waiver_id: int):
    publication = publication_get_for_user(request.user, pk)
    waiver = waiver_get(publication, waiver_id)
    if not waiver.scan:
        raise Http404
    return FileResponse(
        waiver.scan.open("rb"), as_attachment=True, filename=waiver.scan.name.rsplit("/", 1)[-1]
    )


urlpatterns = [
    path("publications/", publication_list, name="publication_list"),
    path("publications/<int:pk>/", publication_detail, name="publication_detail"),
    path("publications/<int:pk>/validate/", publication_validate, name="publication_validate"),
    path("publications/<int:pk>/push/", publication_push, name="publication_push"),
    path("publications/<int:pk>/dry-run/", publication_dry_run, name="publication_dry_run"),
    path("publications/<int:pk>/withdraw/", publication_withdraw, name="publication_withdraw"),
    path("publications/<int:pk>/anonymise/", publication_anonymise, name="publication_anonymise"),
    path("publications/<int:pk>/waivers/", waiver_add, name="waiver_add"),
    path(
        "publications/<int:pk>/waivers/<int:waiver_id>/withdraw/",
        waiver_withdraw,
        name="waiver_withdraw",
    ),
    path("publications/<int:pk>/waivers/<int:waiver_id>/scan/", waiver_scan, name="waiver_scan"),
    path("photos/<int:pk>/", photo, name="photo"),
]
