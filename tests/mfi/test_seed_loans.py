"""The demo loans (``mfi/demo/loans.py``) on top of the demo organisation, parties and ledger.

Slow-ish on purpose (it builds the whole demo through the real services, about half a minute):
it is the one check that the demo portfolio, its schedules and the ledger agree, so it runs in
CI like every other test.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import F, Sum
from django.utils import timezone

from accounting.choices import AccountRole
from accounting.models import JournalEntry
from accounting.selectors import balances_by_account, trial_balance
from audit.models import AuditEvent
from loans.choices import PORTFOLIO_STATUSES, LoanStatus, TransactionKind
from loans.models import Loan, LoanTransaction
from mfi.demo.ledger import seed_ledger
from mfi.demo.loans import AS_OF, FIRST_DISBURSEMENT, LAST_DISBURSEMENT, LOAN_COUNT, seed_loans
from mfi.demo.organisation import seed_organisation
from mfi.demo.parties import seed_parties

EXPECTED_STATUSES = {
    LoanStatus.SUBMITTED: 10,
    LoanStatus.APPROVED: 8,
    LoanStatus.REJECTED: 5,
    LoanStatus.WITHDRAWN: 3,
    LoanStatus.ACTIVE: 78,
    LoanStatus.CLOSED: 11,
    LoanStatus.OVERPAID: 2,
    LoanStatus.WRITTEN_OFF: 3,
}


def _footprint() -> tuple[int, int, int, int]:
    return (
        Loan.objects.count(),
        LoanTransaction.objects.count(),
        JournalEntry.objects.count(),
        AuditEvent.objects.count(),
    )


def test_demo_loans_are_deterministic_idempotent_and_agree_with_the_ledger(db, settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path  # the loans' documents
    users = seed_organisation()
    seed_parties(actor=users["admin"])
    seed_ledger(maker=users["accountant"], checker=users["manager"])

    # when
    created = seed_loans(users=users)
    footprint = _footprint()
    created_again = seed_loans(users=users)

    # then: the planned number of loans in each state, and nothing more on a second run
    assert created == LOAN_COUNT == sum(EXPECTED_STATUSES.values()) == 120
    assert Counter(Loan.objects.values_list("status", flat=True)) == EXPECTED_STATUSES
    assert created_again == 0
    assert _footprint() == footprint

    # the balance of every running loan is what its installments still owe
    active = Loan.objects.filter(status=LoanStatus.ACTIVE).annotate(
        owed=Sum(F("installments__principal_due") - F("installments__principal_paid"))
    )
    assert all(loan.principal_outstanding == loan.owed > 0 for loan in active)
    assert not Loan.objects.filter(status=LoanStatus.CLOSED).exclude(principal_outstanding=0)

    # some borrowers stopped paying months ago, none more than about five months
    days_since_as_of = (timezone.localdate() - AS_OF).days
    assert Loan.objects.filter(status=LoanStatus.ACTIVE, days_past_due__gt=30).count() >= 5
    assert all(
        loan.days_past_due - days_since_as_of <= 150
        for loan in Loan.objects.filter(status=LoanStatus.ACTIVE, days_past_due__gt=0)
    )

    # disbursements and repayments stay within the demo calendar; receipts are unique
    disbursed = Loan.objects.filter(status=LoanStatus.ACTIVE).values_list("disbursed_on", flat=True)
    assert min(disbursed) >= FIRST_DISBURSEMENT and max(disbursed) <= LAST_DISBURSEMENT
    repayments = LoanTransaction.objects.filter(kind=TransactionKind.REPAYMENT)
    assert not repayments.filter(value_date__gt=AS_OF).exists()
    assert not repayments.filter(value_date__lt=F("loan__disbursed_on")).exists()
    receipts = list(repayments.values_list("receipt_number", flat=True))
    assert len(receipts) == len(set(receipts)) and all(r.startswith("R-20") for r in receipts)
    assert {"cash", "bank_transfer", "mobile_money"} <= set(
        repayments.values_list("channel", flat=True)
    )

    # one renewal of a closed loan, for the same borrower, after the first one closed
    renewal = Loan.objects.select_related("previous_loan").get(previous_loan__isnull=False)
    assert renewal.previous_loan.status == LoanStatus.CLOSED
    assert renewal.borrower_id == renewal.previous_loan.borrower_id
    assert renewal.submitted_on > renewal.previous_loan.closed_on

    # the ledger's loan portfolio is the principal still out, currency by currency
    portfolio_rows = [
        row for row in balances_by_account() if row.account.role == AccountRole.LOAN_PORTFOLIO
    ]
    assert {row.account.code for row in portfolio_rows} == {"1200"}
    portfolio = {row.currency: row.balance for row in portfolio_rows}
    outstanding = {
        row["currency"]: row["total"]
        for row in Loan.objects.filter(status__in=PORTFOLIO_STATUSES)
        .values("currency")
        .annotate(total=Sum("principal_outstanding"))
    }
    assert portfolio == outstanding
    assert set(portfolio) == {"CVE", "XOF"}

    # and the books balance in each currency
    for currency in ("CVE", "XOF"):
        report = trial_balance(as_of=timezone.localdate(), currency=currency)
        assert report.total_debit == report.total_credit > 0
