"""Field screens for phones: the day list, the quick call / visit form, and the service worker
that lets a visited day list and its forms open without network."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from compliance.field import (
    field_day_list,
    follow_up_get_for_user,
    follow_up_record,
    location_from_query,
)
from compliance.forms_field import FollowUpForm
from compliance.scoping import case_get_for_user
from crm.selectors import party_get_for_user
from mfi.forms import apply_service_errors
from mfi.permissions import capability_required
from users.roles import Capability

ALREADY_RECEIVED = gettext_lazy("This follow-up was already received; nothing was added.")


@never_cache
@capability_required(Capability.COMPLIANCE_FOLLOW_UP)
def field_day(request):
    """My open cases and my client tasks due today or overdue, nearest first if I share where
    I am (``?lat=&lon=``)."""
    latitude, longitude = location_from_query(request.GET)
    items = field_day_list(user=request.user, latitude=latitude, longitude=longitude)
    return render(
        request,
        "compliance/field/day.html",
        {"items": items, "by_distance": latitude is not None},
    )


def _subject(request):
    """The case (``?case=``) or the party (``?party=``) the form is about, in the user's scope."""
    for key in ("case", "party"):
        raw = request.GET.get(key, "")
        if raw:
            if not raw.isdigit():
                raise Http404
            if key == "case":
                case = case_get_for_user(request.user, int(raw))
                return case, case.party
            return None, party_get_for_user(user=request.user, party_id=int(raw))
    raise Http404


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _record(request, form, *, case, party):
    """Run the service; returns (follow_up, created) or None with the errors on the form."""
    data = form.cleaned_data
    try:
        return follow_up_record(
            actor=request.user,
            client_uuid=data["client_uuid"],
            party=party,
            case=case,
            kind=data["kind"],
            outcome=data["outcome"],
            notes=data.get("notes") or "",
            occurred_at=data.get("occurred_at"),
            next_action_date=data.get("next_action_date"),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            accuracy_m=data.get("accuracy_m"),
            photo=data.get("photo"),
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You may not log a follow-up for this client."))
    return None


def _answer(request, follow_up, created: bool):
    if not created:
        if _wants_json(request):
            return JsonResponse({"detail": ALREADY_RECEIVED, "id": follow_up.pk}, status=409)
        return render(
            request,
            "compliance/field/already_received.html",
            {"follow_up": follow_up},
            status=409,
        )
    message = _("%(kind)s with %(party)s recorded.") % {
        "kind": follow_up.get_kind_display(),
        "party": follow_up.party.display_name,
    }
    # Also for the phone's outbox: the agent sees it on the next page opened.
    messages.success(request, message)
    if _wants_json(request):
        return JsonResponse(
            {"id": follow_up.pk, "detail": message, "redirect": reverse("compliance:field_day")},
            status=201,
        )
    return redirect("compliance:field_day")


@never_cache
@capability_required(Capability.COMPLIANCE_FOLLOW_UP)
def follow_up_new(request):
    """The quick call / visit form. The phone may send it more than once (offline queue): a
    submission already received answers 409 and changes nothing."""
    case, party = _subject(request)
    if request.method == "POST":
        form = FollowUpForm(request.POST, request.FILES)
        if form.is_valid():
            result = _record(request, form, case=case, party=party)
            if result is not None:
                return _answer(request, *result)
        if _wants_json(request):
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    else:
        form = FollowUpForm(initial={"kind": request.GET.get("kind")})
    return render(
        request,
        "compliance/field/follow_up_form.html",
        {"form": form, "case": case, "party": party},
    )


@require_GET
@login_required
def follow_up_photo(request, pk: int):
    """The document photo of a follow-up, for those who may see the follow-up."""
    follow_up = follow_up_get_for_user(request.user, pk)
    if not follow_up.photo:
        raise Http404
    content_type = mimetypes.guess_type(follow_up.photo.name)[0] or "application/octet-stream"
    response = FileResponse(follow_up.photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def service_worker(request):
    """``static/js/sw.js`` served under the field screens, so its scope covers them."""
    found = finders.find("js/sw.js")
    if found:
        with open(found, "rb") as handle:
            body = handle.read()
    else:  # production, after collectstatic
        with staticfiles_storage.open("js/sw.js") as handle:
            body = handle.read()
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = reverse("compliance:field_day")
    return response


urlpatterns = [
    path("field/", field_day, name="field_day"),
    path("field/sw.js", service_worker, name="field_service_worker"),
    path("field/follow-up/new/", follow_up_new, name="follow_up_new"),
    path("field/follow-ups/<int:pk>/photo/", follow_up_photo, name="follow_up_photo"),
]
