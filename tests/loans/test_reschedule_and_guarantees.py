"""Rescheduling by closure, guarantors and collateral."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounting.chart import chart_install
from loans.models import Loan
from loans.portfolio import loans_reconciliation
from loans.services import loan_collateral_add, loan_guarantor_add, loan_reschedule
from tests.crm.factories import make_person
from tests.loans.factories import PRINCIPAL, active_loan, cash_product

D = Decimal


@pytest.fixture
def loan(praia, loan_officer, branch_manager):
    return active_loan(loan_officer, branch_manager, cash_product(loan_officer, chart_install()))


def test_rescheduling_moves_the_outstanding_principal_to_a_linked_new_loan(loan, branch_manager):
    # when
    new = loan_reschedule(actor=branch_manager, loan=loan, number_of_repayments=24)
    # then
    loan.refresh_from_db()
    assert (loan.status, loan.principal_outstanding) == ("rescheduled", D("0"))
    assert (new.status, new.previous_loan_id, new.principal, new.number_of_repayments) == (
        "active",
        loan.pk,
        PRINCIPAL,
        24,
    )
    assert new.installments.count() == 24
    assert sum(row.principal_due for row in new.installments.all()) == PRINCIPAL
    assert new.principal_outstanding == PRINCIPAL


def test_rescheduling_keeps_the_loans_and_the_ledger_reconciled(loan, branch_manager):
    # when
    loan_reschedule(actor=branch_manager, loan=loan, number_of_repayments=18)
    result = loans_reconciliation(as_of=timezone.localdate())
    # then
    assert (result["gl_balance"], result["subledger_balance"], result["difference"]) == (
        PRINCIPAL,
        PRINCIPAL,
        D("0.00"),
    )


def test_a_loan_officer_cannot_reschedule(loan, loan_officer):
    # when / then
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        loan_reschedule(actor=loan_officer, loan=loan, number_of_repayments=18)
    assert Loan.objects.count() == 1


def test_terms_outside_the_product_are_refused(loan, branch_manager):
    # when / then
    with pytest.raises(ValidationError) as error:
        loan_reschedule(actor=branch_manager, loan=loan, number_of_repayments=99)
    assert list(error.value.message_dict) == ["number_of_repayments"]
    assert Loan.objects.count() == 1


def test_guarantors_and_collateral(loan, loan_officer):
    # given
    guarantor = make_person(loan_officer, first_name="Rita")
    # when
    added = loan_guarantor_add(
        actor=loan_officer, loan=loan, party=guarantor, amount=D("60000.005")
    )
    collateral = loan_collateral_add(
        actor=loan_officer, loan=loan, description="Motorbike", value=D("150000")
    )
    # then
    assert (added.amount, collateral.value) == (D("60000.00"), D("150000.00"))
    with pytest.raises(ValidationError):
        loan_guarantor_add(actor=loan_officer, loan=loan, party=loan.borrower, amount=D("1"))
    with pytest.raises(ValidationError):
        loan_guarantor_add(actor=loan_officer, loan=loan, party=guarantor, amount=D("1"))
    assert loan.guarantors.count() == 1
