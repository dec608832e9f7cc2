"""Check a restored database the way the platform checks itself: per currency, the loan
portfolio in the general ledger against the loans' outstanding principal and the trial balance;
the maintained ledger movements against the journal lines; then the row counts of the main tables.

    .venv/bin/python scripts/verify_restore.py [--database NAME]

Connects like ``manage.py`` (DATABASE_URL, or the embedded server), to NAME when given. Exit
status 0 when everything reconciles, 3 when something does not (the lines say what).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
MAIN_TABLES = (
    "crm_party",
    "loans_loan",
    "loans_loantransaction",
    "accounting_journalentry",
    "accounting_journalline",
    "audit_auditevent",
)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mfi.settings.base")
    from django.conf import settings

    if "--database" in argv:
        settings.DATABASES["default"]["NAME"] = argv[argv.index("--database") + 1]
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from accounting.models import JournalEntry
    from loans.models import Loan
    from mfi.scale.checks import InvariantError, reconciliation_report

    currencies = sorted(
        set(Loan.objects.values_list("currency", flat=True).distinct())
        | set(JournalEntry.objects.values_list("currency", flat=True).distinct())
    )
    status = 0
    try:
        lines = reconciliation_report(timezone.localdate(), currencies)
    except InvariantError as exc:
        lines = [f"NOT RECONCILED: {exc}"]
        status = 3
    with connection.cursor() as cursor:
        for table in MAIN_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our table names
            lines.append(f"{table}: {cursor.fetchone()[0]:,} rows")
    print(f"Database {settings.DATABASES['default']['NAME']}:")
    print("\n".join(f"  {line}" for line in lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
