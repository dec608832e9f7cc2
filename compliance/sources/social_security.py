"""Social Security Institute (INPS): each employer's contribution status for a month."""

from __future__ import annotations

from collections.abc import Sequence

from compliance.choices import SourceKind
from compliance.sources.base import (
    FAST_AMOUNT,
    FAST_COUNT,
    FAST_CURRENCY,
    FAST_DATE,
    FAST_NIF,
    FAST_SSN,
    FAST_TEXT,
    SourceAdapter,
    amount_value,
    choice_value,
    count_value,
    currency_value,
    date_value,
    nif_value,
    ssn_value,
    text_value,
)

STATUSES = frozenset({"regular", "irregular"})


class SocialSecurityAdapter(SourceAdapter):
    """Keyed on the social security number (the record's ``registry_number``) and the NIF."""

    kind = SourceKind.SOCIAL_SECURITY
    fields = (
        "ssn",
        "nif",
        "name",
        "as_of",
        "status",
        "months_in_arrears",
        "amount_due",
        "currency",
        "declared_employees",
    )
    list_path = "/api/v1/contributions"
    subject_path = "/api/v1/contributions/{key}"
    subject_identifier = "social_security_number"
    matches_registry_number = True
    fast_line = (
        f"{FAST_SSN},{FAST_NIF},{FAST_TEXT},{FAST_DATE},(?:regular|irregular),{FAST_COUNT},"
        f"{FAST_AMOUNT},{FAST_CURRENCY},{FAST_COUNT}"
    )
    record_sql = {
        "nif": "nif",
        "registry_number": "ssn",
        "as_of": "as_of::date",
        "valid_until": "NULL::date",
        "status": "status",
        "data": (
            "jsonb_build_object('name', name, 'months_in_arrears', months_in_arrears::integer, "
            "'amount_due', amount_due, 'currency', currency, "
            "'declared_employees', declared_employees::integer, "
            "'employees', declared_employees::integer)"
        ),
    }

    def validate(self, values: Sequence[str]) -> tuple[str | None, ...]:
        ssn, nif, name, as_of, status, months, amount_due, currency, employees = values
        return (
            ssn_value(ssn),
            nif_value(nif),
            text_value(name, "name"),
            date_value(as_of, "as_of"),
            choice_value(status, "status", STATUSES),
            count_value(months, "months_in_arrears"),
            amount_value(amount_due, "amount_due"),
            currency_value(currency),
            count_value(employees, "declared_employees"),
        )
