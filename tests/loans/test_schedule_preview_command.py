"""``manage.py schedule_preview``: JSON terms in, JSON schedule out, exit status 1 on bad input.

The preview touches no table, so these tests run without the database.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from loans.preview import parse_preview_input, schedule_to_json
from loans.schedule import generate_schedule

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Fineract e2e LoanRepayment.feature C2490 "RS01": 5000 EUR flat 12 %, 18 months, multiples of 1
FLAT_REFERENCE_INPUT = {
    "principal": "5000",
    "currency": "EUR",
    "annual_interest_rate": "12",
    "number_of_repayments": 18,
    "repayment_every": 1,
    "repayment_frequency": "months",
    "interest_method": "flat",
    "amortization": "equal_installments",
    "interest_calculation": "same_as_repayment_period",
    "schedule_engine": "cumulative",
    "days_in_year": "actual",
    "days_in_month": "actual",
    "disbursement_date": "2022-11-01",
    "first_repayment_date": "2022-12-01",
    "grace_on_principal": 0,
    "grace_on_interest_payment": 0,
    "grace_on_interest_charged": 0,
    "installment_multiple": 1,
}


def _flat_reference_due_dates() -> list[str]:
    months = [(2022, 12)] + [(2023, m) for m in range(1, 13)] + [(2024, m) for m in range(1, 6)]
    return [f"{year:04d}-{month:02d}-01" for year, month in months]


FLAT_REFERENCE_OUTPUT = {
    "installments": [
        {
            "number": number,
            "due_date": due_date,
            "principal": "278.00" if number < 18 else "274.00",
            "interest": "50.00",
            "fees": "0.00",
            "total": "328.00" if number < 18 else "324.00",
            "balance": f"{max(5000 - 278 * number, 0)}.00",
        }
        for number, due_date in enumerate(_flat_reference_due_dates(), start=1)
    ],
    "total_principal": "5000.00",
    "total_interest": "900.00",
    "total_repayment": "5900.00",
}


def run_preview(monkeypatch, stdin_text: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin_text))
    out = io.StringIO()
    call_command("schedule_preview", stdout=out)
    return out.getvalue()


def test_flat_reference_case_is_written_as_json(monkeypatch):
    # given
    stdin_text = json.dumps(FLAT_REFERENCE_INPUT)
    # when
    output = run_preview(monkeypatch, stdin_text)
    # then
    assert json.loads(output) == FLAT_REFERENCE_OUTPUT


def test_output_has_exactly_the_contract_keys(monkeypatch):
    # given
    stdin_text = json.dumps(FLAT_REFERENCE_INPUT)
    # when
    payload = json.loads(run_preview(monkeypatch, stdin_text))
    # then
    assert list(payload) == ["installments", "total_principal", "total_interest", "total_repayment"]
    assert list(payload["installments"][0]) == [
        "number",
        "due_date",
        "principal",
        "interest",
        "fees",
        "total",
        "balance",
    ]


def test_invalid_input_exits_with_status_1_naming_the_fields(monkeypatch):
    # given
    bad = {**FLAT_REFERENCE_INPUT, "principal": "-5", "currency": "GBP", "colour": "red"}
    del bad["disbursement_date"]
    # when
    with pytest.raises(CommandError) as raised:
        run_preview(monkeypatch, json.dumps(bad))
    # then
    assert raised.value.returncode == 1
    message = str(raised.value)
    for field in ("principal", "currency", "colour", "disbursement_date"):
        assert f"{field}:" in message


def test_malformed_json_exits_with_status_1(monkeypatch):
    # when
    with pytest.raises(CommandError) as raised:
        run_preview(monkeypatch, "{not json")
    # then
    assert raised.value.returncode == 1
    assert "Invalid JSON" in str(raised.value)


def test_manage_py_end_to_end():
    # given
    command = [sys.executable, "manage.py", "schedule_preview"]
    # when
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command,
        input=json.dumps(FLAT_REFERENCE_INPUT),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    # then
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == FLAT_REFERENCE_OUTPUT


def test_manage_py_end_to_end_rejects_bad_input_on_stderr():
    # given
    command = [sys.executable, "manage.py", "schedule_preview"]
    bad = {**FLAT_REFERENCE_INPUT, "number_of_repayments": 0}
    # when
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command,
        input=json.dumps(bad),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    # then
    assert done.returncode == 1
    assert done.stdout == ""
    assert "number_of_repayments" in done.stderr


# --- the JSON contract without the command ------------------------------------------------------


def errors_for(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        parse_preview_input(data)
    return raised.value.message_dict


def test_defaults_for_optional_fields():
    # given
    data = {
        key: value
        for key, value in FLAT_REFERENCE_INPUT.items()
        if key
        not in {
            "schedule_engine",
            "first_repayment_date",
            "grace_on_principal",
            "grace_on_interest_payment",
            "grace_on_interest_charged",
            "installment_multiple",
        }
    }
    # when
    terms = parse_preview_input(data)
    # then
    assert terms.schedule_engine == "cumulative"
    assert terms.first_repayment_date is None
    assert (terms.grace_on_principal, terms.grace_on_interest_payment) == (0, 0)
    assert terms.grace_on_interest_charged == 0
    assert terms.installment_multiple is None
    assert terms.currency_multiple is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"principal": "-1"}, "principal", "greater than 0"),
        ({"principal": "abc"}, "principal", "Enter a number"),
        ({"principal": "10.001"}, "principal", "no more than 2 decimal places"),
        ({"currency": "GBP"}, "currency", "Unknown currency"),
        ({"annual_interest_rate": "-0.5"}, "annual_interest_rate", "greater than or equal to 0"),
        ({"number_of_repayments": 0}, "number_of_repayments", "greater than or equal to 1"),
        ({"number_of_repayments": "twelve"}, "number_of_repayments", "whole number"),
        ({"number_of_repayments": True}, "number_of_repayments", "whole number"),
        ({"repayment_every": 1.5}, "repayment_every", "whole number"),
        ({"repayment_frequency": "years"}, "repayment_frequency", "Select one of"),
        ({"interest_method": "compound"}, "interest_method", "Select one of"),
        ({"amortization": "balloon"}, "amortization", "Select one of"),
        ({"interest_calculation": "hourly"}, "interest_calculation", "Select one of"),
        ({"schedule_engine": "turbo"}, "schedule_engine", "Select one of"),
        ({"days_in_year": "366"}, "days_in_year", "Select one of"),
        ({"days_in_month": "31"}, "days_in_month", "Select one of"),
        ({"disbursement_date": "01/11/2022"}, "disbursement_date", "YYYY-MM-DD"),
        ({"first_repayment_date": "2022-10-01"}, "first_repayment_date", "after the disbursement"),
        ({"grace_on_principal": 18}, "grace_on_principal", "less than number_of_repayments"),
        ({"grace_on_interest_payment": -1}, "grace_on_interest_payment", "greater than or equal"),
        ({"grace_on_interest_charged": 18}, "grace_on_interest_charged", "less than number_of"),
        ({"installment_multiple": 0}, "installment_multiple", "greater than or equal to 1"),
        ({"currency_multiple": 5}, "currency_multiple", "without minor unit"),
        ({"nickname": "x"}, "nickname", "Unknown field"),
        ({"schedule_engine": "progressive"}, "interest_method", "declining_balance"),
    ],
)
def test_each_bad_field_is_reported(changes, field, message):
    # when
    errors = errors_for({**FLAT_REFERENCE_INPUT, **changes})
    # then
    assert list(errors) == [field]
    assert message in errors[field][0]


def test_every_missing_required_field_is_reported_at_once():
    # when
    errors = errors_for({})
    # then
    assert list(errors) == [
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
    ]
    assert all(messages == ["This field is required."] for messages in errors.values())


def test_numbers_may_come_as_json_numbers():
    # given
    data = {
        **FLAT_REFERENCE_INPUT,
        "principal": 5000,
        "annual_interest_rate": 12.5,
        "days_in_year": 365,
        "days_in_month": 30,
    }
    # when
    terms = parse_preview_input(data)
    # then
    assert str(terms.principal) == "5000"
    assert str(terms.annual_interest_rate) == "12.5"
    assert (terms.days_in_year, terms.days_in_month) == ("365", "30")


def test_xof_amounts_have_no_decimals():
    # given
    data = {
        **FLAT_REFERENCE_INPUT,
        "principal": "100000",
        "currency": "XOF",
        "currency_multiple": 5,
        "number_of_repayments": 3,
    }
    # when
    payload = schedule_to_json(generate_schedule(parse_preview_input(data)))
    # then: 100000 / 3 = 33333.33 goes to the nearest multiple of 5 (Fineract's Money), the last
    # installment takes the rest
    assert [i["principal"] for i in payload["installments"]] == ["33335", "33335", "33330"]
    assert [i["interest"] for i in payload["installments"]] == ["1000", "1000", "1000"]
    assert payload["total_repayment"] == "103000"
