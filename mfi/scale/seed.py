"""The whole build, step by step: the institution (ORM), the bulk load in one transaction with
its set-based checks, the real end of day of the last date, the compliance history (registry
files ingested and the portfolio evaluated, through the compliance services), and the
platform's reconciliation.
Used by ``manage.py seed_scale`` and by the tests (inside their transaction)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction

from loans.end_of_day import run_end_of_day
from mfi.scale import checks
from mfi.scale.build import Builder
from mfi.scale.bulk import indexes_deferred, triggers_suspended
from mfi.scale.compliance import seed_compliance_history
from mfi.scale.setup import first_day, institution_create

# The tables the bulk load writes; their row triggers are suspended while it runs.
BULK_TABLES = [
    "crm_party",
    "crm_person",
    "crm_enterprise",
    "loans_loan",
    "loans_installment",
    "loans_loantransaction",
    "loans_repaymentallocation",
    "loans_endofdayrun",
    "loans_portfoliosnapshot",
    "accounting_journalentry",
    "accounting_journalline",
    "accounting_accountingperiod",
    "audit_auditevent",
    "coaching_engagement",
    "coaching_session",
]


@dataclass
class Seeded:
    """What a build made: rows per table, the loans, the last business date, the checks."""

    as_of: datetime.date
    loans: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)
    compliance: dict = field(default_factory=dict)


class _Steps:
    """Prints each step with its wall time and this process's CPU time (the rest is
    PostgreSQL's, or waiting for a busy machine)."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def done(self, message: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.say(f"[{wall - self.wall:6.1f} s, cpu {cpu - self.cpu:5.1f} s] {message}")
        self.wall, self.cpu = wall, cpu


def seed_scale(
    *,
    loans: int,
    as_of: datetime.date,
    branches: int = 10,
    officers: int = 100,
    seed: int = 20261123,
    audit: bool = True,
    with_compliance: bool = True,
    say: Callable[[str], None] = print,
) -> Seeded:
    """Build ``loans`` loans with two years of history up to ``as_of`` into an empty database.
    Raises ``checks.InvariantError`` (and loads nothing) if the data breaks a ledger rule."""
    steps = _Steps(say)
    institution = institution_create(branches=branches, officers=officers)
    steps.done("Institution, staff, chart of accounts and products")
    builder = Builder(
        institution=institution,
        as_of=as_of,
        first_day=first_day(as_of),
        loans=loans,
        seed=seed,
        audit=audit,
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        with triggers_suspended(BULK_TABLES) as mode:
            with indexes_deferred(BULK_TABLES) as deferred, builder.writing():
                builder.write_loans()
                schedules = builder.planner.schedules
                steps.done(
                    f"Played and wrote {builder.loan_total:,} loans "
                    f"({schedules.computed:,} schedules computed by the engine, "
                    f"{schedules.reused:,} reused)"
                )
                builder.write_parties()
                builder.write_funding()
                builder.write_end_of_day_history()
                builder.write_closed_periods()
                builder.write_month_end_snapshots()
                builder.write_coaching()
                entries = builder.write_entries()
                rows = builder.flush()
                builder.finish_sequences()
                steps.done(f"Loaded {sum(rows.values()):,} rows with COPY ({mode})")
            steps.done(f"Built {deferred} indexes and unique constraints of the loaded tables")
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval('accounting_journal_entry_number', %s)", [entries])
            cursor.execute("SELECT accounting_movements_rebuild()")
            cursor.execute("SELECT accounting_carried_rebuild()")
        checks.require_zero(checks.ledger_rules(), "Ledger rules")
        checks.require_zero(checks.foreign_keys(BULK_TABLES), "Foreign keys")
        steps.done("Ledger rules and foreign keys checked")
        with connection.cursor() as cursor:
            for table in [
                *BULK_TABLES,
                "accounting_accountdaymovement",
                "accounting_carriedbalance",
            ]:
                cursor.execute(f"ANALYZE {table}")
    steps.done("Committed and analysed")
    run_end_of_day(as_of)
    steps.done(f"End of day {as_of} run (balances, arrears, PAR snapshot)")
    compliance = {}
    if with_compliance:
        compliance = seed_compliance_history(as_of=as_of)
        steps.done(
            f"Compliance: {compliance['records_ingested']:,} registry records ingested, "
            f"{compliance['loans']:,} loans evaluated, "
            f"{compliance['non_compliant']:,} checks not compliant"
        )
    currencies = sorted({product.version.currency for product in institution.products.values()})
    return Seeded(
        as_of=as_of,
        loans=builder.loan_total,
        rows=rows,
        report=checks.reconciliation_report(as_of, currencies),
        compliance=compliance,
    )


def vacuum_analyze(tables: list[str]) -> None:
    """After a load and its end of day (outside any transaction): visibility map and fresh
    statistics, so the first pages read index-only and the planner sees the real row counts."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
