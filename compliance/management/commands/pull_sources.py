"""python manage.py pull_sources [--source CODE ...]: pull every active HTTP registry now."""

from django.core.management.base import BaseCommand, CommandError

from compliance.choices import RunTrigger, Transport
from compliance.ingest import source_pull
from compliance.models import Source


class Command(BaseCommand):
    help = "Pull the latest month from every active HTTP source (or the named ones), now."

    def add_arguments(self, parser):
        parser.add_argument("--source", action="append", default=[], help="Source code.")

    def handle(self, *args, source=(), **options):
        sources = Source.objects.filter(is_active=True, transport=Transport.HTTP).order_by("pk")
        if source:
            sources = sources.filter(code__in=source)
            missing = set(source) - set(sources.values_list("code", flat=True))
            if missing:
                raise CommandError(f"No active HTTP source named {', '.join(sorted(missing))}.")
        for item in sources:
            run = source_pull(source=item, trigger=RunTrigger.ON_DEMAND)
            line = (
                f"{item.code}: {run.status}, {run.records_received} received, "
                f"{run.records_stored} new, {run.rows_quarantined} quarantined"
            )
            self.stdout.write(line + (f" ({run.error})" if run.error else ""))
