"""The profile editor (what lenders will read), its photos and borrowers' shares, and the
preview as the platform would show it, in the platform's language."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import include, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mfi.forms import call_service
from mfi.permissions import capability_required
from p2p_export import services
from p2p_export.forms import BorrowerForm, PhotoForm, ProfileForm, WaiverForm
from p2p_export.payload import schedule_rows
from p2p_export.selectors import (
    consent_lines,
    editable,
    profile_suggestions,
    publication_borrowers,
    publication_get_for_user,
    publication_photos,
)
from p2p_export.views.common import form_action
from p2p_export.views.publications import current_errors, labelled_errors, persons_of
from users.roles import Capability

# Stored errors shown next to a profile field rather than in the box above the form.
PROFILE_FIELDS = frozenset(ProfileForm.Meta.fields) | {"is_not_pictured"}


def _editor_context(publication, form) -> dict:
    stored = current_errors(publication)
    persons = persons_of(publication)
    return {
        "publication": publication,
        "form": form,
        "field_rows": [(field, stored.get(field.name, [])) for field in form],
        "other_errors": labelled_errors(
            {key: value for key, value in stored.items() if key not in PROFILE_FIELDS}
        ),
        "photos": publication_photos(publication),
        "photo_form": PhotoForm(persons=persons),
        "waiver_form": WaiverForm(persons=persons),
        "borrowers": [
            (borrower, BorrowerForm(instance=borrower, prefix=f"b{borrower.pk}"))
            for borrower in publication_borrowers(publication)
        ],
        "consent": consent_lines(publication),
    }


@capability_required(Capability.P2P_MANAGE)
def profile_edit(request, pk: int):
    """GET: the editor, family and living situation proposed from the borrower's record when
    empty; POST: ``profile_update`` with the changed fields (the profile must be validated
    again afterwards)."""
    publication = publication_get_for_user(request.user, pk)
    if not editable(publication):
        messages.info(
            request,
            _("The profile can no longer be changed: it is %(state)s.")
            % {"state": publication.get_state_display()},
        )
        return redirect(publication.get_absolute_url())
    profile = publication.profile
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=profile, publication=publication)
        if form.is_valid():
            data = form.service_data()
            done = call_service(
                form,
                lambda: services.profile_update(
                    actor=request.user, publication=publication, data=data
                ),
            )
            if done is not None:
                messages.success(request, _("Profile saved. Validate it again before pushing it."))
                return redirect(reverse("p2p_export:profile_edit", args=[publication.pk]))
        publication = publication_get_for_user(request.user, pk)
        return render(
            request, "p2p_export/profile_edit.html", _editor_context(publication, form), status=400
        )
    suggestions = {
        name: text
        for name, text in profile_suggestions(publication).items()
        if not getattr(profile, name)
    }
    form = ProfileForm(instance=profile, publication=publication, initial=suggestions)
    context = _editor_context(publication, form)
    context["suggested"] = sorted(suggestions)
    return render(request, "p2p_export/profile_edit.html", context)


@require_POST
@capability_required(Capability.P2P_MANAGE)
def photo_upload(request, pk: int):
    """The photo goes through the photo service: only its processed copy is ever shown."""
    publication = publication_get_for_user(request.user, pk)
    form = PhotoForm(request.POST, request.FILES, persons=persons_of(publication))
    back = reverse("p2p_export:profile_edit", args=[publication.pk]) + "#photos"
    return form_action(
        request,
        form,
        lambda data: services.photo_add(
            actor=request.user, publication=publication, file=data["photo"], person=data["person"]
        ),
        _("Photo added (location data and camera details removed)."),
        back,
    )


@require_POST
@capability_required(Capability.P2P_MANAGE)
def borrower_update(request, pk: int, borrower_id: int):
    """A borrower's share of a group loan, or whether they are pictured."""
    publication = publication_get_for_user(request.user, pk)
    borrower = next((b for b in publication_borrowers(publication) if b.pk == borrower_id), None)
    if borrower is None:
        raise Http404
    form = BorrowerForm(request.POST, instance=borrower, prefix=f"b{borrower.pk}")
    back = reverse("p2p_export:profile_edit", args=[publication.pk]) + "#borrowers"
    return form_action(
        request,
        form,
        lambda data: services.publication_borrower_update(
            actor=request.user, borrower=borrower, **data
        ),
        _("Borrower updated."),
        back,
    )


@capability_required(Capability.P2P_VIEW)
def profile_preview(request, pk: int):
    """The profile as the platform's lenders would see it, in the platform's language: photo,
    first name, place, amount, loan use, story and repayment schedule."""
    publication = publication_get_for_user(request.user, pk)
    profile = publication.profile
    photos = publication_photos(publication)
    context = {
        "publication": publication,
        "profile": profile,
        "loan": publication.loan,
        "photo": None if publication.is_not_pictured or not photos else photos[0],
        "schedule": schedule_rows(publication.loan),
        "borrowers": publication_borrowers(publication),
        "language": publication.platform.language,
        "place": profile.location.name if profile.location else profile.coarse_location,
        "errors": labelled_errors(current_errors(publication)),
        "can_edit": editable(publication) and request.user.has_capability(Capability.P2P_MANAGE),
    }
    return render(request, "p2p_export/profile_preview.html", context)


# Every page here belongs to one publication.
urlpatterns = [
    path(
        "publications/<int:pk>/",
        include(
            [
                path("profile/", profile_edit, name="profile_edit"),
                path("profile/photos/", photo_upload, name="photo_upload"),
                path(
                    "profile/borrowers/<int:borrower_id>/", borrower_update, name="borrower_update"
                ),
                path("preview/", profile_preview, name="profile_preview"),
            ]
        ),
    )
]
