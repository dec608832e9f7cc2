"""``manage.py p2p_sync [--platform CODE] [--dry-run]``: one full P2P cycle, synchronously."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from p2p_export.models import Platform
from p2p_export.sync import sync_all

IMAGE_FIELDS = ("image_encoded",)


def _shown(payload: dict) -> dict:
    """The payload as printed: a base64 image is summarised by its length."""
    return {
        key: f"<{len(value)} characters of base64 JPEG>" if key in IMAGE_FIELDS and value else value
        for key, value in payload.items()
    }


class Command(BaseCommand):
    help = (
        "Run one P2P cycle (push pending profiles, poll statuses, send repayments and news, "
        "build packages) and print a summary. --dry-run changes and sends nothing and prints "
        "the payload of each profile that would be pushed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--platform", default="", help="Code of one platform (default: all).")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, platform: str, dry_run: bool, **options):
        if platform and not Platform.objects.filter(code=platform, is_active=True).exists():
            raise CommandError(f"No active platform with the code {platform!r}.")
        summaries = sync_all(code=platform, dry_run=dry_run)
        if not summaries:
            self.stdout.write("No active P2P platform.")
        for summary in summaries:
            for line in summary.as_lines():
                self.stdout.write(line)
            for payload in summary.payloads:
                self.stdout.write(json.dumps(_shown(payload), indent=2, ensure_ascii=False))
