"""Loans API: schedule preview contract, lifecycle, idempotent repayments, PAR, reconciliation."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounting.chart import chart_install
from loans.end_of_day import run_end_of_day
from loans.models import LoanTransaction
from mfi.models import IdempotencyRecord
from tests.crm.factories import make_person
from tests.loans.factories import EMI, active_loan, cash_product

PREVIEW = {
    "principal": "5000",
    "currency": "EUR",
    "annual_interest_rate": "12",
    "number_of_repayments": 18,
    "repayment_every": 1,
    "repayment_frequency": "months",
    "interest_method": "flat",
    "amortization": "equal_installments",
    "interest_calculation": "same_as_repayment_period",
    "days_in_year": "actual",
    "days_in_month": "actual",
    "disbursement_date": "2022-11-01",
    "first_repayment_date": "2022-12-01",
    "installment_multiple": 1,
}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def rules(praia):
    return chart_install()


def test_schedule_preview_matches_fineract_flat_reference(api, loan_officer):
    # given
    api.force_authenticate(loan_officer)
    # when
    body = api.post("/api/v1/loans/schedule-preview/", PREVIEW, format="json").json()
    # then
    rows = body["installments"]
    assert len(rows) == 18
    assert rows[0] == {
        "number": 1,
        "due_date": "2022-12-01",
        "principal": "278.00",
        "interest": "50.00",
        "fees": "0.00",
        "total": "328.00",
        "balance": "4722.00",
    }
    assert (rows[17]["principal"], rows[17]["interest"], rows[17]["balance"]) == (
        "274.00",
        "50.00",
        "0.00",
    )
    assert (body["total_principal"], body["total_interest"], body["total_repayment"]) == (
        "5000.00",
        "900.00",
        "5900.00",
    )


def test_schedule_preview_names_every_bad_field(api, loan_officer):
    # given
    api.force_authenticate(loan_officer)
    # when
    response = api.post(
        "/api/v1/loans/schedule-preview/",
        {**PREVIEW, "principal": "-1", "currency": "ZZZ"},
        format="json",
    )
    # then
    assert response.status_code == 400
    assert {"principal", "currency"} <= set(response.json())


def test_the_loan_lifecycle_through_the_api(api, rules, loan_officer, branch_manager):
    # given
    product = cash_product(loan_officer, rules)
    borrower = make_person(loan_officer)
    api.force_authenticate(loan_officer)
    # when
    submitted = api.post(
        "/api/v1/loans/",
        {
            "borrower": borrower.pk,
            "product": product.code,
            "principal": "120000",
            "expected_disbursement_date": "2026-11-22",
            "purpose": "Stock",
        },
        format="json",
    )
    loan_id = submitted.json()["id"]
    own_approval = api.post(f"/api/v1/loans/{loan_id}/approve/")
    api.force_authenticate(branch_manager)
    approved = api.post(f"/api/v1/loans/{loan_id}/approve/")
    api.force_authenticate(loan_officer)
    disbursed = api.post(f"/api/v1/loans/{loan_id}/disburse/", {}, format="json")  # today
    repaid = api.post(
        f"/api/v1/loans/{loan_id}/repayments/",
        {"amount": "11347.15", "channel": "mobile_money", "receipt_number": "R-API-1"},
        format="json",
    )
    # then
    assert submitted.status_code == 201
    assert submitted.json()["status"] == "submitted"
    assert own_approval.status_code == 403
    assert approved.json()["status"] == "approved", approved.json()
    assert (disbursed.json()["status"], disbursed.json()["principal_outstanding"]) == (
        "active",
        "120000.00",
    )
    assert repaid.status_code == 201
    assert (repaid.json()["principal_portion"], repaid.json()["interest_portion"]) == (
        "8947.15",
        "2400.00",
    )


def test_a_repeated_idempotency_key_returns_the_first_result(
    api, rules, loan_officer, branch_manager
):
    # given
    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    api.force_authenticate(loan_officer)
    payload = {"amount": str(EMI), "value_date": "2026-02-15"}
    # when
    first = api.post(
        f"/api/v1/loans/{loan.pk}/repayments/",
        payload,
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-feb-2026",
    )
    again = api.post(
        f"/api/v1/loans/{loan.pk}/repayments/",
        payload,
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-feb-2026",
    )
    other_body = api.post(
        f"/api/v1/loans/{loan.pk}/repayments/",
        {**payload, "amount": "1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pay-feb-2026",
    )
    # then
    assert (first.status_code, again.status_code, other_body.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert LoanTransaction.objects.filter(loan=loan, kind="repayment").count() == 1


def test_a_repeat_while_the_first_is_in_flight_gets_409(api, rules, loan_officer, branch_manager):
    # given: the first request has claimed the key and not answered yet
    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    payload = {"amount": str(EMI), "value_date": "2026-02-15"}
    api.force_authenticate(loan_officer)
    from mfi.idempotency import _fingerprint

    class _Request:
        method = "POST"
        path = f"/api/v1/loans/{loan.pk}/repayments/"
        data = payload

    IdempotencyRecord.objects.create(
        user=loan_officer, key="in-flight", fingerprint=_fingerprint(_Request)
    )
    # when
    response = api.post(
        f"/api/v1/loans/{loan.pk}/repayments/",
        payload,
        format="json",
        HTTP_IDEMPOTENCY_KEY="in-flight",
    )
    # then
    assert response.status_code == 409
    assert LoanTransaction.objects.filter(loan=loan, kind="repayment").count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_key_post_exactly_once(rules, loan_officer, branch_manager):
    # given
    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    payload = {"amount": str(EMI), "value_date": "2026-02-15"}
    codes = []

    def send():
        client = APIClient()
        client.force_authenticate(loan_officer)
        response = client.post(
            f"/api/v1/loans/{loan.pk}/repayments/",
            payload,
            format="json",
            HTTP_IDEMPOTENCY_KEY="concurrent-key",
        )
        codes.append(response.status_code)
        connections.close_all()

    # when
    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then: one 201, the others a replay (201) or in flight (409); exactly one repayment
    assert codes.count(201) >= 1
    assert set(codes) <= {201, 409}
    assert LoanTransaction.objects.filter(loan=loan, kind="repayment").count() == 1


def test_portfolio_quality_and_reconciliation_contracts(
    api, rules, loan_officer, branch_manager, accountant
):
    # given
    active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    run_end_of_day(datetime.date(2026, 1, 20))
    api.force_authenticate(accountant)
    # when
    quality = api.get("/api/v1/loans/portfolio-quality/", {"date": "2026-01-20"}).json()
    reconciliation = api.get(
        "/api/v1/accounting/reconciliation/loans/", {"date": "2026-01-20"}
    ).json()
    # then
    assert quality == {
        "date": "2026-01-20",
        "currency": "CVE",
        "outstanding_principal": "120000.00",
        "par1": "0.0000",
        "par30": "0.0000",
        "par90": "0.0000",
        "loans_active": 1,
        "loans_in_arrears": 0,
    }
    assert reconciliation == {
        "date": "2026-01-20",
        "currency": "CVE",
        "gl_balance": "120000.00",
        "subledger_balance": "120000.00",
        "difference": "0.00",
    }


def test_roles_without_loans_get_403(api, rules, coach):
    # given
    api.force_authenticate(coach)
    # when / then
    assert api.get("/api/v1/loans/").status_code == 403
    assert api.get("/api/v1/loans/portfolio-quality/").status_code == 403


def test_an_outsider_cannot_repay_a_loan_of_another_branch(
    api, rules, loan_officer, branch_manager, outsider
):
    # given
    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    api.force_authenticate(outsider)
    # when
    response = api.post(f"/api/v1/loans/{loan.pk}/repayments/", {"amount": "100"}, format="json")
    # then
    assert response.status_code == 404
    assert LoanTransaction.objects.filter(loan=loan, kind="repayment").count() == 0
    assert Decimal(loan.principal) == Decimal("120000")
    assert datetime.date(2026, 1, 15) == loan.disbursed_on


def test_a_repayment_through_the_api_with_a_token_takes_a_fixed_number_of_queries(
    rules, loan_officer, branch_manager, django_assert_num_queries
):
    # given: a cashier's integration with an API token, as the repayment benchmark calls it
    from rest_framework.authtoken.models import Token

    loan = active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=branch_manager)}")
    # when: token, user and branch (1); the key claimed (1); the branch's subtree (1); the loan
    # in scope (1); loan and installments locked (2); transaction, installment and allocation
    # written (3); posting rules and their accounts (2); entry and lines (2); period lock,
    # closed-month check and entry number (3); entry posted (1); two audit events (2); the
    # transaction's entry and the loan's balances (2); the answer stored (1); and the
    # transaction (BEGIN/COMMIT, here a savepoint) with two savepoints inside, opened and
    # released (6): 28 statements, as in production
    with django_assert_num_queries(28):
        response = client.post(
            f"/api/v1/loans/{loan.pk}/repayments/",
            {"amount": str(EMI), "value_date": "2026-02-15"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="pay-feb-2026",
        )
    # then
    assert response.status_code == 201
    assert response.json()["amount"] == str(EMI)
