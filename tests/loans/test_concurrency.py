"""Repayments racing on one loan, against the real PostgreSQL (committed data, real threads).

``repayment_record`` locks the loan row, so concurrent repayments are applied one after the other:
never to the same unpaid amount twice, never beyond what an installment owes.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounting.selectors import trial_balance
from loans.choices import LoanStatus, TransactionKind
from loans.models import Installment, Loan, LoanTransaction
from loans.services import business_date, repayment_record
from tests.accounting.factories import PRAIA_CASH, chart
from tests.concurrency import race
from tests.loans.factories import PRINCIPAL, TOTAL_REPAYMENT, active_loan, cash_product
from users.models import User

D = Decimal
ZERO = D("0")
VALUE_DATE = datetime.date(2026, 2, 15)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ledger(head_office, praia, mindelo):
    return chart()


@pytest.fixture
def product(manager, ledger):
    return cash_product(manager, ledger)


def _repay(user_pk, loan_pk, amount, receipt_number=""):
    """A repayment as a request would make it: its own user and loan rows, read in the thread."""

    def call():
        return repayment_record(
            actor=User.objects.get(pk=user_pk),
            loan=Loan.objects.get(pk=loan_pk),
            amount=D(amount),
            value_date=VALUE_DATE,
            receipt_number=receipt_number,
        )

    return call


def _paid(loan):
    rows = list(Installment.objects.filter(loan=loan).order_by("number"))
    return rows, sum((row.total_paid for row in rows), ZERO)


def _ledger_balances():
    report = trial_balance(as_of=business_date())
    return report, {row["account"].code: row["debit"] - row["credit"] for row in report.rows}


def test_concurrent_repayments_are_applied_one_after_the_other(
    loan_officer, branch_manager, credit_committee, product
):
    # given
    loan = active_loan(loan_officer, credit_committee, product)
    amounts = ["11347.15", "5000.00", "3000.00", "2500.50"]
    actors = [loan_officer, branch_manager, loan_officer, branch_manager]

    # when
    outcomes = race(
        [_repay(actor.pk, loan.pk, amount) for actor, amount in zip(actors, amounts, strict=True)]
    )

    # then: every repayment went through
    assert all(isinstance(outcome, LoanTransaction) for outcome in outcomes), outcomes
    total = sum((D(amount) for amount in amounts), ZERO)
    rows, paid = _paid(loan)
    assert paid == total == D("21847.65")
    for row in rows:
        assert ZERO <= row.principal_paid <= row.principal_due
        assert ZERO <= row.interest_paid <= row.interest_due
    # whatever the order, the oldest installments are paid first
    assert [(row.number, row.principal_paid, row.interest_paid) for row in rows[:3]] == [
        (1, D("8947.15"), D("2400.00")),
        (2, D("8279.44"), D("2221.06")),
        (3, ZERO, ZERO),
    ]
    repayments = LoanTransaction.objects.filter(loan=loan, kind=TransactionKind.REPAYMENT)
    assert repayments.count() == 4
    assert sum((txn.principal_portion for txn in repayments), ZERO) == D("17226.59")
    assert sum((txn.interest_portion for txn in repayments), ZERO) == D("4621.06")
    loan.refresh_from_db()
    assert loan.principal_outstanding == PRINCIPAL - D("17226.59")
    # and the ledger balances, portfolio and cash matching the loan
    report, balances = _ledger_balances()
    assert report.total_debit == report.total_credit
    assert balances["1200"] == PRINCIPAL - D("17226.59")
    assert balances[PRAIA_CASH] == total - PRINCIPAL
    assert balances["4100"] == -D("4621.06")


def test_two_closing_repayments_racing_close_the_loan_once(
    loan_officer, branch_manager, credit_committee, product
):
    # given
    loan = active_loan(loan_officer, credit_committee, product)

    # when: two collectors both bring the full payoff
    outcomes = race(
        [
            _repay(loan_officer.pk, loan.pk, TOTAL_REPAYMENT),
            _repay(branch_manager.pk, loan.pk, TOTAL_REPAYMENT),
        ]
    )

    # then: one closes the loan, the other finds it closed
    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "LoanTransaction",
        "ValidationError",
    ]
    loan.refresh_from_db()
    assert (loan.status, loan.overpaid_amount) == (LoanStatus.CLOSED, ZERO)
    assert _paid(loan)[1] == TOTAL_REPAYMENT
    assert LoanTransaction.objects.filter(loan=loan, kind=TransactionKind.REPAYMENT).count() == 1
    report, balances = _ledger_balances()
    assert report.total_debit == report.total_credit
    assert balances.get("1200", ZERO) == ZERO
    assert balances.get("2100", ZERO) == ZERO


def test_one_receipt_number_racing_on_two_loans_is_recorded_once(
    loan_officer, branch_manager, credit_committee, product
):
    # given
    first = active_loan(loan_officer, credit_committee, product)
    second = active_loan(loan_officer, credit_committee, product)

    # when
    outcomes = race(
        [
            _repay(loan_officer.pk, first.pk, "1000.00", receipt_number="R-2026-0001"),
            _repay(branch_manager.pk, second.pk, "1000.00", receipt_number="R-2026-0001"),
        ]
    )

    # then: the database constraint keeps the receipt unique
    recorded = [outcome for outcome in outcomes if isinstance(outcome, LoanTransaction)]
    refused = [outcome for outcome in outcomes if not isinstance(outcome, LoanTransaction)]
    assert len(recorded) == len(refused) == 1
    assert isinstance(refused[0], ValidationError | IntegrityError), refused
    assert LoanTransaction.objects.filter(receipt_number="R-2026-0001").count() == 1
    assert _paid(first)[1] + _paid(second)[1] == D("1000.00")
    report, _balances = _ledger_balances()
    assert report.total_debit == report.total_credit
