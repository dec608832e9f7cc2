"""The nightly close of business, set-based: a fixed number of SQL statements for all loans,
whatever their number (Fineract's per-loan loop is the well-known bottleneck we avoid).

For one business date, in one transaction:
1. penalties: installments overdue beyond the product's tolerance get their one-off late penalty;
2. accrual (accrual-accounting products): interest and fees of installments that fell due are
   recognised; penalties charged are recognised;
3. balances, arrears, days past due and delinquency bucket of every loan on the books (only
   the loans whose figures moved are written);
4. a portfolio snapshot per branch, officer, product and currency (PAR history).
Ledger postings are aggregated: one entry per branch, rule set, currency and kind.
A date is processed once (``EndOfDayRun``); missed dates are caught up in order.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounting import services as ledger
from accounting.choices import EntrySource, PostingEvent
from accounting.models import PostingRuleSet
from loans.choices import PORTFOLIO_STATUSES
from loans.models import EndOfDayRun
from mfi.money import CURRENCY_DECIMALS
from users.models import Branch

_STATUSES = tuple(str(status) for status in PORTFOLIO_STATUSES)


def _places_sql() -> str:
    cases = " ".join(f"WHEN '{code}' THEN {places}" for code, places in CURRENCY_DECIMALS.items())
    return f"(CASE l.currency {cases} ELSE 2 END)"


def _charge_penalties(cursor, day: datetime.date) -> list[tuple]:
    cursor.execute(
        f"""
        WITH due AS (
            SELECT i.id, l.branch_id, v.posting_rule_set_id, l.currency,
                   mfi_round_half_even(
                       (i.principal_due + i.interest_due + i.fee_due
                        - i.principal_paid - i.interest_paid - i.fee_paid)
                       * v.penalty_percent / 100, {_places_sql()}) AS penalty
              FROM loans_installment i
              JOIN loans_loan l ON l.id = i.loan_id
              JOIN loans_loanproductversion v ON v.id = l.product_version_id
             WHERE l.status = 'active' AND v.penalty_percent > 0
               AND i.penalty_charged_on IS NULL
               AND i.due_date + v.penalty_tolerance_days < %s
               AND i.principal_due + i.interest_due + i.fee_due
                   > i.principal_paid + i.interest_paid + i.fee_paid
        )
        UPDATE loans_installment i
           SET penalty_due = i.penalty_due + due.penalty, penalty_charged_on = %s
          FROM due
         WHERE i.id = due.id
        RETURNING due.branch_id, due.posting_rule_set_id, due.currency, due.penalty
        """,  # noqa: S608 - only our own constants are interpolated
        [day, day],
    )
    return cursor.fetchall()


def _accrue(cursor, day: datetime.date) -> list[tuple]:
    cursor.execute(
        """
        WITH due AS (
            SELECT i.id, l.branch_id, v.posting_rule_set_id, l.currency,
                   i.interest_due - i.interest_accrued AS interest,
                   i.fee_due - i.fee_accrued AS fee
              FROM loans_installment i
              JOIN loans_loan l ON l.id = i.loan_id
              JOIN loans_loanproductversion v ON v.id = l.product_version_id
              JOIN accounting_postingruleset r ON r.id = v.posting_rule_set_id
             WHERE l.status IN %s AND r.accounting_rule = 'accrual' AND i.due_date <= %s
               AND (i.interest_accrued < i.interest_due OR i.fee_accrued < i.fee_due)
        )
        UPDATE loans_installment i
           SET interest_accrued = i.interest_due, fee_accrued = i.fee_due
          FROM due
         WHERE i.id = due.id
        RETURNING due.branch_id, due.posting_rule_set_id, due.currency, due.interest, due.fee
        """,
        [_STATUSES, day],
    )
    return cursor.fetchall()


def _refresh_balances(cursor, day: datetime.date) -> tuple[int, int]:
    """Balances, arrears, days past due and delinquency bucket of every loan on the books, in
    one statement that writes only the loans whose figures moved (most do not on a given day).
    Returns (loans on the books, loans whose figures changed)."""
    cursor.execute(
        """
        WITH agg AS (
            SELECT i.loan_id,
                   SUM(i.principal_due - i.principal_paid) AS principal,
                   SUM(i.interest_due - i.interest_paid) AS interest,
                   SUM(i.fee_due - i.fee_paid) AS fees,
                   SUM(i.penalty_due - i.penalty_paid) AS penalties,
                   SUM(CASE WHEN i.due_date < %(day)s
                            THEN i.principal_due + i.interest_due + i.fee_due + i.penalty_due
                                 - i.principal_paid - i.interest_paid - i.fee_paid - i.penalty_paid
                            ELSE 0 END) AS arrears,
                   MIN(CASE WHEN i.due_date < %(day)s
                             AND i.principal_due + i.interest_due + i.fee_due + i.penalty_due
                                 > i.principal_paid + i.interest_paid + i.fee_paid + i.penalty_paid
                            THEN i.due_date END) AS oldest
              FROM loans_installment i
              JOIN loans_loan l ON l.id = i.loan_id
             WHERE l.status IN %(statuses)s
             GROUP BY i.loan_id
        ), figures AS (
            SELECT agg.loan_id, agg.principal, agg.interest, agg.fees, agg.penalties,
                   CASE WHEN late THEN agg.arrears ELSE 0 END AS arrears,
                   CASE WHEN late THEN %(day)s - agg.oldest ELSE 0 END AS days_past_due,
                   v.delinquency_buckets AS buckets
              FROM agg
              JOIN loans_loan l ON l.id = agg.loan_id
              JOIN loans_loanproductversion v ON v.id = l.product_version_id
             CROSS JOIN LATERAL (
                 SELECT agg.arrears > v.arrears_tolerance AND agg.oldest IS NOT NULL AS late
             ) AS arrears_check
        ), target AS (
            SELECT f.*, COALESCE((
                SELECT CASE WHEN b->>1 IS NULL THEN (b->>0) || '+'
                            ELSE (b->>0) || '-' || (b->>1) END
                  FROM jsonb_array_elements(f.buckets) AS b
                 WHERE f.days_past_due >= (b->>0)::int
                   AND (b->>1 IS NULL OR f.days_past_due <= (b->>1)::int)
                 LIMIT 1), '') AS bucket
              FROM figures f
        ), changed AS (
            UPDATE loans_loan l
               SET principal_outstanding = t.principal,
                   interest_outstanding = t.interest,
                   fees_outstanding = t.fees,
                   penalties_outstanding = t.penalties,
                   arrears_amount = t.arrears,
                   days_past_due = t.days_past_due,
                   delinquency_bucket = t.bucket
              FROM target t
             WHERE l.id = t.loan_id
               AND (l.principal_outstanding, l.interest_outstanding, l.fees_outstanding,
                    l.penalties_outstanding, l.arrears_amount, l.days_past_due,
                    l.delinquency_bucket)
                   IS DISTINCT FROM (t.principal, t.interest, t.fees, t.penalties, t.arrears,
                                     t.days_past_due, t.bucket)
            RETURNING 1
        )
        SELECT (SELECT COUNT(*) FROM target), (SELECT COUNT(*) FROM changed)
        """,
        {"day": day, "statuses": _STATUSES},
    )
    on_books, changed = cursor.fetchone()
    return on_books, changed


def _snapshot(cursor, day: datetime.date) -> int:
    cursor.execute("DELETE FROM loans_portfoliosnapshot WHERE business_date = %s", [day])
    cursor.execute(
        """
        INSERT INTO loans_portfoliosnapshot
            (business_date, branch_id, officer_id, product_id, currency, loans_active,
             loans_in_arrears, outstanding_principal, par1_principal, par30_principal,
             par90_principal)
        SELECT %(day)s, l.branch_id, l.officer_id, v.product_id, l.currency, COUNT(*),
               COUNT(*) FILTER (WHERE l.days_past_due > 0),
               COALESCE(SUM(l.principal_outstanding), 0),
               COALESCE(SUM(l.principal_outstanding) FILTER (WHERE l.days_past_due > 1), 0),
               COALESCE(SUM(l.principal_outstanding) FILTER (WHERE l.days_past_due > 30), 0),
               COALESCE(SUM(l.principal_outstanding) FILTER (WHERE l.days_past_due > 90), 0)
          FROM loans_loan l
          JOIN loans_loanproductversion v ON v.id = l.product_version_id
         WHERE l.status IN %(statuses)s
         GROUP BY l.branch_id, l.officer_id, v.product_id, l.currency
        """,
        {"day": day, "statuses": _STATUSES},
    )
    return cursor.rowcount


def _post_aggregates(day: datetime.date, kind: str, groups: dict[tuple, dict[str, Decimal]]) -> int:
    """One journal entry per (branch, rule set, currency) for this kind of end-of-day event."""
    if not groups:
        return 0
    branches = Branch.objects.in_bulk({key[0] for key in groups})
    rule_sets = PostingRuleSet.objects.in_bulk({key[1] for key in groups})
    posted = 0
    for (branch_id, rule_set_id, currency), amounts in sorted(groups.items()):
        entry = ledger.event_post(
            actor=None,
            rule_set=rule_sets[rule_set_id],
            entry_date=day,
            branch=branches[branch_id],
            currency=currency,
            amounts=amounts,
            description=f"End of day {day.isoformat()}: {kind}",
            source=EntrySource.END_OF_DAY,
            source_reference=f"eod-{day.isoformat()}-{kind}-{branch_id}-{rule_set_id}-{currency}",
        )
        posted += entry is not None
    return posted


def _run_one(day: datetime.date) -> dict:
    run, created = EndOfDayRun.objects.get_or_create(business_date=day)
    if not created and run.finished_at is not None:
        return {"business_date": day.isoformat(), "skipped": True}
    with connection.cursor() as cursor:
        penalties = _charge_penalties(cursor, day)
        accruals = _accrue(cursor, day)
        loans, changed = _refresh_balances(cursor, day)
        slices = _snapshot(cursor, day)
    penalty_groups: dict[tuple, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for branch_id, rule_set_id, currency, amount in penalties:
        penalty_groups[(branch_id, rule_set_id, currency)][PostingEvent.ACCRUAL_PENALTY] += amount
    accrual_groups: dict[tuple, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for branch_id, rule_set_id, currency, interest, fee in accruals:
        key = (branch_id, rule_set_id, currency)
        accrual_groups[key][PostingEvent.ACCRUAL_INTEREST] += interest
        accrual_groups[key][PostingEvent.ACCRUAL_FEE] += fee
    entries = _post_aggregates(day, "penalties", penalty_groups)
    entries += _post_aggregates(day, "accruals", accrual_groups)
    stats = {
        "business_date": day.isoformat(),
        "penalties_charged": len(penalties),
        "installments_accrued": len(accruals),
        "loans_refreshed": loans,
        "loans_changed": changed,
        "snapshot_rows": slices,
        "journal_entries": entries,
    }
    run.stats = stats
    run.finished_at = timezone.now()
    run.save(update_fields=["stats", "finished_at"])
    return stats


def run_end_of_day(business_date: datetime.date | None = None) -> list[dict]:
    """Process ``business_date`` (default today), first catching up any missed dates in order.
    Each date commits on its own; running a processed date again changes nothing."""
    target = business_date or timezone.localdate()
    last = (
        EndOfDayRun.objects.filter(finished_at__isnull=False, business_date__lt=target)
        .order_by("-business_date")
        .first()
    )
    day = (last.business_date + datetime.timedelta(days=1)) if last else target
    results = []
    while day <= target:
        with transaction.atomic():
            results.append(_run_one(day))
        day += datetime.timedelta(days=1)
    return results
