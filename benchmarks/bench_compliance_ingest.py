"""Figure: a social security (INPS) month file of 1,000,000 rows ingested by
``compliance.ingest.file_ingest`` (every row validated, the bad ones quarantined with their line
number, the good ones staged with COPY and matched to parties): target <= 60 s. Reference in the
same run: PostgreSQL ``COPY`` of the same file into a bare table of text columns; the ingest may
cost at most 5x that.

The file comes from ``sandbox.data.write_social_security_csv`` (one row in a thousand spoilt);
the ingest runs in a transaction that is rolled back, so the figure can be taken again.

    python benchmarks/bench_compliance_ingest.py [--json out.json] [--quick]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Stopwatch, cli, django_setup, finish, result

ROWS = 1_000_000
TARGET_SECONDS = 60
TARGET_RATIO = 5.0
MALFORMED_EVERY = 1000


class Rollback(Exception):
    """Leaves the measured transaction without a trace."""


def _copy_reference(path: Path) -> float:
    from django.db import connection, transaction

    from sandbox import data

    columns = ", ".join(f"{name} text" for name in data.SOCIAL_SECURITY_FIELDS)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE bench_bare_inps ({columns})")
            with open(path, encoding="utf-8") as source, Stopwatch() as watch:
                cursor.cursor.copy_expert(
                    "COPY bench_bare_inps FROM STDIN WITH (FORMAT csv, HEADER true)", source
                )
            raise Rollback
    except Rollback:
        pass
    return watch.seconds


def _ingest(path: Path) -> tuple[float, dict]:
    from django.db import transaction

    from compliance.choices import RunTrigger
    from compliance.ingest import file_ingest
    from compliance.models import Source
    from mfi.celery import app as celery_app
    from mfi.demo import compliance as demo_compliance
    from users.models import User

    demo_compliance._seed_sources()
    source = Source.objects.get(code="inps-ficheiros")
    officer = User.objects.get(username="compliance")
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False  # the re-evaluation it queues is not the figure
    try:
        with transaction.atomic():
            with Stopwatch() as watch:
                run = file_ingest(
                    source=source, path_or_file=str(path), actor=officer, trigger=RunTrigger.UPLOAD
                )
            outcome = {
                "status": run.status,
                "records_received": run.records_received,
                "records_stored": run.records_stored,
                "rows_quarantined": run.rows_quarantined,
                "unmatched_skipped": run.unmatched_skipped,
            }
            transaction.set_rollback(True)
    finally:
        celery_app.conf.task_always_eager = eager
    return watch.seconds, outcome


def main() -> None:
    args = cli(__doc__)
    django_setup(args.database_url)
    from django.utils import timezone

    from sandbox import data

    rows = 50_000 if args.quick else ROWS
    with tempfile.TemporaryDirectory(prefix="bench-inps-") as folder:
        path = Path(folder) / "inps-month.csv"
        data.write_social_security_csv(
            path, rows, timezone.localdate(), malformed_every=MALFORMED_EVERY
        )
        copy_seconds = _copy_reference(path)
        ingest_seconds, outcome = _ingest(path)
        size = path.stat().st_size
    ratio = round(ingest_seconds / copy_seconds, 2)
    finish(
        [
            result(
                f"Compliance file ingest: {rows:,} social security rows",
                value=round(ingest_seconds, 1),
                unit="s",
                target=f"<= {TARGET_SECONDS} s for {ROWS:,} rows",
                passed=ingest_seconds <= TARGET_SECONDS
                and ratio <= TARGET_RATIO
                and (rows == ROWS or args.quick),
                reference={
                    "label": "COPY of the same file into a bare table",
                    "value": round(copy_seconds, 1),
                    "unit": "s",
                },
                ratio=ratio,
                ratio_target=f"<= {TARGET_RATIO}x",
                details={"file_bytes": size, "malformed_every": MALFORMED_EVERY, **outcome},
            )
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
