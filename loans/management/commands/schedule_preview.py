"""``manage.py schedule_preview``: read preview terms as JSON on stdin, print the schedule as JSON.

    echo '{"principal": "5000", ...}' | python manage.py schedule_preview

Invalid input exits with status 1 and names every bad field on stderr. Nothing is stored.
"""

from __future__ import annotations

import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from loans.preview import parse_preview_input, schedule_to_json
from loans.schedule import generate_schedule


class Command(BaseCommand):
    help = "Read loan terms as JSON on stdin and write the repayment schedule as JSON on stdout."

    def handle(self, *args, **options) -> None:
        raw = sys.stdin.read()
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CommandError(f"Invalid JSON on stdin: {exc}", returncode=1) from exc
        try:
            terms = parse_preview_input(data)
        except ValidationError as exc:
            raise CommandError(_describe(exc), returncode=1) from exc
        try:
            schedule = generate_schedule(terms)
        except ValueError as exc:
            raise CommandError(f"Cannot build the schedule: {exc}", returncode=1) from exc
        self.stdout.write(json.dumps(schedule_to_json(schedule), indent=2))


def _describe(error: ValidationError) -> str:
    problems = "; ".join(
        f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
    )
    return f"Invalid schedule input - {problems}"
