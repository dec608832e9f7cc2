"""Cases: opened once per party and issue (also under concurrency), numbered, due by the SLA of
their severity, owned by the assignment rules, cured by a later compliant check, closed when the
loan ends, and worked through the allowed transitions only.

The borrower is a person of Praia with the reference active loan; the social security
requirement is "high" (7 days to resolve); evaluations run on 20 November 2026.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.utils import timezone

from accounting.chart import chart_install
from audit.models import AuditEvent
from compliance.cases import (
    case_assign,
    case_close,
    case_open,
    case_propose_solution,
    case_record_contact,
)
from compliance.choices import (
    CaseOutcome,
    CaseStatus,
    CheckStatus,
    RequirementKind,
    Severity,
    Solution,
)
from compliance.evaluation import evaluate_loans
from compliance.models import Case, ComplianceCheck
from crm.models import Party
from loans.services import loan_write_off
from tests.compliance.factories import make_requirement, monitored_loan
from tests.compliance.records import inps_record, inps_source
from tests.crm.factories import make_person
from tests.factories import UserFactory
from tests.loans.factories import active_loan, cash_product
from users.roles import Role

AS_OF = datetime.date(2026, 10, 31)
TODAY = datetime.date(2026, 11, 20)
SS = RequirementKind.SOCIAL_SECURITY_PAID


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def loan(loan_officer, branch_manager, rules):
    return monitored_loan(loan_officer, branch_manager, rules, nif="100000001", ssn="700001")


@pytest.fixture
def requirement(loan):
    return make_requirement(loan.product_version.product.offer, SS, severity=Severity.HIGH)


@pytest.fixture
def inps(db):
    return inps_source()


def _irregular(source, party, as_of=AS_OF):
    return inps_record(
        source, party, as_of=as_of, status="irregular", months_in_arrears=3, amount_due="45000.00"
    )


def _open_case(loan, inps) -> Case:
    _irregular(inps, loan.borrower)
    evaluate_loans(loan_ids=[loan.pk], today=TODAY)
    return Case.objects.get()


def _events(case) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(case.pk), action__startswith="compliance_case.")
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- opening -------------------------------------------------------------------------------------


def test_two_non_compliant_evaluations_open_one_case(loan, requirement, inps, loan_officer):
    # given
    _irregular(inps, loan.borrower)
    # when
    first = evaluate_loans(loan_ids=[loan.pk], today=TODAY)
    second = evaluate_loans(loan_ids=[loan.pk], today=TODAY + datetime.timedelta(days=1))
    # then
    case = Case.objects.get()
    check = ComplianceCheck.objects.get(loan=loan, is_latest=True)
    assert (first["cases_opened"], second["cases_opened"]) == (1, 0)
    assert case.number == f"CMP-2026-{case.pk:06d}"
    assert (case.party_id, case.loan_id, case.branch_id, case.kind) == (
        loan.borrower_id,
        loan.pk,
        loan.borrower.branch_id,
        SS,
    )
    assert (case.status, case.severity, case.deadline) == (
        CaseStatus.OPEN,
        Severity.HIGH,
        datetime.date(2026, 11, 27),
    )
    assert (case.proposed_solution, case.opening_check_id, case.owner) == (
        Solution.SOCIAL_SECURITY_PLAN,
        check.pk,
        loan_officer,
    )
    assert _events(case) == ["compliance_case.opened"]


def test_opening_again_returns_the_open_case_and_raises_its_severity(loan):
    # given
    party = loan.borrower
    case, created = case_open(party=party, kind=SS, severity=Severity.LOW, today=TODAY)
    # when
    again, created_again = case_open(party=party, kind=SS, severity=Severity.CRITICAL, today=TODAY)
    lower, created_lower = case_open(party=party, kind=SS, severity=Severity.MEDIUM, today=TODAY)
    # then
    again.refresh_from_db()
    assert (created, created_again, created_lower) == (True, False, False)
    assert again.pk == lower.pk == case.pk
    assert (again.severity, again.deadline) == (Severity.CRITICAL, datetime.date(2026, 11, 23))
    assert _events(case) == ["compliance_case.opened", "compliance_case.severity_raised"]


@pytest.mark.parametrize(
    ("severity", "deadline"),
    [
        (Severity.LOW, datetime.date(2026, 12, 20)),
        (Severity.MEDIUM, datetime.date(2026, 12, 4)),
        (Severity.HIGH, datetime.date(2026, 11, 27)),
        (Severity.CRITICAL, datetime.date(2026, 11, 23)),
    ],
)
def test_the_deadline_is_the_sla_of_the_severity(loan, severity, deadline):
    # when
    case, _created = case_open(party=loan.borrower, kind=SS, severity=severity, today=TODAY)
    # then
    assert case.deadline == deadline


def test_a_read_only_auditor_cannot_open_a_case(loan, auditor):
    # when / then
    with pytest.raises(PermissionDenied):
        case_open(party=loan.borrower, kind=SS, severity=Severity.LOW, actor=auditor)
    assert Case.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_opens_of_the_same_issue_make_one_case(loan_officer):
    # given
    party_pk = make_person(loan_officer, nif="100000050").pk
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def run(index):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = case_open(
                party=Party.objects.get(pk=party_pk), kind=SS, severity=Severity.HIGH
            )
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then
    case = Case.objects.get()
    assert sorted((result[0].pk, result[1]) for result in outcomes) == [
        (case.pk, False),
        (case.pk, True),
    ]


# --- assignment ------------------------------------------------------------------------------------


def _party(actor, **fields):
    return make_person(actor, **fields)


def test_the_party_follow_up_person_owns_the_case(loan_officer, field_agent):
    # given
    party = _party(loan_officer, assigned_to=field_agent)
    # when
    case, _created = case_open(party=party, kind=SS, severity=Severity.LOW)
    # then
    assert case.owner == field_agent


def test_the_least_loaded_field_agent_owns_it_when_the_assigned_person_cannot(
    loan_officer, coach, field_agent, praia
):
    # given a party assigned to a coach, and two field agents, the first with one open case
    second_agent = UserFactory(username="agent2", role=Role.FIELD_AGENT, branch=praia)
    busy = _party(loan_officer, assigned_to=field_agent)
    case_open(party=busy, kind=SS, severity=Severity.LOW)
    party = _party(loan_officer, assigned_to=coach)
    # when
    case, _created = case_open(party=party, kind=SS, severity=Severity.LOW)
    other, _created = case_open(
        party=party, kind=RequirementKind.TAX_REGULAR, severity=Severity.LOW
    )
    # then the load moved: each agent has one more
    assert case.owner == second_agent
    assert other.owner == field_agent


def test_loan_officers_follow_up_when_the_branch_has_no_field_agent(loan_officer, praia):
    # given two loan officers, the first with one open case
    second_officer = UserFactory(username="officer2", role=Role.LOAN_OFFICER, branch=praia)
    case_open(party=_party(loan_officer, assigned_to=loan_officer), kind=SS, severity="low")
    # when
    case, _created = case_open(party=_party(loan_officer), kind=SS, severity=Severity.LOW)
    # then
    assert case.owner == second_officer


def test_the_branch_manager_owns_it_when_nobody_follows_up_in_the_branch(mindelo):
    # given a branch with a manager only
    manager = UserFactory(username="manager.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo)
    # when
    case, _created = case_open(party=_party(manager), kind=SS, severity=Severity.LOW)
    # then
    assert (case.owner, case.branch) == (manager, mindelo)


# --- cure, loan ended, closed by hand ------------------------------------------------------------


def test_a_later_compliant_check_cures_the_case(loan, requirement, inps):
    # given a case opened in October on September's arrears
    _irregular(inps, loan.borrower, as_of=datetime.date(2026, 9, 30))
    evaluate_loans(loan_ids=[loan.pk], today=datetime.date(2026, 10, 20))
    case = Case.objects.get()
    inps_record(inps, loan.borrower, as_of=AS_OF)
    # when
    counts = evaluate_loans(loan_ids=[loan.pk], today=TODAY)
    # then
    case.refresh_from_db()
    latest = ComplianceCheck.objects.get(loan=loan, is_latest=True)
    assert latest.status == CheckStatus.COMPLIANT
    assert (case.status, case.outcome, case.closing_check_id) == (
        CaseStatus.CLOSED,
        CaseOutcome.CURED,
        latest.pk,
    )
    assert case.closed_at is not None
    assert counts["cases_closed"] == 1
    assert _events(case) == ["compliance_case.opened", "compliance_case.closed"]


def test_a_case_is_not_cured_while_another_loan_of_the_party_fails_the_issue(
    loan, loan_officer, branch_manager, rules, inps
):
    # given 5 declared employees: enough for one offer (3), not for the other (10)
    make_requirement(loan.product_version.product.offer, RequirementKind.JOBS_KEPT, threshold="3")
    strict_product = cash_product(loan_officer, rules)
    make_requirement(strict_product.offer, RequirementKind.JOBS_KEPT, threshold="10")
    second = active_loan(loan_officer, branch_manager, strict_product, borrower=loan.borrower)
    inps_record(inps, loan.borrower, as_of=AS_OF, declared_employees=5)
    # when
    evaluate_loans(today=TODAY)
    evaluate_loans(today=TODAY + datetime.timedelta(days=1))
    # then
    case = Case.objects.get()
    assert (case.status, case.loan_id) == (CaseStatus.OPEN, second.pk)


def test_a_case_closed_by_hand_is_reopened_by_new_evidence_only(
    loan, requirement, inps, compliance_officer
):
    # given a case closed as a false alarm
    case = _open_case(loan, inps)
    case_close(actor=compliance_officer, case=case, outcome=CaseOutcome.FALSE_ALARM)
    # when the same data is evaluated again, then a new month says the same
    unchanged = evaluate_loans(loan_ids=[loan.pk], today=TODAY + datetime.timedelta(days=1))
    _irregular(inps, loan.borrower, as_of=datetime.date(2026, 11, 30))
    new_month = evaluate_loans(loan_ids=[loan.pk], today=datetime.date(2026, 12, 2))
    # then
    case.refresh_from_db()
    assert (unchanged["cases_opened"], new_month["cases_opened"]) == (0, 1)
    assert case.closing_check.status == CheckStatus.NON_COMPLIANT
    assert Case.objects.exclude(status=CaseStatus.CLOSED).count() == 1


def test_the_cases_of_a_loan_that_ends_close_as_loan_ended(loan, requirement, inps, branch_manager):
    # given
    case = _open_case(loan, inps)
    loan_write_off(actor=branch_manager, loan=loan, reason="Business closed")
    # when
    counts = evaluate_loans(today=TODAY)
    # then
    case.refresh_from_db()
    assert (case.status, case.outcome, counts["cases_closed"]) == (
        CaseStatus.CLOSED,
        CaseOutcome.LOAN_ENDED,
        1,
    )


# --- working a case ------------------------------------------------------------------------------


def test_the_first_contact_is_kept_and_an_open_case_becomes_contacted(
    loan, requirement, inps, loan_officer
):
    # given
    case = _open_case(loan, inps)
    first = timezone.now() - datetime.timedelta(hours=2)
    # when
    case_record_contact(actor=loan_officer, case=case, at=first)
    case_record_contact(actor=loan_officer, case=case, at=timezone.now())
    # then
    case.refresh_from_db()
    assert (case.status, case.first_contact_at) == (CaseStatus.CONTACTED, first)
    assert _events(case) == ["compliance_case.opened", "compliance_case.contacted"]


def test_the_owner_records_the_agreed_solution(loan, requirement, inps, loan_officer):
    # given
    case = _open_case(loan, inps)
    watch_until = timezone.localdate() + datetime.timedelta(days=90)
    # when
    case_propose_solution(
        actor=loan_officer,
        case=case,
        solution=Solution.RESTRUCTURING_WATCH,
        notes="Restructure BCA debt over 12 months",
        watch_until=watch_until,
    )
    # then
    case.refresh_from_db()
    assert (case.status, case.proposed_solution, case.watch_until, case.solution_notes) == (
        CaseStatus.SOLUTION_AGREED,
        Solution.RESTRUCTURING_WATCH,
        watch_until,
        "Restructure BCA debt over 12 months",
    )


def test_a_restructuring_needs_its_watch_period(loan, requirement, inps, compliance_officer):
    # given
    case = _open_case(loan, inps)
    # when
    with pytest.raises(ValidationError) as refused:
        case_propose_solution(
            actor=compliance_officer, case=case, solution=Solution.RESTRUCTURING_WATCH
        )
    # then
    assert refused.value.message_dict == {
        "watch_until": ["A restructuring needs the date its watch period ends."]
    }
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_another_loan_officer_may_not_record_the_solution(loan, requirement, inps, praia):
    # given
    case = _open_case(loan, inps)
    colleague = UserFactory(username="officer2", role=Role.LOAN_OFFICER, branch=praia)
    # when / then
    with pytest.raises(PermissionDenied):
        case_propose_solution(actor=colleague, case=case, solution=Solution.SOCIAL_SECURITY_PLAN)
    case.refresh_from_db()
    assert (case.status, _events(case)) == (CaseStatus.OPEN, ["compliance_case.opened"])


def test_a_closed_case_refuses_every_move(loan, requirement, inps, compliance_officer):
    # given
    case = _open_case(loan, inps)
    case_close(actor=compliance_officer, case=case, outcome=CaseOutcome.ESCALATED)
    # when
    with pytest.raises(ValidationError) as closing_again:
        case_close(actor=compliance_officer, case=case, outcome=CaseOutcome.FALSE_ALARM)
    with pytest.raises(ValidationError) as proposing:
        case_propose_solution(
            actor=compliance_officer, case=case, solution=Solution.SOCIAL_SECURITY_PLAN
        )
    # then
    assert closing_again.value.message_dict == {
        "status": ["A case that is “Closed” cannot become “Closed”."]
    }
    assert proposing.value.message_dict == {
        "status": ["A case that is “Closed” cannot become “Solution agreed”."]
    }
    case.refresh_from_db()
    assert case.outcome == CaseOutcome.ESCALATED
    assert _events(case) == ["compliance_case.opened", "compliance_case.closed"]


def test_cured_by_hand_needs_a_compliant_check(loan, requirement, inps, compliance_officer):
    # given
    case = _open_case(loan, inps)
    # when
    with pytest.raises(ValidationError) as refused:
        case_close(actor=compliance_officer, case=case, outcome=CaseOutcome.CURED)
    with pytest.raises(ValidationError) as still_running:
        case_close(actor=compliance_officer, case=case, outcome=CaseOutcome.LOAN_ENDED)
    # then
    assert refused.value.message_dict == {
        "outcome": ["A case is cured when the latest check is compliant; it is not."]
    }
    assert still_running.value.message_dict == {"outcome": ["The case's loan is still running."]}
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_a_case_is_assigned_within_its_branch_only(
    loan, requirement, inps, compliance_officer, field_agent, loan_officer, outsider
):
    # given a case the field agent owns
    case = _open_case(loan, inps)
    # when
    case_assign(actor=compliance_officer, case=case, owner=loan_officer)
    with pytest.raises(ValidationError) as refused:
        case_assign(actor=compliance_officer, case=case, owner=outsider)
    # then
    case.refresh_from_db()
    assert case.owner == loan_officer
    assert refused.value.message_dict == {
        "owner": [f"{outsider.display_name} does not work for this case's branch."]
    }
    assert _events(case) == ["compliance_case.opened", "compliance_case.assigned"]


def test_an_auditor_changes_nothing(loan, requirement, inps, auditor, field_agent, loan_officer):
    # given a case the field agent owns
    case = _open_case(loan, inps)
    # when
    for call in (
        lambda: case_assign(actor=auditor, case=case, owner=loan_officer),
        lambda: case_close(actor=auditor, case=case, outcome=CaseOutcome.FALSE_ALARM),
        lambda: case_record_contact(actor=auditor, case=case, at=timezone.now()),
        lambda: case_propose_solution(
            actor=auditor, case=case, solution=Solution.SOCIAL_SECURITY_PLAN
        ),
    ):
        with pytest.raises(PermissionDenied):
            call()
    # then
    case.refresh_from_db()
    assert (case.status, case.owner) == (CaseStatus.OPEN, field_agent)
    assert _events(case) == ["compliance_case.opened"]
