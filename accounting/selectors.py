"""Reads of the ledger: balances, trial balance, general ledger, journal, statements.

Every figure comes from posted entries only, aggregated in PostgreSQL with a fixed number of
queries whatever the volume. Scoping: ``branch_ids`` None means every branch.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, QuerySet, Sum, Window
from django.db.models.functions import Coalesce

from accounting.choices import DEBIT_NORMAL, AccountType, EntrySource, EntryStatus
from accounting.models import Account, JournalEntry, JournalLine
from mfi.money import DEFAULT_CURRENCY, ZERO, round_money


@dataclass(frozen=True)
class AccountBalance:
    account: Account
    currency: str
    debit: Decimal
    credit: Decimal

    @property
    def net_debit(self) -> Decimal:
        return self.debit - self.credit

    @property
    def balance(self) -> Decimal:
        """Balance on the account's normal side (positive for a normal balance)."""
        return self.net_debit if self.account.type in DEBIT_NORMAL else -self.net_debit


def posted_lines(
    *, date_from=None, date_to=None, branch_ids=None, currency=None, exclude_sources=()
) -> QuerySet[JournalLine]:
    lines = JournalLine.objects.filter(entry__status=EntryStatus.POSTED)
    if date_from is not None:
        lines = lines.filter(entry__entry_date__gte=date_from)
    if date_to is not None:
        lines = lines.filter(entry__entry_date__lte=date_to)
    if branch_ids is not None:
        lines = lines.filter(entry__branch_id__in=branch_ids)
    if currency:
        lines = lines.filter(entry__currency=currency)
    if exclude_sources:
        lines = lines.exclude(entry__source__in=exclude_sources)
    return lines


def balances_by_account(
    *, date_from=None, date_to=None, branch_ids=None, currency=None, types=None, exclude_sources=()
) -> list[AccountBalance]:
    """Total debits and credits per account (and currency), in account-code order."""
    lines = posted_lines(
        date_from=date_from,
        date_to=date_to,
        branch_ids=branch_ids,
        currency=currency,
        exclude_sources=exclude_sources,
    )
    if types:
        lines = lines.filter(account__type__in=types)
    totals = list(
        lines.values("account_id", "entry__currency").annotate(
            debit_total=Sum("debit"), credit_total=Sum("credit")
        )
    )
    accounts = Account.objects.in_bulk([row["account_id"] for row in totals])
    rows = [
        AccountBalance(
            accounts[row["account_id"]],
            row["entry__currency"],
            round_money(row["debit_total"], row["entry__currency"]),
            round_money(row["credit_total"], row["entry__currency"]),
        )
        for row in totals
    ]
    return sorted(rows, key=lambda row: (row.account.code, row.currency))


@dataclass
class TrialBalance:
    date: datetime.date
    currency: str
    rows: list[dict] = field(default_factory=list)
    total_debit: Decimal = ZERO
    total_credit: Decimal = ZERO


def trial_balance(
    *, as_of: datetime.date, branch_ids=None, currency: str = DEFAULT_CURRENCY
) -> TrialBalance:
    """Each account's balance at the end of ``as_of``, in the debit or the credit column."""
    report = TrialBalance(date=as_of, currency=currency)
    for row in balances_by_account(date_to=as_of, branch_ids=branch_ids, currency=currency):
        net = row.net_debit
        if not net:
            continue
        debit, credit = (net, ZERO) if net > 0 else (ZERO, -net)
        report.rows.append({"account": row.account, "debit": debit, "credit": credit})
        report.total_debit += debit
        report.total_credit += credit
    return report


@dataclass
class Statement:
    """A balance sheet or income statement: sections of accounts with totals."""

    sections: dict[str, list[tuple[Account, Decimal]]]
    totals: dict[str, Decimal]


def balance_sheet(
    *, as_of: datetime.date, branch_ids=None, currency: str = DEFAULT_CURRENCY
) -> Statement:
    """Assets = liabilities + equity + current result (income less expenses not yet closed)."""
    sections: dict[str, list] = {
        AccountType.ASSET: [],
        AccountType.LIABILITY: [],
        AccountType.EQUITY: [],
    }
    totals = dict.fromkeys(("asset", "liability", "equity", "current_result"), ZERO)
    for row in balances_by_account(date_to=as_of, branch_ids=branch_ids, currency=currency):
        kind = row.account.type
        if kind in (AccountType.INCOME, AccountType.EXPENSE):
            totals["current_result"] -= row.net_debit
            continue
        if row.balance:
            sections[kind].append((row.account, row.balance))
            totals[kind] += row.balance
    return Statement(sections=sections, totals=totals)


def income_statement(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    branch_ids=None,
    currency: str = DEFAULT_CURRENCY,
) -> Statement:
    """Income and expenses of the period (year-end closing entries left out), and the result."""
    sections: dict[str, list] = {AccountType.INCOME: [], AccountType.EXPENSE: []}
    totals = {"income": ZERO, "expense": ZERO}
    for row in balances_by_account(
        date_from=date_from,
        date_to=date_to,
        branch_ids=branch_ids,
        currency=currency,
        types=[AccountType.INCOME, AccountType.EXPENSE],
        exclude_sources=[EntrySource.YEAR_END],
    ):
        if row.balance:
            sections[row.account.type].append((row.account, row.balance))
            totals[row.account.type] += row.balance
    totals["result"] = totals["income"] - totals["expense"]
    return Statement(sections=sections, totals=totals)


@dataclass
class LedgerPage:
    account: Account
    opening: Decimal
    lines: list[JournalLine]
    closing: Decimal


def general_ledger(
    *,
    account: Account,
    date_from: datetime.date,
    date_to: datetime.date,
    branch_ids=None,
    currency: str = DEFAULT_CURRENCY,
) -> LedgerPage:
    """Every posting to one account in the period, with the running balance (normal side)."""
    sign = 1 if account.type in DEBIT_NORMAL else -1
    before = (
        posted_lines(
            date_to=date_from - datetime.timedelta(days=1), branch_ids=branch_ids, currency=currency
        )
        .filter(account=account)
        .aggregate(net=Coalesce(Sum(F("debit") - F("credit")), ZERO))["net"]
    )
    opening = (
        abs(round_money(before, currency)) if not before else round_money(sign * before, currency)
    )
    order = [F("entry__entry_date").asc(), F("entry__number").asc(), F("pk").asc()]
    lines = list(
        posted_lines(date_from=date_from, date_to=date_to, branch_ids=branch_ids, currency=currency)
        .filter(account=account)
        .select_related("entry", "entry__branch")
        .annotate(movement=Window(Sum(F("debit") - F("credit")), order_by=order))
        .order_by(*order)
    )
    for line in lines:
        line.running_balance = round_money(opening + sign * line.movement, currency) + 0
    closing = lines[-1].running_balance if lines else opening
    return LedgerPage(account=account, opening=opening, lines=lines, closing=closing)


def journal(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    branch_ids=None,
    status: str | None = EntryStatus.POSTED,
) -> QuerySet[JournalEntry]:
    entries = JournalEntry.objects.filter(entry_date__range=(date_from, date_to))
    if status:
        entries = entries.filter(status=status)
    if branch_ids is not None:
        entries = entries.filter(branch_id__in=branch_ids)
    return (
        entries.select_related("branch", "created_by", "approved_by")
        .prefetch_related("lines__account")
        .order_by("entry_date", "number", "pk")
    )


def entries_visible_to(user) -> QuerySet[JournalEntry]:
    if not user.is_authenticated:
        return JournalEntry.objects.none()
    scope = user.branch_scope_ids()
    entries = JournalEntry.objects.select_related("branch", "created_by", "approved_by")
    return entries if scope is None else entries.filter(branch_id__in=scope)


def ledger_branch_scope(user, requested_branch_id: int | None) -> list[int] | None:
    """Branch ids a report covers: the requested branch and the branches below it, within the
    user's scope; else the user's whole scope (None = every branch)."""
    from users.models import Branch

    scope = user.branch_scope_ids()
    if requested_branch_id is None:
        return scope
    branch = Branch.objects.filter(pk=requested_branch_id).first()
    if branch is None:
        return []
    subtree = branch.subtree_ids()
    return subtree if scope is None else [pk for pk in subtree if pk in scope]


def entries_awaiting_check(*, user) -> list[JournalEntry]:
    """Draft entries in the user's branches that someone else made: the checker's to-do list."""
    return list(
        entries_visible_to(user)
        .filter(status=EntryStatus.DRAFT)
        .exclude(created_by=user)
        .order_by("entry_date", "pk")[:10]
    )
