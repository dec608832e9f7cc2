"""Financial reports: exact figures, CSV and PDF output, branch scoping, permissions, form errors.

The ledger is built with the real services: the default chart, then manual entries drafted by
the accountant and approved by the manager (maker-checker), all dated in 2026.
"""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounting.models import Account
from tests.accounting.factories import (
    BANK,
    SHARE_CAPITAL,
    cash_account,
    chart,
    debit_credit,
    post_manual,
)


def _url(slug: str) -> str:
    return reverse("accounting:report", args=[slug])


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def _pdf_text(response) -> str:
    """The text of a PDF response; skips the test where poppler's pdftotext is missing."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF text is not checked")
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def ledger(accountant, manager, head_office, praia, mindelo):
    """Seven entries in three branches. Cash accounts: 1101 head office, 1102 Praia, 1103
    Mindelo (numbered in branch creation order)."""
    chart()
    cash_praia, cash_mindelo = cash_account(praia).code, cash_account(mindelo).code

    def post(branch, day, description, debit, credit, amount):
        rows = debit_credit(debit, credit, amount)
        return post_manual(
            accountant, manager, branch, datetime.date(2026, *day), rows, description=description
        )

    return {
        "capital": post(head_office, (1, 2), "Paid-in capital", BANK, SHARE_CAPITAL, "1000000.00"),
        "to_praia": post(praia, (2, 3), "Cash to Praia", cash_praia, BANK, "250000.50"),
        "to_mindelo": post(mindelo, (2, 3), "Cash to Mindelo", cash_mindelo, BANK, "180000.25"),
        "rent_praia": post(praia, (3, 5), "Rent Praia", "5200", cash_praia, "35000.00"),
        "salaries_mindelo": post(
            mindelo, (3, 25), "Salaries Mindelo", "5100", cash_mindelo, "90000.00"
        ),
        "income_praia": post(praia, (4, 10), "Sundry income Praia", cash_praia, "4900", "12345.67"),
        "interest": post(head_office, (6, 30), "Interest on credit line", "5500", BANK, "4500.00"),
    }


TRIAL_BALANCE_CSV = [
    ["Code", "Account", "Type", "Debit", "Credit"],
    ["1102", "Cash — Praia", "Asset", "227346.17", "0.00"],
    ["1103", "Cash — Mindelo", "Asset", "90000.25", "0.00"],
    ["1150", "Bank — head office", "Asset", "565499.25", "0.00"],
    ["3100", "Share capital", "Equity", "0.00", "1000000.00"],
    ["4900", "Other income", "Income", "0.00", "12345.67"],
    ["5100", "Salaries", "Expense", "90000.00", "0.00"],
    ["5200", "Rent", "Expense", "35000.00", "0.00"],
    ["5500", "Interest on borrowings", "Expense", "4500.00", "0.00"],
    ["", "Total", "", "1012345.67", "1012345.67"],
]


def test_the_trial_balance_lists_every_balance_and_equal_totals(client, accountant, ledger):
    # given
    client.force_login(accountant)
    # when
    response = client.get(_url("trial-balance"), {"date": "2026-11-22"})
    # then
    assert response.status_code == 200
    report = response.context["report"]
    assert [
        (row.values.get("code"), row.values.get("debit"), row.values.get("credit"))
        for row in report.rows
    ] == [
        ("1102", Decimal("227346.17"), Decimal("0")),
        ("1103", Decimal("90000.25"), Decimal("0")),
        ("1150", Decimal("565499.25"), Decimal("0")),
        ("3100", Decimal("0"), Decimal("1000000.00")),
        ("4900", Decimal("0"), Decimal("12345.67")),
        ("5100", Decimal("90000.00"), Decimal("0")),
        ("5200", Decimal("35000.00"), Decimal("0")),
        ("5500", Decimal("4500.00"), Decimal("0")),
        (None, Decimal("1012345.67"), Decimal("1012345.67")),
    ]
    content = response.content.decode()
    assert "1,012,345.67" in content
    assert "table-responsive" in content
    assert report.alerts == []


def test_the_trial_balance_at_an_earlier_date_leaves_later_entries_out(client, accountant, ledger):
    # given
    client.force_login(accountant)
    # when
    response = client.get(_url("trial-balance"), {"date": "2026-03-31", "format": "csv"})
    # then
    assert _csv(response) == [
        ["Code", "Account", "Type", "Debit", "Credit"],
        ["1102", "Cash — Praia", "Asset", "215000.50", "0.00"],
        ["1103", "Cash — Mindelo", "Asset", "90000.25", "0.00"],
        ["1150", "Bank — head office", "Asset", "569999.25", "0.00"],
        ["3100", "Share capital", "Equity", "0.00", "1000000.00"],
        ["5100", "Salaries", "Expense", "90000.00", "0.00"],
        ["5200", "Rent", "Expense", "35000.00", "0.00"],
        ["", "Total", "", "1000000.00", "1000000.00"],
    ]


def test_the_trial_balance_csv_has_a_header_row_plain_amounts_and_a_dated_name(
    client, accountant, ledger
):
    # given
    client.force_login(accountant)
    # when
    response = client.get(_url("trial-balance"), {"date": "2026-11-22", "format": "csv"})
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="trial-balance-2026-11-22.csv"'
    )
    assert _csv(response) == TRIAL_BALANCE_CSV


def test_the_general_ledger_runs_from_the_opening_to_the_closing_balance(
    client, accountant, ledger
):
    # given
    client.force_login(accountant)
    cash_praia = Account.objects.get(code="1102")
    rent, income = ledger["rent_praia"], ledger["income_praia"]
    # when
    response = client.get(
        _url("general-ledger"),
        {
            "account": cash_praia.pk,
            "date_from": "2026-03-01",
            "date_to": "2026-11-22",
            "format": "csv",
        },
    )
    # then
    assert response["Content-Disposition"] == (
        'attachment; filename="general-ledger-1102-2026-03-01-2026-11-22.csv"'
    )
    assert _csv(response) == [
        ["Date", "Entry", "Description", "Debit", "Credit", "Balance"],
        ["2026-03-01", "", "Opening balance", "", "", "250000.50"],
        ["2026-03-05", str(rent.number), "Rent Praia", "0.00", "35000.00", "215000.50"],
        ["2026-04-10", str(income.number), "Sundry income Praia", "12345.67", "0.00", "227346.17"],
        ["", "", "Movements of the period", "12345.67", "35000.00", ""],
        ["2026-11-22", "", "Closing balance", "", "", "227346.17"],
    ]


def test_the_general_ledger_page_links_each_line_to_its_entry(client, accountant, ledger):
    # given
    client.force_login(accountant)
    bank = Account.objects.get(code="1150")
    # when
    response = client.get(
        _url("general-ledger"),
        {"account": bank.pk, "date_from": "2026-01-01", "date_to": "2026-11-22"},
    )
    # then
    assert response.status_code == 200
    rows = response.context["report"].rows
    assert [row.values.get("balance") for row in rows if "balance" in row.values] == [
        Decimal("0"),
        Decimal("1000000.00"),
        Decimal("749999.50"),
        Decimal("569999.25"),
        Decimal("565499.25"),
        Decimal("565499.25"),
    ]
    content = response.content.decode()
    capital = ledger["capital"]
    assert f'<a href="/accounting/entries/{capital.pk}/">{capital.number}</a>' in content
    assert "565,499.25" in content


def test_the_general_ledger_of_a_credit_account_opens_at_zero_not_minus_zero(
    client, accountant, ledger
):
    # given
    client.force_login(accountant)
    capital = Account.objects.get(code="3100")
    # when
    response = client.get(
        _url("general-ledger"),
        {
            "account": capital.pk,
            "date_from": "2026-01-01",
            "date_to": "2026-11-22",
            "format": "csv",
        },
    )
    # then
    rows = _csv(response)
    assert rows[1] == ["2026-01-01", "", "Opening balance", "", "", "0.00"]
    assert rows[-1] == ["2026-11-22", "", "Closing balance", "", "", "1000000.00"]


def test_the_general_ledger_opens_without_errors_until_an_account_is_chosen(
    client, accountant, ledger
):
    # given
    client.force_login(accountant)
    # when
    response = client.get(_url("general-ledger"))
    # then
    assert response.status_code == 200
    assert response.context["report"] is None
    assert not response.context["form"].errors


def test_a_header_account_is_not_offered_in_the_general_ledger(client, accountant, ledger):
    # given
    client.force_login(accountant)
    header = Account.objects.get(code="11")
    # when
    response = client.get(_url("general-ledger"), {"account": header.pk})
    # then
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "account" in response.context["form"].errors


def test_the_journal_lists_entries_with_their_lines_and_totals(client, accountant, ledger):
    # given
    client.force_login(accountant)
    to_praia, to_mindelo = ledger["to_praia"], ledger["to_mindelo"]
    rent, salaries = ledger["rent_praia"], ledger["salaries_mindelo"]
    # when
    response = client.get(
        _url("journal"), {"date_from": "2026-02-01", "date_to": "2026-03-31", "format": "csv"}
    )
    # then
    assert _csv(response) == [
        ["Entry", "Date", "Branch", "Currency", "Description", "Account", "Debit", "Credit"],
        [
            str(to_praia.number),
            "2026-02-03",
            "Praia",
            "CVE",
            "Cash to Praia",
            "1102 Cash — Praia",
            "250000.50",
            "0.00",
        ],
        [
            str(to_praia.number),
            "2026-02-03",
            "Praia",
            "CVE",
            "Cash to Praia",
            "1150 Bank — head office",
            "0.00",
            "250000.50",
        ],
        [
            str(to_mindelo.number),
            "2026-02-03",
            "Mindelo",
            "CVE",
            "Cash to Mindelo",
            "1103 Cash — Mindelo",
            "180000.25",
            "0.00",
        ],
        [
            str(to_mindelo.number),
            "2026-02-03",
            "Mindelo",
            "CVE",
            "Cash to Mindelo",
            "1150 Bank — head office",
            "0.00",
            "180000.25",
        ],
        [
            str(rent.number),
            "2026-03-05",
            "Praia",
            "CVE",
            "Rent Praia",
            "5200 Rent",
            "35000.00",
            "0.00",
        ],
        [
            str(rent.number),
            "2026-03-05",
            "Praia",
            "CVE",
            "Rent Praia",
            "1102 Cash — Praia",
            "0.00",
            "35000.00",
        ],
        [
            str(salaries.number),
            "2026-03-25",
            "Mindelo",
            "CVE",
            "Salaries Mindelo",
            "5100 Salaries",
            "90000.00",
            "0.00",
        ],
        [
            str(salaries.number),
            "2026-03-25",
            "Mindelo",
            "CVE",
            "Salaries Mindelo",
            "1103 Cash — Mindelo",
            "0.00",
            "90000.00",
        ],
        ["", "", "", "CVE", "Total", "", "555000.75", "555000.75"],
    ]


def test_the_journal_page_shows_each_entry_once_with_a_link(client, accountant, ledger):
    # given
    client.force_login(accountant)
    rent = ledger["rent_praia"]
    # when
    response = client.get(_url("journal"), {"date_from": "2026-03-01", "date_to": "2026-03-31"})
    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert content.count(f'href="/accounting/entries/{rent.pk}/"') == 1
    assert content.count("Rent Praia") == 1
    assert "125,000.00" in content


BALANCE_SHEET_CSV = [
    ["Code", "Account", "Amount"],
    ["", "Assets", ""],
    ["1102", "Cash — Praia", "227346.17"],
    ["1103", "Cash — Mindelo", "90000.25"],
    ["1150", "Bank — head office", "565499.25"],
    ["", "Total assets", "882845.67"],
    ["", "Liabilities", ""],
    ["", "Total liabilities", "0.00"],
    ["", "Equity", ""],
    ["3100", "Share capital", "1000000.00"],
    ["", "Current result (income less expenses, not yet closed)", "-117154.33"],
    ["", "Total equity", "882845.67"],
    ["", "Total liabilities and equity", "882845.67"],
    ["", "Check: total assets − (liabilities + equity + current result)", "0.00"],
]


def test_the_balance_sheet_balances_with_the_current_result_in_equity(client, accountant, ledger):
    # given
    client.force_login(accountant)
    # when
    page = client.get(_url("balance-sheet"), {"date": "2026-11-22"})
    export = client.get(_url("balance-sheet"), {"date": "2026-11-22", "format": "csv"})
    # then
    assert page.status_code == 200
    assert page.context["report"].alerts == []
    assert "882,845.67" in page.content.decode()
    assert _csv(export) == BALANCE_SHEET_CSV


def test_the_income_statement_gives_the_result_of_the_period(client, accountant, ledger):
    # given
    client.force_login(accountant)
    # when
    year = client.get(
        _url("income-statement"),
        {"date_from": "2026-01-01", "date_to": "2026-11-22", "format": "csv"},
    )
    quarter = client.get(
        _url("income-statement"),
        {"date_from": "2026-04-01", "date_to": "2026-06-30", "format": "csv"},
    )
    # then
    assert _csv(year) == [
        ["Code", "Account", "Amount"],
        ["", "Income", ""],
        ["4900", "Other income", "12345.67"],
        ["", "Total income", "12345.67"],
        ["", "Expenses", ""],
        ["5100", "Salaries", "90000.00"],
        ["5200", "Rent", "35000.00"],
        ["5500", "Interest on borrowings", "4500.00"],
        ["", "Total expenses", "129500.00"],
        ["", "Result of the period (income − expenses)", "-117154.33"],
    ]
    assert _csv(quarter)[-1] == ["", "Result of the period (income − expenses)", "7845.67"]


def test_the_trial_balance_pdf_is_an_a4_document_with_totals_and_page_numbers(
    client, accountant, ledger
):
    # given
    client.force_login(accountant)
    # when
    response = client.get(_url("trial-balance"), {"date": "2026-11-22", "format": "pdf"})
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = _pdf_text(response)
    assert "Trial balance" in text
    assert "MFI platform · generated" in text
    assert "1,012,345.67" in text
    assert "Page 1 of 1" in text
    assert "Prepared by" in text and "Approved by" in text
    assert "2026-11-22" in text


@pytest.mark.parametrize("slug", ["journal", "balance-sheet", "income-statement"])
def test_every_report_renders_as_pdf(client, auditor, ledger, slug):
    # given
    client.force_login(auditor)
    # when
    response = client.get(
        _url(slug),
        {"format": "pdf", "date": "2026-11-22", "date_from": "2026-01-01", "date_to": "2026-11-22"},
    )
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("slug", ["trial-balance", "journal", "balance-sheet"])
def test_a_loan_officer_may_not_see_the_reports(client, loan_officer, ledger, slug):
    # given
    client.force_login(loan_officer)
    # when
    page = client.get(_url(slug))
    export = client.get(_url(slug), {"format": "csv"})
    # then
    assert (page.status_code, export.status_code) == (403, 403)


def test_a_branch_manager_of_praia_sees_only_praia_figures(client, branch_manager, ledger):
    # given
    client.force_login(branch_manager)
    # when
    response = client.get(_url("trial-balance"), {"date": "2026-11-22", "format": "csv"})
    page = client.get(_url("trial-balance"), {"date": "2026-11-22"})
    # then
    assert _csv(response) == [
        ["Code", "Account", "Type", "Debit", "Credit"],
        ["1102", "Cash — Praia", "Asset", "227346.17", "0.00"],
        ["1150", "Bank — head office", "Asset", "0.00", "250000.50"],
        ["4900", "Other income", "Income", "0.00", "12345.67"],
        ["5200", "Rent", "Expense", "35000.00", "0.00"],
        ["", "Total", "", "262346.17", "262346.17"],
    ]
    assert page.context["report"].facts[1][1] == "Praia"
    assert "Mindelo" not in page.content.decode()  # not even in the branch choices


def test_a_branch_manager_asking_for_another_branch_gets_a_form_error_and_no_figures(
    client, branch_manager, mindelo, ledger
):
    # given
    client.force_login(branch_manager)
    # when
    response = client.get(
        _url("journal"),
        {"branch": mindelo.pk, "date_from": "2026-01-01", "date_to": "2026-11-22", "format": "csv"},
    )
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.context["report"] is None
    assert response.context["form"].errors["branch"] == ["This branch is outside your scope."]
    assert "Salaries Mindelo" not in response.content.decode()


def test_a_branch_filter_limits_the_income_statement_to_that_branch(
    client, accountant, mindelo, ledger
):
    # given
    client.force_login(accountant)
    # when
    response = client.get(
        _url("income-statement"),
        {"branch": mindelo.pk, "date_from": "2026-01-01", "date_to": "2026-11-22", "format": "csv"},
    )
    # then
    assert _csv(response) == [
        ["Code", "Account", "Amount"],
        ["", "Income", ""],
        ["", "Total income", "0.00"],
        ["", "Expenses", ""],
        ["5100", "Salaries", "90000.00"],
        ["", "Total expenses", "90000.00"],
        ["", "Result of the period (income − expenses)", "-90000.00"],
    ]


def test_an_invalid_date_gives_a_form_error_not_a_report(client, accountant, ledger):
    # given
    client.force_login(accountant)
    # when
    response = client.get(_url("trial-balance"), {"date": "2026-13-45", "format": "pdf"})
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.context["report"] is None
    assert response.context["form"].errors["date"] == ["Enter a valid date."]
    assert "Enter a valid date." in response.content.decode()


def test_a_period_that_ends_before_it_starts_gives_a_form_error(client, accountant, ledger):
    # given
    client.force_login(accountant)
    # when
    response = client.get(
        _url("income-statement"), {"date_from": "2026-06-01", "date_to": "2026-05-01"}
    )
    # then
    assert response.status_code == 200
    assert response.context["report"] is None
    assert response.context["form"].errors["date_to"] == [
        "The end of the period is before its start."
    ]


def test_a_date_far_outside_the_calendar_gives_a_form_error(client, accountant, ledger):
    # given
    client.force_login(accountant)
    cash = Account.objects.get(code="1102")
    # when
    response = client.get(_url("general-ledger"), {"account": cash.pk, "date_from": "0001-01-01"})
    # then
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "date_from" in response.context["form"].errors


def test_an_unknown_report_is_not_found(client, accountant):
    # given
    client.force_login(accountant)
    # when
    response = client.get(_url("cash-flow"))
    # then
    assert response.status_code == 404


def test_the_trial_balance_page_keeps_a_fixed_query_count(
    client, accountant, manager, praia, ledger, django_assert_max_num_queries
):
    # given
    client.force_login(accountant)
    params = {"date": "2026-11-22"}
    with CaptureQueriesContext(connection) as before:
        client.get(_url("trial-balance"), params)
    cash_praia = cash_account(praia).code
    for month, code in enumerate(["5100", "5200", "5900", "2900", "4900"], start=7):
        for day in (1, 2, 3):
            post_manual(
                accountant,
                manager,
                praia,
                datetime.date(2026, month, day),
                debit_credit(code, cash_praia, "10.00"),
                description="More",
            )
    # when
    with django_assert_max_num_queries(10):
        response = client.get(_url("trial-balance"), params)
    with CaptureQueriesContext(connection) as after:
        client.get(_url("trial-balance"), params)
    # then
    assert response.status_code == 200
    assert len(response.context["report"].rows) == 11
    assert len(after.captured_queries) == len(before.captured_queries)


def test_a_name_with_quotes_cannot_break_the_pdf_page_styles(client, accountant, ledger):
    # given
    accountant.first_name, accountant.last_name = 'Ana "</style>', "D'Almeida"
    accountant.save(update_fields=["first_name", "last_name"])
    client.force_login(accountant)
    # when
    response = client.get(
        _url("income-statement"),
        {"date_from": "2026-01-01", "date_to": "2026-11-22", "format": "pdf"},
    )
    # then
    assert response.content.startswith(b"%PDF")
    text = _pdf_text(response)
    assert "-117,154.33" in text
    assert "Page 1 of 1" in text
    assert "by Ana \"</style> D'Almeida" in text
