"""Figure: the close of business (``loans.end_of_day.run_end_of_day``) for one business date of
the whole scale portfolio (target <= 60 s), against a per-loan ORM loop doing the same work
(penalties, accruals with their journal entry, balances, arrears and bucket, snapshot) on a
2,000-loan sample, the way Fineract's close of business runs loan by loan: the set-based job must
be at least 20x faster per loan.

Both run in a transaction that is rolled back, so the database is unchanged and the figure can be
taken again.

    python benchmarks/bench_end_of_day.py [--json out.json] [--quick]
"""

from __future__ import annotations

import datetime
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Stopwatch, cli, django_setup, finish, load_average, result

TARGET_SECONDS = 60
TARGET_RATIO = 20
SAMPLE = 2000


class Rollback(Exception):
    """Leaves the measured transaction without a trace."""


def measure_set_based(day: datetime.date) -> tuple[float, dict]:
    from django.db import transaction

    from loans.end_of_day import run_end_of_day

    try:
        with transaction.atomic():
            with Stopwatch() as watch:
                stats = run_end_of_day(day)
            raise Rollback
    except Rollback:
        pass
    return watch.seconds, stats[-1]


def per_loan_close(loan_ids: list[int], day: datetime.date) -> None:
    """The same close of business, one loan at a time through the ORM (Fineract's shape):
    penalties and accruals per installment, one journal entry per loan, the loan's balances
    recomputed and saved, the snapshot summed in Python and written at the end."""
    from accounting import services as ledger
    from accounting.choices import AccountingRule, EntrySource, PostingEvent
    from loans.models import Loan, PortfolioSnapshot
    from loans.services import refresh_loan_balances
    from mfi.money import round_money

    slices = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
    for loan_id in loan_ids:
        loan = (
            Loan.objects.select_for_update()
            .select_related("product_version__posting_rule_set", "branch")
            .get(pk=loan_id)
        )
        version = loan.product_version
        accrual = version.posting_rule_set.accounting_rule == AccountingRule.ACCRUAL
        amounts = defaultdict(Decimal)
        for row in loan.installments.order_by("number"):
            unpaid = (
                row.principal_due
                + row.interest_due
                + row.fee_due
                - row.principal_paid
                - row.interest_paid
                - row.fee_paid
            )
            tolerance = datetime.timedelta(days=version.penalty_tolerance_days)
            changed = []
            if (
                version.penalty_percent
                and row.penalty_charged_on is None
                and row.due_date + tolerance < day
                and unpaid > 0
            ):
                penalty = round_money(unpaid * version.penalty_percent / 100, loan.currency)
                row.penalty_due += penalty
                row.penalty_charged_on = day
                amounts[PostingEvent.ACCRUAL_PENALTY] += penalty
                changed += ["penalty_due", "penalty_charged_on"]
            if (
                accrual
                and row.due_date <= day
                and (row.interest_accrued < row.interest_due or row.fee_accrued < row.fee_due)
            ):
                amounts[PostingEvent.ACCRUAL_INTEREST] += row.interest_due - row.interest_accrued
                amounts[PostingEvent.ACCRUAL_FEE] += row.fee_due - row.fee_accrued
                row.interest_accrued, row.fee_accrued = row.interest_due, row.fee_due
                changed += ["interest_accrued", "fee_accrued"]
            if changed:
                row.save(update_fields=changed)
        if any(amounts.values()):
            ledger.event_post(
                actor=None,
                rule_set=version.posting_rule_set,
                entry_date=day,
                branch=loan.branch,
                currency=loan.currency,
                amounts=dict(amounts),
                description=f"Close of business {day} of loan {loan.number}",
                source=EntrySource.END_OF_DAY,
                source_reference=f"bench-eod-{day}-{loan.pk}",
            )
        refresh_loan_balances(loan, as_of=day)
        key = (loan.branch_id, loan.officer_id, version.product_id, loan.currency)
        row = slices[key]
        row[0] += 1
        row[1] += loan.days_past_due > 0
        row[2] += loan.principal_outstanding
        for index, days in ((3, 1), (4, 30), (5, 90)):
            if loan.days_past_due > days:
                row[index] += loan.principal_outstanding
    PortfolioSnapshot.objects.bulk_create(
        PortfolioSnapshot(
            business_date=day,
            branch_id=branch_id,
            officer_id=officer_id,
            product_id=product_id,
            currency=currency,
            loans_active=row[0],
            loans_in_arrears=row[1],
            outstanding_principal=row[2],
            par1_principal=row[3],
            par30_principal=row[4],
            par90_principal=row[5],
        )
        for (branch_id, officer_id, product_id, currency), row in slices.items()
    )


def measure_per_loan(day: datetime.date, sample: int) -> tuple[float, int]:
    from django.db import transaction

    from loans.choices import PORTFOLIO_STATUSES
    from loans.models import Loan

    ids = list(Loan.objects.filter(status__in=PORTFOLIO_STATUSES).values_list("pk", flat=True))
    step = max(1, len(ids) // sample)
    chosen = ids[::step][:sample]
    try:
        with transaction.atomic():
            with Stopwatch() as watch:
                per_loan_close(chosen, day)
            raise Rollback
    except Rollback:
        pass
    return watch.seconds, len(chosen)


def main() -> None:
    args = cli(__doc__)
    django_setup(args.database_url)
    from django.utils import timezone

    from loans.models import EndOfDayRun

    last = EndOfDayRun.objects.filter(finished_at__isnull=False).order_by("-business_date").first()
    if last is None:
        raise SystemExit("No end of day has run on this database: seed it with seed_scale.")
    day = last.business_date + datetime.timedelta(days=1)
    if day > timezone.localdate():
        raise SystemExit(f"The next business date {day} is in the future; nothing to close.")
    load_before = load_average()
    eod_seconds, stats = measure_set_based(day)
    sample = 200 if args.quick else SAMPLE
    loop_seconds, looped = measure_per_loan(day, sample)
    loans = stats["loans_refreshed"]
    per_loan_set = eod_seconds / loans if loans else 0
    per_loan_loop = loop_seconds / looped if looped else 0
    ratio = round(per_loan_loop / per_loan_set, 1) if per_loan_set else None
    finish(
        [
            result(
                f"End of day for one business date ({loans:,} loans on the books)",
                value=round(eod_seconds, 1),
                unit="s",
                target=f"<= {TARGET_SECONDS} s",
                passed=eod_seconds <= TARGET_SECONDS and (ratio or 0) >= TARGET_RATIO,
                reference={
                    "label": f"per-loan ORM loop on {looped:,} loans",
                    "value": round(loop_seconds, 1),
                    "unit": "s",
                },
                ratio=ratio,
                ratio_target=f">= {TARGET_RATIO}x faster per loan",
                details={
                    "business_date": day.isoformat(),
                    "stats": stats,
                    "ms_per_loan_set_based": round(per_loan_set * 1000, 3),
                    "ms_per_loan_loop": round(per_loan_loop * 1000, 2),
                    "load_average_before": load_before,
                },
            )
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
