"""The schedule-preview JSON contract: parse untrusted input into ScheduleTerms, render a Schedule.

Input keys (all others are refused): ``principal``, ``currency``, ``annual_interest_rate``,
``number_of_repayments``, ``repayment_every``, ``repayment_frequency``, ``interest_method``,
``amortization``, ``interest_calculation``, ``schedule_engine`` (default ``cumulative``),
``days_in_year``, ``days_in_month``, ``disbursement_date``, ``first_repayment_date`` (optional),
``grace_on_principal``, ``grace_on_interest_payment``, ``grace_on_interest_charged`` (default 0),
``installment_multiple`` and ``currency_multiple`` (optional).

Amounts and rates are decimal strings (JSON numbers are accepted too), dates ISO ``YYYY-MM-DD``.
Every problem is reported at once, as ``ValidationError({field: [message]})``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from loans.schedule import (
    AMORTIZATIONS,
    DAYS_IN_MONTH,
    DAYS_IN_YEAR,
    INTEREST_CALCULATIONS,
    INTEREST_METHODS,
    REPAYMENT_FREQUENCIES,
    SCHEDULE_ENGINES,
    Schedule,
    ScheduleError,
    ScheduleTerms,
)
from mfi.money import CURRENCY_DECIMALS, round_money

REQUIRED = "This field is required."
MAX_REPAYMENTS = 1200  # 100 years of monthly installments; keeps a preview cheap

_CHOICES = {
    "repayment_frequency": REPAYMENT_FREQUENCIES,
    "interest_method": INTEREST_METHODS,
    "amortization": AMORTIZATIONS,
    "interest_calculation": INTEREST_CALCULATIONS,
    "schedule_engine": SCHEDULE_ENGINES,
    "days_in_year": DAYS_IN_YEAR,
    "days_in_month": DAYS_IN_MONTH,
}
_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "schedule_engine": "cumulative",
    "first_repayment_date": None,
    "grace_on_principal": 0,
    "grace_on_interest_payment": 0,
    "grace_on_interest_charged": 0,
    "installment_multiple": None,
    "currency_multiple": None,
}
_REQUIRED_KEYS = (
    "principal",
    "currency",
    "annual_interest_rate",
    "number_of_repayments",
    "repayment_every",
    "repayment_frequency",
    "interest_method",
    "amortization",
    "interest_calculation",
    "days_in_year",
    "days_in_month",
    "disbursement_date",
)
CONTRACT_KEYS = (*_REQUIRED_KEYS, *_OPTIONAL_DEFAULTS)  # in the order errors are reported


class _Invalid(Exception):
    """One field's value is unusable; the message is shown to the caller."""


def parse_preview_input(data: dict) -> ScheduleTerms:
    """Validate the preview JSON object and build the ScheduleTerms it describes.

    Raises ``ValidationError`` with a ``{field: [message]}`` dict naming every bad, missing or
    unknown field.
    """
    if not isinstance(data, dict):
        raise ValidationError({"__all__": ["Expected a JSON object."]})
    errors: dict[str, list[str]] = {}

    parsers: dict[str, Callable[[Any], Any]] = {
        "principal": _positive_decimal,
        "currency": _currency,
        "annual_interest_rate": _rate,
        "number_of_repayments": _repayment_count,
        "repayment_every": _positive_int,
        "disbursement_date": _iso_date,
        "first_repayment_date": _iso_date,
        "grace_on_principal": _non_negative_int,
        "grace_on_interest_payment": _non_negative_int,
        "grace_on_interest_charged": _non_negative_int,
        "installment_multiple": _positive_int,
        "currency_multiple": _positive_int,
    }
    for name, allowed in _CHOICES.items():
        parsers[name] = _choice(allowed)

    values: dict[str, Any] = {}
    for name in _REQUIRED_KEYS:
        if data.get(name) is None:
            errors[name] = [REQUIRED]
    for name in CONTRACT_KEYS:
        raw = data.get(name)
        if raw is None:
            if name in _OPTIONAL_DEFAULTS:
                values[name] = _OPTIONAL_DEFAULTS[name]
            continue
        try:
            values[name] = parsers[name](raw)
        except _Invalid as exc:
            errors[name] = [str(exc)]

    _check_relations(values, errors)
    for key in sorted(set(data) - set(CONTRACT_KEYS), key=str):
        errors[str(key)] = ["Unknown field."]
    if errors:
        ordered = {name: errors[name] for name in CONTRACT_KEYS if name in errors}
        raise ValidationError({**ordered, **errors})
    try:
        return ScheduleTerms(**values)
    except ScheduleError as exc:  # a rule of the engine the checks above do not know yet
        raise ValidationError({"__all__": [str(exc)]}) from exc


def schedule_to_json(schedule: Schedule) -> dict:
    """The preview output: amounts as decimal strings at the currency's precision, ISO dates."""

    def amount(value: Decimal) -> str:
        text = str(round_money(value, schedule.currency))
        return text[1:] if text.startswith("-") and Decimal(text) == 0 else text

    return {
        "installments": [
            {
                "number": installment.number,
                "due_date": installment.due_date.isoformat(),
                "principal": amount(installment.principal),
                "interest": amount(installment.interest),
                "fees": amount(installment.fees),
                "total": amount(installment.total),
                "balance": amount(installment.balance),
            }
            for installment in schedule.installments
        ],
        "total_principal": amount(schedule.total_principal),
        "total_interest": amount(schedule.total_interest),
        "total_repayment": amount(schedule.total_repayment),
    }


# --- field parsers ------------------------------------------------------------------------------


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Invalid("Enter a number.")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise _Invalid("Enter a number.") from exc
    if not value.is_finite():
        raise _Invalid("Enter a number.")
    return value


def _positive_decimal(raw: Any) -> Decimal:
    value = _decimal(raw)
    if value <= 0:
        raise _Invalid("Ensure this value is greater than 0.")
    return value


def _rate(raw: Any) -> Decimal:
    value = _decimal(raw)
    if value < 0:
        raise _Invalid("Ensure this value is greater than or equal to 0.")
    return value


def _int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise _Invalid("Enter a whole number.")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    raise _Invalid("Enter a whole number.")


def _positive_int(raw: Any) -> int:
    value = _int(raw)
    if value < 1:
        raise _Invalid("Ensure this value is greater than or equal to 1.")
    return value


def _non_negative_int(raw: Any) -> int:
    value = _int(raw)
    if value < 0:
        raise _Invalid("Ensure this value is greater than or equal to 0.")
    return value


def _repayment_count(raw: Any) -> int:
    value = _positive_int(raw)
    if value > MAX_REPAYMENTS:
        raise _Invalid(f"Ensure this value is less than or equal to {MAX_REPAYMENTS}.")
    return value


def _currency(raw: Any) -> str:
    if not isinstance(raw, str) or raw not in CURRENCY_DECIMALS:
        raise _Invalid(f"Unknown currency; use one of {', '.join(sorted(CURRENCY_DECIMALS))}.")
    return raw


def _choice(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        # days in year/month may come as JSON numbers (360, 30)
        value = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if not isinstance(value, str) or value not in allowed:
            raise _Invalid(f"Select one of: {', '.join(allowed)}.")
        return value

    return parse


def _iso_date(raw: Any) -> date:
    if not isinstance(raw, str):
        raise _Invalid("Enter a date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise _Invalid("Enter a date as YYYY-MM-DD.") from exc


# --- rules between fields ---------------------------------------------------------------------


def _check_relations(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    def add(field: str, message: str) -> None:
        if field not in errors:
            errors[field] = [message]

    currency = values.get("currency")
    principal = values.get("principal")
    if currency and principal is not None:
        places = CURRENCY_DECIMALS[currency]
        if principal != round_money(principal, currency):
            add(
                "principal",
                f"Ensure there are no more than {places} decimal places for {currency}.",
            )

    count = values.get("number_of_repayments")
    if count is not None:
        for name in (
            "grace_on_principal",
            "grace_on_interest_payment",
            "grace_on_interest_charged",
        ):
            grace = values.get(name)
            if grace is not None and grace >= count:
                add(name, "Ensure this value is less than number_of_repayments.")

        payment_grace = values.get("grace_on_interest_payment") or 0
        interest_free = values.get("grace_on_interest_charged") or 0
        if (
            values.get("interest_method") == "flat"
            and values.get("amortization") == "equal_installments"
            and payment_grace + interest_free >= count
        ):
            add(
                "grace_on_interest_charged",
                "With flat equal installments, grace_on_interest_payment plus this value must be "
                "less than number_of_repayments.",
            )

    first, disbursed = values.get("first_repayment_date"), values.get("disbursement_date")
    if first is not None and disbursed is not None and first <= disbursed:
        add("first_repayment_date", "The first repayment must fall after the disbursement date.")

    multiple = values.get("currency_multiple")
    if multiple is not None and currency:
        if CURRENCY_DECIMALS[currency] != 0:
            add(
                "currency_multiple",
                f"Only for currencies without minor unit (e.g. XOF); {currency} has cents.",
            )
        elif principal is not None and principal % multiple:
            add("principal", f"Ensure this value is a multiple of {multiple}.")

    if values.get("schedule_engine") == "progressive":
        if values.get("interest_method") == "flat":
            add("interest_method", "The progressive engine needs declining_balance.")
        if values.get("amortization") == "equal_principal":
            add("amortization", "The progressive engine needs equal_installments.")
        for name in (
            "grace_on_principal",
            "grace_on_interest_payment",
            "grace_on_interest_charged",
        ):
            if values.get(name):
                add(name, "The progressive engine does not support grace periods.")
