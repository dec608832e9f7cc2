"""Build the large dataset the benchmarks measure (``benchmarks/``): by default 100,000 loans in
10 branches with 100 loan officers and two years of history, in a few minutes.

Run it against a database of its own, e.g.
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/mfi_scale python manage.py seed_scale``.
"""

from __future__ import annotations

import datetime
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from loans.models import Loan
from mfi.scale.seed import seed_scale, vacuum_analyze

# written by the compliance history after the bulk load (ingest, evaluation, cases)
COMPLIANCE_TABLES = [
    "compliance_registryrecord",
    "compliance_partycoverage",
    "compliance_compliancecheck",
    "compliance_case",
    "compliance_followup",
    "compliance_deskvisit",
]


class Command(BaseCommand):
    help = "Build a large, realistic dataset (100,000 loans by default) for the benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--loans", type=int, default=100_000)
        parser.add_argument("--branches", type=int, default=10)
        parser.add_argument("--officers", type=int, default=100)
        parser.add_argument("--seed", type=int, default=20261123)
        parser.add_argument(
            "--as-of",
            type=datetime.date.fromisoformat,
            default=None,
            help="The last day of the history (default: yesterday). Its end of day runs for real.",
        )
        parser.add_argument(
            "--fresh", action="store_true", help="Empty the database first (flush)."
        )
        parser.add_argument(
            "--no-audit", action="store_true", help="Leave out the loans' audit trail."
        )
        parser.add_argument(
            "--no-compliance",
            action="store_true",
            help="Leave out the compliance history (registry files and evaluations).",
        )

    def handle(self, *args, **options):
        started = time.perf_counter()
        as_of = options["as_of"] or timezone.localdate() - datetime.timedelta(days=1)
        if as_of >= timezone.localdate():
            raise CommandError("--as-of must be before today (its end of day posts on it).")
        if options["loans"] < 50:
            raise CommandError("--loans must be at least 50.")
        if options["fresh"]:
            call_command("flush", interactive=False, verbosity=0)
            with connection.cursor() as cursor:
                for sequence in ("loans_loan_number", "accounting_journal_entry_number"):
                    cursor.execute("SELECT setval(%s, 1, false)", [sequence])
        if Loan.objects.exists():
            raise CommandError(
                "This database already holds loans; run with --fresh to rebuild it "
                "(everything in it is deleted)."
            )
        seeded = seed_scale(
            loans=options["loans"],
            as_of=as_of,
            branches=options["branches"],
            officers=options["officers"],
            seed=options["seed"],
            audit=not options["no_audit"],
            with_compliance=not options["no_compliance"],
            say=self.stdout.write,
        )
        vacuum_analyze(
            [
                "loans_loan",
                "loans_portfoliosnapshot",
                "accounting_accountdaymovement",
                *(COMPLIANCE_TABLES if not options["no_compliance"] else []),
            ]
        )
        for line in seeded.report:
            self.stdout.write("  " + line)
        for table, count in sorted(seeded.rows.items()):
            self.stdout.write(f"  {table:<32} {count:>12,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Scale data ready: {seeded.loans:,} loans up to {as_of}, "
                f"in {time.perf_counter() - started:.0f} s."
            )
        )
