"""Money under concurrency, against the real PostgreSQL: committed data, one thread and one
database connection per request, all released together by a barrier.

Each race ends with exactly the right postings, a balanced ledger and a loan sub-ledger that
reconciles with the general ledger; the losers get a domain error (a 400 through the API, or a
409 for an Idempotency-Key still in flight), never a 500, a deadlock or a second posting.
"""

from __future__ import annotations

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounting.choices import EntrySource, EntryStatus
from accounting.models import JournalEntry, JournalLine
from accounting.selectors import movements_mismatches, trial_balance
from accounting.services import manual_entry_approve
from audit.models import AuditEvent
from loans.choices import LoanStatus, TransactionKind
from loans.models import Installment, Loan, LoanTransaction
from loans.portfolio import loans_reconciliation
from loans.services import business_date, loan_disburse, repayment_record
from mfi.scale.checks import ledger_rules
from tests.accounting.factories import PRAIA_CASH, chart, debit_credit, draft_manual
from tests.concurrency import closed_after, race
from tests.factories import UserFactory
from tests.loans.factories import (
    DISBURSED_ON,
    PRINCIPAL,
    active_loan,
    approved_loan,
    cash_product,
)
from users.models import User
from users.roles import Role

D = Decimal
ZERO = D("0")
VALUE_DATE = datetime.date(2026, 2, 15)
REPAYMENTS = 20
REPAYMENT = D("1000.00")
# 20 × 1,000.00 = 20,000.00 pays installment 1 (2,400.00 interest + 8,947.15 principal) and, of
# installment 2, its 2,221.06 interest and 6,431.79 of principal (interest before principal).
REPAID_PRINCIPAL = D("15378.94")
REPAID_INTEREST = D("4621.06")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ledger(head_office, praia, mindelo):
    return chart()


@pytest.fixture
def product(manager, ledger):
    return cash_product(manager, ledger)


def api_post(user_pk: int, url: str, payload: dict | None = None, **headers):
    """A POST as a request from ``user_pk`` makes it: its own client, user read in the thread.
    Returns (status code, JSON body, Idempotent-Replayed header)."""

    def call():
        client = APIClient()
        client.force_authenticate(User.objects.get(pk=user_pk))
        response = client.post(url, payload or {}, format="json", **headers)
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

    return call


def assert_ledger_whole(*, portfolio: Decimal) -> None:
    """Trial balance balances, the loan portfolio in the GL equals the loans' outstanding
    principal, and no ledger invariant is broken."""
    report = trial_balance(as_of=business_date())
    assert report.total_debit == report.total_credit
    reconciliation = loans_reconciliation(as_of=business_date())
    assert (reconciliation["gl_balance"], reconciliation["subledger_balance"]) == (
        portfolio,
        portfolio,
    )
    assert reconciliation["difference"] == ZERO
    assert movements_mismatches() == 0
    assert ledger_rules() == dict.fromkeys(ledger_rules(), 0)


def _repay(user_pk: int, loan_pk: int):
    def call():
        return repayment_record(
            actor=User.objects.get(pk=user_pk),
            loan=Loan.objects.get(pk=loan_pk),
            amount=REPAYMENT,
            value_date=VALUE_DATE,
        )

    return call


def _assert_twenty_repayments_posted(loan: Loan) -> None:
    repayments = LoanTransaction.objects.filter(loan=loan, kind=TransactionKind.REPAYMENT)
    assert repayments.count() == REPAYMENTS
    assert (
        JournalEntry.objects.filter(
            source=EntrySource.LOAN_TRANSACTION,
            source_reference__in=[
                f"loan-txn-{pk}" for pk in repayments.values_list("pk", flat=True)
            ],
            status=EntryStatus.POSTED,
        ).count()
        == REPAYMENTS
    )
    assert sum((txn.amount for txn in repayments), ZERO) == D("20000.00")
    assert sum((txn.principal_portion for txn in repayments), ZERO) == REPAID_PRINCIPAL
    assert sum((txn.interest_portion for txn in repayments), ZERO) == REPAID_INTEREST
    rows = list(Installment.objects.filter(loan=loan).order_by("number"))
    assert sum((row.total_paid for row in rows), ZERO) == D("20000.00")
    assert [(row.number, row.principal_paid, row.interest_paid) for row in rows[:3]] == [
        (1, D("8947.15"), D("2400.00")),
        (2, D("6431.79"), D("2221.06")),
        (3, ZERO, ZERO),
    ]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    assert loan.principal_outstanding == PRINCIPAL - REPAID_PRINCIPAL == D("104621.06")
    assert_ledger_whole(portfolio=D("104621.06"))
    balances = {
        row["account"].code: row["debit"] - row["credit"]
        for row in trial_balance(as_of=business_date()).rows
    }
    assert balances[PRAIA_CASH] == D("20000.00") - PRINCIPAL
    assert balances["4100"] == -REPAID_INTEREST


def test_twenty_concurrent_repayments_on_one_loan_post_twenty_times_and_reconcile(
    loan_officer, branch_manager, credit_committee, product
):
    # given
    loan = active_loan(loan_officer, credit_committee, product)
    collectors = [loan_officer, branch_manager] * (REPAYMENTS // 2)

    # when
    outcomes = race([_repay(collector.pk, loan.pk) for collector in collectors])

    # then: every repayment went through (no deadlock or serialization failure surfaced)
    assert [type(outcome).__name__ for outcome in outcomes] == ["LoanTransaction"] * REPAYMENTS
    _assert_twenty_repayments_posted(loan)


def test_twenty_concurrent_repayments_through_the_api_post_twenty_times_and_reconcile(
    loan_officer, branch_manager, credit_committee, product
):
    # given
    loan = active_loan(loan_officer, credit_committee, product)
    url = f"/api/v1/loans/{loan.pk}/repayments/"
    payload = {"amount": str(REPAYMENT), "value_date": VALUE_DATE.isoformat()}
    collectors = [loan_officer, branch_manager] * (REPAYMENTS // 2)

    # when
    outcomes = race([api_post(collector.pk, url, payload) for collector in collectors])

    # then
    assert [outcome[0] for outcome in outcomes] == [201] * REPAYMENTS, outcomes
    assert len({outcome[1]["id"] for outcome in outcomes}) == REPAYMENTS
    _assert_twenty_repayments_posted(loan)


def _assert_disbursed_once(loan: Loan) -> None:
    disbursements = LoanTransaction.objects.filter(loan=loan, kind=TransactionKind.DISBURSEMENT)
    assert disbursements.count() == 1
    assert (
        JournalEntry.objects.filter(
            source=EntrySource.LOAN_TRANSACTION, source_reference=f"loan-txn-{disbursements[0].pk}"
        ).count()
        == 1
    )
    assert JournalEntry.objects.filter(description__startswith="Disbursement of loan").count() == 1
    assert Installment.objects.filter(loan=loan).count() == 12
    loan.refresh_from_db()
    assert (loan.status, loan.disbursed_on, loan.principal_outstanding) == (
        LoanStatus.ACTIVE,
        DISBURSED_ON,
        PRINCIPAL,
    )
    assert AuditEvent.objects.filter(action="loan.disbursed", object_id=str(loan.pk)).count() == 1
    assert_ledger_whole(portfolio=PRINCIPAL)


def test_the_same_disbursement_submitted_twice_at_once_is_posted_once(
    loan_officer, branch_manager, credit_committee, product
):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)

    def disburse(user_pk):
        return lambda: loan_disburse(
            actor=User.objects.get(pk=user_pk),
            loan=Loan.objects.get(pk=loan.pk),
            disbursed_on=DISBURSED_ON,
        )

    # when
    outcomes = race([disburse(loan_officer.pk), disburse(branch_manager.pk)])

    # then: one pays out, the other is told the loan is no longer approved
    winners = [outcome for outcome in outcomes if isinstance(outcome, Loan)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, Loan)]
    assert (len(winners), len(losers)) == (1, 1), outcomes
    assert isinstance(losers[0], ValidationError)
    assert losers[0].messages == ["Only an approved loan can be disbursed."]
    _assert_disbursed_once(loan)


def test_the_same_disbursement_posted_twice_at_once_through_the_api_is_posted_once(
    loan_officer, branch_manager, credit_committee, product
):
    # given
    loan = approved_loan(loan_officer, credit_committee, product)
    url = f"/api/v1/loans/{loan.pk}/disburse/"
    payload = {"disbursed_on": DISBURSED_ON.isoformat()}

    # when: two clicks, two different people, no Idempotency-Key
    outcomes = race(
        [api_post(loan_officer.pk, url, payload), api_post(branch_manager.pk, url, payload)]
    )

    # then
    assert sorted(outcome[0] for outcome in outcomes) == [200, 400], outcomes
    refused = next(outcome for outcome in outcomes if outcome[0] == 400)
    assert refused[1] == {"detail": ["Only an approved loan can be disbursed."]}
    _assert_disbursed_once(loan)


@pytest.fixture
def second_accountant(head_office):
    return UserFactory(username="accountant2", role=Role.ACCOUNTANT, branch=head_office)


def test_one_manual_entry_approved_by_two_checkers_at_once_is_posted_once(
    accountant, second_accountant, manager, praia, ledger
):
    # given: a draft by one accountant, approved by the other and the manager at the same time
    draft = draft_manual(
        accountant, praia, datetime.date(2026, 3, 2), debit_credit(PRAIA_CASH, "1150", "2500.00")
    )

    def approve(user_pk):
        return lambda: manual_entry_approve(
            actor=User.objects.get(pk=user_pk), entry=JournalEntry.objects.get(pk=draft.pk)
        )

    # when
    outcomes = race([approve(second_accountant.pk), approve(manager.pk)])

    # then: one posting, the other checker is told the entry is no longer a draft
    winners = [outcome for outcome in outcomes if isinstance(outcome, JournalEntry)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, JournalEntry)]
    assert (len(winners), len(losers)) == (1, 1), outcomes
    assert isinstance(losers[0], ValidationError)
    assert losers[0].messages == ["This entry is Posted; only drafts can be approved or rejected."]
    draft.refresh_from_db()
    assert draft.status == EntryStatus.POSTED
    assert draft.approved_by_id == winners[0].approved_by_id
    assert draft.approved_by_id in {second_accountant.pk, manager.pk}
    assert draft.number is not None
    assert (
        JournalEntry.objects.filter(status=EntryStatus.POSTED, source=EntrySource.MANUAL).count()
        == 1
    )
    assert JournalLine.objects.filter(entry=draft).count() == 2
    assert (
        AuditEvent.objects.filter(action="journal_entry.posted", object_id=str(draft.pk)).count()
        == 1
    )
    report = trial_balance(as_of=business_date())
    assert (report.total_debit, report.total_credit) == (D("2500.00"), D("2500.00"))
    assert movements_mismatches() == 0


def test_one_manual_entry_approved_by_two_checkers_at_once_through_the_api_is_posted_once(
    accountant, second_accountant, manager, praia, ledger
):
    # given
    draft = draft_manual(
        accountant, praia, datetime.date(2026, 3, 2), debit_credit(PRAIA_CASH, "1150", "2500.00")
    )
    url = f"/api/v1/accounting/entries/{draft.pk}/approve/"

    # when
    outcomes = race([api_post(second_accountant.pk, url), api_post(manager.pk, url)])

    # then
    assert sorted(outcome[0] for outcome in outcomes) == [200, 400], outcomes
    refused = next(outcome for outcome in outcomes if outcome[0] == 400)
    assert refused[1] == {
        "detail": ["This entry is Posted; only drafts can be approved or rejected."]
    }
    assert (
        JournalEntry.objects.filter(status=EntryStatus.POSTED, source=EntrySource.MANUAL).count()
        == 1
    )
    report = trial_balance(as_of=business_date())
    assert (report.total_debit, report.total_credit) == (D("2500.00"), D("2500.00"))


def test_one_idempotency_key_replayed_concurrently_posts_one_repayment(
    loan_officer, credit_committee, product
):
    # given
    loan = active_loan(loan_officer, credit_committee, product)
    url = f"/api/v1/loans/{loan.pk}/repayments/"
    payload = {"amount": "11347.15", "value_date": VALUE_DATE.isoformat()}
    replays = 10

    # when: the same request, the same key, ten times at once (a client retrying on a timeout)
    outcomes = race(
        [
            api_post(loan_officer.pk, url, payload, HTTP_IDEMPOTENCY_KEY="pay-feb-2026-l1")
            for _ in range(replays)
        ]
    )
    # and once more after every one of them answered
    settled = api_post(loan_officer.pk, url, payload, HTTP_IDEMPOTENCY_KEY="pay-feb-2026-l1")()

    # then: exactly one repayment; every answer is the first result (replayed) or 409 in progress
    repayments = LoanTransaction.objects.filter(loan=loan, kind=TransactionKind.REPAYMENT)
    assert repayments.count() == 1
    repayment = repayments.get()
    assert (repayment.amount, repayment.principal_portion, repayment.interest_portion) == (
        D("11347.15"),
        D("8947.15"),
        D("2400.00"),
    )
    codes = sorted(outcome[0] for outcome in outcomes)
    assert set(codes) <= {201, 409}, outcomes
    first = [outcome for outcome in outcomes if outcome[0] == 201 and outcome[2] is None]
    assert len(first) == 1, outcomes
    first_body = first[0][1]
    assert first_body["id"] == repayment.pk
    for code, body, replayed in outcomes:
        if code == 201 and replayed is not None:
            assert (body, replayed) == (first_body, "true")
        elif code == 409:
            assert "in progress" in body["detail"]
    assert settled == (201, first_body, "true")
    loan.refresh_from_db()
    assert loan.principal_outstanding == PRINCIPAL - D("8947.15")
    assert_ledger_whole(portfolio=PRINCIPAL - D("8947.15"))


def _someone_waits_on_an_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'advisory')"
        )
        return cursor.fetchone()[0]


def test_a_month_close_waits_for_a_back_dated_posting_still_open_and_carries_it(
    accountant, praia, ledger
):
    # given: February posted in Praia; a January posting made but not yet committed
    from accounting.models import CarriedBalance
    from accounting.services import period_close
    from tests.accounting.factories import post_system

    post_system(praia, datetime.date(2026, 2, 10), debit_credit(PRAIA_CASH, "3100", "100.00"))
    posted, commit = threading.Event(), threading.Event()

    def post_and_hold():
        with transaction.atomic():
            post_system(
                praia, datetime.date(2026, 1, 20), debit_credit(PRAIA_CASH, "3100", "36.00")
            )
            posted.set()
            commit.wait(timeout=30)

    def close():
        posted.wait(timeout=30)
        period_close(actor=User.objects.get(pk=accountant.pk), branch=praia, year=2026, month=2)

    failures: list[Exception] = []

    def reported(call):
        def run():
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - the test names what failed
                failures.append(exc)

        return closed_after(run)

    # when: February is closed while that posting is still open, then the posting commits
    threads = [threading.Thread(target=reported(call)) for call in (post_and_hold, close)]
    for thread in threads:
        thread.start()
    closing = threads[1]
    deadline = time.monotonic() + 20
    waited = False
    while closing.is_alive() and not waited and time.monotonic() < deadline:
        waited = _someone_waits_on_an_advisory_lock()
        time.sleep(0.02)
    commit.set()
    for thread in threads:
        thread.join(timeout=30)

    # then: both went through; the close waited for the posting (its branch lock) and carried it
    assert not failures, failures
    assert waited
    assert movements_mismatches() == 0
    carried = CarriedBalance.objects.get(branch=praia, account__code=PRAIA_CASH)
    assert (carried.through, carried.debit) == (datetime.date(2026, 2, 28), D("136.00"))
    report = trial_balance(as_of=datetime.date(2026, 3, 31), branch_ids=[praia.pk])
    assert (report.total_debit, report.total_credit) == (D("136.00"), D("136.00"))
