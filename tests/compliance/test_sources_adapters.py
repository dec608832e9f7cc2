"""Adapters without the database: validation reasons, normalisation like ``crm`` does, and the
fast path of month files accepting only values that validation would leave unchanged."""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from compliance.choices import SourceKind
from compliance.models import Source
from compliance.sources import ADAPTERS, RowInvalid, adapter_for
from compliance.sources.base import record_values
from sandbox import data

AS_OF = datetime.date(2026, 10, 31)
MONTH = {
    SourceKind.SOCIAL_SECURITY: (data.social_security_records, data.SOCIAL_SECURITY_FIELDS),
    SourceKind.REVENUE: (data.revenue_records, data.REVENUE_FIELDS),
    SourceKind.BANK: (lambda as_of: data.bank_records("BCA", as_of), data.BANK_FIELDS),
}


def _adapter(kind: str):
    return adapter_for(Source(kind=kind, code=kind, bank_code="BCA"))


@pytest.mark.parametrize("kind", list(ADAPTERS))
def test_the_fast_path_takes_only_lines_validation_leaves_unchanged(kind):
    # given
    adapter = _adapter(kind)
    records, fields = MONTH[kind]
    lines = data.csv_text(records(AS_OF), fields).splitlines(keepends=True)[1:]
    # when
    fast = [line for line in lines if adapter.fast_match(line)]
    # then
    assert len(fast) == sum('"' not in line for line in lines)  # quoted names go the long way
    for line in fast:
        values = next(csv.reader(io.StringIO(line)))
        canonical = ["" if value is None else value for value in adapter.validate(values)]
        assert canonical == values


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("700001,100000001,Maria,2026-02-30,regular,0,0.00,CVE,1\n", None),
        ("700001,100000001,Maria,2028-02-29,regular,0,0.00,CVE,1\n", None),
        ("700001,100000001,Maria,2026-10-31,Regular,0,0.00,CVE,1\n", None),
        ("700001,100000001,Maria,2026-10-31,regular,00,0.00,CVE,1\n", None),
        ("700001,100000001,Maria,2026-10-31,regular,0,0.0,CVE,1\n", None),
        ("700001,100000001,Maria,2026-10-31,regular,0,0.00,CVE,1\n", "fast"),
    ],
)
def test_only_canonical_lines_take_the_fast_path(line, reason):
    # given
    adapter = _adapter(SourceKind.SOCIAL_SECURITY)
    # when
    fast = adapter.fast_match(line) is not None
    # then
    assert fast == (reason == "fast")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            [
                "700 001",
                "100.000.001",
                "Maria",
                "2026-10-31",
                "IRREGULAR",
                "03",
                "9000.5",
                "CVE",
                "7",
            ],
            ("700001", "100000001", "Maria", "2026-10-31", "irregular", "3", "9000.50", "CVE", "7"),
        ),
        (
            ["700001", "100000001", "", "2026-10-31", "regular", "0", "0", "CVE", "0"],
            ("700001", "100000001", "", "2026-10-31", "regular", "0", "0.00", "CVE", "0"),
        ),
    ],
)
def test_social_security_values_are_normalised(values, expected):
    assert _adapter(SourceKind.SOCIAL_SECURITY).validate(values) == expected


@pytest.mark.parametrize(
    ("kind", "record", "reason"),
    [
        (
            SourceKind.SOCIAL_SECURITY,
            {"ssn": "70", "nif": "100000001"},
            "ssn: not a social security number of 6 to 12 digits ('70')",
        ),
        (
            SourceKind.SOCIAL_SECURITY,
            {
                "ssn": "700001",
                "nif": "100000001",
                "as_of": "2026-10-31",
                "status": "regular",
                "months_in_arrears": "-1",
            },
            "months_in_arrears: not a whole number from 0 to 1,000,000 ('-1')",
        ),
        (
            SourceKind.REVENUE,
            {
                "nif": "100000001",
                "as_of": "2026-10-31",
                "status": "regular",
                "issued_on": "2026-09-06",
                "valid_until": "2026-09-01",
            },
            "valid_until: before issued_on",
        ),
        (
            SourceKind.REVENUE,
            {
                "nif": "100000001",
                "as_of": "2026-10-31",
                "status": "regular",
                "tax_debt": "0.00",
                "currency": "cve",
            },
            "currency: not an ISO 4217 currency code ('cve')",
        ),
        (
            SourceKind.BANK,
            {"bank_code": "CECV", "nif": "100000001"},
            "bank_code: CECV is not this source's bank (BCA)",
        ),
        (
            SourceKind.BANK,
            {
                "bank_code": "BCA",
                "nif": "100000001",
                "account": "A",
                "as_of": "2026-10-31",
                "outstanding": "1.00",
                "currency": "CVE",
                "days_past_due": True,
            },
            "days_past_due: not a single value ('true')",
        ),
        (SourceKind.REVENUE, ["not", "an", "object"], "not a JSON object"),
    ],
)
def test_invalid_records_say_why(kind, record, reason):
    # given
    adapter = _adapter(kind)
    # when
    with pytest.raises(RowInvalid) as invalid:
        adapter.validate(record_values(record, adapter.fields))
    # then
    assert str(invalid.value) == reason
