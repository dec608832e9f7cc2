"""Plumbing shared by the P2P screens: a service's refusal becomes a message or a form error."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mfi.forms import refusal_text as _service_refusal_text
from mfi.permissions import capability_required
from p2p_export.http import TransientError
from p2p_export.platforms.base import PlatformRefused
from users.roles import Capability

REFUSALS = (PermissionDenied, ValidationError, TransientError, PlatformRefused)


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, TransientError):
        return _("The platform could not be reached; try again later.")
    return _service_refusal_text(exc)


def run_action(request, call, success: str, to: str):
    """Run one service call for a POST button; its refusal is shown as an error message and
    nothing else happens. Redirects to ``to`` either way."""
    try:
        call()
    except REFUSALS as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, success)
    return redirect(to)


def form_refused(request, form, to: str):
    """A POSTed form did not validate: its errors as messages, nothing done."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)
    return redirect(to)


def form_action(request, form, call, success: str, to: str):
    """A POSTed form behind a button: its errors, or the service's refusal, become messages
    and nothing is done; otherwise ``call(cleaned_data)`` runs (the P2P forms name their fields
    after the service's arguments). Redirects to ``to`` either way."""
    if not form.is_valid():
        return form_refused(request, form, to)
    return run_action(request, lambda: call(form.cleaned_data), success, to)


def manager_action(get_for_user, service, keyword: str, detail: str, success: str):
    """The view of a P2P manager's POST button on one object (``pk``, looked up within the
    user's scope): ``service(actor=user, <keyword>=object)``, then back to its ``detail`` page."""

    @require_POST
    @capability_required(Capability.P2P_MANAGE)
    def view(request, pk: int):
        target = get_for_user(request.user, pk)
        return run_action(
            request,
            lambda: service(actor=request.user, **{keyword: target}),
            success,
            reverse(detail, args=[target.pk]),
        )

    return view
