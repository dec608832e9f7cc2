"""Compliance API of cases, checks and requirements: risk ordering and filters shared with the
worklist, actions through the services, scoping, read-only auditors, bounded queries, the schema.

Cases from ``tests.compliance.records.ranked_cases`` (opened today, so "days open" is 0):
late 3 × 120,000 × 1 × 6 = 2,160,000; small 5 × 50,000 = 250,000; large 1 × 200,000 = 200,000.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounting.chart import chart_install
from audit.models import AuditEvent
from compliance.choices import CaseOutcome, CaseStatus, RequirementKind, Severity, Solution
from compliance.evaluation import evaluate_loans
from tests.compliance.factories import make_requirement, monitored_loan
from tests.compliance.records import inps_record, inps_source, ranked_cases

CASES = "/api/v1/compliance/cases/"
CHECKS = "/api/v1/compliance/checks/"
REQUIREMENTS = "/api/v1/compliance/requirements/"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def cases(loan_officer, branch_manager, rules):
    return ranked_cases(loan_officer, branch_manager, rules, opened_on=timezone.localdate())


def test_cases_come_ranked_with_their_risk_factors(api, cases, compliance_officer):
    # given
    api.force_authenticate(compliance_officer)
    # when
    body = api.get(CASES).json()
    # then
    rows = [
        (
            row["number"],
            row["severity_weight"],
            row["exposure"],
            row["days_open"],
            row["days_past_due"],
            row["risk_score"],
        )
        for row in body["results"]
    ]
    assert body["count"] == 3
    assert rows == [
        (cases["late"].number, 3, "120000.00", 0, 5, "2160000.00"),
        (cases["small"].number, 5, "50000.00", 0, 0, "250000.00"),
        (cases["large"].number, 1, "200000.00", 0, 0, "200000.00"),
    ]


def test_the_api_filters_like_the_worklist(api, cases, compliance_officer):
    # given
    api.force_authenticate(compliance_officer)
    # when
    critical = api.get(CASES, {"severity": Severity.CRITICAL}).json()
    banks = api.get(CASES, {"kind": RequirementKind.NO_BANK_ARREARS}).json()
    # then
    assert [row["number"] for row in critical["results"]] == [cases["small"].number]
    assert [row["number"] for row in banks["results"]] == [cases["large"].number]


def test_the_case_list_needs_a_bounded_number_of_queries(
    api,
    cases,
    compliance_officer,
    loan_officer,
    branch_manager,
    rules,
    django_assert_max_num_queries,
):
    # given three more cases
    ranked_cases(loan_officer, branch_manager, rules, opened_on=timezone.localdate())
    api.force_authenticate(compliance_officer)
    # when
    with django_assert_max_num_queries(5):
        body = api.get(CASES).json()
    # then
    assert body["count"] == 6


def test_actions_assign_propose_and_close(api, cases, compliance_officer, branch_manager):
    # given
    api.force_authenticate(compliance_officer)
    case = cases["late"]
    watch_until = (timezone.localdate() + datetime.timedelta(days=60)).isoformat()
    # when
    assigned = api.post(f"{CASES}{case.pk}/assign/", {"owner": branch_manager.pk})
    proposed = api.post(
        f"{CASES}{case.pk}/propose/",
        {"solution": Solution.RESTRUCTURING_WATCH, "watch_until": watch_until},
    )
    closed = api.post(f"{CASES}{case.pk}/close/", {"outcome": CaseOutcome.ESCALATED})
    detail = api.get(f"{CASES}{case.pk}/")
    # then
    assert (assigned.json()["owner"], proposed.json()["status"]) == (
        "branchmanager",
        CaseStatus.SOLUTION_AGREED,
    )
    assert (closed.json()["status"], closed.json()["outcome"]) == (
        CaseStatus.CLOSED,
        CaseOutcome.ESCALATED,
    )
    assert detail.status_code == 200
    assert [row["number"] for row in api.get(CASES).json()["results"]] == [
        cases["small"].number,
        cases["large"].number,
    ]


def test_a_refused_action_is_a_400_with_the_reason(api, cases, compliance_officer):
    # given
    api.force_authenticate(compliance_officer)
    case = cases["late"]
    # when
    response = api.post(f"{CASES}{case.pk}/propose/", {"solution": Solution.RESTRUCTURING_WATCH})
    # then
    case.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {
        "watch_until": ["A restructuring needs the date its watch period ends."]
    }
    assert case.status == CaseStatus.OPEN


def test_auditors_read_but_never_act_and_outsiders_see_nothing(
    api, cases, auditor, outsider, loan_officer
):
    # given
    case = cases["late"]
    events = AuditEvent.objects.count()
    # when
    api.force_authenticate(auditor)
    read = api.get(f"{CASES}{case.pk}/")
    acts = [
        api.post(f"{CASES}{case.pk}/assign/", {"owner": loan_officer.pk}),
        api.post(f"{CASES}{case.pk}/propose/", {"solution": Solution.SOCIAL_SECURITY_PLAN}),
        api.post(f"{CASES}{case.pk}/close/", {"outcome": CaseOutcome.FALSE_ALARM}),
    ]
    api.force_authenticate(outsider)
    outside_list = api.get(CASES).json()
    outside_detail = api.get(f"{CASES}{case.pk}/")
    # then
    case.refresh_from_db()
    assert read.status_code == 200
    assert [response.status_code for response in acts] == [403, 403, 403]
    assert (outside_list["count"], outside_detail.status_code) == (0, 404)
    assert (case.status, AuditEvent.objects.count()) == (CaseStatus.OPEN, events)


def test_checks_are_the_latest_unless_history_is_asked(
    api, loan_officer, branch_manager, rules, compliance_officer
):
    # given two evaluations with different evidence
    loan = monitored_loan(loan_officer, branch_manager, rules, nif="100000001", ssn="700001")
    make_requirement(loan.product_version.product.offer, RequirementKind.SOCIAL_SECURITY_PAID)
    source = inps_source()
    inps_record(source, loan.borrower, as_of=datetime.date(2026, 9, 30))
    evaluate_loans(today=datetime.date(2026, 10, 20))
    record = inps_record(source, loan.borrower, as_of=datetime.date(2026, 10, 31))
    evaluate_loans(today=datetime.date(2026, 11, 20))
    api.force_authenticate(compliance_officer)
    # when
    latest = api.get(CHECKS, {"loan": loan.pk}).json()
    history = api.get(CHECKS, {"loan": loan.pk, "latest": "false"}).json()
    # then
    assert [(row["status"], row["evidence"]["id"]) for row in latest["results"]] == [
        ("compliant", record.pk)
    ]
    assert latest["results"][0]["reason"] == (
        "Social security contributions paid up as of 31/10/2026."
    )
    assert history["count"] == 2


def test_requirements_are_listed_created_and_updated_through_the_services(
    api, compliance_officer, loan_officer, branch_manager, rules
):
    # given
    loan = monitored_loan(loan_officer, branch_manager, rules, nif="100000001")
    offer = loan.product_version.product.offer
    api.force_authenticate(compliance_officer)
    # when
    created = api.post(
        REQUIREMENTS,
        {"offer": offer.pk, "kind": RequirementKind.NO_BANK_ARREARS, "severity": "high"},
    )
    updated = api.patch(f"{REQUIREMENTS}{created.json()['id']}/", {"threshold": "15"})
    refused = api.post(
        REQUIREMENTS, {"offer": offer.pk, "kind": RequirementKind.JOBS_KEPT, "severity": "low"}
    )
    listed = api.get(REQUIREMENTS).json()
    # then
    assert created.status_code == 201
    assert created.json()["threshold"] == "30.0000"
    assert updated.json()["threshold"] == "15.0000"
    assert refused.status_code == 400
    assert refused.json() == {"threshold": ["Give the minimum number of employees to keep."]}
    assert listed["count"] == 1
    assert AuditEvent.objects.filter(action__startswith="compliance_requirement.").count() == 2


def test_loan_officers_read_requirements_but_may_not_write_them(
    api, loan_officer, branch_manager, rules
):
    # given
    loan = monitored_loan(loan_officer, branch_manager, rules, nif="100000001")
    requirement = make_requirement(loan.product_version.product.offer)
    api.force_authenticate(loan_officer)
    # when
    read = api.get(REQUIREMENTS)
    written = api.patch(f"{REQUIREMENTS}{requirement.pk}/", {"severity": "low"})
    # then
    requirement.refresh_from_db()
    assert (read.status_code, written.status_code) == (200, 403)
    assert requirement.severity == Severity.HIGH


def test_the_schema_documents_the_compliance_case_api(client, loan_officer):
    # when
    client.force_login(loan_officer)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    # then
    paths = set(schema.json()["paths"])
    assert {
        "/api/v1/compliance/cases/",
        "/api/v1/compliance/cases/{id}/",
        "/api/v1/compliance/cases/{id}/assign/",
        "/api/v1/compliance/cases/{id}/propose/",
        "/api/v1/compliance/cases/{id}/close/",
        "/api/v1/compliance/checks/",
        "/api/v1/compliance/requirements/",
        "/api/v1/compliance/requirements/{id}/",
    } <= paths
