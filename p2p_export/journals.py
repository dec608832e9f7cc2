"""Follow-up news for lenders ("journals"): drafted from real events, edited and approved by
staff, then sent (API platforms) or packaged (file platforms).

Events that make news: repayment milestones (25, 50, 75 and 100 % of the principal repaid), a
renewal (a new loan that renews this one), coaching progress (the first session held with a
coach) and a field follow-up (a call or visit). Each event is drafted once per publication
(``source_reference``); drafts say only what lenders may know (first name, no contact or ID).
"""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_record
from coaching.choices import SessionStatus
from coaching.models import Session
from compliance.models import FollowUp
from loans.choices import LoanStatus
from p2p_export.choices import (
    JOURNAL_TRANSITIONS,
    JournalSource,
    JournalStatus,
    PlatformKind,
    PublicationState,
)
from p2p_export.http import TransientError
from p2p_export.models import JournalDraft, Platform, Publication
from p2p_export.photos import process_photo
from p2p_export.platforms import adapter_for
from p2p_export.platforms.base import PlatformRefused, PlatformValidationError
from p2p_export.services import _require, _require_scope
from p2p_export.validation import story_problems

MILESTONES = (25, 50, 75, 100)
# News goes to lenders of a funded loan, while it runs and when it has ended.
NEWS_STATES = frozenset(
    {PublicationState.FUNDED, PublicationState.REPAYING, PublicationState.ENDED}
)


def _repaid_percent(publication: Publication) -> Decimal:
    loan = publication.loan
    paid = loan.installments.aggregate(total=Sum("principal_paid"))["total"] or Decimal(0)
    return paid * 100 / loan.principal


def _events(publication: Publication) -> list[tuple[str, str, str, str]]:
    """(source, reference, subject, body) of every newsworthy event of the publication."""
    loan = publication.loan
    name = publication.profile.first_name or _("The borrower")
    parties = {loan.borrower_id, *publication.borrowers.values_list("person_id", flat=True)}
    events = []
    percent = _repaid_percent(publication)
    for milestone in MILESTONES:
        if percent >= milestone:
            subject = (
                _("%(name)s has repaid the whole loan") % {"name": name}
                if milestone == 100
                else _("%(name)s has repaid %(percent)s %% of the loan")
                % {"name": name, "percent": milestone}
            )
            body = _(
                "%(name)s keeps up with the repayments: %(percent)s %% of the loan is repaid. "
                "Thank you for your support."
            ) % {"name": name, "percent": milestone}
            events.append(
                (JournalSource.REPAYMENT_MILESTONE, f"milestone-{milestone}", subject, body)
            )
    for renewal in loan.renewals.filter(status__in=[LoanStatus.ACTIVE, LoanStatus.CLOSED]):
        events.append(
            (
                JournalSource.RENEWAL,
                f"renewal-{renewal.pk}",
                _("%(name)s has taken a new loan") % {"name": name},
                _(
                    "After this loan, %(name)s asked for a new one to keep the business growing. "
                    "It was granted on %(date)s."
                )
                % {"name": name, "date": renewal.disbursed_on or renewal.approved_on},
            )
        )
    first_sessions = (
        Session.objects.filter(
            engagement__party_id__in=parties,
            status=SessionStatus.HELD,
            scheduled_at__date__gte=loan.disbursed_on,
        )
        .order_by("engagement_id", "scheduled_at")
        .distinct("engagement_id")
    )
    for session in first_sessions:
        events.append(
            (
                JournalSource.COACHING,
                f"coaching-{session.engagement_id}",
                _("%(name)s is working with a business coach") % {"name": name},
                _(
                    "Since %(date)s, %(name)s meets a coach to work on the business: "
                    "planning, bookkeeping and sales."
                )
                % {"name": name, "date": session.scheduled_at.date()},
            )
        )
    follow_ups = FollowUp.objects.filter(
        party_id__in=parties, occurred_at__date__gte=loan.disbursed_on
    ).order_by("occurred_at")
    for follow_up in follow_ups[:3]:
        events.append(
            (
                JournalSource.FOLLOW_UP,
                f"follow-up-{follow_up.pk}",
                _("News from a visit to %(name)s") % {"name": name},
                _("Our field officer was in touch with %(name)s on %(date)s about the business.")
                % {"name": name, "date": follow_up.occurred_at.date()},
            )
        )
    return events


@transaction.atomic
def journal_generate(*, actor, publication: Publication) -> list[JournalDraft]:
    """Draft news for every event not drafted yet (in the platform's language)."""
    _require(actor)
    locked = (
        Publication.objects.select_for_update(of=("self",))
        .select_related("platform", "loan", "profile")
        .get(pk=publication.pk)
    )
    _require_scope(actor, locked.loan)
    if locked.state not in NEWS_STATES or locked.is_anonymised:
        return []
    done = set(locked.journals.values_list("source_reference", flat=True))
    with translation.override(locked.platform.language):
        events = [event for event in _events(locked) if event[1] not in done]
    drafts = [
        JournalDraft.objects.create(
            publication=locked,
            subject=subject[:200],
            body=body,
            source=source,
            source_reference=reference,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        for source, reference, subject, body in events
    ]
    if drafts:
        audit_record(
            actor=actor,
            action="p2p_journal.generated",
            target=locked,
            branch_id=locked.loan.branch_id,
            after={"journals": [draft.pk for draft in drafts]},
        )
    return drafts


def _lock_journal(journal: JournalDraft) -> JournalDraft:
    return (
        JournalDraft.objects.select_for_update(of=("self",))
        .select_related("publication", "publication__platform", "publication__loan")
        .get(pk=journal.pk)
    )


def _transition(journal: JournalDraft, to_status: str, *, actor, action: str, fields=()) -> None:
    if to_status not in JOURNAL_TRANSITIONS[journal.status]:
        raise ValidationError(
            _("A news item that is %(from)s cannot become %(to)s.")
            % {"from": journal.get_status_display(), "to": JournalStatus(to_status).label}
        )
    before = journal.status
    journal.status = to_status
    journal.save(update_fields=["status", *fields])
    audit_record(
        actor=actor,
        action=f"p2p_journal.{action}",
        target=journal,
        branch_id=journal.publication.loan.branch_id,
        before={"status": before},
        after={"status": to_status, "subject": journal.subject},
    )


def _check_text(journal: JournalDraft) -> None:
    persons = [b.person for b in journal.publication.borrowers.select_related("person")]
    errors = {}
    for field in ("subject", "body"):
        problems = story_problems(getattr(journal, field), persons)
        if not getattr(journal, field).strip():
            problems.insert(0, _("This field is required."))
        if problems:
            errors[field] = problems
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def journal_create(*, actor, publication: Publication, subject: str, body: str) -> JournalDraft:
    """Staff write a news item themselves."""
    _require(actor)
    _require_scope(actor, publication.loan)
    journal = JournalDraft(
        publication=publication,
        subject=subject.strip()[:200],
        body=body.strip(),
        source=JournalSource.MANUAL,
        created_by=actor,
    )
    _check_text(journal)
    journal.save()
    audit_record(
        actor=actor,
        action="p2p_journal.created",
        target=journal,
        branch_id=publication.loan.branch_id,
        after={"subject": journal.subject},
    )
    return journal


@transaction.atomic
def journal_update(
    *, actor, journal: JournalDraft, subject: str, body: str, image=None
) -> JournalDraft:
    """Edit a draft (an approved item edited goes back to draft). ``image`` is processed like a
    profile photo: only the processed copy is kept and sent."""
    _require(actor)
    locked = _lock_journal(journal)
    _require_scope(actor, locked.publication.loan)
    if locked.status not in (JournalStatus.DRAFT, JournalStatus.APPROVED):
        raise ValidationError(_("Only a draft or approved news item can be edited."))
    locked.subject, locked.body = subject.strip()[:200], body.strip()
    _check_text(locked)
    fields = ["subject", "body"]
    if image is not None:
        platform = locked.publication.platform
        image.seek(0)
        processed = process_photo(
            image.read(), width=platform.photo_width, height=platform.photo_height
        )
        locked.image.save(f"{uuid.uuid4().hex}.jpg", ContentFile(processed), save=False)
        fields.append("image")
    locked.save(update_fields=fields)
    if locked.status == JournalStatus.APPROVED:
        locked.approved_by, locked.approved_at = None, None
        _transition(
            locked,
            JournalStatus.DRAFT,
            actor=actor,
            action="reopened",
            fields=["approved_by", "approved_at"],
        )
    audit_record(
        actor=actor,
        action="p2p_journal.updated",
        target=locked,
        branch_id=locked.publication.loan.branch_id,
        after={"subject": locked.subject},
    )
    return locked


@transaction.atomic
def journal_approve(*, actor, journal: JournalDraft) -> JournalDraft:
    """A manager approves the news for sending (its text checked again)."""
    _require(actor)
    locked = _lock_journal(journal)
    _require_scope(actor, locked.publication.loan)
    _check_text(locked)
    locked.approved_by, locked.approved_at = actor, timezone.now()
    _transition(
        locked,
        JournalStatus.APPROVED,
        actor=actor,
        action="approved",
        fields=["approved_by", "approved_at"],
    )
    return locked


@transaction.atomic
def journal_discard(*, actor, journal: JournalDraft) -> JournalDraft:
    _require(actor)
    locked = _lock_journal(journal)
    _require_scope(actor, locked.publication.loan)
    _transition(locked, JournalStatus.DISCARDED, actor=actor, action="discarded")
    return locked


def journal_payload(journal: JournalDraft) -> dict:
    """The body of ``POST /v3/partner/{id}/journals``."""
    image = None
    if journal.image:
        with journal.image.open("rb") as handle:
            image = base64.b64encode(handle.read()).decode()
    return {
        "internal_loan_id": journal.publication.internal_loan_id,
        "internal_client_id": str(journal.publication.loan.borrower_id),
        "subject": journal.subject,
        "body": journal.body,
        "image": image,
    }


@transaction.atomic
def journal_send(*, actor, journal: JournalDraft) -> JournalDraft:
    """Send an approved news item (key ``journal:<id>``, so a repeat is harmless). On a file
    platform it stays approved until the next package carries it."""
    _require(actor)
    locked = _lock_journal(journal)
    _require_scope(actor, locked.publication.loan)
    if locked.status != JournalStatus.APPROVED:
        raise ValidationError(_("Only an approved news item can be sent."))
    if locked.publication.platform.kind == PlatformKind.FILES:
        return locked
    try:
        result = adapter_for(locked.publication.platform).send_journal(
            journal_payload(locked), key=f"journal:{locked.pk}"
        )
    except (PlatformValidationError, PlatformRefused, TransientError) as exc:
        # kept approved with the reason: the next sync (or a person) tries again
        locked.last_error = str(exc)[:2000]
        locked.save(update_fields=["last_error"])
        return locked
    locked.sent_at = timezone.now()
    locked.platform_journal_id = (result.references or [""])[0][:60]
    locked.last_error = ""
    _transition(
        locked,
        JournalStatus.SENT,
        actor=actor,
        action="sent",
        fields=["sent_at", "platform_journal_id", "last_error"],
    )
    return locked


def journals_send_approved(*, actor, platform: Platform) -> int:
    """Send every approved news item of an API platform; returns how many went out."""
    approved = JournalDraft.objects.filter(
        publication__platform=platform, status=JournalStatus.APPROVED
    ).order_by("pk")
    return sum(
        journal_send(actor=actor, journal=journal).status == JournalStatus.SENT
        for journal in approved
    )
