"""``{{ amount|money:"CVE" }}``: an amount at the currency's decimals with thousands separators."""

from decimal import Decimal, InvalidOperation

from django import template

from mfi.money import DEFAULT_CURRENCY, round_money

register = template.Library()


@register.filter
def money(value, currency: str = DEFAULT_CURRENCY) -> str:
    if value in (None, ""):
        return ""
    try:
        amount = round_money(Decimal(value), currency or DEFAULT_CURRENCY)
    except (InvalidOperation, ValueError):
        return str(value)
    if amount == 0:
        amount = abs(amount)  # never print "-0.00"
    return f"{amount:,}"
