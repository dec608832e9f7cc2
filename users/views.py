"""Two-factor pages: enrolment (QR code, secret, recovery codes) and the code after the password."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from users import throttling
from users.forms import TwoFactorCodeForm
from users.two_factor import (
    has_two_factor,
    qr_code_svg,
    secret_base32,
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
    two_factor_lockout_record,
    two_factor_required_for,
    two_factor_verify,
)


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _locked_out(request) -> bool:
    return throttling.is_locked_out(
        username=request.user.get_username(),
        client_ip=throttling.client_ip_of(request),
        scope=throttling.CODE_SCOPE,
    )


def _record_wrong_code(request) -> None:
    client_ip = throttling.client_ip_of(request)
    count = throttling.record_failure(
        username=request.user.get_username(),
        client_ip=client_ip,
        scope=throttling.CODE_SCOPE,
    )
    if count == settings.LOGIN_FAILURE_LIMIT:
        two_factor_lockout_record(user=request.user, client_ip=client_ip)


def _lockout_message() -> str:
    return _("Too many wrong codes. Try again in %(minutes)s minutes.") % {
        "minutes": max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def setup(request):
    """Turn on two-factor authentication: scan the QR code, confirm one code, keep the recovery codes."""
    if has_two_factor(request.user):
        if request.user.is_verified():
            return render(request, "users/two_factor_status.html")
        return redirect("two_factor_verify")
    device = two_factor_enrolment_start(user=request.user)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _locked_out(request):
            form.add_error("token", _lockout_message())
        else:
            codes = two_factor_enrolment_confirm(
                request=request, device=device, token=form.cleaned_data["token"]
            )
            if codes is not None:
                throttling.clear_failures(
                    username=request.user.get_username(), scope=throttling.CODE_SCOPE
                )
                return render(
                    request,
                    "users/two_factor_recovery_codes.html",
                    {"codes": codes, "next": _next_url(request)},
                )
            _record_wrong_code(request)
            form.add_error("token", _("That code is not right. Check the time on your phone."))
    return render(
        request,
        "users/two_factor_setup.html",
        {
            "form": form,
            "qr_code": qr_code_svg(device),
            "secret": secret_base32(device),
            "required": two_factor_required_for(request.user),
            "next": _next_url(request),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """The code after the password, for a user with an authenticator."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not has_two_factor(request.user):
        return redirect("two_factor_setup")
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _locked_out(request):
            form.add_error("token", _lockout_message())
        elif two_factor_verify(
            request=request, user=request.user, token=form.cleaned_data["token"]
        ):
            throttling.clear_failures(
                username=request.user.get_username(), scope=throttling.CODE_SCOPE
            )
            return redirect(_next_url(request))
        else:
            _record_wrong_code(request)
            form.add_error("token", _("That code is not right. Check the time on your phone."))
    return render(
        request, "users/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )
