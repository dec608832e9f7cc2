"""Referral of late borrowers to coaching: once per loan and bucket, only where a rule says."""

from __future__ import annotations

import datetime

import pytest

from accounting.chart import chart_install
from coaching.automation import coaching_referrals_run
from coaching.models import CoachingReferral, CoachingReferralRule
from coaching.tasks import referrals
from crm.models import Task
from loans.end_of_day import run_end_of_day
from loans.services import repayment_record
from tests.crm.factories import make_person
from tests.factories import UserFactory
from tests.loans.factories import EMI, SCHEDULE, active_loan, cash_product
from users.roles import Role


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


def _pay(officer, loan, count):
    for date, _principal, _interest in SCHEDULE[:count]:
        repayment_record(actor=officer, loan=loan, amount=EMI, value_date=date)


@pytest.fixture
def loans(rules, loan_officer, branch_manager, outsider, mindelo):
    """On 22 November: Praia's Rui 191 days late (91+), Praia's Ana 7 days late (1-30), and
    Mindelo's Eva 191 days late (91+) in a branch without a rule."""
    product = cash_product(loan_officer, rules)
    rui = make_person(loan_officer, first_name="Rui", last_name="Semedo")
    late = active_loan(loan_officer, branch_manager, product, borrower=rui)
    _pay(loan_officer, late, 3)
    ana = make_person(loan_officer, first_name="Ana", last_name="Lopes")
    slightly_late = active_loan(loan_officer, branch_manager, product, borrower=ana)
    _pay(loan_officer, slightly_late, 9)
    mindelo_manager = UserFactory(
        username="branchmanager.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo
    )
    eva = make_person(outsider, first_name="Eva", last_name="Fortes", island="sao_vicente")
    elsewhere = active_loan(outsider, mindelo_manager, product, borrower=eva)
    _pay(outsider, elsewhere, 3)
    run_end_of_day(datetime.date(2026, 11, 22))
    for loan in (late, slightly_late, elsewhere):
        loan.refresh_from_db()
    return {"late": late, "slightly_late": slightly_late, "elsewhere": elsewhere}


def test_referral_fires_once_for_the_rule_bucket_and_branch(loans, praia, branch_manager):
    # given
    assert [loans[key].delinquency_bucket for key in ("late", "slightly_late", "elsewhere")] == [
        "91+",
        "1-30",
        "91+",
    ]
    rule = CoachingReferralRule.objects.create(
        branch=praia, delinquency_bucket="91+", coordinator=branch_manager
    )
    # when: the nightly job runs twice
    first = coaching_referrals_run()
    second = referrals.apply().get()
    # then
    assert first == {"created": 1, "skipped": 0}
    assert second == {"created": 0, "skipped": 0}
    referral = CoachingReferral.objects.get()
    assert (referral.loan, referral.rule, referral.delinquency_bucket) == (
        loans["late"],
        rule,
        "91+",
    )
    assert referral.days_past_due == 191
    task = Task.objects.get()
    assert task.pk == referral.task_id
    assert (
        task.title == f"Offer coaching to Rui Semedo (loan {loans['late'].number}, 191 days late)"
    )
    assert (task.assigned_to, task.loan, task.party) == (
        branch_manager,
        loans["late"],
        loans["late"].borrower,
    )


def test_no_referral_without_a_matching_bucket(loans, praia, branch_manager):
    # given
    CoachingReferralRule.objects.create(
        branch=praia, delinquency_bucket="31-60", coordinator=branch_manager
    )
    # when
    result = coaching_referrals_run()
    # then
    assert result == {"created": 0, "skipped": 0}
    assert not CoachingReferral.objects.exists()
    assert not Task.objects.exists()
