"""A scale-seeded database for a whole test module: ``seed_scale`` runs once inside an outer
transaction that is rolled back after the module, and every test runs in a savepoint of it."""

from __future__ import annotations

import datetime
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from mfi.scale.seed import Seeded, seed_scale


@contextmanager
def seeded_database(
    django_db_blocker, *, loans: int, branches: int = 3, officers: int = 6, compliance=False
):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield seed_scale(
                loans=loans,
                as_of=timezone.localdate() - datetime.timedelta(days=1),
                branches=branches,
                officers=officers,
                seed=7,
                with_compliance=compliance,
                say=lambda _message: None,
            )
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


__all__ = ["Seeded", "seeded_database"]
