"""Loan services: lifecycle, disbursement, repayments, reversals, write-off, arrears, versions.

Everything is built through the real services (see ``tests/loans/factories.py``); amounts are
asserted to the cent. Reference loan: 120,000 CVE, 24 %/year, 12 months from 15 January 2026.
Cash boxes: head office 1101, Praia 1102, Mindelo 1103 (branches created in that order).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounting.selectors import trial_balance
from audit.models import AuditEvent
from crm.models import Party
from loans.choices import DocumentKind, LoanStatus, TransactionKind
from loans.models import Installment, Loan, LoanTransaction, RepaymentAllocation
from loans.services import (
    bucket_label,
    business_date,
    loan_approve,
    loan_disburse,
    loan_reject,
    loan_submit,
    loan_undo_approval,
    loan_undo_disbursement,
    loan_withdraw,
    loan_write_off,
    product_version_create,
    refresh_loan_balances,
    repayment_record,
    repayment_reverse,
)
from tests.accounting.factories import PRAIA_CASH, chart, lines_of
from tests.crm.factories import make_person
from tests.factories import UserFactory
from tests.loans.factories import (
    APPROVED_ON,
    DISBURSED_ON,
    EMI,
    FIRST_INTEREST,
    FIRST_PRINCIPAL,
    PRINCIPAL,
    SCHEDULE,
    TOTAL_INTEREST,
    TOTAL_REPAYMENT,
    accrual_product,
    active_loan,
    add_documents,
    approved_loan,
    base_terms,
    cash_product,
    current_version,
    submitted_loan,
    xof_product,
)
from users.roles import Role

D = Decimal

PORTFOLIO = "1200"
INTEREST_RECEIVABLE = "1310"
INTEREST_INCOME = "4100"
FEE_INCOME = "4200"
OVERPAYMENTS = "2100"
WRITE_OFF_EXPENSE = "5400"
ZERO = D("0")


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def ledger(head_office, praia, mindelo):
    """Default chart with cash boxes 1101 (head office), 1102 (Praia), 1103 (Mindelo)."""
    return chart()


@pytest.fixture
def product(manager, ledger):
    return cash_product(manager, ledger)


@pytest.fixture
def loan(loan_officer, credit_committee, product):
    """The reference loan, disbursed on 15 January 2026 by the Praia loan officer."""
    return active_loan(loan_officer, credit_committee, product)


def _rows(*rows):
    return tuple((code, D(debit), D(credit)) for code, debit, credit in rows)


def _installments(loan: Loan):
    """(number, principal paid, interest paid, fee paid) of each installment."""
    return [
        (row.number, row.principal_paid, row.interest_paid, row.fee_paid)
        for row in Installment.objects.filter(loan=loan).order_by("number")
    ]


def _balances(loan: Loan):
    loan.refresh_from_db()
    return (
        loan.principal_outstanding,
        loan.interest_outstanding,
        loan.fees_outstanding,
        loan.penalties_outstanding,
        loan.overpaid_amount,
    )


def _ledger(*codes):
    """{code: (debit, credit)} of the trial balance today, for the given account codes."""
    report = trial_balance(as_of=business_date())
    found = {row["account"].code: (row["debit"], row["credit"]) for row in report.rows}
    assert report.total_debit == report.total_credit
    return {code: found.get(code, (ZERO, ZERO)) for code in codes}


def _split(txn: LoanTransaction):
    return (
        txn.principal_portion,
        txn.interest_portion,
        txn.fee_portion,
        txn.penalty_portion,
        txn.overpayment_portion,
    )


def _actions(loan: Loan) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(loan.pk), action__startswith="loan.")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def _pay(actor, loan, amount, value_date, **options) -> LoanTransaction:
    return repayment_record(
        actor=actor, loan=loan, amount=D(amount), value_date=value_date, **options
    )


# --- submit ------------------------------------------------------------------------------------


def test_submit_creates_an_application_on_the_products_current_terms(loan_officer, product, praia):
    # given
    borrower = make_person(loan_officer)

    # when
    loan = submitted_loan(loan_officer, product, borrower=borrower)

    # then
    loan.refresh_from_db()
    assert re.fullmatch(r"L\d{7}", loan.number)
    assert loan.status == LoanStatus.SUBMITTED
    assert (loan.borrower_id, loan.branch, loan.officer, loan.submitted_by) == (
        borrower.pk,
        praia,
        loan_officer,
        loan_officer,
    )
    assert loan.product_version == current_version(product)
    assert (loan.currency, loan.principal, loan.annual_interest_rate) == ("CVE", PRINCIPAL, D(24))
    assert loan.number_of_repayments == 12
    assert loan.submitted_on == datetime.date(2026, 1, 5)
    assert (loan.approved_by, loan.disbursed_on) == (None, None)
    event = AuditEvent.objects.get(action="loan.submitted", object_id=str(loan.pk))
    assert event.actor == loan_officer
    assert event.after["number"] == loan.number
    assert event.after["principal"] == "120000.00"


def test_loan_numbers_follow_each_other(loan_officer, product):
    # when
    first = submitted_loan(loan_officer, product)
    second = submitted_loan(loan_officer, product)

    # then
    assert int(second.number[1:]) == int(first.number[1:]) + 1
    assert len(first.number) == len(second.number) == 8


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"principal": D("9999.99")}, "principal"),
        ({"principal": D("500000.01")}, "principal"),
        ({"principal": D("120000.005")}, "principal"),
        ({"annual_interest_rate": D("11.99")}, "annual_interest_rate"),
        ({"annual_interest_rate": D("36.01")}, "annual_interest_rate"),
        ({"number_of_repayments": 2}, "number_of_repayments"),
        ({"number_of_repayments": 25}, "number_of_repayments"),
    ],
)
def test_submit_refuses_terms_outside_the_products_ranges(loan_officer, product, terms, field):
    # given
    borrower = make_person(loan_officer)
    values = {"principal": PRINCIPAL, **terms}

    # when
    with pytest.raises(ValidationError) as raised:
        loan_submit(
            actor=loan_officer,
            borrower=borrower,
            product=product,
            purpose="Stock",
            expected_disbursement_date=DISBURSED_ON,
            **values,
        )

    # then
    assert set(raised.value.message_dict) == {field}
    assert Loan.objects.count() == 0
    assert not AuditEvent.objects.filter(action="loan.submitted").exists()


def test_submit_refuses_zero_repayments(loan_officer, product):
    # given
    borrower = make_person(loan_officer)

    # when
    with pytest.raises(ValidationError) as raised:
        loan_submit(
            actor=loan_officer,
            borrower=borrower,
            product=product,
            principal=PRINCIPAL,
            number_of_repayments=0,
            purpose="Stock",
            expected_disbursement_date=DISBURSED_ON,
        )

    # then
    assert set(raised.value.message_dict) == {"number_of_repayments"}
    assert Loan.objects.count() == 0


def test_submit_refuses_a_fraction_of_a_franc(loan_officer, manager, ledger):
    # given
    product = xof_product(manager, ledger)

    # when
    with pytest.raises(ValidationError) as raised:
        submitted_loan(loan_officer, product, principal=D("120000.5"))

    # then
    assert set(raised.value.message_dict) == {"principal"}
    assert Loan.objects.count() == 0


def test_submit_refuses_a_borrower_outside_the_officers_scope(loan_officer, outsider, product):
    # given: a Praia client, and the Mindelo officer
    borrower = make_person(loan_officer)

    # when
    with pytest.raises(PermissionDenied):
        submitted_loan(outsider, product, borrower=borrower)

    # then
    assert Loan.objects.count() == 0
    assert not AuditEvent.objects.filter(action="loan.submitted").exists()


@pytest.mark.parametrize("persona", ["credit_committee", "field_agent", "auditor"])
def test_submit_needs_the_apply_capability(request, loan_officer, product, persona):
    # given
    actor = request.getfixturevalue(persona)
    borrower = make_person(loan_officer)

    # when
    with pytest.raises(PermissionDenied):
        submitted_loan(actor, product, borrower=borrower)

    # then
    assert Loan.objects.count() == 0


# --- approve, reject, withdraw -----------------------------------------------------------------


def test_approve_by_another_person_records_who_and_when(loan_officer, credit_committee, product):
    # given
    loan = submitted_loan(loan_officer, product)

    # when
    loan_approve(actor=credit_committee, loan=loan, approved_on=APPROVED_ON)

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.APPROVED
    assert (loan.approved_by, loan.approved_on) == (credit_committee, APPROVED_ON)
    event = AuditEvent.objects.get(action="loan.approved", object_id=str(loan.pk))
    assert (event.actor, event.before, event.after) == (
        credit_committee,
        {"status": "submitted"},
        {"status": "approved"},
    )


def test_the_submitter_cannot_approve_their_own_application(branch_manager, product):
    # given: the branch manager may both apply and approve
    loan = submitted_loan(branch_manager, product)

    # when
    with pytest.raises(PermissionDenied):
        loan_approve(actor=branch_manager, loan=loan, approved_on=APPROVED_ON)

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.SUBMITTED
    assert (loan.approved_by, loan.approved_on) == (None, None)
    assert _actions(loan) == ["loan.submitted"]


def test_a_loan_officer_cannot_approve(branch_manager, loan_officer, product):
    # given
    loan = submitted_loan(branch_manager, product)

    # when
    with pytest.raises(PermissionDenied):
        loan_approve(actor=loan_officer, loan=loan, approved_on=APPROVED_ON)

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.approved_by) == (LoanStatus.SUBMITTED, None)


def test_an_approver_of_another_branch_cannot_approve(loan_officer, mindelo, product):
    # given
    mindelo_manager = UserFactory(username="bm.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo)
    loan = submitted_loan(loan_officer, product)

    # when
    with pytest.raises(PermissionDenied):
        loan_approve(actor=mindelo_manager, loan=loan, approved_on=APPROVED_ON)

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.approved_by) == (LoanStatus.SUBMITTED, None)


def test_approval_above_the_approvers_limit_is_refused(loan_officer, credit_committee, product):
    # given
    credit_committee.approval_limit = D("119999.99")
    credit_committee.save(update_fields=["approval_limit"])
    loan = submitted_loan(loan_officer, product)

    # when
    with pytest.raises(PermissionDenied) as raised:
        loan_approve(actor=credit_committee, loan=loan, approved_on=APPROVED_ON)

    # then
    assert "119999.99" in str(raised.value)
    loan.refresh_from_db()
    assert (loan.status, loan.approved_by) == (LoanStatus.SUBMITTED, None)


def test_approval_up_to_the_limit_passes(loan_officer, credit_committee, product):
    # given
    credit_committee.approval_limit = PRINCIPAL
    credit_committee.save(update_fields=["approval_limit"])
    loan = submitted_loan(loan_officer, product)

    # when
    loan_approve(actor=credit_committee, loan=loan, approved_on=APPROVED_ON)

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.APPROVED


def test_approval_waits_for_the_offers_required_documents(
    loan_officer, credit_committee, manager, ledger
):
    # given
    required = [DocumentKind.ID_CARD, DocumentKind.BUSINESS_PLAN]
    product = cash_product(manager, ledger, required_documents=required)
    loan = submitted_loan(loan_officer, product)

    # when: nothing on file
    with pytest.raises(ValidationError) as nothing:
        loan_approve(actor=credit_committee, loan=loan, approved_on=APPROVED_ON)
    # when: only the identity card
    add_documents(loan_officer, loan, [DocumentKind.ID_CARD])
    with pytest.raises(ValidationError) as one_missing:
        loan_approve(actor=credit_committee, loan=loan, approved_on=APPROVED_ON)

    # then
    assert nothing.value.messages == ["Documents missing before approval: business_plan, id_card."]
    assert one_missing.value.messages == ["Documents missing before approval: business_plan."]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.SUBMITTED

    # when: the business plan is added too
    add_documents(loan_officer, loan, [DocumentKind.BUSINESS_PLAN])
    loan_approve(actor=credit_committee, loan=loan, approved_on=APPROVED_ON)

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.APPROVED
    assert sorted(loan.documents.values_list("kind", flat=True)) == [
        "business_plan",
        "id_card",
    ]
    assert _actions(loan) == [
        "loan.submitted",
        "loan.document_added",
        "loan.document_added",
        "loan.approved",
    ]


def test_reject_needs_a_reason(loan_officer, credit_committee, product):
    # given
    loan = submitted_loan(loan_officer, product)

    # when
    with pytest.raises(ValidationError) as raised:
        loan_reject(actor=credit_committee, loan=loan, reason="   ")

    # then
    assert set(raised.value.message_dict) == {"reason"}
    loan.refresh_from_db()
    assert loan.status == LoanStatus.SUBMITTED


def test_reject_with_a_reason(loan_officer, credit_committee, product):
    # given
    loan = submitted_loan(loan_officer, product)

    # when
    loan_reject(actor=credit_committee, loan=loan, reason="Repayment capacity too low")

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REJECTED
    event = AuditEvent.objects.get(action="loan.rejected", object_id=str(loan.pk))
    assert event.after == {"status": "rejected", "reason": "Repayment capacity too low"}
    with pytest.raises(ValidationError):
        loan_approve(actor=credit_committee, loan=loan, approved_on=APPROVED_ON)


def test_undo_approval_sends_the_loan_back_to_submitted(loan_officer, credit_committee, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)

    # when
    loan_undo_approval(actor=credit_committee, loan=loan)

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.SUBMITTED
    assert (loan.approved_by, loan.approved_on) == (None, None)
    assert _actions(loan)[-1] == "loan.approval_undone"
    with pytest.raises(ValidationError):
        loan_undo_approval(actor=credit_committee, loan=loan)


def test_undo_approval_is_refused_once_disbursed(loan, credit_committee):
    # when
    with pytest.raises(ValidationError):
        loan_undo_approval(actor=credit_committee, loan=loan)

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.approved_by) == (LoanStatus.ACTIVE, credit_committee)


def test_withdraw_an_approved_application(loan_officer, credit_committee, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)

    # when
    loan_withdraw(actor=loan_officer, loan=loan, reason="The client found the money elsewhere")

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WITHDRAWN
    with pytest.raises(ValidationError):
        loan_disburse(actor=loan_officer, loan=loan, disbursed_on=DISBURSED_ON)
    assert not Installment.objects.filter(loan=loan).exists()


# --- disburse ----------------------------------------------------------------------------------


def test_disbursement_builds_the_schedule(loan_officer, credit_committee, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)

    # when
    loan_disburse(actor=loan_officer, loan=loan, disbursed_on=DISBURSED_ON)

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on) == (LoanStatus.ACTIVE, DISBURSED_ON)
    rows = list(Installment.objects.filter(loan=loan).order_by("number"))
    assert len(rows) == 12
    assert [(row.due_date, row.principal_due, row.interest_due) for row in rows] == list(SCHEDULE)
    assert (rows[0].due_date, rows[-1].due_date) == (
        datetime.date(2026, 2, 15),
        datetime.date(2027, 1, 15),
    )
    assert rows[0].principal_due + rows[0].interest_due == EMI
    assert rows[-1].principal_due + rows[-1].interest_due == D("11347.18")
    assert sum(row.principal_due for row in rows) == PRINCIPAL
    assert sum(row.interest_due for row in rows) == TOTAL_INTEREST
    assert all(row.fee_due == row.penalty_due == ZERO for row in rows)
    assert (loan.principal_outstanding, loan.interest_outstanding) == (PRINCIPAL, TOTAL_INTEREST)


def test_disbursement_posts_dr_portfolio_cr_branch_cash(loan_officer, credit_committee, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)

    # when
    loan_disburse(actor=loan_officer, loan=loan, disbursed_on=DISBURSED_ON)

    # then
    txn = LoanTransaction.objects.get(loan=loan)
    assert (txn.kind, txn.value_date, txn.amount, txn.fee_portion) == (
        TransactionKind.DISBURSEMENT,
        DISBURSED_ON,
        PRINCIPAL,
        ZERO,
    )
    assert txn.journal_entry.entry_date == DISBURSED_ON
    assert txn.journal_entry.branch == loan.branch
    assert lines_of(txn.journal_entry) == _rows(
        (PORTFOLIO, "120000", "0"), (PRAIA_CASH, "0", "120000")
    )
    assert _actions(loan)[-1] == "loan.disbursed"


def test_disbursement_fee_is_booked_as_fee_income(loan_officer, credit_committee, manager, ledger):
    # given: a 2 % disbursement fee
    product = cash_product(manager, ledger, disbursement_fee_percent=D("2"))
    loan = approved_loan(loan_officer, credit_committee, product)

    # when
    loan_disburse(actor=loan_officer, loan=loan, disbursed_on=DISBURSED_ON)

    # then: the cash box appears on both sides, as two lines
    txn = LoanTransaction.objects.get(loan=loan)
    assert (txn.amount, txn.fee_portion) == (PRINCIPAL, D("2400.00"))
    assert lines_of(txn.journal_entry) == _rows(
        (PORTFOLIO, "120000", "0"),
        (PRAIA_CASH, "0", "120000"),
        (PRAIA_CASH, "2400", "0"),
        (FEE_INCOME, "0", "2400"),
    )
    assert _ledger(PORTFOLIO, PRAIA_CASH, FEE_INCOME) == {
        PORTFOLIO: (D("120000.00"), ZERO),
        PRAIA_CASH: (ZERO, D("117600.00")),
        FEE_INCOME: (ZERO, D("2400.00")),
    }


def test_disbursement_cannot_be_dated_in_the_future(loan_officer, credit_committee, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)
    tomorrow = business_date() + datetime.timedelta(days=1)

    # when
    with pytest.raises(ValidationError) as raised:
        loan_disburse(actor=loan_officer, loan=loan, disbursed_on=tomorrow)

    # then
    assert set(raised.value.message_dict) == {"disbursed_on"}
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on) == (LoanStatus.APPROVED, None)
    assert not Installment.objects.filter(loan=loan).exists()
    assert not LoanTransaction.objects.filter(loan=loan).exists()


def test_disbursement_cannot_precede_the_approval(loan_officer, credit_committee, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)

    # when
    with pytest.raises(ValidationError) as raised:
        loan_disburse(actor=loan_officer, loan=loan, disbursed_on=datetime.date(2026, 1, 9))

    # then
    assert set(raised.value.message_dict) == {"disbursed_on"}
    assert not LoanTransaction.objects.filter(loan=loan).exists()


def test_a_submitted_loan_cannot_be_disbursed(loan_officer, product):
    # given
    loan = submitted_loan(loan_officer, product)

    # when
    with pytest.raises(ValidationError):
        loan_disburse(actor=loan_officer, loan=loan, disbursed_on=DISBURSED_ON)

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.SUBMITTED
    assert not Installment.objects.filter(loan=loan).exists()


def test_undo_disbursement_reverses_the_entry_and_drops_the_schedule(loan, branch_manager):
    # given
    disbursement = LoanTransaction.objects.get(loan=loan)

    # when
    loan_undo_disbursement(actor=branch_manager, loan=loan, reason="Paid to the wrong client")

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on) == (LoanStatus.APPROVED, None)
    assert _balances(loan) == (ZERO, ZERO, ZERO, ZERO, ZERO)
    assert (loan.days_past_due, loan.arrears_amount, loan.delinquency_bucket) == (0, ZERO, "")
    assert not Installment.objects.filter(loan=loan).exists()
    disbursement.refresh_from_db()
    assert disbursement.is_reversed
    assert disbursement.reversal_entry.reversal_of == disbursement.journal_entry
    assert lines_of(disbursement.reversal_entry) == _rows(
        (PORTFOLIO, "0", "120000"), (PRAIA_CASH, "120000", "0")
    )
    assert _ledger(PORTFOLIO, PRAIA_CASH) == {PORTFOLIO: (ZERO, ZERO), PRAIA_CASH: (ZERO, ZERO)}
    assert _actions(loan)[-1] == "loan.disbursement_undone"


def test_an_undone_loan_can_be_disbursed_again(loan, loan_officer, branch_manager):
    # given
    loan_undo_disbursement(actor=branch_manager, loan=loan, reason="Wrong date")

    # when
    loan_disburse(actor=loan_officer, loan=loan, disbursed_on=datetime.date(2026, 1, 20))

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on) == (LoanStatus.ACTIVE, datetime.date(2026, 1, 20))
    assert Installment.objects.filter(loan=loan).count() == 12
    assert _ledger(PORTFOLIO, PRAIA_CASH) == {
        PORTFOLIO: (PRINCIPAL, ZERO),
        PRAIA_CASH: (ZERO, PRINCIPAL),
    }


def test_undo_disbursement_is_refused_once_a_repayment_exists(loan, loan_officer, branch_manager):
    # given
    _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))

    # when
    with pytest.raises(ValidationError):
        loan_undo_disbursement(actor=branch_manager, loan=loan, reason="Too late")

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on) == (LoanStatus.ACTIVE, DISBURSED_ON)
    assert Installment.objects.filter(loan=loan).count() == 12
    assert not LoanTransaction.objects.filter(loan=loan, is_reversed=True).exists()


def test_undo_disbursement_needs_the_write_off_capability(loan, loan_officer):
    # when
    with pytest.raises(PermissionDenied):
        loan_undo_disbursement(actor=loan_officer, loan=loan, reason="Mistake")

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert Installment.objects.filter(loan=loan).count() == 12


# --- repayments --------------------------------------------------------------------------------


def test_a_full_installment_pays_its_interest_and_principal(loan, loan_officer):
    # when
    txn = _pay(loan_officer, loan, "11347.15", datetime.date(2026, 2, 15), receipt_number="R-1")

    # then
    assert (txn.kind, txn.amount, txn.value_date) == (
        TransactionKind.REPAYMENT,
        EMI,
        datetime.date(2026, 2, 15),
    )
    assert _split(txn) == (FIRST_PRINCIPAL, FIRST_INTEREST, ZERO, ZERO, ZERO)
    assert _installments(loan)[:2] == [
        (1, FIRST_PRINCIPAL, FIRST_INTEREST, ZERO),
        (2, ZERO, ZERO, ZERO),
    ]
    assert lines_of(txn.journal_entry) == _rows(
        (PRAIA_CASH, "11347.15", "0"),
        (PORTFOLIO, "0", "8947.15"),
        (INTEREST_INCOME, "0", "2400.00"),
    )
    assert txn.journal_entry.entry_date == datetime.date(2026, 2, 15)
    assert _balances(loan) == (D("111052.85"), D("13765.83"), ZERO, ZERO, ZERO)
    assert loan.status == LoanStatus.ACTIVE
    allocation = RepaymentAllocation.objects.get(transaction=txn)
    assert (allocation.installment.number, allocation.principal, allocation.interest) == (
        1,
        FIRST_PRINCIPAL,
        FIRST_INTEREST,
    )
    event = AuditEvent.objects.get(action="loan.repayment_recorded", object_id=str(loan.pk))
    assert (event.after["principal"], event.after["interest"]) == ("8947.1500", "2400.0000")


def test_a_field_agent_may_not_collect_on_a_borrower_they_do_not_look_after(loan, field_agent):
    # when
    with pytest.raises(PermissionDenied) as refused:
        _pay(field_agent, loan, "1000.00", datetime.date(2026, 2, 10))

    # then: the same loans a field agent sees are the ones they may collect on
    assert str(refused.value) == "This loan is outside your scope."
    assert loan.transactions.filter(kind="repayment").count() == 0


def test_a_partial_payment_goes_to_interest_first(loan, loan_officer):
    # when
    small = _pay(loan_officer, loan, "1000.00", datetime.date(2026, 2, 15))
    rest = _pay(loan_officer, loan, "3000.00", datetime.date(2026, 2, 16))

    # then
    assert _split(small) == (ZERO, D("1000.00"), ZERO, ZERO, ZERO)
    assert lines_of(small.journal_entry) == _rows(
        (PRAIA_CASH, "1000", "0"), (INTEREST_INCOME, "0", "1000")
    )
    assert _split(rest) == (D("1600.00"), D("1400.00"), ZERO, ZERO, ZERO)
    assert lines_of(rest.journal_entry) == _rows(
        (PRAIA_CASH, "3000", "0"), (PORTFOLIO, "0", "1600"), (INTEREST_INCOME, "0", "1400")
    )
    assert _installments(loan)[0] == (1, D("1600.00"), FIRST_INTEREST, ZERO)
    assert _balances(loan) == (D("118400.00"), D("13765.83"), ZERO, ZERO, ZERO)


def test_an_advance_payment_covers_two_installments(loan, field_agent):
    # given: the borrower is one the field agent looks after
    Party.objects.filter(pk=loan.borrower_id).update(assigned_to=field_agent)
    loan.refresh_from_db()
    # when: the field agent collects two installments at once
    txn = _pay(field_agent, loan, "22694.30", datetime.date(2026, 2, 10))

    # then
    assert _split(txn) == (D("18073.24"), D("4621.06"), ZERO, ZERO, ZERO)
    assert _installments(loan)[:3] == [
        (1, D("8947.15"), D("2400.00"), ZERO),
        (2, D("9126.09"), D("2221.06"), ZERO),
        (3, ZERO, ZERO, ZERO),
    ]
    assert [
        (row.installment.number, row.principal, row.interest)
        for row in RepaymentAllocation.objects.filter(transaction=txn).order_by("pk")
    ] == [(1, D("8947.15"), D("2400.00")), (2, D("9126.09"), D("2221.06"))]
    assert lines_of(txn.journal_entry) == _rows(
        (PRAIA_CASH, "22694.30", "0"),
        (PORTFOLIO, "0", "18073.24"),
        (INTEREST_INCOME, "0", "4621.06"),
    )


def test_paying_everything_closes_the_loan(loan, loan_officer):
    # given
    _pay(loan_officer, loan, "100000.00", datetime.date(2026, 5, 20))

    # when
    txn = _pay(loan_officer, loan, "36165.83", datetime.date(2026, 6, 3))

    # then
    assert txn.overpayment_portion == ZERO
    loan.refresh_from_db()
    assert (loan.status, loan.closed_on) == (LoanStatus.CLOSED, datetime.date(2026, 6, 3))
    assert _balances(loan) == (ZERO, ZERO, ZERO, ZERO, ZERO)
    assert _actions(loan)[-1] == "loan.closed"
    assert _ledger(PORTFOLIO, PRAIA_CASH, INTEREST_INCOME) == {
        PORTFOLIO: (ZERO, ZERO),
        PRAIA_CASH: (D("16165.83"), ZERO),
        INTEREST_INCOME: (ZERO, TOTAL_INTEREST),
    }


def test_paying_more_than_owed_makes_the_loan_overpaid(loan, loan_officer):
    # when
    txn = _pay(loan_officer, loan, TOTAL_REPAYMENT + 500, datetime.date(2026, 6, 3))

    # then
    assert _split(txn) == (PRINCIPAL, TOTAL_INTEREST, ZERO, ZERO, D("500.00"))
    assert lines_of(txn.journal_entry) == _rows(
        (PRAIA_CASH, "136665.83", "0"),
        (PORTFOLIO, "0", "120000"),
        (INTEREST_INCOME, "0", "16165.83"),
        (OVERPAYMENTS, "0", "500"),
    )
    assert _balances(loan) == (ZERO, ZERO, ZERO, ZERO, D("500.00"))
    assert (loan.status, loan.closed_on) == (LoanStatus.OVERPAID, None)
    assert _ledger(OVERPAYMENTS) == {OVERPAYMENTS: (ZERO, D("500.00"))}


def test_the_allocation_order_is_penalties_fees_interest_principal(
    loan_officer, credit_committee, manager, ledger
):
    # given: a fee of 100 with every installment
    product = cash_product(manager, ledger, installment_fee=D("100"))
    loan = active_loan(loan_officer, credit_committee, product)

    # when
    txn = _pay(loan_officer, loan, "2450.00", datetime.date(2026, 2, 15))

    # then: the fee first, then interest; nothing reaches principal
    assert _split(txn) == (ZERO, D("2350.00"), D("100.00"), ZERO, ZERO)
    assert _installments(loan)[0] == (1, ZERO, D("2350.00"), D("100.00"))
    assert lines_of(txn.journal_entry) == _rows(
        (PRAIA_CASH, "2450", "0"), (INTEREST_INCOME, "0", "2350"), (FEE_INCOME, "0", "100")
    )


def test_a_products_own_allocation_order_is_respected(
    loan_officer, credit_committee, manager, ledger
):
    # given: principal before interest
    product = cash_product(
        manager, ledger, allocation_order=["principal", "interest", "fee", "penalty"]
    )
    loan = active_loan(loan_officer, credit_committee, product)

    # when
    txn = _pay(loan_officer, loan, "9000.00", datetime.date(2026, 2, 15))

    # then
    assert _split(txn) == (FIRST_PRINCIPAL, D("52.85"), ZERO, ZERO, ZERO)
    assert _installments(loan)[0] == (1, FIRST_PRINCIPAL, D("52.85"), ZERO)


@pytest.mark.parametrize(
    "value_date",
    [datetime.date(2026, 1, 14), "tomorrow"],
    ids=["before-disbursement", "in-the-future"],
)
def test_a_repayment_value_date_must_lie_between_disbursement_and_today(
    loan, loan_officer, value_date
):
    # given
    if value_date == "tomorrow":
        value_date = business_date() + datetime.timedelta(days=1)

    # when
    with pytest.raises(ValidationError) as raised:
        _pay(loan_officer, loan, EMI, value_date)

    # then
    assert set(raised.value.message_dict) == {"value_date"}
    assert not LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).exists()
    assert _installments(loan)[0] == (1, ZERO, ZERO, ZERO)


def test_a_receipt_number_is_recorded_once(loan, loan_officer):
    # given
    _pay(loan_officer, loan, "1000.00", datetime.date(2026, 2, 15), receipt_number="R-77")

    # when
    with pytest.raises(ValidationError) as raised:
        _pay(loan_officer, loan, "1000.00", datetime.date(2026, 2, 16), receipt_number="R-77")

    # then
    assert set(raised.value.message_dict) == {"receipt_number"}
    assert LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).count() == 1
    assert _installments(loan)[0] == (1, ZERO, D("1000.00"), ZERO)


@pytest.mark.parametrize("amount", ["0", "-5", "10.005"])
def test_a_repayment_amount_must_be_positive_and_in_cents(loan, loan_officer, amount):
    # when
    with pytest.raises(ValidationError) as raised:
        _pay(loan_officer, loan, amount, datetime.date(2026, 2, 15))

    # then
    assert set(raised.value.message_dict) == {"amount"}
    assert not LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).exists()


def test_repayments_are_refused_on_a_loan_not_disbursed(loan_officer, credit_committee, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)

    # when
    with pytest.raises(ValidationError):
        _pay(loan_officer, loan, "1000.00", datetime.date(2026, 2, 15))

    # then
    assert not LoanTransaction.objects.filter(loan=loan).exists()


def test_repayments_are_refused_on_a_closed_loan(loan, loan_officer):
    # given
    _pay(loan_officer, loan, TOTAL_REPAYMENT, datetime.date(2026, 6, 3))

    # when
    with pytest.raises(ValidationError):
        _pay(loan_officer, loan, "10.00", datetime.date(2026, 6, 4))

    # then
    assert LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).count() == 1
    loan.refresh_from_db()
    assert (loan.status, loan.overpaid_amount) == (LoanStatus.CLOSED, ZERO)


@pytest.mark.parametrize("persona", ["auditor", "outsider", "credit_committee"])
def test_who_may_not_record_a_repayment(request, loan, persona):
    # given
    actor = request.getfixturevalue(persona)

    # when
    with pytest.raises(PermissionDenied):
        _pay(actor, loan, EMI, datetime.date(2026, 2, 15))

    # then
    assert not LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).exists()
    assert _installments(loan)[0] == (1, ZERO, ZERO, ZERO)


def test_accrual_product_accrues_interest_paid_before_it_was_accrued(
    loan_officer, credit_committee, manager, ledger
):
    # given: nothing accrued yet (the end-of-day job has not run)
    product = accrual_product(manager, ledger)
    loan = active_loan(loan_officer, credit_committee, product)

    # when
    txn = _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))

    # then
    assert lines_of(txn.journal_entry) == _rows(
        (INTEREST_RECEIVABLE, "2400", "0"),
        (INTEREST_INCOME, "0", "2400"),
        (PRAIA_CASH, "11347.15", "0"),
        (PORTFOLIO, "0", "8947.15"),
        (INTEREST_RECEIVABLE, "0", "2400"),
    )
    first = Installment.objects.get(loan=loan, number=1)
    assert (first.interest_accrued, first.interest_paid) == (FIRST_INTEREST, FIRST_INTEREST)
    allocation = RepaymentAllocation.objects.get(transaction=txn)
    assert allocation.interest_accrued_now == FIRST_INTEREST
    assert _ledger(INTEREST_RECEIVABLE, INTEREST_INCOME, PORTFOLIO) == {
        INTEREST_RECEIVABLE: (ZERO, ZERO),
        INTEREST_INCOME: (ZERO, FIRST_INTEREST),
        PORTFOLIO: (D("111052.85"), ZERO),
    }


def test_accrual_product_only_accrues_what_is_paid(loan_officer, credit_committee, manager, ledger):
    # given
    product = accrual_product(manager, ledger)
    loan = active_loan(loan_officer, credit_committee, product)

    # when
    first = _pay(loan_officer, loan, "1000.00", datetime.date(2026, 2, 15))
    second = _pay(loan_officer, loan, "2000.00", datetime.date(2026, 2, 20))

    # then
    assert lines_of(first.journal_entry) == _rows(
        (INTEREST_RECEIVABLE, "1000", "0"),
        (INTEREST_INCOME, "0", "1000"),
        (PRAIA_CASH, "1000", "0"),
        (INTEREST_RECEIVABLE, "0", "1000"),
    )
    assert lines_of(second.journal_entry) == _rows(
        (INTEREST_RECEIVABLE, "1400", "0"),
        (INTEREST_INCOME, "0", "1400"),
        (PRAIA_CASH, "2000", "0"),
        (PORTFOLIO, "0", "600"),
        (INTEREST_RECEIVABLE, "0", "1400"),
    )
    assert Installment.objects.get(loan=loan, number=1).interest_accrued == FIRST_INTEREST


def test_a_repayment_in_francs(loan_officer, credit_committee, manager, ledger):
    # given
    product = xof_product(manager, ledger)
    loan = active_loan(loan_officer, credit_committee, product)

    # when
    txn = _pay(loan_officer, loan, "11347", datetime.date(2026, 2, 15))
    with pytest.raises(ValidationError) as raised:
        _pay(loan_officer, loan, "100.5", datetime.date(2026, 2, 15))

    # then
    assert _split(txn) == (D("8947"), D("2400"), ZERO, ZERO, ZERO)
    assert set(raised.value.message_dict) == {"amount"}
    assert lines_of(txn.journal_entry) == _rows(
        (PRAIA_CASH, "11347", "0"), (PORTFOLIO, "0", "8947"), (INTEREST_INCOME, "0", "2400")
    )
    assert txn.journal_entry.currency == "XOF"


# --- reversal ----------------------------------------------------------------------------------


def test_reversing_a_repayment_takes_back_exactly_what_it_did(loan, loan_officer, branch_manager):
    # given
    _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))
    balances_before = _balances(loan)
    installments_before = _installments(loan)
    second = _pay(loan_officer, loan, "5000.00", datetime.date(2026, 3, 15))
    assert _installments(loan)[1] == (2, D("2778.94"), D("2221.06"), ZERO)

    # when
    repayment_reverse(actor=branch_manager, transaction_id=second.pk, reason="Bounced transfer")

    # then
    assert _installments(loan) == installments_before
    assert _balances(loan) == balances_before
    second.refresh_from_db()
    assert second.is_reversed
    assert second.reversal_entry.reversal_of == second.journal_entry
    assert lines_of(second.reversal_entry) == _rows(
        (PRAIA_CASH, "0", "5000"), (PORTFOLIO, "2778.94", "0"), (INTEREST_INCOME, "2221.06", "0")
    )
    assert _ledger(PORTFOLIO, INTEREST_INCOME) == {
        PORTFOLIO: (D("111052.85"), ZERO),
        INTEREST_INCOME: (ZERO, FIRST_INTEREST),
    }
    event = AuditEvent.objects.get(action="loan.repayment_reversed", object_id=str(loan.pk))
    assert event.after == {
        "transaction": second.pk,
        "amount": "5000.0000",
        "reason": "Bounced transfer",
    }


def test_reversing_the_closing_repayment_reopens_the_loan(loan, loan_officer, branch_manager):
    # given
    txn = _pay(loan_officer, loan, TOTAL_REPAYMENT, datetime.date(2026, 6, 3))
    loan.refresh_from_db()
    assert loan.status == LoanStatus.CLOSED

    # when
    repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason="Counterfeit notes")

    # then
    assert _balances(loan) == (PRINCIPAL, TOTAL_INTEREST, ZERO, ZERO, ZERO)
    assert (loan.status, loan.closed_on) == (LoanStatus.ACTIVE, None)
    assert _installments(loan) == [(number, ZERO, ZERO, ZERO) for number in range(1, 13)]
    assert _actions(loan)[-1] == "loan.reopened"


def test_reversing_an_overpayment_reopens_the_loan(loan, loan_officer, branch_manager):
    # given
    txn = _pay(loan_officer, loan, TOTAL_REPAYMENT + 500, datetime.date(2026, 6, 3))

    # when
    repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason="Wrong loan")

    # then
    assert _balances(loan) == (PRINCIPAL, TOTAL_INTEREST, ZERO, ZERO, ZERO)
    assert loan.status == LoanStatus.ACTIVE
    assert _ledger(OVERPAYMENTS, PORTFOLIO) == {
        OVERPAYMENTS: (ZERO, ZERO),
        PORTFOLIO: (PRINCIPAL, ZERO),
    }


def test_a_repayment_is_reversed_once_and_with_a_reason(loan, loan_officer, branch_manager):
    # given
    txn = _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))

    # when: no reason
    with pytest.raises(ValidationError) as no_reason:
        repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason=" ")
    # when: a loan officer
    with pytest.raises(PermissionDenied):
        repayment_reverse(actor=loan_officer, transaction_id=txn.pk, reason="Mistake")
    repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason="Mistake")
    # when: twice
    with pytest.raises(ValidationError):
        repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason="Again")

    # then
    assert set(no_reason.value.message_dict) == {"reason"}
    assert _installments(loan)[0] == (1, ZERO, ZERO, ZERO)
    assert _ledger(PORTFOLIO) == {PORTFOLIO: (PRINCIPAL, ZERO)}


def test_the_disbursement_cannot_be_reversed_as_a_repayment(loan, branch_manager):
    # given
    disbursement = LoanTransaction.objects.get(loan=loan)

    # when
    with pytest.raises(ValidationError):
        repayment_reverse(actor=branch_manager, transaction_id=disbursement.pk, reason="No")

    # then
    disbursement.refresh_from_db()
    assert not disbursement.is_reversed


def test_undo_disbursement_after_the_repayments_were_reversed(loan, loan_officer, branch_manager):
    # given
    txn = _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))
    repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason="Wrong loan")

    # when
    loan_undo_disbursement(actor=branch_manager, loan=loan, reason="Wrong client")

    # then
    loan.refresh_from_db()
    assert loan.status == LoanStatus.APPROVED
    assert not Installment.objects.filter(loan=loan).exists()
    assert _ledger(PORTFOLIO, PRAIA_CASH, INTEREST_INCOME) == {
        PORTFOLIO: (ZERO, ZERO),
        PRAIA_CASH: (ZERO, ZERO),
        INTEREST_INCOME: (ZERO, ZERO),
    }


def test_reversing_an_accrual_repayment_undoes_its_accrual_catch_up(
    loan_officer, credit_committee, branch_manager, manager, ledger
):
    # given
    product = accrual_product(manager, ledger)
    loan = active_loan(loan_officer, credit_committee, product)
    txn = _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))
    repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason="Bounced transfer")

    # when: the client pays again
    _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 20))

    # then
    assert Installment.objects.get(loan=loan, number=1).interest_accrued == FIRST_INTEREST
    assert _ledger(INTEREST_RECEIVABLE, INTEREST_INCOME) == {
        INTEREST_RECEIVABLE: (ZERO, ZERO),
        INTEREST_INCOME: (ZERO, FIRST_INTEREST),
    }


# --- write-off ---------------------------------------------------------------------------------


def test_write_off_books_the_outstanding_principal_as_a_loss(loan, loan_officer, branch_manager):
    # given
    _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))

    # when
    loan_write_off(
        actor=branch_manager,
        loan=loan,
        reason="Business closed, client emigrated",
        written_off_on=datetime.date(2026, 10, 31),
    )

    # then
    loan.refresh_from_db()
    assert (loan.status, loan.closed_on) == (LoanStatus.WRITTEN_OFF, datetime.date(2026, 10, 31))
    assert _balances(loan) == (ZERO, ZERO, ZERO, ZERO, ZERO)
    assert (loan.days_past_due, loan.arrears_amount) == (0, ZERO)
    txn = LoanTransaction.objects.get(loan=loan, kind=TransactionKind.WRITE_OFF)
    # the whole remaining obligation is written off; only the principal was ever on the books
    assert (txn.amount, txn.principal_portion, txn.interest_portion) == (
        D("124818.68"),
        D("111052.85"),
        D("13765.83"),
    )
    assert lines_of(txn.journal_entry) == _rows(
        (WRITE_OFF_EXPENSE, "111052.85", "0"), (PORTFOLIO, "0", "111052.85")
    )
    assert _ledger(PORTFOLIO, WRITE_OFF_EXPENSE) == {
        PORTFOLIO: (ZERO, ZERO),
        WRITE_OFF_EXPENSE: (D("111052.85"), ZERO),
    }
    assert _actions(loan)[-1] == "loan.written_off"


def test_write_off_needs_a_reason_an_active_loan_and_the_capability(
    loan, loan_officer, branch_manager, credit_committee, product
):
    # given
    approved = approved_loan(loan_officer, credit_committee, product)

    # when
    with pytest.raises(ValidationError) as no_reason:
        loan_write_off(actor=branch_manager, loan=loan, reason="")
    with pytest.raises(PermissionDenied):
        loan_write_off(actor=loan_officer, loan=loan, reason="Uncollectable")
    with pytest.raises(ValidationError):
        loan_write_off(actor=branch_manager, loan=approved, reason="Uncollectable")

    # then
    assert set(no_reason.value.message_dict) == {"reason"}
    assert not LoanTransaction.objects.filter(kind=TransactionKind.WRITE_OFF).exists()
    loan.refresh_from_db()
    assert (loan.status, loan.principal_outstanding) == (LoanStatus.ACTIVE, PRINCIPAL)


def test_write_off_clears_the_delinquency_bucket_with_the_days_past_due(loan, branch_manager):
    # given: as of today the reference loan is months behind
    refresh_loan_balances(loan, as_of=datetime.date(2026, 10, 31))
    loan.refresh_from_db()
    assert loan.delinquency_bucket == "91+"

    # when
    loan_write_off(
        actor=branch_manager,
        loan=loan,
        reason="Uncollectable",
        written_off_on=datetime.date(2026, 10, 31),
    )

    # then
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.delinquency_bucket) == (0, "")


def test_a_repayment_of_a_written_off_loan_cannot_be_reversed(loan, loan_officer, branch_manager):
    # given
    txn = _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))
    loan_write_off(
        actor=branch_manager,
        loan=loan,
        reason="Uncollectable",
        written_off_on=datetime.date(2026, 10, 31),
    )

    # when
    with pytest.raises(ValidationError):
        repayment_reverse(actor=branch_manager, transaction_id=txn.pk, reason="Bounced")

    # then
    assert _balances(loan) == (ZERO, ZERO, ZERO, ZERO, ZERO)
    assert _ledger(PORTFOLIO) == {PORTFOLIO: (ZERO, ZERO)}


def test_a_write_off_of_interest_only_records_what_was_written_off(
    loan_officer, credit_committee, branch_manager, manager, ledger
):
    # given: principal first, so every cent of principal is repaid, the last interest is not
    product = cash_product(
        manager, ledger, allocation_order=["principal", "interest", "fee", "penalty"]
    )
    loan = active_loan(loan_officer, credit_committee, product)
    _pay(loan_officer, loan, TOTAL_REPAYMENT - D("222.49"), datetime.date(2026, 6, 3))
    assert _balances(loan) == (ZERO, D("222.49"), ZERO, ZERO, ZERO)

    # when
    loan_write_off(
        actor=branch_manager,
        loan=loan,
        reason="Client deceased",
        written_off_on=datetime.date(2026, 10, 31),
    )

    # then
    txn = LoanTransaction.objects.get(loan=loan, kind=TransactionKind.WRITE_OFF)
    assert (txn.principal_portion, txn.amount) == (ZERO, D("222.49"))


# --- arrears -----------------------------------------------------------------------------------


def test_days_past_due_and_arrears_of_a_missed_installment(loan, loan_officer):
    # given: the first installment paid, the second (due 15 March) missed
    _pay(loan_officer, loan, EMI, datetime.date(2026, 2, 15))

    # when / then: on the due date nothing is late yet
    refresh_loan_balances(loan, as_of=datetime.date(2026, 3, 15))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.arrears_amount, loan.delinquency_bucket) == (0, ZERO, "")

    # when / then: five days later
    refresh_loan_balances(loan, as_of=datetime.date(2026, 3, 20))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.arrears_amount, loan.delinquency_bucket) == (
        5,
        D("11347.15"),
        "1-30",
    )
    assert (loan.principal_outstanding, loan.interest_outstanding) == (
        D("111052.85"),
        D("13765.83"),
    )

    # when / then: a second installment missed
    refresh_loan_balances(loan, as_of=datetime.date(2026, 4, 20))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.arrears_amount, loan.delinquency_bucket) == (
        36,
        D("22694.30"),
        "31-60",
    )


def test_a_partly_paid_installment_counts_its_remainder_as_arrears(loan, loan_officer):
    # given
    _pay(loan_officer, loan, "5000.00", datetime.date(2026, 2, 15))

    # when
    refresh_loan_balances(loan, as_of=datetime.date(2026, 2, 28))

    # then
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.arrears_amount, loan.delinquency_bucket) == (
        13,
        D("6347.15"),
        "1-30",
    )


def test_arrears_within_the_tolerance_are_not_arrears(
    loan_officer, credit_committee, manager, ledger
):
    # given: 47.15 short on the first installment, tolerance 100
    product = cash_product(manager, ledger, arrears_tolerance=D("100"))
    loan = active_loan(loan_officer, credit_committee, product)
    _pay(loan_officer, loan, "11300.00", datetime.date(2026, 2, 15))

    # when
    refresh_loan_balances(loan, as_of=datetime.date(2026, 2, 28))

    # then
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.arrears_amount, loan.delinquency_bucket) == (0, ZERO, "")


@pytest.mark.parametrize(
    ("days", "label"),
    [
        (0, ""),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91+"),
        (400, "91+"),
    ],
)
def test_bucket_labels_of_the_default_buckets(days, label):
    # given
    buckets = [[1, 30], [31, 60], [61, 90], [91, None]]

    # then
    assert bucket_label(days, buckets) == label


# --- product versions --------------------------------------------------------------------------


def test_a_loan_keeps_its_product_version(loan_officer, credit_committee, manager, product):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)
    first_version = current_version(product)

    # when
    second_version = product_version_create(
        actor=manager,
        product=product,
        terms=base_terms(first_version.posting_rule_set, rate_default=D("30")),
    )
    loan_disburse(actor=loan_officer, loan=loan, disbursed_on=DISBURSED_ON)
    newer = active_loan(loan_officer, credit_committee, product)

    # then
    assert (first_version.version, second_version.version) == (1, 2)
    assert current_version(product) == second_version
    loan.refresh_from_db()
    assert (loan.product_version, loan.annual_interest_rate) == (first_version, D(24))
    assert Installment.objects.get(loan=loan, number=1).interest_due == FIRST_INTEREST
    assert (newer.product_version, newer.annual_interest_rate) == (second_version, D(30))
    assert Installment.objects.get(loan=newer, number=1).interest_due == D("3000.00")
    assert AuditEvent.objects.filter(action="loan_product.version_created").count() == 2
