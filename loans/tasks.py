"""Loan tasks: the nightly end of day (idempotent per business date)."""

from celery import shared_task

from loans.end_of_day import run_end_of_day


@shared_task(name="loans.tasks.end_of_day", acks_late=True, time_limit=3600, soft_time_limit=3500)
def end_of_day() -> list[dict]:
    return run_end_of_day()
