"""The invariants a bulk load must pass before it commits, checked set-based (the row triggers
that check them one row at a time were suspended while loading), and the platform's own
reconciliation and trial balance afterwards.
"""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db import connection, models

from accounting.selectors import movements_mismatches, trial_balance
from loans.portfolio import loans_reconciliation


class InvariantError(RuntimeError):
    """The loaded data breaks a rule the database would have enforced row by row."""


def _count(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


LEDGER_RULES = {
    # accounting_check_entry_balanced(): at least two lines, debits equal credits
    "unbalanced or one-line posted entries": """
        SELECT COUNT(*)
          FROM accounting_journalentry e
          LEFT JOIN (
              SELECT entry_id, COUNT(*) AS lines, SUM(debit) AS debit, SUM(credit) AS credit
                FROM accounting_journalline GROUP BY entry_id
          ) AS sums ON sums.entry_id = e.id
         WHERE e.status = 'posted'
           AND (sums.lines IS NULL OR sums.lines < 2 OR sums.debit <> sums.credit)
    """,
    # accounting_entry_guard(): nothing posted into a month after it was closed
    "entries posted into a closed month": """
        SELECT COUNT(*)
          FROM accounting_journalentry e
          JOIN accounting_accountingperiod p
            ON p.branch_id = e.branch_id
           AND p.year = EXTRACT(YEAR FROM e.entry_date)
           AND p.month = EXTRACT(MONTH FROM e.entry_date)
         WHERE e.status = 'posted' AND e.posted_at > p.closed_at
    """,
    # numbering: one number per posted entry, in posting order
    "entry numbers out of date order": """
        SELECT COUNT(*) FROM (
            SELECT entry_date, number,
                   LAG(entry_date) OVER (ORDER BY number) AS previous_date
              FROM accounting_journalentry WHERE status = 'posted'
        ) AS numbered
         WHERE previous_date > entry_date
    """,
    # the loans sub-ledger: a transaction's parts add up to its amount
    "loan transactions whose parts do not add up": """
        SELECT COUNT(*) FROM loans_loantransaction
         WHERE kind IN ('repayment', 'write_off')
           AND principal_portion + interest_portion + fee_portion + penalty_portion
               + overpayment_portion <> amount
    """,
    # what a repayment allocated is what its installments show as paid
    "installments whose paid amounts differ from their allocations": """
        SELECT COUNT(*)
          FROM loans_installment i
          LEFT JOIN (
              SELECT installment_id, SUM(principal) AS principal, SUM(interest) AS interest,
                     SUM(fee) AS fee, SUM(penalty) AS penalty
                FROM loans_repaymentallocation GROUP BY installment_id
          ) AS paid ON paid.installment_id = i.id
         WHERE COALESCE(paid.principal, 0) <> i.principal_paid
            OR COALESCE(paid.interest, 0) <> i.interest_paid
            OR COALESCE(paid.fee, 0) <> i.fee_paid
            OR COALESCE(paid.penalty, 0) <> i.penalty_paid
    """,
}


def ledger_rules() -> dict[str, int]:
    """Rows breaking each rule (all zero for sound data)."""
    return {rule: _count(sql) for rule, sql in LEDGER_RULES.items()}


def foreign_keys(tables: list[str]) -> dict[str, int]:
    """Rows of ``tables`` whose foreign keys point nowhere (the checks PostgreSQL skipped while
    loading): one scan of each table, every key looked up in a hash of its target."""
    by_table = {model._meta.db_table: model for model in apps.get_models()}
    broken = {}
    for table in tables:
        model = by_table[table]
        keys = [
            field
            for field in model._meta.local_concrete_fields
            if isinstance(field, models.ForeignKey)
        ]
        if not keys:
            continue
        joins, counts = [], []
        for number, field in enumerate(keys):
            target = field.related_model._meta
            alias = f"r{number}"
            joins.append(
                f"LEFT JOIN {target.db_table} {alias} "
                f"ON {alias}.{target.pk.column} = t.{field.column}"
            )
            counts.append(
                f"COUNT(*) FILTER (WHERE t.{field.column} IS NOT NULL "
                f"AND {alias}.{target.pk.column} IS NULL)"
            )
        sql = f"SELECT {', '.join(counts)} FROM {table} t {' '.join(joins)}"  # noqa: S608 - names from the models
        with connection.cursor() as cursor:
            cursor.execute(sql)
            for field, count in zip(keys, cursor.fetchone(), strict=True):
                broken[f"{table}.{field.column}"] = count
    return broken


def require_zero(results: dict[str, int], what: str) -> None:
    failures = {name: count for name, count in results.items() if count}
    if failures:
        raise InvariantError(f"{what}: {failures}")


def reconciliation_report(as_of: datetime.date, currencies: list[str]) -> list[str]:
    """The platform's own checks, as lines to print: loans against the GL (per currency),
    the trial balance, and the maintained movements against the journal lines."""
    lines = []
    problems = []
    for currency in currencies:
        result = loans_reconciliation(as_of=as_of, currency=currency)
        lines.append(
            f"Loans ↔ GL {currency} on {as_of}: GL {result['gl_balance']:,} · "
            f"sub-ledger {result['subledger_balance']:,} · difference {result['difference']}"
        )
        if result["difference"] != 0:
            problems.append(f"loans reconciliation {currency}")
        balance = trial_balance(as_of=as_of, currency=currency)
        lines.append(
            f"Trial balance {currency} on {as_of}: debits {balance.total_debit:,} · "
            f"credits {balance.total_credit:,} · {len(balance.rows)} accounts"
        )
        if balance.total_debit != balance.total_credit:
            problems.append(f"trial balance {currency}")
    mismatches = movements_mismatches()
    lines.append(f"Maintained movements differing from the journal lines: {mismatches}")
    if mismatches:
        problems.append("maintained movements")
    if problems:
        raise InvariantError("; ".join(problems) + "\n" + "\n".join(lines))
    return lines
