"""The screens built for large portfolios: the PAR dashboard (read from the end-of-day
snapshots), the portfolio report PDF, and a loan page that shows its latest transactions and
history with the rest a page away.

Reference loan (``tests/loans/factories.py``): 120,000 CVE over 12 months, disbursed on
15 January 2026, installments due on the 15th; the first one is 8,947.15 principal."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from accounting.chart import chart_install
from loans import documents
from loans.end_of_day import run_end_of_day
from loans.models import LoanTransaction
from loans.services import repayment_record
from tests.loans.factories import EMI, active_loan, cash_product

D = Decimal
CLOSE = datetime.date(2026, 3, 20)  # February paid by one loan only; March 15 five days late


@pytest.fixture
def rules(head_office, praia, mindelo):
    return chart_install()


@pytest.fixture
def product(loan_officer, rules):
    return cash_product(loan_officer, rules)


@pytest.fixture
def two_loans(loan_officer, branch_manager, product):
    """Loan A paid its February installment, loan B paid nothing; the close of business of
    20 March has run."""
    paying = active_loan(loan_officer, branch_manager, product)
    late = active_loan(loan_officer, branch_manager, product)
    repayment_record(
        actor=loan_officer, loan=paying, amount=EMI, value_date=datetime.date(2026, 2, 15)
    )
    run_end_of_day(CLOSE)
    return paying, late


def test_the_par_dashboard_shows_the_branch_by_officer(
    client, two_loans, branch_manager, loan_officer, django_assert_max_num_queries
):
    # given the two loans and the branch manager of Praia
    client.force_login(branch_manager)
    # when the manager opens the PAR dashboard
    with django_assert_max_num_queries(16):
        response = client.get("/loans/par/?date=2026-03-20")
    # then PAR1 counts both loans, PAR30 the one 33 days late, per the officer too
    quality = response.context["quality"]
    assert response.status_code == 200
    assert quality["outstanding_principal"] == D("231052.85")
    assert (quality["par1"], quality["par30"], quality["par90"]) == (
        D("1.0000"),
        D("0.5194"),
        D("0.0000"),
    )
    assert response.context["by_officer"] is True
    [row] = response.context["groups"]
    assert (row.label, row.loans_active, row.loans_in_arrears, row.par30) == (
        f"{loan_officer.first_name} {loan_officer.last_name}",
        2,
        2,
        D("0.5194"),
    )
    assert [(row.label, row.par30) for row, _length, _y in response.context["trend"]][-1] == (
        "2026-03-20",
        D("0.5194"),
    )


def test_another_branch_sees_none_of_praia_in_the_par_dashboard(client, two_loans, outsider):
    # given a loan officer of Mindelo
    client.force_login(outsider)
    # when they open the PAR dashboard
    response = client.get("/loans/par/?date=2026-03-20")
    # then no Praia figure shows
    assert response.status_code == 200
    assert response.context["quality"]["loans_active"] == 0
    assert response.context["groups"] == []


def test_the_par_dashboard_before_any_close_of_business(client, rules, branch_manager):
    # given no end of day has ever run
    client.force_login(branch_manager)
    # when the dashboard opens
    response = client.get("/loans/par/")
    # then it says so instead of showing zeros
    assert response.status_code == 200
    assert response.context["as_of"] is None
    assert b"No end-of-day figures yet" in response.content


def test_a_branch_outside_the_scope_is_refused_in_the_par_filters(
    client, two_loans, outsider, praia
):
    # given the Mindelo officer asks for Praia
    client.force_login(outsider)
    # when the dashboard is asked for Praia's branch
    response = client.get(f"/loans/par/?branch={praia.pk}")
    # then the filter is refused and the figures stay the officer's own
    assert response.status_code == 200
    assert "branch" in response.context["form"].errors
    assert response.context["groups"] == []


def test_the_portfolio_report_is_a_pdf_of_the_filtered_list(client, two_loans, loan_officer):
    # given the officer's two loans
    client.force_login(loan_officer)
    # when the officer asks for the report of their portfolio
    response = client.get("/loans/portfolio-report.pdf?view=mine")
    # then a PDF comes back
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_portfolio_too_large_for_one_report_is_refused(
    client, two_loans, loan_officer, monkeypatch
):
    # given reports are limited to one loan
    monkeypatch.setattr(documents, "PORTFOLIO_REPORT_MAX_LOANS", 1)
    client.force_login(loan_officer)
    # when the officer asks for the report of their two loans
    response = client.get("/loans/portfolio-report.pdf?view=mine", follow=True)
    # then they are sent back to the list with the reason
    assert response.redirect_chain[-1][0].startswith("/loans/?")
    assert any("too many for one report" in str(m) for m in get_messages(response.wsgi_request))


def test_the_portfolio_report_lines_carry_the_loans_and_their_totals(two_loans, loan_officer):
    # given the officer's two loans (one 33 days late, one 5 days late)
    from loans.models import Loan

    paying, late = two_loans
    # when the report's lines are built
    lines, totals = documents.portfolio_report_lines(
        Loan.objects.filter(officer=loan_officer).order_by("number")
    )
    # then one fixed-width line per loan, the late one flagged, and the totals to the cent
    assert [text.split()[0] for text, _late in lines] == [paying.number, late.number]
    assert [is_late for _text, is_late in lines] == [False, True]
    assert "  120,000.00" in lines[1][0] and "33" in lines[1][0]
    assert totals == [
        {
            "currency": "CVE",
            "loans": 2,
            "principal": "231,052.85",
            "outstanding": "260,984.51",
            "arrears": "34,041.45",
            "late": 2,
        }
    ]


@pytest.fixture
def busy_loan(loan_officer, branch_manager, product):
    """A loan with fourteen small repayments (fifteen transactions with its disbursement)."""
    loan = active_loan(loan_officer, branch_manager, product)
    for day in range(1, 15):
        repayment_record(
            actor=loan_officer,
            loan=loan,
            amount=D("100.00"),
            value_date=datetime.date(2026, 2, day),
        )
    return loan


def test_the_loan_page_shows_the_latest_transactions_and_links_to_all(
    client, busy_loan, branch_manager, django_assert_max_num_queries
):
    # given a loan with fifteen transactions
    client.force_login(branch_manager)
    # when its page opens
    with django_assert_max_num_queries(30):
        response = client.get(f"/loans/{busy_loan.pk}/")
    # then the latest twelve show, oldest of them first, with a link to all fifteen
    shown = response.context["transactions"]
    assert response.status_code == 200
    assert response.context["transaction_count"] == 15
    assert len(shown) == 12
    assert [txn.value_date.day for txn in shown][:2] == [3, 4]
    assert f"/loans/{busy_loan.pk}/transactions/".encode() in response.content


def test_all_transactions_of_a_loan_come_a_page_at_a_time(
    client, busy_loan, branch_manager, django_assert_max_num_queries
):
    # given a loan with fifteen transactions
    client.force_login(branch_manager)
    # when the transactions page opens
    with django_assert_max_num_queries(14):
        response = client.get(f"/loans/{busy_loan.pk}/transactions/")
    # then all fifteen are listed, oldest first
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 15
    assert response.context["transactions"][0].kind == "disbursement"


def test_the_loan_history_page_lists_every_event(client, busy_loan, branch_manager):
    # given a loan with its life-cycle and repayment events
    client.force_login(branch_manager)
    # when its history page opens
    response = client.get(f"/loans/{busy_loan.pk}/history/")
    # then every event is counted (submitted, approved, disbursed, 14 repayments...)
    assert response.status_code == 200
    assert response.context["page"].paginator.count >= 17
    assert LoanTransaction.objects.filter(loan=busy_loan).count() == 15


def test_another_branch_cannot_open_a_loans_transactions(client, busy_loan, outsider):
    # given a loan of Praia and an officer of Mindelo
    client.force_login(outsider)
    # when they open its transactions and history
    # then both are not found
    assert client.get(f"/loans/{busy_loan.pk}/transactions/").status_code == 404
    assert client.get(f"/loans/{busy_loan.pk}/history/").status_code == 404
