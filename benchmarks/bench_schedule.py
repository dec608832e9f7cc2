"""Figure: the schedule engine, 18-installment declining-balance schedules per second on one
core (target >= 5,000/s). Distinct terms every time (principal and disbursement date vary), so
nothing is cached; the rate is counted on this process's CPU time (one core), and the wall-clock
rate is reported too.

    python benchmarks/bench_schedule.py [--json out.json] [--quick]
"""

from __future__ import annotations

import datetime
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import SCALE_DATABASE_URL, Stopwatch, cli, django_setup, finish, result

TARGET = 5000


def main() -> None:
    args = cli(__doc__)
    django_setup(args.database_url or SCALE_DATABASE_URL)
    from loans.schedule import ScheduleTerms, generate_schedule

    count = 4000 if args.quick else 30000
    terms = [
        ScheduleTerms(
            principal=Decimal(50000 + (index % 997) * 1000),
            currency="CVE",
            annual_interest_rate=Decimal(("18", "21", "24", "27")[index % 4]),
            number_of_repayments=18,
            repayment_every=1,
            repayment_frequency="months",
            interest_method="declining_balance",
            amortization="equal_installments",
            interest_calculation="same_as_repayment_period",
            days_in_year="actual",
            days_in_month="actual",
            disbursement_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=index % 700),
        )
        for index in range(count)
    ]
    generate_schedule(terms[0])  # imports and first-call costs out of the figure
    best_cpu = best_wall = 0.0
    for _repeat in range(3):
        with Stopwatch() as watch:
            for item in terms:
                generate_schedule(item)
        best_cpu = max(best_cpu, count / watch.cpu_seconds)
        best_wall = max(best_wall, count / watch.seconds)
    sample = generate_schedule(terms[0])
    assert len(sample.installments) == 18 and sample.total_principal == terms[0].principal
    rate = round(best_cpu)
    finish(
        [
            result(
                "Schedule engine: 18-installment declining schedules per second, one core",
                value=rate,
                unit="schedules/s",
                target=f">= {TARGET:,}/s",
                passed=rate >= TARGET,
                details={
                    "schedules_per_repeat": count,
                    "best_of": 3,
                    "per_second_cpu_time": rate,
                    "per_second_wall_clock": round(best_wall),
                },
            )
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
