"""Money: Decimal amounts in a named currency, rounded once, at the currency's minor unit.

ISO 4217 minor units; HALF_EVEN (banker's rounding) unless a product says otherwise. Keep full
precision inside a calculation and round where an amount becomes due or is posted.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

CURRENCY_DECIMALS: dict[str, int] = {"CVE": 2, "EUR": 2, "USD": 2, "XOF": 0}
DEFAULT_CURRENCY = "CVE"
ZERO = Decimal("0")


class Currency(models.TextChoices):
    CVE = "CVE", _("Cabo Verde escudo (CVE)")
    EUR = "EUR", _("Euro (EUR)")
    USD = "USD", _("US dollar (USD)")
    XOF = "XOF", _("West African CFA franc (XOF)")


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal('0.01') for CVE, Decimal('1') for XOF."""
    try:
        places = CURRENCY_DECIMALS[currency]
    except KeyError as exc:
        raise ValueError(f"Unknown currency {currency!r}") from exc
    return Decimal(1).scaleb(-places)


def round_money(
    amount: Decimal | int | str, currency: str, rounding: str = ROUND_HALF_EVEN
) -> Decimal:
    """Round an amount to the currency's minor unit (HALF_EVEN by default)."""
    return Decimal(amount).quantize(minor_unit(currency), rounding=rounding)


def is_rounded(amount: Decimal, currency: str) -> bool:
    return round_money(amount, currency) == amount
