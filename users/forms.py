"""Sign-in form with lock-out after repeated failures."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from users import throttling


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked_out": _(
            "Too many failed sign-in attempts. Try again in %(minutes)s minutes or ask an "
            "administrator to reset your password."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        client_ip = throttling.client_ip_of(self.request) if self.request else "unknown"
        if throttling.is_locked_out(username=username, client_ip=client_ip):
            raise self._locked_out()
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            count = throttling.record_failure(username=username, client_ip=client_ip)
            if count == settings.LOGIN_FAILURE_LIMIT:
                self._audit_lockout(username, client_ip)
            raise
        throttling.clear_failures(username=username)
        return cleaned

    def _locked_out(self) -> forms.ValidationError:
        return forms.ValidationError(
            self.error_messages["locked_out"],
            code="locked_out",
            params={"minutes": max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)},
        )

    @staticmethod
    def _audit_lockout(username: str, client_ip: str) -> None:
        from audit.services import audit_record

        with transaction.atomic():
            audit_record(
                actor=None,
                action="user.locked_out",
                after={"username": username[:150], "client_ip": client_ip},
            )


class TwoFactorCodeForm(forms.Form):
    """A six-digit authenticator code, or one of the recovery codes."""

    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text=_("The six digits your authenticator app shows now, or a recovery code."),
    )
