"""Revenue authority (DNRE): each taxpayer's tax situation and compliance certificate."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from compliance.choices import SourceKind
from compliance.sources.base import (
    FAST_AMOUNT,
    FAST_CODE,
    FAST_CURRENCY,
    FAST_DATE,
    FAST_NIF,
    FAST_TEXT,
    RowInvalid,
    SourceAdapter,
    amount_value,
    choice_value,
    currency_value,
    date_value,
    is_date,
    nif_value,
    text_value,
)

STATUSES = frozenset({"regular", "irregular"})


class RevenueAdapter(SourceAdapter):
    """Keyed on the NIF. The certificate's ``valid_until`` becomes the record's validity."""

    kind = SourceKind.REVENUE
    fields = (
        "nif",
        "name",
        "as_of",
        "status",
        "certificate_number",
        "issued_on",
        "valid_until",
        "tax_debt",
        "currency",
    )
    list_path = "/api/v1/tax-compliance"
    subject_path = "/api/v1/tax-compliance/{key}"
    fast_line = (
        f"{FAST_NIF},{FAST_TEXT},{FAST_DATE},(?:regular|irregular),{FAST_CODE}{{0,40}},"
        f"{FAST_DATE}?,{FAST_DATE}?,{FAST_AMOUNT},{FAST_CURRENCY}"
    )
    record_sql = {
        "nif": "nif",
        "registry_number": "''",
        "as_of": "as_of::date",
        "valid_until": "nullif(valid_until, '')::date",
        "status": "status",
        "data": (
            "jsonb_build_object('name', name, 'certificate_number', nullif(certificate_number, ''), "
            "'certificate', nullif(certificate_number, ''), 'issued_on', nullif(issued_on, ''), "
            "'tax_debt', tax_debt, 'amount_due', tax_debt, 'currency', currency)"
        ),
    }

    fast_batches = False  # valid_until may not precede issued_on: checked line by line

    def fast_dates_ok(self, dates: tuple[str | None, ...]) -> bool:
        as_of, issued, valid = dates
        return (
            is_date(as_of)
            and (not issued or is_date(issued))
            and (not valid or is_date(valid))
            and not (issued and valid and valid < issued)
        )

    def validate(self, values: Sequence[str]) -> tuple[str | None, ...]:
        nif, name, as_of, status, certificate, issued_on, valid_until, tax_debt, currency = values
        issued = date_value(issued_on, "issued_on", required=False)
        valid = date_value(valid_until, "valid_until", required=False)
        if issued and valid and valid < issued:
            raise RowInvalid(_("valid_until: before issued_on"))
        return (
            nif_value(nif),
            text_value(name, "name"),
            date_value(as_of, "as_of"),
            choice_value(status, "status", STATUSES),
            text_value(certificate, "certificate_number", max_length=40),
            issued,
            valid,
            amount_value(tax_debt, "tax_debt"),
            currency_value(currency),
        )
