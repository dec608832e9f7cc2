"""Form plumbing shared by every app."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _


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


def refusal_text(exc: Exception) -> str:
    """A service's refusal (ValidationError or PermissionDenied) as one sentence for a message."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You may not do this.")


def call_service(form: forms.Form, call):
    """Run one service call for a form page. Its refusal goes onto the form (field errors where
    the field is on the form) and None is returned; otherwise the service's result."""
    try:
        return call()
    except ValidationError as exc:
        apply_service_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, refusal_text(exc))
    return None
