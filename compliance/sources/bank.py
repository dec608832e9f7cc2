"""Commercial banks: one record per credit facility (account) of a borrower, per month."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from compliance.choices import SourceKind
from compliance.sources.base import (
    FAST_AMOUNT,
    FAST_CODE,
    FAST_COUNT,
    FAST_CURRENCY,
    FAST_DATE,
    FAST_NIF,
    RowInvalid,
    SourceAdapter,
    amount_value,
    choice_value,
    count_value,
    currency_value,
    date_value,
    nif_value,
    text_value,
)
from compliance.sources.http import SourceRefused

# ``none``: the bank answered that it holds no facility of this borrower (see unwrap_subject).
NO_FACILITY = "none"
STATUSES = frozenset({"current", "arrears", NO_FACILITY})


class BankAdapter(SourceAdapter):
    """Keyed on the NIF; the account is the ``registry_number``, so each facility has its own
    history. Rows of another bank than the source's are refused."""

    kind = SourceKind.BANK
    fields = (
        "bank_code",
        "nif",
        "account",
        "as_of",
        "outstanding",
        "currency",
        "days_past_due",
        "status",
    )
    list_path = "/api/v1/credit-status"
    subject_path = "/api/v1/credit-status/{key}"
    record_sql = {
        "nif": "nif",
        "registry_number": "account",
        "as_of": "as_of::date",
        "valid_until": "NULL::date",
        "status": "status",
        "data": (
            "jsonb_build_object('bank_code', bank_code, 'account', account, "
            "'outstanding', outstanding, 'currency', currency, "
            "'days_past_due', days_past_due::integer)"
        ),
    }

    def fast_pattern(self) -> str:
        bank_code = re.escape(self.source.bank_code.upper()) or "[A-Z0-9]{1,20}"
        return (
            f"{bank_code},{FAST_NIF},{FAST_CODE}{{1,30}},{FAST_DATE},{FAST_AMOUNT},"
            f"{FAST_CURRENCY},{FAST_COUNT},(?:current|arrears)"
        )

    def validate(self, values: Sequence[str]) -> tuple[str | None, ...]:
        bank_code, nif, account, as_of, outstanding, currency, days_past_due, status = values
        bank_code = text_value(bank_code, "bank_code", required=True, max_length=20).upper()
        expected = self.source.bank_code.upper()
        if expected and bank_code != expected:
            raise RowInvalid(
                _("bank_code: %(found)s is not this source's bank (%(expected)s)")
                % {"found": bank_code, "expected": expected}
            )
        return (
            bank_code,
            nif_value(nif),
            text_value(account, "account", required=True, max_length=30),
            date_value(as_of, "as_of"),
            amount_value(outstanding, "outstanding"),
            currency_value(currency),
            count_value(days_past_due, "days_past_due"),
            choice_value(status, "status", STATUSES),
        )

    def unwrap_subject(self, payload: Any) -> list[Any]:
        facilities = payload.get("facilities") if isinstance(payload, dict) else None
        if not isinstance(facilities, list):
            raise SourceRefused(_("The bank's answer has no list of facilities."))
        if facilities:
            return facilities
        # "No facility here" is evidence too: without it such a borrower stays unknown.
        return [
            {
                "bank_code": self.source.bank_code.upper(),
                "nif": payload.get("nif", ""),
                "account": "-",
                "as_of": payload.get("as_of", ""),
                "outstanding": "0.00",
                "currency": "CVE",
                "days_past_due": 0,
                "status": NO_FACILITY,
            }
        ]
