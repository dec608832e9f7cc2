"""Coaching Celery tasks: the nightly referral of late borrowers to coaching (idempotent)."""

from __future__ import annotations

from celery import shared_task

from coaching.automation import coaching_referrals_run


@shared_task(
    name="coaching.tasks.referrals",
    acks_late=True,
    max_retries=3,
    retry_backoff=60,
    time_limit=600,
    soft_time_limit=540,
)
def referrals() -> dict[str, int]:
    """Run ``coaching_referrals_run``; running it again refers no loan twice."""
    return coaching_referrals_run()
