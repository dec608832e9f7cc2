"""A loan from application to first repayment, as people do it: the loan officer applies on a
phone with the live schedule preview, the branch manager approves at a desk, the officer disburses
and records the first repayment on the phone. Exact balances on the loan page at each step.

Reference loan: 120,000 CVE at 24 % a year over 12 months → installment 11,347.15; the first
repayment takes 2,400.00 interest and 8,947.15 principal.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from accounting.chart import chart_install
from loans.choices import LoanStatus
from loans.models import Loan
from tests.browser.support import DESKTOP, PHONE, assert_no_horizontal_scroll, log_in
from tests.crm.factories import make_person
from tests.factories import TEST_PASSWORD, UserFactory
from tests.loans.factories import cash_product
from users.roles import Role

LOAN_URL = re.compile(r"^http://[^/]+/loans/(\d+)/$")


def _expect_balances(page, *, principal: str, interest: str, total: str) -> None:
    expect(page.get_by_test_id("principal-outstanding")).to_have_text(principal)
    expect(page.get_by_test_id("interest-outstanding")).to_have_text(interest)
    expect(page.get_by_test_id("total-outstanding")).to_have_text(total)


def test_an_application_is_previewed_approved_disbursed_and_repaid(
    open_page, screenshot, head_office, praia, mindelo
):
    # given
    officer = UserFactory(username="officer", role=Role.LOAN_OFFICER, branch=praia)
    manager = UserFactory(username="branchmanager", role=Role.BRANCH_MANAGER, branch=praia)
    product = cash_product(officer, chart_install())
    borrower = make_person(officer, first_name="Ana", last_name="Lopes")
    phone = open_page(PHONE)
    log_in(phone, officer.username, TEST_PASSWORD)

    # when: the officer fills in the application and the preview follows the terms
    phone.goto(f"/loans/new/?borrower={borrower.pk}")
    expect(phone.locator("#id_borrower")).to_have_value(str(borrower.pk))
    phone.locator("#id_product").select_option(str(product.pk))
    expect(phone.get_by_test_id("preview-product-terms")).to_contain_text("Principal 10,000.00")
    phone.locator("#id_principal").fill("120000")
    phone.locator("#id_annual_interest_rate").fill("24")
    phone.locator("#id_number_of_repayments").fill("12")
    phone.locator("#id_purpose").fill("Stock for the grocery shop")
    phone.locator("#id_purpose").press("Tab")

    # then
    expect(phone.get_by_test_id("preview-emi")).to_have_text("11,347.15")
    expect(phone.get_by_test_id("preview-borrower")).to_contain_text("Ana Lopes")
    expect(phone.locator("[data-testid=preview-table] tbody tr")).to_have_count(12)
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "loan_officer-application", PHONE)

    # when: a principal above the product's maximum
    phone.locator("#id_principal").fill("600000")
    phone.locator("#id_principal").press("Tab")
    # then
    expect(phone.get_by_test_id("preview-errors")).to_contain_text(
        "The principal must be between 10000.00 and 500000.00."
    )

    # when: back within the range, the officer submits
    phone.locator("#id_principal").fill("120000")
    phone.locator("#id_principal").press("Tab")
    expect(phone.get_by_test_id("preview-emi")).to_have_text("11,347.15")
    phone.get_by_role("button", name="Submit application").click()

    # then
    expect(phone).to_have_url(LOAN_URL)
    expect(phone.get_by_test_id("loan-status")).to_have_text("Submitted")
    loan = Loan.objects.get()
    assert (loan.status, loan.principal, loan.borrower_id) == (
        LoanStatus.SUBMITTED,
        120000,
        borrower.pk,
    )
    assert_no_horizontal_scroll(phone)

    # when: the branch manager approves from the inbox
    desk = open_page(DESKTOP)
    log_in(desk, manager.username, TEST_PASSWORD)
    desk.goto("/loans/approvals/")
    desk.locator(f"[data-loan={loan.number}]").get_by_role("link", name="Review").click()
    desk.get_by_test_id("approve").click()

    # then
    expect(desk.get_by_test_id("loan-status")).to_have_text("Approved")
    expect(desk.locator(".alert-success")).to_contain_text(f"Loan {loan.number} approved.")
    screenshot(desk, "branch_manager-approved", DESKTOP)

    # when: the officer disburses on the phone
    phone.reload()
    phone.get_by_test_id("disburse").click()
    assert_no_horizontal_scroll(phone)
    phone.get_by_role("button", name="Disburse").click()

    # then
    expect(phone).to_have_url(LOAN_URL)
    expect(phone.get_by_test_id("loan-status")).to_have_text("Active")
    _expect_balances(phone, principal="120,000.00", interest="16,165.83", total="136,165.83")

    # when: the officer records the first repayment, one tap from the portfolio
    phone.goto("/loans/")
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "loan_officer-portfolio", PHONE)
    phone.get_by_test_id(f"repay-{loan.number}").click()
    expect(phone.locator("#id_amount")).to_have_value("11347.15")
    phone.locator("#id_receipt_number").fill("R-0001")
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "loan_officer-repayment", PHONE)
    phone.get_by_role("button", name="Record repayment").click()

    # then
    expect(phone).to_have_url(LOAN_URL)
    expect(phone.locator(".alert-success")).to_contain_text(
        "Repayment of 11,347.15 CVE recorded: principal 8,947.15, interest 2,400.00"
    )
    _expect_balances(phone, principal="111,052.85", interest="13,765.83", total="124,818.68")
    expect(phone.get_by_test_id("days-past-due")).to_have_text("0")
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "loan_officer-loan", PHONE)
