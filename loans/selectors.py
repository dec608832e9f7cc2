"""Reads of loans, always scoped to what the user may see.

Branch staff see the loans of their branch subtree, head office every loan, field agents the
loans of the parties assigned to them (or that they look after as officer). Out-of-scope loans are
indistinguishable from missing ones (404).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from loans.choices import PORTFOLIO_STATUSES, LoanStatus, TransactionKind
from loans.models import (
    Collateral,
    Guarantor,
    Installment,
    Loan,
    LoanDocument,
    LoanProduct,
    LoanTransaction,
)
from mfi.money import ZERO
from users.roles import Capability, Role

# The portfolio's tabs, in the order they are shown.
VIEW_MINE = "mine"
VIEW_DUE_TODAY = "due_today"
VIEW_ARREARS = "arrears"
VIEW_ALL = "all"
PORTFOLIO_VIEWS = (VIEW_MINE, VIEW_DUE_TODAY, VIEW_ARREARS, VIEW_ALL)


def loans_visible_to(user) -> QuerySet[Loan]:
    """Every loan the user may see, with what a list row shows already joined."""
    if not user.is_authenticated or not user.has_capability(Capability.LOAN_VIEW):
        return Loan.objects.none()
    loans = Loan.objects.select_related(
        "borrower", "branch", "officer", "product_version", "product_version__product"
    )
    if user.sees_assigned_only:
        return loans.filter(Q(borrower__assigned_to=user) | Q(officer=user))
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return loans
    return loans.filter(branch_id__in=branch_ids)


def loan_get_for_user(user, pk: int) -> Loan:
    """The loan, or Http404 if it does not exist *or* is out of the user's scope."""
    loan = (
        loans_visible_to(user)
        .select_related("submitted_by", "approved_by", "product_version__product__offer")
        .filter(pk=pk)
        .first()
    )
    if loan is None:
        raise Http404("No such loan")
    return loan


def default_portfolio_view(user) -> str:
    """Loan officers open on their own loans; everybody else on every loan in scope."""
    return VIEW_MINE if user.role == Role.LOAN_OFFICER else VIEW_ALL


def _installment_unpaid() -> Q:
    return (
        Q(principal_due__gt=F("principal_paid"))
        | Q(interest_due__gt=F("interest_paid"))
        | Q(fee_due__gt=F("fee_paid"))
        | Q(penalty_due__gt=F("penalty_paid"))
    )


def loan_portfolio(
    *,
    user,
    view: str = VIEW_MINE,
    status: str = "",
    product_id: int | None = None,
    branch_id: int | None = None,
    today: datetime.date | None = None,
) -> QuerySet[Loan]:
    """The portfolio list: one tab (mine, due today, in arrears, all) narrowed by status,
    product and branch. "Due today" means an installment falls due today and is not fully paid;
    "in arrears" means days past due > 0, the longest-overdue first."""
    today = today or timezone.localdate()
    loans = loans_visible_to(user)
    if view == VIEW_MINE:
        loans = loans.filter(officer=user)
    elif view == VIEW_DUE_TODAY:
        due_today = Installment.objects.filter(loan=OuterRef("pk"), due_date=today).filter(
            _installment_unpaid()
        )
        loans = loans.filter(Exists(due_today), status__in=PORTFOLIO_STATUSES)
    elif view == VIEW_ARREARS:
        loans = loans.filter(days_past_due__gt=0)
    if status:
        loans = loans.filter(status=status)
    if product_id:
        loans = loans.filter(product_version__product_id=product_id)
    if branch_id:
        loans = loans.filter(branch_id=branch_id)
    if view == VIEW_ARREARS:
        return loans.order_by("-days_past_due", "number")
    if view == VIEW_DUE_TODAY:
        return loans.order_by("borrower__display_name", "number")
    return loans.order_by("-submitted_on", "-pk")


def approval_inbox(user) -> QuerySet[Loan]:
    """Submitted applications in the user's scope that someone else submitted (four eyes),
    oldest first."""
    if not user.is_authenticated or not user.has_capability(Capability.LOAN_APPROVE):
        return Loan.objects.none()
    return (
        loans_visible_to(user)
        .filter(status=LoanStatus.SUBMITTED)
        .exclude(submitted_by=user)
        .select_related("submitted_by")
        .order_by("submitted_on", "pk")
    )


def products_available() -> QuerySet[LoanProduct]:
    """Products a new application may use: active, with at least one version of terms."""
    return (
        LoanProduct.objects.filter(is_active=True, versions__isnull=False)
        .distinct()
        .order_by("name")
    )


def loan_installments(*, loan: Loan) -> list[Installment]:
    return list(loan.installments.order_by("number"))


def loan_transactions_queryset(*, loan: Loan) -> QuerySet[LoanTransaction]:
    """The loan's transactions, oldest first."""
    return loan.transactions.select_related("created_by", "reversal_entry").order_by(
        "value_date", "pk"
    )


def loan_transactions(*, loan: Loan) -> list[LoanTransaction]:
    return list(loan_transactions_queryset(loan=loan))


def loan_recent_transactions(*, loan: Loan, limit: int) -> tuple[list[LoanTransaction], int]:
    """The loan's ``limit`` latest transactions (oldest of them first) and how many it has."""
    recent = list(
        loan.transactions.select_related("created_by", "reversal_entry").order_by(
            "-value_date", "-pk"
        )[:limit]
    )
    count = len(recent) if len(recent) < limit else loan.transactions.count()
    return recent[::-1], count


def loan_transaction_get(*, loan: Loan, transaction_id: int) -> LoanTransaction:
    txn = (
        loan.transactions.select_related("created_by", "reversal_entry")
        .filter(pk=transaction_id)
        .first()
    )
    if txn is None:
        raise Http404("No such transaction")
    return txn


def loan_documents(*, loan: Loan) -> list[LoanDocument]:
    return list(loan.documents.select_related("uploaded_by").order_by("-uploaded_at", "-pk"))


def loan_document_get(*, loan: Loan, document_id: int) -> LoanDocument:
    document = loan.documents.filter(pk=document_id).first()
    if document is None or not document.file:
        raise Http404("No such document")
    return document


def loan_guarantors(*, loan: Loan) -> list[Guarantor]:
    return list(Guarantor.objects.filter(loan=loan).select_related("party").order_by("pk"))


def loan_collaterals(*, loan: Loan) -> list[Collateral]:
    return list(Collateral.objects.filter(loan=loan).order_by("pk"))


def amount_due_next(*, loan: Loan, as_of: datetime.date | None = None) -> Decimal:
    """What the client should pay now: everything fallen due up to today; when nothing is
    overdue or due today, the next unpaid installment. Never more than the loan still owes."""
    as_of = as_of or timezone.localdate()
    unpaid = loan.installments.filter(_installment_unpaid()).order_by("due_date", "number")
    outstanding = (
        F("principal_due")
        + F("interest_due")
        + F("fee_due")
        + F("penalty_due")
        - F("principal_paid")
        - F("interest_paid")
        - F("fee_paid")
        - F("penalty_paid")
    )
    fallen_due = unpaid.filter(due_date__lte=as_of).aggregate(total=Sum(outstanding))["total"]
    if fallen_due:
        return fallen_due
    upcoming = unpaid.first()
    return upcoming.outstanding if upcoming is not None else ZERO


@dataclass(frozen=True)
class StatementLine:
    """One line of a client statement: a transaction (or its reversal) and the principal
    balance after it, in the loan's currency."""

    date: datetime.date
    transaction: LoanTransaction
    is_reversal: bool
    amount: Decimal
    principal: Decimal
    interest: Decimal
    fees: Decimal
    penalties: Decimal
    overpayment: Decimal
    balance: Decimal

    @property
    def fees_and_penalties(self) -> Decimal:
        return self.fees + self.penalties


def _principal_effect(txn: LoanTransaction) -> Decimal:
    if txn.kind == TransactionKind.DISBURSEMENT:
        return txn.principal_portion
    return -txn.principal_portion


def statement_lines(*, loan: Loan) -> list[StatementLine]:
    """Every transaction of the loan in date order, each reversal as a line of its own on the
    reversal's date, with the running principal balance."""
    entries: list[tuple[datetime.date, int, bool, LoanTransaction]] = []
    for txn in loan_transactions(loan=loan):
        entries.append((txn.value_date, 0, False, txn))
        if txn.is_reversed:
            reversed_on = txn.reversal_entry.entry_date if txn.reversal_entry else txn.value_date
            entries.append((reversed_on, 1, True, txn))
    # Same day: the transactions first, then the reversals (a reversal comes after what it undoes).
    entries.sort(key=lambda entry: (entry[0], entry[1], entry[3].pk))
    balance = ZERO
    lines = []
    for day, _order, is_reversal, txn in entries:
        sign = -1 if is_reversal else 1
        balance += sign * _principal_effect(txn)
        lines.append(
            StatementLine(
                date=day,
                transaction=txn,
                is_reversal=is_reversal,
                amount=sign * txn.amount,
                principal=sign * txn.principal_portion,
                interest=sign * txn.interest_portion,
                fees=sign * txn.fee_portion,
                penalties=sign * txn.penalty_portion,
                overpayment=sign * txn.overpayment_portion,
                balance=balance,
            )
        )
    return lines


def loan_dashboard(*, user, today: datetime.date | None = None) -> dict:
    """Figures for the home page: the user's loans due today and in arrears, approvals waiting."""
    today = today or timezone.localdate()
    mine = loan_portfolio(user=user, view=VIEW_MINE, today=today)
    return {
        "due_today": loan_portfolio(user=user, view=VIEW_DUE_TODAY, today=today)
        .filter(officer=user)
        .count(),
        "in_arrears": mine.filter(days_past_due__gt=0).count(),
        "active": mine.filter(status__in=PORTFOLIO_STATUSES).count(),
        "to_approve": approval_inbox(user).count(),
    }
