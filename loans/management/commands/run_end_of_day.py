"""python manage.py run_end_of_day [--date YYYY-MM-DD]"""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from loans.end_of_day import run_end_of_day


class Command(BaseCommand):
    help = "Close of business: penalties, accruals, arrears, delinquency, portfolio snapshot."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Business date (YYYY-MM-DD); default today.")

    def handle(self, *args, date=None, **options):
        business_date = None
        if date:
            try:
                business_date = datetime.date.fromisoformat(date)
            except ValueError as exc:
                raise CommandError(f"--date {date!r} is not a date (YYYY-MM-DD).") from exc
        for stats in run_end_of_day(business_date):
            self.stdout.write(json.dumps(stats))
