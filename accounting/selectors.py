"""Reads of the ledger: balances, trial balance, general ledger, journal, statements.

Every figure comes from posted entries only, aggregated in PostgreSQL with a fixed number of
queries whatever the volume. Scoping: ``branch_ids`` None means every branch.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounting.choices import DEBIT_NORMAL, AccountType, EntryStatus
from accounting.models import Account, AccountDayMovement, JournalEntry, JournalLine
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


def day_movements(
    *, date_from=None, date_to=None, branch_ids=None, currency=None, include_closing=True
) -> QuerySet[AccountDayMovement]:
    """The ledger's maintained movements (posted debits and credits per account, branch,
    currency and day): what every balance is read from, whatever the number of journal lines."""
    movements = AccountDayMovement.objects.all()
    if date_from is not None:
        movements = movements.filter(day__gte=date_from)
    if date_to is not None:
        movements = movements.filter(day__lte=date_to)
    if branch_ids is not None:
        movements = movements.filter(branch_id__in=branch_ids)
    if currency:
        movements = movements.filter(currency=currency)
    if not include_closing:
        movements = movements.filter(is_closing=False)
    return movements


def balances_by_account(
    *,
    date_from=None,
    date_to=None,
    branch_ids=None,
    currency=None,
    types=None,
    include_closing=True,
) -> list[AccountBalance]:
    """Total debits and credits per account (and currency), in account-code order.
    ``include_closing=False`` leaves the year-end closing entries out. Balances from the
    beginning (no ``date_from``) start from each branch's carried balance."""
    if date_from is None:
        totals = _totals_from_the_start(
            date_to=date_to,
            branch_ids=branch_ids,
            currency=currency,
            include_closing=include_closing,
            types=types,
        )
    else:
        movements = day_movements(
            date_from=date_from,
            date_to=date_to,
            branch_ids=branch_ids,
            currency=currency,
            include_closing=include_closing,
        )
        if types:
            movements = movements.filter(account__type__in=types)
        totals = [
            (row["account_id"], row["currency"], row["debit"], row["credit"])
            for row in movements.values("account_id", "currency")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .order_by()
        ]
    accounts = Account.objects.in_bulk([account_id for account_id, *_rest in totals])
    rows = [
        AccountBalance(
            accounts[account_id],
            row_currency,
            round_money(debit, row_currency),
            round_money(credit, row_currency),
        )
        for account_id, row_currency, debit, credit in totals
    ]
    return sorted(rows, key=lambda row: (row.account.code, row.currency))


# Movements from the beginning up to a day: per branch, its carried balance (the sums up to the
# end of its latest closed month, kept by PostgreSQL) and the day movements after it; a branch
# without one (nothing closed yet, a back-dated posting since, or a day before it) from its days.
_FROM_THE_START_SQL = """
    WITH cut AS MATERIALIZED (
        SELECT b.id AS branch_id,
               (SELECT c.through FROM accounting_carriedbalance c
                 WHERE c.branch_id = b.id AND c.through <= %s
                 LIMIT 1) AS through
          FROM users_branch b
         {branches}
    ),
    moves AS (
        SELECT c.account_id, c.currency, c.is_closing, c.debit, c.credit
          FROM cut JOIN accounting_carriedbalance c
            ON c.branch_id = cut.branch_id AND c.through = cut.through
        UNION ALL
        -- per branch, a range of its days (the index on branch and day); OFFSET 0 keeps the
        -- planner from turning it into one join over every branch's whole history
        SELECT d.account_id, d.currency, d.is_closing, d.debit, d.credit
          FROM cut CROSS JOIN LATERAL (
              SELECT * FROM accounting_accountdaymovement days
               WHERE days.branch_id = cut.branch_id
                 AND days.day > coalesce(cut.through, '-infinity'::date)
                 AND days.day <= %s
              OFFSET 0
          ) d
    )
    SELECT m.account_id, m.currency, SUM(m.debit), SUM(m.credit)
      FROM moves m {join}
     {conditions}
     GROUP BY m.account_id, m.currency
"""


def from_the_start_query(
    *, date_to=None, branch_ids=None, currency=None, include_closing=True, types=None, accounts=None
) -> tuple[str, list]:
    """The SQL and parameters of ``_totals_from_the_start`` (explained by the index review):
    only the filters asked for, an accounts queryset as a subquery of the same statement."""
    day = date_to or datetime.date.max
    params: list = [day]
    branches = ""
    if branch_ids is not None:
        branches = "WHERE b.id = ANY(%s)"
        params.append(list(branch_ids))
    params.append(day)
    conditions, join = [], ""
    if currency:
        conditions.append("m.currency = %s")
        params.append(currency)
    if not include_closing:
        conditions.append("NOT m.is_closing")
    if types:
        join = "JOIN accounting_account a ON a.id = m.account_id"
        conditions.append("a.type = ANY(%s)")
        params.append(list(types))
    if isinstance(accounts, QuerySet):
        subquery, subquery_params = accounts.values("pk").query.sql_with_params()
        conditions.append(f"m.account_id IN ({subquery})")
        params.extend(subquery_params)
    elif accounts is not None:
        conditions.append("m.account_id = ANY(%s)")
        params.append(list(accounts))
    sql = _FROM_THE_START_SQL.format(
        branches=branches,
        join=join,
        conditions=("WHERE " + " AND ".join(conditions)) if conditions else "",
    )
    return sql, params


def _totals_from_the_start(**filters) -> list[tuple[int, str, Decimal, Decimal]]:
    """(account id, currency, debits, credits) posted up to ``date_to`` (everything when None),
    in one query whatever the length of the history. ``accounts``: ids or a queryset."""
    with connection.cursor() as cursor:
        cursor.execute(*from_the_start_query(**filters))
        return cursor.fetchall()


def account_net_debit(
    *, accounts, date_from=None, date_to=None, branch_ids=None, currency=None
) -> Decimal:
    """Debits less credits posted to ``accounts`` (a queryset or ids) in the period."""
    if date_from is None:
        totals = _totals_from_the_start(
            date_to=date_to, branch_ids=branch_ids, currency=currency, accounts=accounts
        )
        return sum((debit - credit for _account, _currency, debit, credit in totals), ZERO)
    net = (
        day_movements(
            date_from=date_from, date_to=date_to, branch_ids=branch_ids, currency=currency
        )
        .filter(account__in=accounts)
        .aggregate(net=Coalesce(Sum(F("debit") - F("credit")), ZERO))
    )
    return net["net"]


def movements_mismatches() -> int:
    """How many (account, branch, currency, day) sums of the maintained movements differ from
    the posted journal lines, plus how many carried balances differ from the day movements up to
    their day: zero unless the ledger's triggers were bypassed. Full scans, for checks and bulk
    loads, never for a page."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT COUNT(*)
                      FROM accounting_posted_movements lines
                      FULL JOIN accounting_accountdaymovement kept
                        USING (account_id, branch_id, currency, day, is_closing)
                     WHERE lines.debit IS DISTINCT FROM kept.debit
                        OR lines.credit IS DISTINCT FROM kept.credit)
                 + (SELECT COUNT(*)
                      FROM accounting_carriedbalance kept
                      FULL JOIN (
                          SELECT d.branch_id, d.account_id, d.currency, d.is_closing,
                                 SUM(d.debit) AS debit, SUM(d.credit) AS credit
                            FROM accounting_accountdaymovement d
                            JOIN (SELECT DISTINCT branch_id, through
                                    FROM accounting_carriedbalance) carried
                              ON carried.branch_id = d.branch_id AND d.day <= carried.through
                           GROUP BY 1, 2, 3, 4
                      ) days USING (branch_id, account_id, currency, is_closing)
                     WHERE kept.debit IS DISTINCT FROM days.debit
                        OR kept.credit IS DISTINCT FROM days.credit)
            """
        )
        return cursor.fetchone()[0]


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
        include_closing=False,
    ):
        if row.balance:
            sections[row.account.type].append((row.account, row.balance))
            totals[row.account.type] += row.balance
    totals["result"] = totals["income"] - totals["expense"]
    return Statement(sections=sections, totals=totals)


@dataclass
class LedgerPage:
    """Postings to one account in a period: all of them, or one page (``page``, ``page_size``).

    ``opening`` and ``closing`` are the balances at the start and end of the period and the
    totals are the period's, whatever page is shown; each line carries its running balance.
    Balances are on the account's normal side."""

    account: Account
    opening: Decimal
    lines: list[JournalLine]
    closing: Decimal
    total_debit: Decimal = ZERO
    total_credit: Decimal = ZERO
    page: int = 1
    has_next: bool = False


def _normal_side(amount: Decimal, sign: int, currency: str) -> Decimal:
    value = round_money(sign * amount, currency)
    return value or abs(value)  # never "-0.00"


def general_ledger(
    *,
    account: Account,
    date_from: datetime.date,
    date_to: datetime.date,
    branch_ids=None,
    currency: str = DEFAULT_CURRENCY,
    page: int | None = None,
    page_size: int = 100,
) -> LedgerPage:
    """Every posting to one account in the period (or page ``page`` of them), with the running
    balance. Opening, closing and totals come from the maintained movements, and a page's first
    running balance from the movements of the days before it plus that day's earlier lines, so a
    page costs the same whatever the number of postings before it."""
    sign = 1 if account.type in DEBIT_NORMAL else -1
    scope = {"branch_ids": branch_ids, "currency": currency}
    before = account_net_debit(
        accounts=[account.pk], date_to=date_from - datetime.timedelta(days=1), **scope
    )
    period = (
        day_movements(date_from=date_from, date_to=date_to, **scope)
        .filter(account=account)
        .aggregate(debit=Coalesce(Sum("debit"), ZERO), credit=Coalesce(Sum("credit"), ZERO))
    )
    postings = (
        posted_lines(date_from=date_from, date_to=date_to, **scope)
        .filter(account=account)
        .select_related("entry", "entry__branch")
        .order_by("entry__entry_date", "entry__number", "pk")
    )
    has_next = False
    if page is None:
        lines = list(postings)
        start = before
    else:
        offset = (page - 1) * page_size
        lines = list(postings[offset : offset + page_size + 1])
        has_next = len(lines) > page_size
        lines = lines[:page_size]
        start = before
        if lines and page > 1:
            start += _net_before_line(postings, lines[0], date_from=date_from, **scope)
    running = start
    for line in lines:
        running += line.debit - line.credit
        line.running_balance = _normal_side(running, sign, currency)
    return LedgerPage(
        account=account,
        opening=_normal_side(before, sign, currency),
        lines=lines,
        closing=_normal_side(before + period["debit"] - period["credit"], sign, currency),
        total_debit=round_money(period["debit"], currency),
        total_credit=round_money(period["credit"], currency),
        page=page or 1,
        has_next=has_next,
    )


def _net_before_line(
    postings: QuerySet[JournalLine], first: JournalLine, *, date_from, branch_ids, currency
) -> Decimal:
    """Debits less credits of the postings that come before ``first`` in the period: whole days
    from the maintained movements, then that day's earlier lines."""
    day = first.entry.entry_date
    earlier_days = ZERO
    if day > date_from:
        earlier_days = account_net_debit(
            accounts=[first.account_id],
            date_from=date_from,
            date_to=day - datetime.timedelta(days=1),
            branch_ids=branch_ids,
            currency=currency,
        )
    same_day = postings.filter(entry__entry_date=day).filter(
        Q(entry__number__lt=first.entry.number)
        | Q(entry__number=first.entry.number, pk__lt=first.pk)
    )
    net = same_day.order_by().aggregate(net=Coalesce(Sum(F("debit") - F("credit")), ZERO))
    return earlier_days + net["net"]


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
