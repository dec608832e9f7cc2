"""Evaluation of loans against their offer's requirements: each rule's branches with their exact
reasons, freshness at the boundary day, unknown never compliant, history written only on change,
and a query count that does not grow with the number of loans.

The borrower is a person of Praia (NIF 100000001, INPS 700001) with the reference active loan
(120,000 CVE disbursed on 15 January 2026). Registry records are as of 31 October 2026 and the
evaluation runs on 20 November 2026 unless a test says otherwise (sources are fresh for 35 days).
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounting.chart import chart_install
from compliance.cases import requirement_deactivate
from compliance.choices import CheckStatus, RequirementKind, Severity
from compliance.evaluation import evaluate_loans
from compliance.models import Case, ComplianceCheck
from loans.choices import DocumentKind
from loans.services import loan_document_add, loan_write_off
from tests.compliance.factories import make_requirement, monitored_loan
from tests.compliance.records import (
    bank_no_facility,
    bank_record,
    bank_source,
    inps_record,
    inps_source,
    revenue_source,
    tax_record,
)
from tests.crm.factories import make_person
from tests.loans.factories import DISBURSED_ON, active_loan, cash_product, document_file

AS_OF = datetime.date(2026, 10, 31)
TODAY = datetime.date(2026, 11, 20)


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def loan(loan_officer, branch_manager, rules):
    return monitored_loan(loan_officer, branch_manager, rules, nif="100000001", ssn="700001")


@pytest.fixture
def offer(loan):
    return loan.product_version.product.offer


def _evaluate(loan, today=TODAY) -> dict:
    return evaluate_loans(loan_ids=[loan.pk], today=today)


def _check(loan, kind) -> ComplianceCheck:
    return ComplianceCheck.objects.get(loan=loan, requirement__kind=kind, is_latest=True)


def _verdict(loan, kind) -> tuple[str, str]:
    check = _check(loan, kind)
    return check.status, check.reason


# --- social security -----------------------------------------------------------------------------


def test_regular_social_security_is_compliant_with_the_record_as_evidence(loan, offer):
    # given
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    evidence = inps_record(inps_source(), loan.borrower, as_of=AS_OF)
    # when
    counts = _evaluate(loan)
    # then
    check = _check(loan, RequirementKind.SOCIAL_SECURITY_PAID)
    assert (check.status, check.reason) == (
        CheckStatus.COMPLIANT,
        "Social security contributions paid up as of 31/10/2026.",
    )
    assert (check.evidence_id, check.party_id) == (evidence.pk, loan.borrower_id)
    assert counts == {
        "loans": 1,
        "compliant": 1,
        "non_compliant": 0,
        "unknown": 0,
        "stale": 0,
        "checks_written": 1,
        "cases_opened": 0,
        "cases_closed": 0,
    }


def test_irregular_social_security_says_months_and_amount_unpaid(loan, offer):
    # given
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    inps_record(
        inps_source(),
        loan.borrower,
        as_of=AS_OF,
        status="irregular",
        months_in_arrears=3,
        amount_due="45000.00",
    )
    # when
    counts = _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.SOCIAL_SECURITY_PAID) == (
        CheckStatus.NON_COMPLIANT,
        "3 months of contributions unpaid (45,000.00 CVE) as of 31/10/2026.",
    )
    assert (counts["non_compliant"], counts["cases_opened"]) == (1, 1)


def test_one_month_unpaid_is_said_in_the_singular(loan, offer):
    # given
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    inps_record(
        inps_source(),
        loan.borrower,
        as_of=AS_OF,
        status="irregular",
        months_in_arrears=1,
        amount_due="15000.00",
    )
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.SOCIAL_SECURITY_PAID)[1] == (
        "1 month of contributions unpaid (15,000.00 CVE) as of 31/10/2026."
    )


def test_a_registry_status_we_do_not_know_is_unknown(loan, offer):
    # given
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    inps_record(inps_source(), loan.borrower, as_of=AS_OF, status="suspended")
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.SOCIAL_SECURITY_PAID) == (
        CheckStatus.UNKNOWN,
        "Status “suspended” from INPS as of 31/10/2026 is not understood.",
    )


def test_the_latest_record_decides(loan, offer):
    # given an irregular September, then a regular October
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    source = inps_source()
    inps_record(
        source,
        loan.borrower,
        as_of=datetime.date(2026, 9, 30),
        status="irregular",
        months_in_arrears=2,
        amount_due="30000.00",
    )
    october = inps_record(source, loan.borrower, as_of=AS_OF)
    # when
    _evaluate(loan)
    # then
    check = _check(loan, RequirementKind.SOCIAL_SECURITY_PAID)
    assert (check.status, check.evidence_id) == (CheckStatus.COMPLIANT, october.pk)


# --- tax -------------------------------------------------------------------------------------


def test_regular_tax_with_a_valid_certificate_is_compliant(loan, offer):
    # given
    make_requirement(offer, RequirementKind.TAX_REGULAR)
    tax_record(revenue_source(), loan.borrower, as_of=AS_OF, valid_until=datetime.date(2027, 1, 15))
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.TAX_REGULAR) == (
        CheckStatus.COMPLIANT,
        "Tax certificate CRT-2026-000123 valid until 15/01/2027.",
    )


def test_a_certificate_valid_until_today_is_still_valid(loan, offer):
    # given
    make_requirement(offer, RequirementKind.TAX_REGULAR)
    tax_record(revenue_source(), loan.borrower, as_of=AS_OF, valid_until=TODAY)
    # when
    _evaluate(loan)
    # then
    assert _check(loan, RequirementKind.TAX_REGULAR).status == CheckStatus.COMPLIANT


def test_an_expired_certificate_is_non_compliant_although_the_status_is_regular(loan, offer):
    # given
    make_requirement(offer, RequirementKind.TAX_REGULAR)
    tax_record(
        revenue_source(), loan.borrower, as_of=AS_OF, valid_until=datetime.date(2026, 11, 19)
    )
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.TAX_REGULAR) == (
        CheckStatus.NON_COMPLIANT,
        "Tax certificate CRT-2026-000123 expired on 19/11/2026.",
    )


def test_irregular_tax_says_the_debt(loan, offer):
    # given
    make_requirement(offer, RequirementKind.TAX_REGULAR)
    tax_record(
        revenue_source(),
        loan.borrower,
        as_of=AS_OF,
        status="irregular",
        certificate_number=None,
        tax_debt="80000.00",
    )
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.TAX_REGULAR) == (
        CheckStatus.NON_COMPLIANT,
        "Tax situation irregular (tax debt 80,000.00 CVE) as of 31/10/2026.",
    )


def test_regular_tax_without_a_certificate_is_non_compliant(loan, offer):
    # given
    make_requirement(offer, RequirementKind.TAX_REGULAR)
    tax_record(revenue_source(), loan.borrower, as_of=AS_OF, certificate_number=None)
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.TAX_REGULAR) == (
        CheckStatus.NON_COMPLIANT,
        "Tax situation regular as of 31/10/2026 but no valid tax certificate.",
    )


# --- unknown and stale -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (
            RequirementKind.TAX_REGULAR,
            "No record from Revenue authority: unknown is never compliant.",
        ),
        (
            RequirementKind.SOCIAL_SECURITY_PAID,
            "No record from Social Security Institute: unknown is never compliant.",
        ),
        (
            RequirementKind.NO_BANK_ARREARS,
            "No record from Commercial bank: unknown is never compliant.",
        ),
        (
            RequirementKind.JOBS_KEPT,
            "No record from Social Security Institute: unknown is never compliant.",
        ),
    ],
)
def test_no_record_is_unknown_and_never_compliant(loan, offer, kind, reason):
    # given a record about someone else only
    make_requirement(offer, kind, threshold="3" if kind == RequirementKind.JOBS_KEPT else None)
    other = make_person(loan.officer, nif="100000099")
    inps_record(inps_source(), other, as_of=AS_OF)
    # when
    counts = _evaluate(loan)
    # then
    check = _check(loan, kind)
    assert (check.status, check.reason, check.evidence_id) == (CheckStatus.UNKNOWN, reason, None)
    assert (counts["unknown"], counts["compliant"], counts["cases_opened"]) == (1, 0, 0)
    assert Case.objects.count() == 0


def test_a_record_is_fresh_on_its_last_day_and_stale_the_day_after(loan, offer):
    # given a source fresh for 35 days and a record as of 31 October
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    inps_record(inps_source(freshness_days=35), loan.borrower, as_of=AS_OF)
    # when
    _evaluate(loan, today=datetime.date(2026, 12, 5))
    last_fresh_day = _verdict(loan, RequirementKind.SOCIAL_SECURITY_PAID)
    _evaluate(loan, today=datetime.date(2026, 12, 6))
    first_stale_day = _verdict(loan, RequirementKind.SOCIAL_SECURITY_PAID)
    # then
    assert last_fresh_day[0] == CheckStatus.COMPLIANT
    assert first_stale_day == (
        CheckStatus.STALE,
        "Latest record from INPS is as of 31/10/2026, older than 35 days.",
    )


def test_a_stale_irregular_record_opens_no_case(loan, offer):
    # given
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    inps_record(
        inps_source(freshness_days=10),
        loan.borrower,
        as_of=AS_OF,
        status="irregular",
        months_in_arrears=3,
        amount_due="45000.00",
    )
    # when
    counts = _evaluate(loan)
    # then
    assert _check(loan, RequirementKind.SOCIAL_SECURITY_PAID).status == CheckStatus.STALE
    assert (counts["stale"], counts["cases_opened"], Case.objects.count()) == (1, 0, 0)


# --- banks ---------------------------------------------------------------------------------------


def test_a_facility_beyond_the_allowed_days_past_due_is_non_compliant_with_the_worst(loan, offer):
    # given
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS)
    bca, cecv = bank_source("BCA"), bank_source("CECV")
    bank_record(bca, loan.borrower, as_of=AS_OF, account="BCA-000123", days_past_due=12)
    worst = bank_record(cecv, loan.borrower, as_of=AS_OF, account="CECV-000456", days_past_due=45)
    # when
    _evaluate(loan)
    # then
    check = _check(loan, RequirementKind.NO_BANK_ARREARS)
    assert (check.status, check.reason, check.evidence_id) == (
        CheckStatus.NON_COMPLIANT,
        "Facility CECV-000456 at CECV is 45 days past due (150,000.00 CVE outstanding) as of "
        "31/10/2026; at most 30 allowed.",
        worst.pk,
    )


def test_days_past_due_at_the_threshold_are_allowed(loan, offer):
    # given
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS)
    bank_record(bank_source("BCA"), loan.borrower, as_of=AS_OF, account="BCA-1", days_past_due=30)
    bank_record(bank_source("CECV"), loan.borrower, as_of=AS_OF, account="CECV-1")
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.NO_BANK_ARREARS) == (
        CheckStatus.COMPLIANT,
        "No facility more than 30 days past due at BCA, CECV as of 31/10/2026.",
    )


def test_the_requirement_threshold_replaces_the_default(loan, offer):
    # given
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS, threshold="10")
    bank_record(bank_source("BCA"), loan.borrower, as_of=AS_OF, account="BCA-1", days_past_due=11)
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.NO_BANK_ARREARS) == (
        CheckStatus.NON_COMPLIANT,
        "Facility BCA-1 at BCA is 11 days past due (150,000.00 CVE outstanding) as of "
        "31/10/2026; at most 10 allowed.",
    )


def test_a_facility_the_bank_no_longer_reports_does_not_count(loan, offer):
    # given a facility 60 days late in September, gone in October
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS)
    bca = bank_source("BCA")
    bank_record(
        bca,
        loan.borrower,
        as_of=datetime.date(2026, 9, 30),
        account="BCA-OLD",
        days_past_due=60,
    )
    current = bank_record(bca, loan.borrower, as_of=AS_OF, account="BCA-NEW", days_past_due=3)
    # when
    _evaluate(loan)
    # then
    check = _check(loan, RequirementKind.NO_BANK_ARREARS)
    assert (check.status, check.evidence_id) == (CheckStatus.COMPLIANT, current.pk)


def test_a_stale_bank_is_ignored_when_another_is_fresh(loan, offer):
    # given BCA stale with arrears, CECV fresh and current
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS)
    bank_record(
        bank_source("BCA", freshness_days=10),
        loan.borrower,
        as_of=AS_OF,
        account="BCA-1",
        days_past_due=90,
    )
    bank_record(bank_source("CECV"), loan.borrower, as_of=AS_OF, account="CECV-1")
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.NO_BANK_ARREARS) == (
        CheckStatus.COMPLIANT,
        "No facility more than 30 days past due at CECV as of 31/10/2026.",
    )


def test_only_stale_bank_answers_are_stale(loan, offer):
    # given
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS)
    bank_record(bank_source("BCA", freshness_days=10), loan.borrower, as_of=AS_OF, account="BCA-1")
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.NO_BANK_ARREARS) == (
        CheckStatus.STALE,
        "Latest record from Bank BCA is as of 31/10/2026, older than 10 days.",
    )


def test_a_fresh_no_facility_answer_is_compliant(loan, offer):
    # given the bank has nothing for this NIF
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS)
    answer = bank_no_facility(bank_source("BCA"), loan.borrower, as_of=AS_OF)
    # when
    _evaluate(loan)
    # then
    check = _check(loan, RequirementKind.NO_BANK_ARREARS)
    assert (check.status, check.reason, check.evidence_id) == (
        CheckStatus.COMPLIANT,
        "No facility more than 30 days past due at BCA as of 31/10/2026.",
        answer.pk,
    )


# --- jobs kept -------------------------------------------------------------------------------


def test_jobs_kept_at_the_minimum_is_compliant(loan, offer):
    # given
    make_requirement(offer, RequirementKind.JOBS_KEPT, threshold="5")
    inps_record(inps_source(), loan.borrower, as_of=AS_OF, declared_employees=5)
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.JOBS_KEPT) == (
        CheckStatus.COMPLIANT,
        "5 employees declared as of 31/10/2026 (at least 5 required).",
    )


def test_jobs_below_the_minimum_are_non_compliant(loan, offer):
    # given
    make_requirement(offer, RequirementKind.JOBS_KEPT, threshold="5")
    inps_record(inps_source(), loan.borrower, as_of=AS_OF, declared_employees=4)
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.JOBS_KEPT) == (
        CheckStatus.NON_COMPLIANT,
        "Only 4 employees declared as of 31/10/2026 (at least 5 required).",
    )


def test_a_record_without_declared_employees_is_unknown(loan, offer):
    # given
    make_requirement(offer, RequirementKind.JOBS_KEPT, threshold="5")
    inps_record(inps_source(), loan.borrower, as_of=AS_OF, declared_employees=None)
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.JOBS_KEPT) == (
        CheckStatus.UNKNOWN,
        "The record from INPS as of 31/10/2026 declares no employees.",
    )


# --- periodic report -----------------------------------------------------------------------------


def test_a_report_uploaded_within_the_period_is_compliant_and_late_after_it(loan, offer):
    # given a report uploaded today
    make_requirement(offer, RequirementKind.REPORT_SUBMITTED, check_every_days=30)
    document = loan_document_add(
        actor=loan.officer, loan=loan, kind=DocumentKind.PERIODIC_REPORT, file=document_file()
    )
    uploaded_on = timezone.localdate(document.uploaded_at)
    # when
    _evaluate(loan, today=uploaded_on + datetime.timedelta(days=30))
    within = _verdict(loan, RequirementKind.REPORT_SUBMITTED)
    _evaluate(loan, today=uploaded_on + datetime.timedelta(days=31))
    late = _verdict(loan, RequirementKind.REPORT_SUBMITTED)
    # then
    day = uploaded_on.strftime("%d/%m/%Y")
    assert within == (CheckStatus.COMPLIANT, f"Periodic report received on {day}.")
    assert late == (
        CheckStatus.NON_COMPLIANT,
        f"Last periodic report received on {day}, more than 30 days ago.",
    )


def test_no_report_on_a_loan_older_than_the_period_is_non_compliant(loan, offer):
    # given another kind of document only
    make_requirement(offer, RequirementKind.REPORT_SUBMITTED, check_every_days=30)
    loan_document_add(actor=loan.officer, loan=loan, kind=DocumentKind.OTHER, file=document_file())
    # when
    _evaluate(loan)
    # then
    assert _verdict(loan, RequirementKind.REPORT_SUBMITTED) == (
        CheckStatus.NON_COMPLIANT,
        "No periodic report received in the last 30 days.",
    )


def test_a_new_loan_is_not_late_with_its_first_report(loan, offer):
    # given a loan disbursed on 15 January, evaluated ten days later
    make_requirement(offer, RequirementKind.REPORT_SUBMITTED, check_every_days=30)
    # when
    _evaluate(loan, today=DISBURSED_ON + datetime.timedelta(days=10))
    # then
    assert _verdict(loan, RequirementKind.REPORT_SUBMITTED) == (
        CheckStatus.COMPLIANT,
        "First periodic report due by 14/02/2026.",
    )


# --- scope and history ---------------------------------------------------------------------------


def test_only_disbursed_running_loans_of_offers_with_active_requirements_are_evaluated(
    loan, offer, loan_officer, branch_manager, compliance_officer, rules
):
    # given a written-off loan on the same offer, a loan of an offer without requirements and
    # a deactivated requirement
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    requirement_deactivate(
        actor=compliance_officer, requirement=make_requirement(offer, RequirementKind.TAX_REGULAR)
    )
    ended = active_loan(loan_officer, branch_manager, loan.product_version.product)
    loan_write_off(actor=branch_manager, loan=ended, reason="Business closed", written_off_on=TODAY)
    unmonitored = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    # when
    counts = evaluate_loans(today=TODAY)
    # then
    assert counts["loans"] == 1
    assert list(ComplianceCheck.objects.values_list("loan_id", "requirement__kind")) == [
        (loan.pk, RequirementKind.SOCIAL_SECURITY_PAID)
    ]
    assert not ComplianceCheck.objects.filter(loan__in=[ended, unmonitored]).exists()


def test_history_is_written_only_when_something_changes(loan, offer):
    # given
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID)
    source = inps_source()
    inps_record(source, loan.borrower, as_of=datetime.date(2026, 9, 30))
    first = _evaluate(loan, today=datetime.date(2026, 10, 20))
    original = _check(loan, RequirementKind.SOCIAL_SECURITY_PAID)
    # when the same facts are evaluated again, then a new month arrives
    second = _evaluate(loan, today=datetime.date(2026, 10, 25))
    after_second = _check(loan, RequirementKind.SOCIAL_SECURITY_PAID)
    october = inps_record(source, loan.borrower, as_of=AS_OF)
    third = _evaluate(loan, today=TODAY)
    # then
    assert (first["checks_written"], second["checks_written"], third["checks_written"]) == (
        1,
        0,
        1,
    )
    assert after_second.pk == original.pk
    assert after_second.evaluated_at > original.evaluated_at
    history = list(
        ComplianceCheck.objects.filter(loan=loan)
        .order_by("pk")
        .values_list("is_latest", "evidence_id")
    )
    assert history == [(False, original.evidence_id), (True, october.pk)]


def test_the_number_of_queries_does_not_grow_with_the_number_of_loans(
    loan, offer, loan_officer, branch_manager
):
    # given every requirement on the offer and records for each borrower
    make_requirement(offer, RequirementKind.SOCIAL_SECURITY_PAID, severity=Severity.HIGH)
    make_requirement(offer, RequirementKind.TAX_REGULAR)
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS)
    make_requirement(offer, RequirementKind.JOBS_KEPT, threshold="2")
    make_requirement(offer, RequirementKind.REPORT_SUBMITTED)
    inps, dnre, bca = inps_source(), revenue_source(), bank_source("BCA")
    product = loan.product_version.product

    def records_for(borrower):
        loan_document_add(
            actor=loan_officer,
            loan=borrower.loans.get(),
            kind=DocumentKind.PERIODIC_REPORT,
            file=document_file(),
        )
        inps_record(inps, borrower, as_of=AS_OF)
        tax_record(dnre, borrower, as_of=AS_OF, valid_until=datetime.date(2027, 1, 31))
        bank_record(bca, borrower, as_of=AS_OF, account=f"BCA-{borrower.pk}")

    records_for(loan.borrower)
    with CaptureQueriesContext(connection) as one_loan:
        evaluate_loans(today=TODAY)
    others = [
        active_loan(
            loan_officer,
            branch_manager,
            product,
            borrower=make_person(loan_officer, nif=f"1000002{number:02d}"),
        )
        for number in range(4)
    ]
    for other in others:
        records_for(other.borrower)
    ComplianceCheck.objects.all().delete()
    # when
    with CaptureQueriesContext(connection) as five_loans:
        counts = evaluate_loans(today=TODAY)
    # then
    assert (counts["loans"], counts["compliant"], counts["checks_written"]) == (5, 25, 25)
    assert len(five_loans) == len(one_loan)
