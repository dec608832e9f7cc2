"""The compliance officer's pages on a phone (390 × 844): the worklist, a case with its checks and
actions, and the requirements of offers fit the screen without sideways scrolling."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from accounting.chart import chart_install
from compliance.choices import RequirementKind
from compliance.evaluation import evaluate_loans
from compliance.models import Case
from tests.browser.support import PHONE, assert_no_horizontal_scroll, log_in
from tests.compliance.factories import make_requirement
from tests.compliance.records import inps_record, inps_source, ranked_cases
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_the_compliance_pages_fit_a_phone(
    open_page,
    loan_officer,
    branch_manager,
    compliance_officer,
    mindelo,
):
    # given ranked cases and one opened by an evaluation, with its reason and evidence
    cases = ranked_cases(
        loan_officer, branch_manager, chart_install(), opened_on=datetime.date(2026, 11, 1)
    )
    loan = cases["late"].loan
    make_requirement(loan.product_version.product.offer, RequirementKind.JOBS_KEPT, threshold="10")
    inps_record(
        inps_source(), loan.borrower, as_of=datetime.date(2026, 11, 30), declared_employees=2
    )
    evaluate_loans(today=datetime.date(2026, 12, 10))
    case = Case.objects.get(kind=RequirementKind.JOBS_KEPT)
    page = open_page(PHONE)
    log_in(page, compliance_officer.username, TEST_PASSWORD)
    # when / then
    for url, text in (
        ("/compliance/", case.number),
        (f"/compliance/cases/{case.pk}/", "Only 2 employees declared as of 30/11/2026"),
        ("/compliance/requirements/", "at least 10 employees"),
    ):
        response = page.goto(url)
        assert response.status == 200, url
        expect(page.locator("main")).to_contain_text(text)
        assert_no_horizontal_scroll(page)
