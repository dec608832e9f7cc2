"""The case page: facts, proposed solution with the playbook, checks with their evidence,
follow-ups, history, and the actions (assign, record the solution, close) with their permissions.

The case comes from an evaluation: 3 months of social security unpaid (45,000.00 CVE) as of
31 October 2026 for the borrower of the reference loan in Praia; the field agent owns it.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from accounting.chart import chart_install
from audit.models import AuditEvent
from compliance.cases import case_close, case_open
from compliance.choices import CaseOutcome, CaseStatus, RequirementKind, Severity, Solution
from compliance.evaluation import evaluate_loans
from compliance.models import Case
from compliance.selectors import loan_compliance_summary, party_compliance_summary
from tests.compliance.factories import make_requirement, monitored_loan
from tests.compliance.records import inps_record, inps_source
from tests.crm.factories import make_person
from tests.factories import UserFactory
from users.roles import Role

AS_OF = datetime.date(2026, 10, 31)


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def case(loan_officer, branch_manager, field_agent, rules) -> Case:
    loan = monitored_loan(loan_officer, branch_manager, rules, nif="100000001", ssn="700001")
    make_requirement(
        loan.product_version.product.offer,
        RequirementKind.SOCIAL_SECURITY_PAID,
        severity=Severity.HIGH,
    )
    inps_record(
        inps_source(),
        loan.borrower,
        as_of=AS_OF,
        status="irregular",
        months_in_arrears=3,
        amount_due="45000.00",
    )
    evaluate_loans(loan_ids=[loan.pk], today=timezone.localdate())
    return Case.objects.get()


def _url(case, action: str = "") -> str:
    return f"/compliance/cases/{case.pk}/{action + '/' if action else ''}"


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _audit_count(case) -> int:
    return AuditEvent.objects.filter(
        object_id=str(case.pk), action__startswith="compliance_case"
    ).count()


def test_the_case_page_shows_the_facts_the_evidence_and_the_history(
    client, case, compliance_officer
):
    # given
    client.force_login(compliance_officer)
    # when
    response = client.get(_url(case))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert case.number in html
    assert "3 months of contributions unpaid (45,000.00 CVE) as of 31/10/2026." in html
    assert "Evidence: INPS, as of 31/10/2026, retrieved" in html
    assert "Payment plan with social security" in html
    assert "Help the borrower ask the Social Security Institute for a payment plan" in html
    assert "No calls or visits yet." in html
    assert "compliance_case.opened" in html
    assert f'href="/loans/{case.loan_id}/"' in html
    assert 'data-testid="case-actions"' in html


def test_an_auditor_reads_the_case_but_sees_no_action_and_cannot_act(
    client, case, auditor, loan_officer
):
    # given
    client.force_login(auditor)
    before = _audit_count(case)
    # when
    page = client.get(_url(case))
    posts = [
        client.post(_url(case, "assign"), {"owner": loan_officer.pk}),
        client.post(_url(case, "close"), {"outcome": CaseOutcome.FALSE_ALARM}),
        client.post(_url(case, "solution"), {"solution": Solution.SOCIAL_SECURITY_PLAN}),
    ]
    # then
    case.refresh_from_db()
    assert page.status_code == 200
    assert 'data-testid="case-actions"' not in page.content.decode()
    assert [response.status_code for response in posts] == [403, 403, 403]
    assert (case.status, case.owner.role, _audit_count(case)) == (
        CaseStatus.OPEN,
        Role.FIELD_AGENT,
        before,
    )


def test_an_outsider_gets_404_and_changes_nothing(client, case, mindelo):
    # given a compliance manager of another branch
    manager = UserFactory(username="manager.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo)
    client.force_login(manager)
    # when
    responses = [
        client.get(_url(case)),
        client.post(_url(case, "close"), {"outcome": CaseOutcome.FALSE_ALARM}),
    ]
    # then
    case.refresh_from_db()
    assert [response.status_code for response in responses] == [404, 404]
    assert case.status == CaseStatus.OPEN


def test_a_compliance_officer_assigns_and_closes(client, case, compliance_officer, loan_officer):
    # given
    client.force_login(compliance_officer)
    # when
    assigned = client.post(_url(case, "assign"), {"owner": loan_officer.pk})
    closed = client.post(_url(case, "close"), {"outcome": CaseOutcome.ESCALATED})
    # then
    case.refresh_from_db()
    assert (assigned.status_code, closed.status_code) == (302, 302)
    assert (case.owner, case.status, case.outcome) == (
        loan_officer,
        CaseStatus.CLOSED,
        CaseOutcome.ESCALATED,
    )
    assert _messages(closed) == [
        f"Case {case.number} assigned.",
        f"Case {case.number} closed.",
    ]


def test_bad_input_is_a_message_and_changes_nothing(client, case, compliance_officer):
    # given
    client.force_login(compliance_officer)
    before = _audit_count(case)
    # when
    unknown = client.post(_url(case, "close"), {"outcome": "vanished"})
    cured = client.post(_url(case, "close"), {"outcome": CaseOutcome.CURED})
    # then
    case.refresh_from_db()
    assert (unknown.status_code, cured.status_code) == (302, 302)
    assert _messages(cured) == [
        "Select a valid choice. vanished is not one of the available choices.",
        "A case is cured when the latest check is compliant; it is not.",
    ]
    assert (case.status, _audit_count(case)) == (CaseStatus.OPEN, before)


def test_the_owner_records_the_solution_and_a_colleague_may_not(client, case, field_agent, praia):
    # given
    colleague = UserFactory(username="agent2", role=Role.FIELD_AGENT, branch=praia)
    data = {"solution": Solution.SOCIAL_SECURITY_PLAN, "notes": "Plan of 6 months agreed"}
    # when
    client.force_login(colleague)
    refused = client.post(_url(case, "solution"), data)
    client.force_login(field_agent)
    page = client.get(_url(case))
    recorded = client.post(_url(case, "solution"), data)
    # then
    case.refresh_from_db()
    assert (refused.status_code, page.status_code, recorded.status_code) == (404, 200, 302)
    assert (case.status, case.solution_notes) == (
        CaseStatus.SOLUTION_AGREED,
        "Plan of 6 months agreed",
    )


def test_a_loan_officer_who_does_not_own_the_case_may_not_record_the_solution(
    client, case, loan_officer
):
    # given
    client.force_login(loan_officer)
    # when
    response = client.post(_url(case, "solution"), {"solution": Solution.SOCIAL_SECURITY_PLAN})
    # then
    case.refresh_from_db()
    assert (response.status_code, case.status) == (403, CaseStatus.OPEN)


def test_the_compliance_panels_of_a_loan_and_a_party(case):
    # when
    for_loan = loan_compliance_summary(case.loan)
    for_party = party_compliance_summary(case.party)
    # then
    for summary in (for_loan, for_party):
        assert [check.status for check in summary["checks"]] == ["non_compliant"]
        assert summary["open_cases"] == [case]
        assert summary["counts"] == {
            "compliant": 0,
            "non_compliant": 1,
            "unknown": 0,
            "stale": 0,
        }
        assert summary["is_compliant"] is False


def test_the_case_page_needs_a_bounded_number_of_queries(
    client, case, compliance_officer, django_assert_max_num_queries
):
    # given
    client.force_login(compliance_officer)
    # when
    with django_assert_max_num_queries(20):
        response = client.get(_url(case))
    # then
    assert response.status_code == 200


def test_the_home_page_counts_open_and_overdue_cases_and_links_the_worklist(
    client, compliance_officer, loan_officer, branch_manager, rules
):
    # given: one open case past its deadline, one open in time, one closed
    parties = [make_person(loan_officer) for _ in range(3)]
    overdue, _ = case_open(
        party=parties[0],
        kind=RequirementKind.TAX_REGULAR,
        severity=Severity.CRITICAL,
        today=datetime.date(2026, 1, 5),
    )
    case_open(party=parties[1], kind=RequirementKind.TAX_REGULAR, severity=Severity.LOW)
    closed, _ = case_open(party=parties[2], kind=RequirementKind.TAX_REGULAR, severity=Severity.LOW)
    case_close(actor=compliance_officer, case=closed, outcome=CaseOutcome.FALSE_ALARM)
    client.force_login(compliance_officer)
    # when
    html = client.get("/").content.decode()
    # then
    assert 'data-count="open-cases">2<' in html
    assert 'data-count="overdue-cases">1<' in html
    assert 'data-count="unavailable-sources">0<' in html
    assert 'href="/compliance/"' in html
