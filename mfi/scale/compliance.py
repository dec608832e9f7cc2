"""Compliance history of the scale data, through the real services: the demo's registry
sources and offer requirements, the social security (INPS) and revenue (DNRE) month files of the
last months for every borrower, ingested by ``compliance.ingest.file_ingest`` (validation,
COPY staging, matching to parties), then the portfolio evaluated by
``compliance.evaluation.evaluate_loans`` on the last business date (checks and cases).

Most borrowers are up to date; a few owe contributions or taxes, a few of those for several
months in a row (deterministic: the same borrowers each time).
"""

from __future__ import annotations

import csv
import datetime
import tempfile
from pathlib import Path

from compliance.choices import RunTrigger
from compliance.evaluation import evaluate_loans
from compliance.ingest import file_ingest
from crm.models import Party
from mfi.celery import app as celery_app
from mfi.demo import compliance as demo_compliance
from sandbox import data
from users.models import User

IN_ARREARS_EVERY = 13  # one borrower in 13 owes contributions (one in 17 owes taxes)
TAX_DEBT_EVERY = 17


def _month_ends(as_of: datetime.date, months: int) -> list[datetime.date]:
    ends = [data.reporting_month_end(as_of)]
    while len(ends) < months:
        ends.append(ends[-1].replace(day=1) - datetime.timedelta(days=1))
    return ends[::-1]


def _borrowers() -> list[tuple[int, str, str, str]]:
    return list(
        Party.objects.filter(loans__isnull=False)
        .distinct()
        .order_by("pk")
        .values_list("pk", "social_security_number", "nif", "display_name")
    )


def _write_files(folder: Path, month_end: datetime.date, step: int, borrowers) -> tuple[Path, Path]:
    social, revenue = folder / f"inps-{month_end:%Y-%m}.csv", folder / f"dnre-{month_end:%Y-%m}.csv"
    with (
        open(social, "w", newline="", encoding="utf-8") as inps,
        open(revenue, "w", newline="", encoding="utf-8") as dnre,
    ):
        inps_rows, dnre_rows = csv.writer(inps), csv.writer(dnre)
        inps_rows.writerow(data.SOCIAL_SECURITY_FIELDS)
        dnre_rows.writerow(data.REVENUE_FIELDS)
        issued = month_end - datetime.timedelta(days=40)
        for party_id, ssn, nif, name in borrowers:
            late = party_id % IN_ARREARS_EVERY == 0 and (party_id // IN_ARREARS_EVERY) % 3 <= step
            months = 1 + (party_id // IN_ARREARS_EVERY) % 4 if late else 0
            inps_rows.writerow(
                [
                    ssn,
                    nif,
                    name,
                    month_end,
                    "irregular" if late else "regular",
                    months,
                    f"{months * 3000}.00",
                    "CVE",
                    party_id % 7,
                ]
            )
            owes = party_id % TAX_DEBT_EVERY == 0
            dnre_rows.writerow(
                [
                    nif,
                    name,
                    month_end,
                    "irregular" if owes else "regular",
                    "" if owes else f"CRT-{month_end.year}-{party_id:06d}",
                    "" if owes else issued,
                    "" if owes else issued + datetime.timedelta(days=90),
                    f"{(party_id % 50 + 1) * 1000}.00" if owes else "0.00",
                    "CVE",
                ]
            )
    return social, revenue


def seed_compliance_history(*, as_of: datetime.date, months: int = 2) -> dict:
    """Registry files of the last ``months`` month ends for every borrower, ingested, then the
    portfolio evaluated on ``as_of``. Returns the evaluation's counts and the rows ingested."""
    officer = User.objects.get(username="compliance")
    sources = demo_compliance._seed_sources()
    demo_compliance._seed_requirements(actor=officer)
    borrowers = _borrowers()
    ingested = 0
    # Each ingest queues the re-evaluation of the parties it matched; the portfolio is evaluated
    # once below, so those tasks are queued (for a worker, if one runs: they are idempotent)
    # rather than run in-process one file after the other.
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with tempfile.TemporaryDirectory(prefix="scale-compliance-") as folder:
            for step, month_end in enumerate(_month_ends(as_of, months)):
                social, revenue = _write_files(Path(folder), month_end, step, borrowers)
                for source, path, trigger in (
                    (sources["inps-ficheiros"], social, RunTrigger.INBOUND),
                    (sources["dnre"], revenue, RunTrigger.UPLOAD),
                ):
                    run = file_ingest(
                        source=source, path_or_file=str(path), actor=officer, trigger=trigger
                    )
                    ingested += run.records_stored
    finally:
        celery_app.conf.task_always_eager = eager
    counts = evaluate_loans(today=as_of)
    return {"records_ingested": ingested, **counts}
