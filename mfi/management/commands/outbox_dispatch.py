"""Send the task outbox's pending rows to the broker (``mfi.outbox``).

Beat does this every few seconds (``mfi.tasks.outbox_dispatch``); this command does the same
where beat does not run, once or, with ``--loop``, until stopped (a sidecar next to the workers).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from mfi.outbox import DISPATCH_BATCH, outbox_dispatch_pending


class Command(BaseCommand):
    help = "Send pending task outbox rows to the broker (once, or every --interval with --loop)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep dispatching until stopped.")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between rounds with --loop."
        )
        parser.add_argument(
            "--batch", type=int, default=DISPATCH_BATCH, help="At most this many rows a round."
        )

    def handle(self, *args, loop: bool, interval: float, batch: int, **options):
        while True:
            counts = outbox_dispatch_pending(limit=batch)
            if not loop or counts["sent"] or counts["failed"]:
                self.stdout.write(
                    "sent {sent}, failed {failed}, still pending {pending}".format(**counts)
                )
            if not loop:
                return
            # A full batch means more are waiting: go on at once.
            if counts["sent"] < batch:
                try:
                    time.sleep(interval)
                except KeyboardInterrupt:
                    return
