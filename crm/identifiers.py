"""Normalisation and validation of the identifiers parties are matched on.

Pure functions. Registries and duplicates are matched on the normalised form, so "123 456 789",
"123.456.789" and "123456789" are one NIF.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CABO_VERDE_DIALING_CODE = "238"


def normalise_nif(raw: str) -> str:
    """Cabo Verde tax number (NIF, issued by DNRE): exactly 9 digits once separators are removed."""
    value = re.sub(r"[\s.\-/]", "", raw or "")
    if not value:
        return ""
    if not value.isdigit() or len(value) != 9:
        raise ValidationError(_("A NIF has exactly 9 digits."), code="invalid_nif")
    return value


def normalise_social_security_number(raw: str) -> str:
    """Social security (INPS) number: 6 to 12 digits once separators are removed."""
    value = re.sub(r"[\s.\-/]", "", raw or "")
    if not value:
        return ""
    if not value.isdigit() or not 6 <= len(value) <= 12:
        raise ValidationError(
            _("A social security number has 6 to 12 digits."), code="invalid_social_security"
        )
    return value


def normalise_civil_id(raw: str) -> str:
    """Civil ID / CNI / passport number: letters and digits, upper case, 5 to 20 characters."""
    value = re.sub(r"[\s.\-/]", "", raw or "").upper()
    if not value:
        return ""
    if not value.isalnum() or not 5 <= len(value) <= 20:
        raise ValidationError(
            _("An ID number has 5 to 20 letters and digits."), code="invalid_civil_id"
        )
    return value


def normalise_phone(raw: str) -> str:
    """Phone number in international form (+238XXXXXXX for a 7-digit Cabo Verde number)."""
    stripped = (raw or "").strip()
    if not stripped:
        return ""
    digits = re.sub(r"\D", "", stripped)
    if stripped.startswith("00"):
        digits = digits[2:]
    elif not stripped.startswith("+") and len(digits) == 7:
        digits = CABO_VERDE_DIALING_CODE + digits
    if not 8 <= len(digits) <= 15 or re.search(r"[^\d\s()+\-.]", stripped):
        raise ValidationError(
            _("Enter a phone number such as 991 23 45 or +238 991 23 45."), code="invalid_phone"
        )
    return "+" + digits
