"""The worklist: open cases ranked by risk score computed in SQL, with its factors; filters;
scoping (branch, outsider, field agents) and a bounded number of queries.

Cases (``tests.compliance.records.ranked_cases``), opened on 1 November 2026:
late (high 3 × 120,000.00, 5 days past due), small (critical 5 × 50,000.00), large (low 1 ×
200,000.00). Opened today, so on the screen "days open" is 0.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.chart import chart_install
from compliance.cases import case_close
from compliance.choices import CaseOutcome
from compliance.selectors import worklist
from tests.compliance.records import ranked_cases

OPENED_ON = datetime.date(2026, 11, 1)
URL = "/compliance/"


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def cases(loan_officer, branch_manager, rules):
    return ranked_cases(loan_officer, branch_manager, rules, opened_on=OPENED_ON)


def _numbers(response) -> list[str]:
    return [case.number for case in response.context["page"].object_list]


def test_cases_are_ranked_by_exact_risk_scores_with_their_factors(cases, compliance_officer):
    # given two days after the cases were opened
    today = timezone.localdate() + datetime.timedelta(days=2)
    # when
    rows = list(
        worklist(user=compliance_officer, today=today).values_list(
            "number", "severity_weight", "exposure", "days_open", "days_past_due", "risk_score"
        )
    )
    # then
    assert rows == [
        (cases["late"].number, 3, Decimal("120000"), 2, 5, Decimal("6480000")),
        (cases["small"].number, 5, Decimal("50000"), 2, 0, Decimal("750000")),
        (cases["large"].number, 1, Decimal("200000"), 2, 0, Decimal("600000")),
    ]


def test_the_worklist_page_shows_scores_and_factors(client, cases, compliance_officer):
    # given
    client.force_login(compliance_officer)
    # when
    response = client.get(URL)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert _numbers(response) == [
        cases["late"].number,
        cases["small"].number,
        cases["large"].number,
    ]
    assert "2,160,000.00" in html
    assert "3 × 120,000.00 × (1 + 0) × (1 + 5)" in html
    assert "5 × 50,000.00 × (1 + 0) × (1 + 0)" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("severity=critical", ["small"]),
        ("kind=no_bank_arrears", ["large"]),
        ("overdue=true", ["late", "small"]),
        ("overdue=false", ["large"]),
        ("island=santiago", ["late", "small", "large"]),
        ("island=sao_vicente", []),
        ("status=open", ["late", "small", "large"]),
    ],
)
def test_filters(client, cases, compliance_officer, query, expected):
    # given
    client.force_login(compliance_officer)
    # when
    response = client.get(f"{URL}?{query}")
    # then
    assert _numbers(response) == [cases[name].number for name in expected]


def test_filters_by_owner_branch_offer_and_closed_status(
    client, cases, compliance_officer, loan_officer, praia, mindelo
):
    # given one case closed, and the late case's offer
    case_close(actor=compliance_officer, case=cases["large"], outcome=CaseOutcome.ESCALATED)
    offer = cases["late"].loan.product_version.product.offer
    client.force_login(compliance_officer)
    # when
    by_owner = client.get(f"{URL}?owner={loan_officer.pk}")
    by_branch = client.get(f"{URL}?branch={mindelo.pk}")
    by_offer = client.get(f"{URL}?offer={offer.pk}")
    closed = client.get(f"{URL}?status=closed")
    # then
    assert _numbers(by_owner) == [cases["late"].number, cases["small"].number]
    assert _numbers(by_branch) == []
    assert _numbers(by_offer) == [cases["late"].number, cases["small"].number]
    assert _numbers(closed) == [cases["large"].number]


def test_branch_staff_see_their_branch_and_outsiders_nothing(
    client, cases, branch_manager, outsider, auditor
):
    # when
    seen = {}
    for user in (branch_manager, outsider, auditor):
        client.force_login(user)
        seen[user.username] = len(_numbers(client.get(URL)))
    # then
    assert seen == {"branchmanager": 3, "officer.mindelo": 0, "auditor": 3}


def test_field_agents_have_their_own_day_list_not_the_worklist(client, field_agent, cases):
    # given
    client.force_login(field_agent)
    # when
    response = client.get(URL)
    # then
    assert response.status_code == 403


def test_the_worklist_needs_a_bounded_number_of_queries(
    client,
    cases,
    compliance_officer,
    loan_officer,
    branch_manager,
    rules,
    django_assert_max_num_queries,
):
    # given three more cases
    ranked_cases(loan_officer, branch_manager, rules, opened_on=OPENED_ON)
    client.force_login(compliance_officer)
    # when
    with django_assert_max_num_queries(12):
        response = client.get(URL)
    # then
    assert len(_numbers(response)) == 6
