"""Plumbing shared by the P2P screens: a service's refusal becomes a message or a form error."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from loans.views import _call_service, _refusal_text
from p2p_export.http import TransientError
from p2p_export.platforms.base import PlatformRefused

call_service = _call_service
REFUSALS = (PermissionDenied, ValidationError, TransientError, PlatformRefused)


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, TransientError):
        return _("The platform could not be reached; try again later.")
    return _refusal_text(exc)


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
