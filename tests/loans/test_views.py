"""Loan screens: portfolio scoping and filters, the application with its live preview, approvals,
disbursement, repayment, reversal and write-off through the forms, documents, PDFs, permissions.

Reference loan (``tests/loans/factories.py``): 120,000 CVE at 24 % a year over 12 months →
installment 11,347.15, first interest 2,400.00, total interest 16,165.83. Interest is per period
(same as the repayment period), so these amounts do not depend on the disbursement date.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounting.chart import chart_install
from loans.choices import LoanStatus, TransactionKind
from loans.models import Loan, LoanDocument, LoanTransaction
from loans.services import loan_disburse, repayment_record
from tests.crm.factories import make_person
from tests.factories import UserFactory
from tests.loans.factories import (
    APPROVED_ON,
    DISBURSED_ON,
    EMI,
    FIRST_INTEREST,
    FIRST_PRINCIPAL,
    PRINCIPAL,
    TOTAL_INTEREST,
    active_loan,
    approved_loan,
    cash_product,
    submitted_loan,
)
from users.roles import Role

D = Decimal
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def rules(head_office, praia, mindelo):
    """The default chart (a cash box per branch) and the standard posting rule sets."""
    return chart_install()


@pytest.fixture
def product(loan_officer, rules):
    return cash_product(loan_officer, rules)


def _today() -> datetime.date:
    return timezone.localdate()


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _application_data(borrower, product, /, **overrides) -> dict:
    data = {
        "borrower": str(borrower.pk),
        "product": str(product.pk),
        "principal": "120000",
        "annual_interest_rate": "24",
        "number_of_repayments": "12",
        "expected_disbursement_date": _today().isoformat(),
        "first_repayment_date": "",
        "purpose": "Stock for the grocery shop",
    }
    data.update(overrides)
    return data


def _numbers(response) -> list[str]:
    return [loan.number for loan in response.context["page"].object_list]


# --- portfolio ---------------------------------------------------------------------------------


def test_the_portfolio_opens_on_my_loans_for_a_loan_officer(client, loan_officer, praia, product):
    # given
    colleague = UserFactory(username="officer2", role=Role.LOAN_OFFICER, branch=praia)
    mine = submitted_loan(loan_officer, product)
    theirs = submitted_loan(colleague, product)
    client.force_login(loan_officer)
    # when
    default = client.get("/loans/")
    everything = client.get("/loans/", {"view": "all"})
    # then
    assert default.status_code == 200
    assert default.context["view"] == "mine"
    assert _numbers(default) == [mine.number]
    assert sorted(_numbers(everything)) == sorted([mine.number, theirs.number])


def test_an_officer_of_another_branch_sees_none_of_the_loans(
    client, loan_officer, outsider, product
):
    # given
    loan = submitted_loan(loan_officer, product)
    client.force_login(outsider)
    # when
    listing = client.get("/loans/", {"view": "all"})
    # then
    assert listing.status_code == 200
    assert listing.context["page"].paginator.count == 0
    assert loan.number.encode() not in listing.content
    assert client.get(f"/loans/{loan.pk}/").status_code == 404
    assert client.get(f"/loans/{loan.pk}/contract.pdf").status_code == 404


def test_a_field_agent_sees_only_loans_of_parties_assigned_to_them(
    client, loan_officer, field_agent, product
):
    # given
    assigned = submitted_loan(
        loan_officer, product, borrower=make_person(loan_officer, assigned_to=field_agent)
    )
    submitted_loan(loan_officer, product)
    client.force_login(field_agent)
    # when
    response = client.get("/loans/", {"view": "all"})
    # then
    assert _numbers(response) == [assigned.number]


def test_in_arrears_lists_overdue_loans_longest_first(
    client, loan_officer, branch_manager, product
):
    # given
    older = active_loan(loan_officer, branch_manager, product, disbursed_on=DISBURSED_ON)
    newer = active_loan(
        loan_officer, branch_manager, product, disbursed_on=datetime.date(2026, 3, 1)
    )
    submitted_loan(loan_officer, product)
    client.force_login(loan_officer)
    # when
    response = client.get("/loans/", {"view": "arrears"})
    # then
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.days_past_due > newer.days_past_due > 0
    assert _numbers(response) == [older.number, newer.number]


def test_due_today_lists_loans_with_an_unpaid_installment_falling_due_today(
    client, loan_officer, branch_manager, product
):
    # given
    today = _today()
    ten_days_ago = today - datetime.timedelta(days=10)
    due = approved_loan(
        loan_officer, branch_manager, product, first_repayment_date=today, approved_on=ten_days_ago
    )
    later = approved_loan(
        loan_officer,
        branch_manager,
        product,
        first_repayment_date=today + datetime.timedelta(days=1),
        approved_on=ten_days_ago,
    )
    for loan in (due, later):
        loan_disburse(actor=loan_officer, loan=loan, disbursed_on=ten_days_ago)
    submitted_loan(loan_officer, product)
    client.force_login(loan_officer)
    # when
    response = client.get("/loans/", {"view": "due_today"})
    # then
    assert _numbers(response) == [due.number]


def test_the_portfolio_filters_by_status_and_product(
    client, loan_officer, branch_manager, product, rules
):
    # given
    other_product = cash_product(loan_officer, rules)
    submitted = submitted_loan(loan_officer, product)
    approved = approved_loan(loan_officer, branch_manager, product)
    other = submitted_loan(loan_officer, other_product)
    client.force_login(loan_officer)
    # when
    by_status = client.get("/loans/", {"view": "all", "status": "approved"})
    by_product = client.get("/loans/", {"view": "all", "product": other_product.pk})
    both = client.get("/loans/", {"view": "all", "status": "submitted", "product": product.pk})
    # then
    assert _numbers(by_status) == [approved.number]
    assert _numbers(by_product) == [other.number]
    assert _numbers(both) == [submitted.number]


def test_the_portfolio_keeps_a_fixed_query_count(
    client, loan_officer, branch_manager, product, django_assert_max_num_queries
):
    # given
    for _number in range(28):
        submitted_loan(loan_officer, product)
    active_loan(loan_officer, branch_manager, product)
    active_loan(loan_officer, branch_manager, product)
    client.force_login(branch_manager)
    # when
    with django_assert_max_num_queries(12):
        response = client.get("/loans/", {"view": "all"})
    # then
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 30
    assert len(response.context["page"].object_list) == 25


def test_roles_without_loan_access_get_403_on_the_portfolio(client, coach, service_desk):
    for user in (coach, service_desk):
        client.force_login(user)
        assert client.get("/loans/").status_code == 403


# --- application and live preview --------------------------------------------------------------


def test_the_application_form_prefills_the_borrower_from_the_url(client, loan_officer, product):
    # given
    borrower = make_person(loan_officer, first_name="Ana", last_name="Lopes")
    client.force_login(loan_officer)
    # when
    response = client.get("/loans/new/", {"borrower": borrower.pk})
    # then
    assert response.status_code == 200
    assert response.context["form"]["borrower"].value() == str(borrower.pk)
    assert b"Ana Lopes" in response.content
    assert b'hx-post="/loans/preview/"' in response.content
    assert b'hx-trigger="change delay:300ms"' in response.content


def test_an_application_through_the_form_creates_exactly_one_submitted_loan(
    client, loan_officer, product
):
    # given
    borrower = make_person(loan_officer)
    client.force_login(loan_officer)
    # when
    response = client.post(
        "/loans/new/", _application_data(borrower, product, annual_interest_rate="")
    )
    # then
    loan = Loan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/loans/{loan.pk}/"
    assert (loan.status, loan.borrower_id, loan.principal, loan.annual_interest_rate) == (
        LoanStatus.SUBMITTED,
        borrower.pk,
        D("120000.0000"),
        D("24.0000"),  # the product's default rate, the field was left empty
    )
    assert (loan.number_of_repayments, loan.submitted_by, loan.officer) == (
        12,
        loan_officer,
        loan_officer,
    )


def test_an_application_above_the_product_maximum_is_refused_on_the_form(
    client, loan_officer, product
):
    # given
    borrower = make_person(loan_officer)
    client.force_login(loan_officer)
    # when
    response = client.post("/loans/new/", _application_data(borrower, product, principal="600000"))
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["principal"] == [
        "The principal must be between 10000.00 and 500000.00."
    ]
    assert Loan.objects.count() == 0


def test_an_application_for_a_borrower_of_another_branch_is_refused(
    client, loan_officer, outsider, product
):
    # given
    stranger = make_person(outsider)
    client.force_login(loan_officer)
    # when
    response = client.post("/loans/new/", _application_data(stranger, product))
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["borrower"] == [
        "No party with this number in your scope."
    ]
    assert Loan.objects.count() == 0


def test_the_preview_shows_the_installment_of_the_product_terms(client, loan_officer, product):
    # given
    borrower = make_person(loan_officer, first_name="Ana", last_name="Lopes")
    client.force_login(loan_officer)
    # when
    response = client.post(
        "/loans/preview/", _application_data(borrower, product), HTTP_HX_REQUEST="true"
    )
    # then
    assert response.status_code == 200
    assert response.context["state"] == "schedule"
    assert response.context["installment_amount"] == EMI
    schedule = response.context["schedule"]
    assert len(schedule.installments) == 12
    assert (schedule.installments[0].interest, schedule.installments[0].principal) == (
        FIRST_INTEREST,
        FIRST_PRINCIPAL,
    )
    assert schedule.total_interest == TOTAL_INTEREST
    assert b"11,347.15" in response.content
    assert b"Ana Lopes" in response.content
    assert b"<html" not in response.content  # a partial, not a page
    assert Loan.objects.count() == 0


def test_the_preview_shows_an_error_for_a_principal_above_the_product_maximum(
    client, loan_officer, product
):
    # given
    borrower = make_person(loan_officer)
    client.force_login(loan_officer)
    # when
    response = client.post(
        "/loans/preview/", _application_data(borrower, product, principal="600000")
    )
    # then
    assert response.status_code == 200
    assert response.context["state"] == "invalid"
    assert response.context["errors"] == [
        ("Principal", "The principal must be between 10000.00 and 500000.00.")
    ]
    assert b"The principal must be between 10000.00 and 500000.00." in response.content
    assert Loan.objects.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"principal": "abc"},
        {"principal": "-5"},
        {"number_of_repayments": "0"},
        {"expected_disbursement_date": "not a date"},
        {"product": "999999"},
        {"first_repayment_date": "2020-01-01"},
        {"annual_interest_rate": "1e400"},
    ],
)
def test_invalid_preview_input_shows_errors_never_a_500(client, loan_officer, product, overrides):
    # given
    borrower = make_person(loan_officer)
    client.force_login(loan_officer)
    # when
    response = client.post("/loans/preview/", _application_data(borrower, product, **overrides))
    # then
    assert response.status_code == 200
    assert response.context["state"] == "invalid"
    assert response.context["errors"]


def test_the_preview_without_a_principal_shows_the_product_ranges(client, loan_officer, product):
    client.force_login(loan_officer)
    response = client.post("/loans/preview/", {"product": product.pk, "principal": ""})
    assert response.status_code == 200
    assert response.context["state"] == "terms"
    assert b"Principal 10,000.00 to 500,000.00 CVE" in response.content


def test_roles_that_may_not_apply_get_403_on_the_form_and_the_preview(
    client, field_agent, auditor, product
):
    borrower = make_person(field_agent)
    for user in (field_agent, auditor):
        client.force_login(user)
        assert client.get("/loans/new/").status_code == 403
        assert client.post("/loans/new/", _application_data(borrower, product)).status_code == 403
        assert (
            client.post("/loans/preview/", _application_data(borrower, product)).status_code == 403
        )
    assert Loan.objects.count() == 0


# --- approvals ---------------------------------------------------------------------------------


def test_the_approval_inbox_lists_applications_submitted_by_others(
    client, loan_officer, branch_manager, product
):
    # given
    by_officer = submitted_loan(loan_officer, product)
    submitted_loan(branch_manager, product)
    client.force_login(branch_manager)
    # when
    response = client.get("/loans/approvals/")
    # then
    assert response.status_code == 200
    assert _numbers(response) == [by_officer.number]
    client.force_login(loan_officer)
    assert client.get("/loans/approvals/").status_code == 403


def test_another_person_approves_through_the_loan_page(
    client, loan_officer, branch_manager, product
):
    # given
    loan = submitted_loan(loan_officer, product)
    client.force_login(branch_manager)
    # when
    response = client.post(f"/loans/{loan.pk}/approve/")
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/loans/{loan.pk}/"
    loan.refresh_from_db()
    assert (loan.status, loan.approved_by, loan.approved_on) == (
        LoanStatus.APPROVED,
        branch_manager,
        _today(),
    )
    assert _messages(response) == [f"Loan {loan.number} approved."]


def test_the_submitter_cannot_approve_and_gets_a_message(client, branch_manager, product):
    # given
    loan = submitted_loan(branch_manager, product)
    client.force_login(branch_manager)
    # when
    response = client.post(f"/loans/{loan.pk}/approve/")
    # then
    assert response.status_code == 302
    assert _messages(response) == [
        "You submitted this application; another person must approve it."
    ]
    loan.refresh_from_db()
    assert (loan.status, loan.approved_by) == (LoanStatus.SUBMITTED, None)


def test_missing_documents_block_the_approval_with_a_message(
    client, loan_officer, branch_manager, rules
):
    # given
    product = cash_product(loan_officer, rules, required_documents=["id_card"])
    loan = submitted_loan(loan_officer, product)
    client.force_login(branch_manager)
    # when
    response = client.post(f"/loans/{loan.pk}/approve/")
    # then
    assert _messages(response) == ["Documents missing before approval: id_card."]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.SUBMITTED


def test_reject_needs_a_reason(client, loan_officer, branch_manager, product):
    # given
    loan = submitted_loan(loan_officer, product)
    client.force_login(branch_manager)
    # when
    without = client.post(f"/loans/{loan.pk}/reject/", {"reason": ""})
    loan.refresh_from_db()
    status_after_empty_reason = loan.status
    with_reason = client.post(f"/loans/{loan.pk}/reject/", {"reason": "Income too low"})
    # then
    assert _messages(without) == ["Say why the application is rejected."]
    assert status_after_empty_reason == LoanStatus.SUBMITTED
    assert with_reason.status_code == 302
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REJECTED


def test_undo_approval_then_withdraw(client, loan_officer, branch_manager, product):
    # given
    loan = approved_loan(loan_officer, branch_manager, product)
    # when
    client.force_login(branch_manager)
    client.post(f"/loans/{loan.pk}/undo-approval/")
    loan.refresh_from_db()
    after_undo = (loan.status, loan.approved_by)
    client.force_login(loan_officer)
    client.post(f"/loans/{loan.pk}/withdraw/", {"reason": "The client found the money"})
    # then
    assert after_undo == (LoanStatus.SUBMITTED, None)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WITHDRAWN


# --- disbursement, repayment, reversal, write-off ---------------------------------------------


def test_disbursement_and_repayment_through_the_forms_give_exact_balances(
    client, loan_officer, branch_manager, product
):
    # given
    loan = approved_loan(loan_officer, branch_manager, product)
    client.force_login(loan_officer)
    today = _today()
    # when
    form_page = client.get(f"/loans/{loan.pk}/disburse/")
    disbursed = client.post(
        f"/loans/{loan.pk}/disburse/", {"disbursed_on": today.isoformat(), "channel": "cash"}
    )
    # then
    assert form_page.status_code == 200
    assert disbursed.status_code == 302
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on) == (LoanStatus.ACTIVE, today)
    assert (loan.principal_outstanding, loan.interest_outstanding) == (PRINCIPAL, TOTAL_INTEREST)
    assert _messages(disbursed) == [f"Loan {loan.number} disbursed: 120,000.00 CVE."]

    # when
    repay_page = client.get(f"/loans/{loan.pk}/repay/")
    repaid = client.post(
        f"/loans/{loan.pk}/repay/",
        {
            "amount": "11347.15",
            "value_date": today.isoformat(),
            "channel": "mobile_money",
            "receipt_number": "R-0001",
        },
    )
    # then
    assert repay_page.context["form"]["amount"].value() == EMI  # the first installment
    assert repaid.status_code == 302
    assert repaid["Location"] == f"/loans/{loan.pk}/"
    txn = LoanTransaction.objects.get(kind=TransactionKind.REPAYMENT)
    assert (txn.amount, txn.principal_portion, txn.interest_portion, txn.channel) == (
        EMI,
        FIRST_PRINCIPAL,
        FIRST_INTEREST,
        "mobile_money",
    )
    loan.refresh_from_db()
    assert (loan.principal_outstanding, loan.interest_outstanding, loan.total_outstanding) == (
        D("111052.85"),
        D("13765.83"),
        D("124818.68"),
    )
    assert _messages(repaid) == [
        "Repayment of 11,347.15 CVE recorded: principal 8,947.15, interest 2,400.00, "
        "fees 0.00, penalties 0.00."
    ]
    detail = client.get(f"/loans/{loan.pk}/")
    assert b'data-testid="principal-outstanding">111,052.85<' in detail.content
    assert b'data-testid="total-outstanding">124,818.68<' in detail.content


def test_a_repayment_dated_in_the_future_is_a_field_error(
    client, loan_officer, branch_manager, product
):
    # given
    loan = active_loan(loan_officer, branch_manager, product)
    client.force_login(loan_officer)
    # when
    response = client.post(
        f"/loans/{loan.pk}/repay/",
        {
            "amount": "100",
            "value_date": (_today() + datetime.timedelta(days=1)).isoformat(),
            "channel": "cash",
        },
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["value_date"] == [
        "A repayment cannot be dated in the future."
    ]
    assert LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).count() == 0


def test_a_duplicate_receipt_number_is_a_field_error(client, loan_officer, branch_manager, product):
    # given
    loan = active_loan(loan_officer, branch_manager, product)
    repayment_record(actor=loan_officer, loan=loan, amount=D("100.00"), receipt_number="R-7")
    client.force_login(loan_officer)
    # when
    response = client.post(
        f"/loans/{loan.pk}/repay/",
        {
            "amount": "100",
            "value_date": _today().isoformat(),
            "channel": "cash",
            "receipt_number": "R-7",
        },
    )
    # then
    assert response.context["form"].errors["receipt_number"] == [
        "This receipt number is already recorded."
    ]
    assert LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).count() == 1


def test_reversing_a_repayment_restores_the_balance(client, loan_officer, branch_manager, product):
    # given
    loan = active_loan(loan_officer, branch_manager, product)
    txn = repayment_record(actor=loan_officer, loan=loan, amount=EMI)
    client.force_login(branch_manager)
    # when
    response = client.post(
        f"/loans/{loan.pk}/transactions/{txn.pk}/reverse/", {"reason": "Cheque bounced"}
    )
    # then
    assert response.status_code == 302
    txn.refresh_from_db()
    loan.refresh_from_db()
    assert txn.is_reversed
    assert (loan.principal_outstanding, loan.interest_outstanding) == (PRINCIPAL, TOTAL_INTEREST)


def test_the_write_off_form_writes_the_loan_off(client, loan_officer, branch_manager, product):
    # given
    loan = active_loan(loan_officer, branch_manager, product)
    client.force_login(branch_manager)
    # when
    response = client.post(
        f"/loans/{loan.pk}/write-off/",
        {"reason": "Borrower emigrated", "written_off_on": _today().isoformat()},
    )
    # then
    assert response.status_code == 302
    loan.refresh_from_db()
    assert (loan.status, loan.total_outstanding) == (LoanStatus.WRITTEN_OFF, D("0"))


@pytest.mark.parametrize(
    ("persona", "action"),
    [
        ("loan_officer", "approve"),
        ("auditor", "approve"),
        ("accountant", "reject"),
        ("field_agent", "disburse"),
        ("auditor", "disburse"),
        ("auditor", "repay"),
        ("credit_committee", "repay"),
        ("loan_officer", "write-off"),
        ("loan_officer", "reverse"),
        ("auditor", "document"),
    ],
)
def test_roles_without_the_capability_get_403_and_nothing_changes(
    request, client, loan_officer, branch_manager, product, persona, action
):
    # given
    submitted = submitted_loan(loan_officer, product)
    approved = approved_loan(loan_officer, branch_manager, product)
    active = active_loan(loan_officer, branch_manager, product)
    txn = repayment_record(actor=loan_officer, loan=active, amount=EMI)
    before = {loan.pk: (loan.status, loan.total_outstanding) for loan in Loan.objects.all()}
    transactions_before = LoanTransaction.objects.count()
    targets = {
        "approve": (f"/loans/{submitted.pk}/approve/", {}),
        "reject": (f"/loans/{submitted.pk}/reject/", {"reason": "no"}),
        "disburse": (
            f"/loans/{approved.pk}/disburse/",
            {"disbursed_on": _today().isoformat(), "channel": "cash"},
        ),
        "repay": (
            f"/loans/{active.pk}/repay/",
            {"amount": "100", "value_date": _today().isoformat(), "channel": "cash"},
        ),
        "write-off": (
            f"/loans/{active.pk}/write-off/",
            {"reason": "gone", "written_off_on": _today().isoformat()},
        ),
        "reverse": (f"/loans/{active.pk}/transactions/{txn.pk}/reverse/", {"reason": "error"}),
        "document": (
            f"/loans/{submitted.pk}/documents/",
            {"kind": "id_card", "file": SimpleUploadedFile("id.pdf", PDF_BYTES)},
        ),
    }
    url, data = targets[action]
    client.force_login(request.getfixturevalue(persona))
    # when
    response = client.post(url, data)
    # then
    assert response.status_code == 403
    after = {loan.pk: (loan.status, loan.total_outstanding) for loan in Loan.objects.all()}
    assert after == before
    assert LoanTransaction.objects.count() == transactions_before
    assert LoanDocument.objects.count() == 0


def test_a_loan_of_another_branch_is_404_for_every_action_and_nothing_changes(
    client, loan_officer, branch_manager, outsider, product
):
    # given
    loan = active_loan(loan_officer, branch_manager, product)
    client.force_login(outsider)
    # when
    responses = [
        client.get(f"/loans/{loan.pk}/repay/"),
        client.post(
            f"/loans/{loan.pk}/repay/",
            {"amount": "100", "value_date": _today().isoformat(), "channel": "cash"},
        ),
        client.get(f"/loans/{loan.pk}/statement.pdf"),
    ]
    # then
    assert [response.status_code for response in responses] == [404, 404, 404]
    assert LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT).count() == 0


# --- documents, history, PDFs ------------------------------------------------------------------


def test_a_document_is_uploaded_and_served_only_in_scope(client, loan_officer, outsider, product):
    # given
    loan = submitted_loan(loan_officer, product)
    client.force_login(loan_officer)
    # when
    response = client.post(
        f"/loans/{loan.pk}/documents/",
        {"kind": "id_card", "file": SimpleUploadedFile("bilhete identidade.pdf", PDF_BYTES)},
    )
    # then
    assert response.status_code == 302
    document = LoanDocument.objects.get()
    assert (document.kind, document.uploaded_by) == ("id_card", loan_officer)
    assert "identidade" not in document.file.name
    download = client.get(f"/loans/{loan.pk}/documents/{document.pk}/")
    assert b"".join(download.streaming_content) == PDF_BYTES
    client.force_login(outsider)
    assert client.get(f"/loans/{loan.pk}/documents/{document.pk}/").status_code == 404


def test_an_upload_that_is_not_a_document_is_refused_with_a_message(client, loan_officer, product):
    # given
    loan = submitted_loan(loan_officer, product)
    client.force_login(loan_officer)
    # when
    response = client.post(
        f"/loans/{loan.pk}/documents/",
        {"kind": "id_card", "file": SimpleUploadedFile("id.pdf", b"MZ\x90\x00 executable")},
    )
    # then
    assert _messages(response) == [
        "This file type is not accepted; upload a PDF, PNG or JPEG file."
    ]
    assert LoanDocument.objects.count() == 0


def test_the_loan_page_shows_the_summary_schedule_and_history(
    client, loan_officer, branch_manager, product
):
    # given
    loan = active_loan(loan_officer, branch_manager, product)
    client.force_login(loan_officer)
    # when
    response = client.get(f"/loans/{loan.pk}/")
    # then
    assert response.status_code == 200
    assert len(response.context["installments"]) == 12
    assert [event.action for event in response.context["events"]] == [
        "loan.disbursed",
        "loan.approved",
        "loan.submitted",
    ]
    assert b'data-testid="principal">120,000.00 CVE<' in response.content
    assert b'data-testid="repay"' in response.content
    assert b'data-testid="write-off"' not in response.content  # officers may not write off


@pytest.mark.parametrize("status", ["submitted", "active"])
def test_the_contract_is_a_pdf(client, loan_officer, branch_manager, product, status):
    # given
    if status == "submitted":
        loan = submitted_loan(loan_officer, product)
    else:
        loan = active_loan(loan_officer, branch_manager, product)
    client.force_login(loan_officer)
    # when
    response = client.get(f"/loans/{loan.pk}/contract.pdf")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_receipt_and_the_statement_are_pdfs(client, loan_officer, branch_manager, product):
    # given
    loan = active_loan(loan_officer, branch_manager, product)
    txn = repayment_record(actor=loan_officer, loan=loan, amount=EMI, receipt_number="R-1")
    disbursement = loan.transactions.get(kind=TransactionKind.DISBURSEMENT)
    client.force_login(loan_officer)
    # when
    receipt = client.get(f"/loans/{loan.pk}/transactions/{txn.pk}/receipt.pdf")
    statement = client.get(f"/loans/{loan.pk}/statement.pdf")
    # then
    for response in (receipt, statement):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
    assert (
        client.get(f"/loans/{loan.pk}/transactions/{disbursement.pk}/receipt.pdf").status_code
        == 404
    )


def test_the_statement_runs_the_principal_balance_through_a_reversal(
    loan_officer, branch_manager, product
):
    # given
    from loans.selectors import statement_lines
    from loans.services import repayment_reverse

    loan = active_loan(loan_officer, branch_manager, product, approved_on=APPROVED_ON)
    first = repayment_record(actor=loan_officer, loan=loan, amount=EMI)
    repayment_record(actor=loan_officer, loan=loan, amount=EMI)
    repayment_reverse(actor=branch_manager, transaction_id=first.pk, reason="Bounced")
    # when
    lines = statement_lines(loan=loan)
    # then
    assert [(line.is_reversal, line.balance) for line in lines] == [
        (False, D("120000.0000")),
        (False, D("111052.8500")),
        (False, D("101926.7600")),
        (True, D("110873.9100")),
    ]


def test_guarantor_and_collateral_are_added_from_the_loan_page(
    client, praia, loan_officer, branch_manager
):
    # given
    from accounting.chart import chart_install
    from tests.crm.factories import make_person
    from tests.loans.factories import active_loan, cash_product

    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, chart_install()))
    guarantor = make_person(loan_officer, first_name="Vera")
    client.force_login(loan_officer)
    # when
    client.post(f"/loans/{loan.pk}/guarantors/", {"party": guarantor.pk, "amount": "50000"})
    client.post(f"/loans/{loan.pk}/collateral/", {"description": "Fridge", "value": "35000"})
    client.post(f"/loans/{loan.pk}/guarantors/", {"party": loan.borrower_id, "amount": "1"})
    # then
    assert list(loan.guarantors.values_list("party_id", "amount")) == [
        (guarantor.pk, Decimal("50000.0000"))
    ]
    assert list(loan.collaterals.values_list("description", "value")) == [
        ("Fridge", Decimal("35000.0000"))
    ]


def test_a_manager_saves_new_terms_as_a_new_version_and_loans_keep_theirs(
    client, praia, loan_officer, branch_manager, manager
):
    # given
    from accounting.chart import chart_install
    from tests.loans.factories import active_loan, cash_product

    product = cash_product(loan_officer, chart_install())
    loan = active_loan(loan_officer, branch_manager, product)
    client.force_login(manager)
    form = client.get(f"/loans/products/{product.pk}/new-version/").context["form"]
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None
    }
    data["rate_default"] = "26"
    # when
    response = client.post(f"/loans/products/{product.pk}/new-version/", data)
    # then
    assert response.status_code == 302
    assert list(product.versions.order_by("version").values_list("version", "rate_default")) == [
        (1, Decimal("24.0000")),
        (2, Decimal("26.0000")),
    ]
    loan.refresh_from_db()
    assert loan.product_version.version == 1
    assert client.get("/loans/catalogue/").status_code == 200


def test_a_loan_officer_cannot_change_product_terms(client, praia, loan_officer):
    # given
    from accounting.chart import chart_install
    from tests.loans.factories import cash_product

    product = cash_product(loan_officer, chart_install())
    client.force_login(loan_officer)
    # when
    response = client.post(f"/loans/products/{product.pk}/new-version/", {"rate_default": "99"})
    # then
    assert response.status_code == 403
    assert product.versions.count() == 1


def test_the_officer_home_page_counts_loans_in_arrears(client, praia, loan_officer, branch_manager):
    # given: disbursed in January, nothing repaid since
    from accounting.chart import chart_install
    from tests.loans.factories import active_loan, cash_product

    product = cash_product(loan_officer, chart_install())
    active_loan(loan_officer, branch_manager, product)
    active_loan(loan_officer, branch_manager, product)
    from loans.end_of_day import run_end_of_day

    run_end_of_day()
    client.force_login(loan_officer)
    # when
    figures = client.get("/").context["loans"]
    # then
    assert (figures["in_arrears"], figures["active"], figures["to_approve"]) == (2, 2, 0)
