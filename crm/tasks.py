"""CRM tasks: the daily e-mail reminder of overdue and due-today tasks (idempotent per day)."""

from __future__ import annotations

import datetime

from celery import shared_task

from crm.interactions import task_reminders_send


class ReminderDeliveryFailed(Exception):
    """Some reminders stayed queued because the mail server refused them; a retry sends them."""


@shared_task(
    name="crm.tasks.send_task_reminders",
    acks_late=True,
    autoretry_for=(ReminderDeliveryFailed,),
    retry_backoff=60,
    retry_jitter=True,
    max_retries=5,
    time_limit=600,
    soft_time_limit=540,
)
def send_task_reminders(day: str | None = None) -> dict[str, int]:
    """E-mail each user their overdue and due-today tasks once for ``day`` (ISO date, default
    today). Running it again the same day sends nothing more."""
    today = datetime.date.fromisoformat(day) if day else None
    result = task_reminders_send(today=today)
    if result["failed"]:
        raise ReminderDeliveryFailed(result)
    return result


@shared_task(
    name="crm.tasks.apply_retention",
    acks_late=True,
    time_limit=3600,
    soft_time_limit=3500,
)
def apply_retention() -> dict:
    """Anonymise or delete what is past its retention period (idempotent: a rerun finds
    nothing more to do)."""
    from crm.privacy import retention_apply

    return retention_apply()
