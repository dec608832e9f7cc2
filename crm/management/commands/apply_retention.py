"""``manage.py apply_retention [--dry-run]``: anonymise or delete what is past retention."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from crm.privacy import retention_apply


class Command(BaseCommand):
    help = (
        "Anonymise borrowers whose loans ended longer ago than the loan retention period, erase "
        "stale leads, clear old desk check-ins and delete expired audit and access events."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be erased, change nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        result = retention_apply(dry_run=dry_run)
        prefix = "would be " if dry_run else ""
        for key in (
            "borrowers_anonymised",
            "leads_erased",
            "desk_visits_anonymised",
            "audit_events_deleted",
            "access_events_deleted",
        ):
            self.stdout.write(f"{key}: {prefix}{result[key]}")
        for key in result.get("refused", []):
            self.stderr.write(f"{key}: refused by the database (audit trail append-only trigger)")
