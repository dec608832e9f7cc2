"""Form plumbing shared by every app."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def apply_service_errors(form: forms.Form, exc: ValidationError, aliases=None) -> None:
    """Put a service's ValidationError on the form: per field where the form has the field (or
    an alias of it), otherwise as a form-wide error."""
    aliases = aliases or {}
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            field = aliases.get(field, field)
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
