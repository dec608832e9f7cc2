"""End of day (set-based), PAR and the loans ↔ ledger reconciliation."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounting.chart import chart_install
from loans.end_of_day import run_end_of_day
from loans.models import EndOfDayRun, Installment, Loan, PortfolioSnapshot
from loans.portfolio import loans_reconciliation, portfolio_quality
from loans.services import refresh_loan_balances, repayment_record
from tests.loans.factories import (
    EMI,
    PRINCIPAL,
    SCHEDULE,
    accrual_product,
    active_loan,
    cash_product,
)

D = Decimal
TODAY = datetime.date(2026, 11, 22)


@pytest.fixture
def rules(praia):
    return chart_install()


def _pay_installments(officer, loan, count):
    """Pay the first ``count`` installments on their due dates."""
    for date, _principal, _interest in SCHEDULE[:count]:
        repayment_record(actor=officer, loan=loan, amount=EMI, value_date=date)


def _balance_after(count):
    return PRINCIPAL - sum((principal for _date, principal, _interest in SCHEDULE[:count]), D(0))


def _state(loan):
    loan.refresh_from_db()
    return (
        loan.principal_outstanding,
        loan.days_past_due,
        loan.arrears_amount,
        loan.delinquency_bucket,
    )


def test_end_of_day_computes_arrears_like_the_per_loan_path(rules, loan_officer, branch_manager):
    # given: paid up to the April installment; May to November are unpaid on 22 November
    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    _pay_installments(loan_officer, loan, 3)
    # when
    run_end_of_day(TODAY)
    set_based = _state(loan)
    refresh_loan_balances(Loan.objects.get(pk=loan.pk), as_of=TODAY)
    per_loan = _state(loan)
    # then: oldest unpaid due date 2026-05-15 → 191 days; 7 installments of 11,347.15 overdue
    assert set_based == (_balance_after(3), 191, D("79430.05"), "91+")
    assert per_loan == set_based


def test_running_the_same_business_date_twice_changes_nothing(rules, loan_officer, branch_manager):
    # given
    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    _pay_installments(loan_officer, loan, 6)
    first = run_end_of_day(TODAY)
    state = _state(loan)
    snapshots = list(
        PortfolioSnapshot.objects.values_list(
            "business_date", "loans_active", "outstanding_principal"
        )
    )
    # when
    second = run_end_of_day(TODAY)
    # then
    assert first[0]["loans_refreshed"] == 1
    assert second == [{"business_date": "2026-11-22", "skipped": True}]
    assert _state(loan) == state
    assert (
        list(
            PortfolioSnapshot.objects.values_list(
                "business_date", "loans_active", "outstanding_principal"
            )
        )
        == snapshots
    )


def test_missed_dates_are_caught_up_in_order(rules, loan_officer, branch_manager):
    # given
    active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    run_end_of_day(datetime.date(2026, 11, 19))
    # when
    results = run_end_of_day(TODAY)
    # then
    assert [result["business_date"] for result in results] == [
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
    ]
    assert list(
        EndOfDayRun.objects.order_by("business_date").values_list("business_date", flat=True)
    ) == [datetime.date(2026, 11, d) for d in (19, 20, 21, 22)]


def test_late_penalties_are_charged_once_after_the_tolerance(rules, loan_officer, branch_manager):
    # given: 5 % penalty after 5 days; the first installment (due 2026-02-15) is unpaid
    loan = active_loan(
        loan_officer,
        branch_manager,
        cash_product(loan_officer, rules, penalty_percent=D("5"), penalty_tolerance_days=5),
    )
    # when
    run_end_of_day(datetime.date(2026, 2, 20))  # 5 days late: within tolerance
    within = list(Installment.objects.filter(loan=loan, penalty_due__gt=0))
    run_end_of_day(datetime.date(2026, 2, 21))
    run_end_of_day(datetime.date(2026, 2, 21))
    # then: 5 % of 11,347.15 = 567.3575 → 567.36, once
    assert within == []
    assert list(
        Installment.objects.filter(loan=loan, penalty_due__gt=0).values_list(
            "number", "penalty_due", "penalty_charged_on"
        )
    ) == [(1, D("567.3600"), datetime.date(2026, 2, 21))]
    loan.refresh_from_db()
    assert (loan.penalties_outstanding, loan.days_past_due) == (D("567.3600"), 6)


def test_accrual_products_recognise_interest_when_installments_fall_due(
    rules, loan_officer, branch_manager
):
    # given
    from accounting.models import JournalEntry

    loan = active_loan(loan_officer, branch_manager, accrual_product(loan_officer, rules))
    # when: February and March installments have fallen due by 20 March
    run_end_of_day(datetime.date(2026, 3, 20))
    # then
    entry = JournalEntry.objects.get(source="end_of_day")
    lines = sorted(entry.lines.values_list("account__code", "debit", "credit"))
    accrued = SCHEDULE[0][2] + SCHEDULE[1][2]
    assert lines == [("1310", accrued, D(0)), ("4100", D(0), accrued)]
    assert list(
        Installment.objects.filter(loan=loan, interest_accrued__gt=0).values_list(
            "number", flat=True
        )
    ) == [1, 2]


def test_portfolio_quality_and_reconciliation(rules, loan_officer, branch_manager):
    # given: one loan current, one 68 days late, one 160 days late
    product = cash_product(loan_officer, rules)
    current, late, very_late = (
        active_loan(loan_officer, branch_manager, product) for _ in range(3)
    )
    _pay_installments(loan_officer, current, 10)
    _pay_installments(loan_officer, late, 7)
    _pay_installments(loan_officer, very_late, 4)
    call_command("run_end_of_day", "--date", TODAY.isoformat())
    # when
    quality = portfolio_quality(as_of=TODAY)
    reconciliation = loans_reconciliation(as_of=TODAY)
    # then
    outstanding = _balance_after(10) + _balance_after(7) + _balance_after(4)
    par1 = _balance_after(7) + _balance_after(4)
    assert [_state(loan)[1] for loan in (current, late, very_late)] == [0, 68, 160]
    assert quality == {
        "date": "2026-11-22",
        "currency": "CVE",
        "outstanding_principal": outstanding,
        "par1": (par1 / outstanding).quantize(D("0.0001")),
        "par30": (par1 / outstanding).quantize(D("0.0001")),
        "par90": (_balance_after(4) / outstanding).quantize(D("0.0001")),
        "loans_active": 3,
        "loans_in_arrears": 2,
    }
    assert (
        reconciliation["gl_balance"],
        reconciliation["subledger_balance"],
        reconciliation["difference"],
    ) == (outstanding, outstanding, D("0.00"))


def test_run_end_of_day_rejects_a_malformed_date(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="is not a date"):
        call_command("run_end_of_day", "--date", "22/11/2026")
