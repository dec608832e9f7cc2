"""The demo coaching, follow-up and learning data (``mfi/demo/coaching.py``) on top of the demo
organisation, parties, ledger and loans: deterministic, idempotent, and agreeing with the ledger.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import F, Sum
from django.utils import timezone

from accounting.selectors import balances_by_account, trial_balance
from audit.models import AuditEvent
from coaching.choices import EngagementStatus, InvoiceStatus, SessionStatus
from coaching.models import (
    Coach,
    CoachingInvoice,
    CoachingPayment,
    CoachingProduct,
    Engagement,
    Feedback,
    Goal,
    Session,
)
from crm.choices import InteractionKind, LeadStage, Relationship
from crm.models import Interaction, Lead, Task
from elearning.models import Certificate, Course, Enrolment, Lesson, Quiz
from mfi.demo.coaching import ENGAGEMENT_COUNT, seed_coaching
from mfi.demo.ledger import seed_ledger
from mfi.demo.loans import seed_loans
from mfi.demo.organisation import seed_organisation
from mfi.demo.parties import seed_parties
from users.roles import Role

EXPECTED_ENGAGEMENTS = {
    EngagementStatus.REQUESTED: 5,
    EngagementStatus.ACCEPTED: 4,
    EngagementStatus.ACTIVE: 14,
    EngagementStatus.COMPLETED: 12,
    EngagementStatus.CANCELLED: 5,
}

EXPECTED_SESSIONS = {
    SessionStatus.HELD: 124,
    SessionStatus.PLANNED: 21,
    SessionStatus.NO_SHOW: 11,
    SessionStatus.CANCELLED: 2,  # planned, then the engagement was cancelled
}
EXPECTED_INVOICES = {InvoiceStatus.ISSUED: 14, InvoiceStatus.PAID: 14}
EXPECTED_LEADS = {
    LeadStage.PROSPECT: 5,
    LeadStage.CONTACTED: 5,
    LeadStage.APPLIED: 4,
    LeadStage.CLIENT: 3,
    LeadStage.LOST: 3,
}
# 120 follow-up contacts and the first call to each lead past the prospect stage.
EXPECTED_INTERACTIONS = {
    InteractionKind.VISIT: 59,
    InteractionKind.CALL: 49,
    InteractionKind.DESK_VISIT: 27,
}


def _footprint() -> tuple[int, ...]:
    return (
        Engagement.objects.count(),
        Session.objects.count(),
        CoachingInvoice.objects.count(),
        CoachingPayment.objects.count(),
        Interaction.objects.count(),
        Task.objects.count(),
        Lead.objects.count(),
        Enrolment.objects.count(),
        AuditEvent.objects.count(),
    )


def test_demo_coaching_is_deterministic_idempotent_and_agrees_with_the_ledger(
    db, settings, tmp_path
):
    # given
    settings.MEDIA_ROOT = tmp_path
    users = seed_organisation()
    seed_parties(actor=users["admin"])
    seed_ledger(maker=users["accountant"], checker=users["manager"])
    seed_loans(users=users)

    # when
    created = seed_coaching(users=users)
    footprint = _footprint()
    created_again = seed_coaching(users=users)

    # then: the planned data in each state, and nothing more on a second run
    assert created == ENGAGEMENT_COUNT == sum(EXPECTED_ENGAGEMENTS.values()) == 40
    assert created_again == 0
    assert _footprint() == footprint
    assert Counter(Engagement.objects.values_list("status", flat=True)) == EXPECTED_ENGAGEMENTS
    assert Counter(Session.objects.values_list("status", flat=True)) == EXPECTED_SESSIONS
    assert Counter(CoachingInvoice.objects.values_list("status", flat=True)) == EXPECTED_INVOICES
    assert Counter(Lead.objects.values_list("stage", flat=True)) == EXPECTED_LEADS
    assert Counter(Interaction.objects.values_list("kind", flat=True)) == EXPECTED_INTERACTIONS
    assert CoachingProduct.objects.count() == 2
    assert (
        CoachingProduct.objects.filter(subsidy_percent__gt=0, programme__isnull=False).count() == 1
    )
    assert Coach.objects.filter(user__role=Role.COACH).count() == 5
    assert set(Coach.objects.values_list("user__branch__code", flat=True)) == {
        "praia",
        "mindelo",
        "sal",
    }
    assert (Goal.objects.count(), Goal.objects.filter(is_achieved=True).count()) == (58, 10)
    assert CoachingPayment.objects.count() == 29

    # engagements for borrowers and coaching-only customers; feedback on every completed one
    parties = Engagement.objects.values_list("party__relationship", flat=True)
    assert set(parties) == {Relationship.CLIENT, Relationship.COACHING_CUSTOMER}
    assert Engagement.objects.filter(party__loans__isnull=False).distinct().count() == 24
    assert Feedback.objects.count() == EXPECTED_ENGAGEMENTS[EngagementStatus.COMPLETED]
    assert not Feedback.objects.exclude(engagement__status=EngagementStatus.COMPLETED).exists()

    # held sessions and no-shows lie in the past (planned ones are dated from December 2026);
    # all billed when held
    now = timezone.now()
    assert not Session.objects.filter(
        status__in=[SessionStatus.HELD, SessionStatus.NO_SHOW], scheduled_at__gt=now
    ).exists()
    assert not Session.objects.filter(
        status=SessionStatus.HELD, invoice_lines__isnull=True
    ).exists()

    # follow-up tasks: some overdue, some due today, some later, a few done
    today = timezone.localdate()
    follow_ups = Task.objects.filter(source_interaction__isnull=False)
    assert Counter(follow_ups.values_list("status", flat=True)) == {"open": 26, "done": 4}
    assert follow_ups.filter(due_date__lt=today).count() == 8
    assert follow_ups.filter(due_date=today).count() == 8
    assert Task.objects.filter(source_interaction__isnull=True).count() == 8  # action items
    assert Interaction.objects.filter(author__role=Role.FIELD_AGENT).exists()

    # leads are prospects, except the ones that became clients
    assert Lead.objects.filter(party__relationship=Relationship.CLIENT).count() == 3
    assert (
        Lead.objects.exclude(stage=LeadStage.CLIENT)
        .filter(party__relationship=Relationship.PROSPECT)
        .count()
        == 17
    )

    # e-learning: two courses of three lessons and a quiz, learners at every step
    assert Course.objects.count() == 2
    assert Lesson.objects.count() == 6 and Quiz.objects.count() == 2
    assert Enrolment.objects.count() == 30
    assert Enrolment.objects.filter(completed_at__isnull=False).count() == 9
    assert Certificate.objects.count() == 9

    # the coaching receivables (1340) are what the issued invoices still owe
    owed = CoachingInvoice.objects.filter(status=InvoiceStatus.ISSUED).aggregate(
        owed=Sum(F("total") - F("amount_paid"))
    )["owed"]
    receivables = {
        row.currency: row.balance for row in balances_by_account() if row.account.code == "1340"
    }
    assert receivables == {"CVE": owed} and owed > 0
    assert not CoachingInvoice.objects.filter(status=InvoiceStatus.PAID).exclude(
        amount_paid=F("total")
    )

    # and the books still balance
    for currency in ("CVE", "XOF"):
        report = trial_balance(as_of=today, currency=currency)
        assert report.total_debit == report.total_credit > 0
