"""Render the authorization matrix (``mfi/authz/matrix.py``) to ``docs/authorization.md``."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mfi.authz.render import render_markdown


class Command(BaseCommand):
    help = "Write the authorization matrix (every route × role × own/other branch) as markdown."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            default=str(Path(settings.BASE_DIR) / "docs" / "authorization.md"),
            help="Where to write the markdown (default: docs/authorization.md).",
        )

    def handle(self, *args, output: str, **options):
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_markdown(), encoding="utf-8")
        self.stdout.write(f"Wrote {path}")
