"""Coaching automation: refer late borrowers to coaching.

Each branch may have one ``CoachingReferralRule``: when one of the branch's active loans is in the
rule's delinquency bucket, the rule's coordinator gets a CRM task (through
``crm.interactions.task_create``) to offer coaching to the borrower. A ``CoachingReferral`` row,
unique per loan and bucket, records it, so the nightly run never refers a loan twice for the same
bucket (a loan that moves on to another bucket with its own rule would be referred again).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coaching.models import CoachingReferral, CoachingReferralRule
from crm.interactions import task_create
from loans.choices import PORTFOLIO_STATUSES
from loans.models import Loan

logger = logging.getLogger(__name__)


def referral_title(loan: Loan) -> str:
    return _("Offer coaching to %(borrower)s (loan %(number)s, %(days)s days late)") % {
        "borrower": loan.borrower,
        "number": loan.number,
        "days": loan.days_past_due,
    }


def _loans_to_refer(rule: CoachingReferralRule):
    return (
        Loan.objects.filter(
            branch_id=rule.branch_id,
            status__in=PORTFOLIO_STATUSES,
            delinquency_bucket=rule.delinquency_bucket,
        )
        .exclude(coaching_referrals__delinquency_bucket=rule.delinquency_bucket)
        .select_related("borrower")
        .order_by("pk")
    )


def coaching_referral_create(*, rule: CoachingReferralRule, loan: Loan) -> CoachingReferral | None:
    """Create the coordinator's task and the referral for one loan, or nothing if the loan was
    already referred for this bucket (by a concurrent run)."""
    try:
        with transaction.atomic():
            task = task_create(
                actor=rule.coordinator,
                title=referral_title(loan),
                due_date=timezone.localdate(),
                assigned_to=rule.coordinator,
                loan=loan,
            )
            return CoachingReferral.objects.create(
                loan=loan,
                rule=rule,
                delinquency_bucket=rule.delinquency_bucket,
                days_past_due=loan.days_past_due,
                task_id=task.pk,
            )
    except IntegrityError:
        return None


def coaching_referrals_run() -> dict[str, int]:
    """Refer every loan in its branch rule's bucket that was not yet referred for it.

    Idempotent: a second run the same night (or any later night) creates nothing for the loans
    already referred. A rule whose coordinator may not create the task is logged and skipped."""
    created = skipped = 0
    rules = CoachingReferralRule.objects.filter(is_active=True).select_related(
        "coordinator", "branch"
    )
    for rule in rules:
        for loan in _loans_to_refer(rule):
            try:
                referral = coaching_referral_create(rule=rule, loan=loan)
            except (PermissionDenied, ValidationError) as exc:
                logger.warning("Coaching referral of loan %s failed: %s", loan.pk, exc)
                skipped += 1
                continue
            if referral is None:
                skipped += 1
            else:
                created += 1
    return {"created": created, "skipped": skipped}
