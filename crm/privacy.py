"""Personal data: who opened a person's record, the person's data export (subject access
request), erasure requests (four-eyes, then executed) and retention of what is past its time.

Assumptions written down (issue 9, item 6):

- **Erasure while a contract is open is refused.** A party with a submitted, approved, active or
  overpaid loan, or who guarantees one, cannot be erased: the law keeps the contract and we must
  still collect or repay. The request stays pending with the reason shown; it can be approved
  once the loan is closed, or rejected.
- **Loans, the ledger and the audit trail are kept** (retention settings below). Their personal
  fields are anonymised: names become "Erased person #id", identifiers, contacts, addresses,
  photos, document files and free-text notes are removed; amounts, dates, statuses and journal
  entries stay exactly as they were, so the ledger still balances.
- **Gender and island are kept** on anonymised parties: alone they identify nobody and the social
  performance reports (women reached, islands served) must still add up.
- **Signed P2P waiver scans are kept** until the loan's retention ends: they are the evidence that
  the publication was authorised (a legal claim may need them).
- **Audit events are append-only**: they keep the old values until the audit retention period
  ends; ``retention_apply`` deletes them then (the database trigger must allow it, see report).
- A party with no loan, guarantee or invoice is deleted outright when nothing else refers to it
  (a lead, a walk-in); otherwise it is anonymised completely.
"""

from __future__ import annotations

import calendar
import datetime
import logging
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_record, snapshot
from compliance.privacy import (
    desk_visits_anonymise,
    desk_visits_of,
    party_personal_data_erase,
    registry_records_of,
)
from crm.choices import ConsentStatus, LeadStage, PartyKind
from crm.models import (
    Consent,
    ErasureOutcome,
    ErasureRequest,
    ErasureStatus,
    Interaction,
    Lead,
    Party,
    PartyLink,
    Task,
)
from mfi.erasure import ERASED_TEXT, delete_files
from users.roles import Capability

logger = logging.getLogger(__name__)

# --- access log ------------------------------------------------------------------------------

ACCESS_VIEWED = "party.accessed"
ACCESS_EXPORTED = "party.exported"
# Read events: who opened a person's full record. Kept for RETENTION_ACCESS_LOG_MONTHS.
ACCESS_ACTIONS = (ACCESS_VIEWED, ACCESS_EXPORTED)


def _as_party(party: Party) -> Party:
    """The Party row of a Person or Enterprise without a query, so every read event of a party
    is filed under the same object (content type ``crm.party``) whichever screen served it."""
    if type(party) is Party:
        return party
    return Party(
        pk=party.pk, kind=party.kind, display_name=party.display_name, branch_id=party.branch_id
    )


def party_access_record(*, actor, party: Party, view: str) -> AuditEvent:
    """Log that ``actor`` opened ``party``'s full record in ``view`` (one INSERT)."""
    with transaction.atomic():
        return audit_record(
            actor=actor, action=ACCESS_VIEWED, target=_as_party(party), after={"view": view}
        )


def party_access_log(*, user, party: Party, limit: int = 50) -> QuerySet[AuditEvent]:
    """Who looked at this record, newest first; only for roles that may search the audit trail."""
    if not user.has_capability(Capability.AUDIT_SEARCH):
        return AuditEvent.objects.none()
    content_type = ContentType.objects.get_for_model(Party, for_concrete_model=False)
    return AuditEvent.objects.filter(
        content_type=content_type, object_id=str(party.pk), action__in=ACCESS_ACTIONS
    ).select_related("actor")[:limit]


# --- scope checks ----------------------------------------------------------------------------


def can_approve_erasure(user) -> bool:
    return user.is_authenticated and user.has_capability(Capability.PRIVACY_ERASURE_APPROVE)


def _require_in_scope(actor, branch_id: int | None) -> None:
    scope = actor.branch_scope_ids()
    if scope is not None and branch_id not in scope:
        raise PermissionDenied(_("This branch is outside your scope."))


def _require_export(actor, party: Party) -> None:
    if not actor.has_capability(Capability.PARTY_EDIT):
        raise PermissionDenied(_("Your role may not export a person's data."))
    _require_in_scope(actor, party.branch_id)


# --- data export (subject access request) ----------------------------------------------------


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def _rows(queryset, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in snapshot(row).items() if key not in exclude}
        for row in queryset
    ]


def _file_meta(field_file) -> dict[str, Any] | None:
    """A document's metadata, never its content."""
    if not field_file:
        return None
    return {"name": field_file.name.rsplit("/", 1)[-1]}


def _documents(rows, field: str) -> list[dict[str, Any]]:
    result = []
    for row in rows:
        data = snapshot(row)
        data[field] = _file_meta(getattr(row, field))
        result.append(data)
    return result


def _loans(party: Party) -> list[dict[str, Any]]:
    Loan = _model("loans.Loan")
    loans = []
    for loan in Loan.objects.filter(borrower=party).order_by("pk"):
        loans.append(
            {
                **snapshot(loan),
                "installments": _rows(loan.installments.order_by("number")),
                "transactions": _rows(loan.transactions.order_by("value_date", "pk")),
                "guarantors": _rows(loan.guarantors.order_by("pk")),
                "collaterals": _rows(loan.collaterals.order_by("pk")),
                "documents": _documents(loan.documents.order_by("pk"), "file"),
            }
        )
    return loans


def _coaching(party: Party) -> dict[str, Any]:
    Engagement = _model("coaching.Engagement")
    Feedback = _model("coaching.Feedback")
    engagements = []
    for engagement in Engagement.objects.filter(party=party).order_by("pk"):
        sessions = []
        for session in engagement.sessions.order_by("scheduled_at", "pk"):
            sessions.append(
                {**snapshot(session), "action_items": _rows(session.action_items.order_by("pk"))}
            )
        feedback = Feedback.objects.filter(engagement=engagement).first()
        engagements.append(
            {
                **snapshot(engagement),
                "goals": _rows(engagement.goals.order_by("pk")),
                "milestones": _rows(engagement.milestones.order_by("pk")),
                "sessions": sessions,
                "feedback": snapshot(feedback) if feedback else None,
            }
        )
    invoices = _rows(_model("coaching.CoachingInvoice").objects.filter(party=party).order_by("pk"))
    return {"engagements": engagements, "invoices": invoices}


def _learning(party: Party) -> list[dict[str, Any]]:
    Certificate = _model("elearning.Certificate")
    enrolments = []
    for enrolment in _model("elearning.Enrolment").objects.filter(party=party).order_by("pk"):
        certificate = Certificate.objects.filter(enrolment=enrolment).first()
        enrolments.append(
            {
                **snapshot(enrolment),
                "lesson_completions": _rows(enrolment.lesson_completions.order_by("pk")),
                "quiz_attempts": _rows(enrolment.attempts.order_by("pk")),
                "certificate": snapshot(certificate) if certificate else None,
            }
        )
    return enrolments


def _compliance(party: Party) -> dict[str, Any]:
    return {
        "cases": _rows(_model("compliance.Case").objects.filter(party=party).order_by("pk")),
        "follow_ups": _documents(
            _model("compliance.FollowUp").objects.filter(party=party).order_by("pk"), "photo"
        ),
        "checks": _rows(
            _model("compliance.ComplianceCheck").objects.filter(party=party).order_by("pk")
        ),
        "registry_records": _rows(registry_records_of(party).order_by("pk")),
        "desk_visits": _rows(desk_visits_of(party).order_by("pk")),
    }


def _p2p(party: Party) -> dict[str, Any]:
    from p2p_export.selectors import publications_of  # imports the CRM

    Profile = _model("p2p_export.Profile")
    publications = []
    for publication in publications_of(party).select_related("platform").order_by("pk"):
        profile = Profile.objects.filter(publication=publication).first()
        publications.append(
            {
                **snapshot(publication, ["id", "loan", "state", "platform_loan_id"]),
                "platform": publication.platform.name,
                "is_anonymised": publication.is_anonymised,
                "profile": snapshot(profile) if profile else None,
                "borrowers": _rows(publication.borrowers.order_by("pk")),
                "photos": [
                    {"id": photo.pk, "file": _file_meta(photo.processed or photo.original)}
                    for photo in publication.photos.order_by("pk")
                ],
            }
        )
    waivers = _documents(
        _model("p2p_export.Waiver").objects.filter(person_id=party.pk).order_by("pk"), "scan"
    )
    return {"publications": publications, "waivers": waivers}


def _collect(party: Party) -> dict[str, Any]:
    specific = party.specific
    record = {key: value for key, value in snapshot(specific).items() if key != "party_ptr"}
    identifiers = {
        "nif": party.nif,
        "social_security_number": party.social_security_number,
    }
    if party.kind == PartyKind.PERSON:
        identifiers["civil_id"] = specific.civil_id
    lead = Lead.objects.filter(party=party).first()
    return {
        "party": record,
        "identifiers": identifiers,
        "contacts": {
            "phone": party.phone,
            "email": party.email,
            "island": party.island,
            "municipality": party.municipality,
            "address": party.address,
        },
        "links": _rows(
            PartyLink.objects.filter(Q(from_party=party) | Q(to_party=party)).order_by("pk")
        ),
        "consents": _documents(Consent.objects.filter(party=party).order_by("pk"), "evidence"),
        "lead": snapshot(lead) if lead else None,
        "interactions": _rows(
            Interaction.objects.filter(party=party).order_by("occurred_at", "pk")
        ),
        "tasks": _rows(Task.objects.filter(party=party).order_by("due_date", "pk")),
        "loans": _loans(party),
        "guarantees": _rows(_model("loans.Guarantor").objects.filter(party=party).order_by("pk")),
        "coaching": _coaching(party),
        "learning": {"enrolments": _learning(party)},
        "compliance": _compliance(party),
        "p2p": _p2p(party),
        "erasure_requests": _rows(
            ErasureRequest.objects.filter(party_number=party.pk).order_by("pk")
        ),
    }


def _export_recorded(actor, party: Party, file_format: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=ACCESS_EXPORTED,
            target=_as_party(party),
            after={"format": file_format},
        )


def party_data_export(*, party: Party, actor) -> dict[str, Any]:
    """Every piece of personal data we hold about ``party`` across the apps, as a JSON-safe
    dict (dates ISO 8601, amounts as decimal strings, users and other objects as ids).
    The export is audited (``party.exported``)."""
    _require_export(actor, party)
    data = {
        "format": "mfi-personal-data-export/1",
        "generated_at": timezone.now().isoformat(),
        "generated_by": actor.username,
        **_collect(party),
    }
    _export_recorded(actor, party, "json")
    return data


def _pdf_sections(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The export as titled sections of records, each a list of (field, value) pairs."""

    def records(value) -> list[list[tuple[str, str]]]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        result = []
        for item in items:
            flat = [
                (key, "" if inner is None else str(inner))
                for key, inner in item.items()
                if not isinstance(inner, (list, dict))
            ]
            result.append(flat)
        return result

    titles = [
        ("party", _("Personal details")),
        ("identifiers", _("Identifiers")),
        ("contacts", _("Contacts and address")),
        ("links", _("Links to other parties")),
        ("consents", _("Consents")),
        ("lead", _("Sales pipeline")),
        ("interactions", _("Interactions")),
        ("tasks", _("Tasks")),
        ("guarantees", _("Guarantees given")),
        ("erasure_requests", _("Erasure requests")),
    ]
    sections = [{"title": title, "records": records(data[key])} for key, title in titles]
    for loan in data["loans"]:
        number = loan["number"]
        sections.append(
            {"title": _("Loan %(number)s") % {"number": number}, "records": records(loan)}
        )
        for key, title in (
            ("installments", _("Loan %(number)s: schedule")),
            ("transactions", _("Loan %(number)s: transactions")),
            ("guarantors", _("Loan %(number)s: guarantors")),
            ("collaterals", _("Loan %(number)s: collateral")),
            ("documents", _("Loan %(number)s: documents")),
        ):
            sections.append({"title": title % {"number": number}, "records": records(loan[key])})
    for engagement in data["coaching"]["engagements"]:
        sections.append({"title": _("Coaching engagement"), "records": records(engagement)})
        sections.append(
            {"title": _("Coaching sessions"), "records": records(engagement["sessions"])}
        )
    sections.append(
        {"title": _("Coaching invoices"), "records": records(data["coaching"]["invoices"])}
    )
    sections.append({"title": _("Learning"), "records": records(data["learning"]["enrolments"])})
    for key, title in (
        ("cases", _("Compliance cases")),
        ("follow_ups", _("Field follow-ups")),
        ("checks", _("Compliance checks")),
        ("registry_records", _("Registry records")),
        ("desk_visits", _("Service-desk visits")),
    ):
        sections.append({"title": title, "records": records(data["compliance"][key])})
    for publication in data["p2p"]["publications"]:
        sections.append({"title": _("P2P publication"), "records": records(publication)})
        sections.append({"title": _("P2P profile"), "records": records(publication["profile"])})
    sections.append({"title": _("P2P waivers"), "records": records(data["p2p"]["waivers"])})
    return sections


def party_data_export_pdf(*, party: Party, actor) -> bytes:
    """The same export as a PDF (WeasyPrint, the loan documents' page layout); audited."""
    from mfi.pdf import render_pdf

    _require_export(actor, party)
    data = _collect(party)
    pdf = render_pdf(
        "crm/privacy/export_pdf.html",
        {"party": party, "sections": _pdf_sections(data)},
        title=_("Personal data of party #%(number)s") % {"number": party.pk},
        user=actor,
    )
    _export_recorded(actor, party, "pdf")
    return pdf


# --- erasure ---------------------------------------------------------------------------------

# Loan statuses of a contract still running: the law keeps it and we still collect on it.
_OPEN_LOAN_STATUSES = ("submitted", "approved", "active", "overpaid")


def erased_name(party: Party) -> str:
    noun = "person" if party.kind == PartyKind.PERSON else "enterprise"
    return f"Erased {noun} #{party.pk}"


def is_erased(party: Party) -> bool:
    return party.display_name == erased_name(party)


def erasure_blockers(party: Party) -> list[str]:
    """Why this party cannot be erased now (empty when it can)."""
    Loan = _model("loans.Loan")
    Guarantor = _model("loans.Guarantor")
    problems = []
    numbers = list(
        Loan.objects.filter(borrower=party, status__in=_OPEN_LOAN_STATUSES)
        .order_by("pk")
        .values_list("number", flat=True)
    )
    if numbers:
        problems.append(
            _(
                "Loan %(numbers)s is still open: the law keeps the contract until it is closed. "
                "Erase the person once the loan is closed, or reject the request."
            )
            % {"numbers": ", ".join(numbers)}
        )
    if Guarantor.objects.filter(party=party, loan__status__in=_OPEN_LOAN_STATUSES).exists():
        problems.append(_("The person guarantees a loan that is still open."))
    return problems


def _has_financial_records(party: Party) -> bool:
    return (
        _model("loans.Loan").objects.filter(borrower=party).exists()
        or _model("loans.Guarantor").objects.filter(party=party).exists()
        or _model("coaching.CoachingInvoice").objects.filter(party=party).exists()
    )


def _withdraw_consents(party: Party) -> None:
    today = timezone.localdate()
    Consent.objects.filter(party=party, status=ConsentStatus.GIVEN, given_on__lte=today).update(
        status=ConsentStatus.WITHDRAWN, withdrawn_on=today
    )
    # A consent dated in the future (typed ahead) is withdrawn on its own date.
    Consent.objects.filter(party=party, status=ConsentStatus.GIVEN).update(
        status=ConsentStatus.WITHDRAWN, withdrawn_on=models.F("given_on")
    )


def _try_delete(party: Party) -> bool:
    """Delete the party and its CRM rows when nothing else must keep them; False otherwise."""
    try:
        with transaction.atomic():
            Task.objects.filter(party=party).delete()
            Interaction.objects.filter(party=party).delete()
            delete_files(Consent.objects.filter(party=party), "evidence")
            Party.objects.filter(pk=party.pk).delete()
    except (ProtectedError, IntegrityError):
        return False
    return True


def _anonymise_party(party: Party) -> None:
    """Clear the person's data everywhere, the party row last (the apps find some rows by
    its NIF and phone); loans, the ledger and the audit trail stay."""
    # the apps' services import the CRM: imported when an erasure runs
    from coaching.services import client_personal_data_erase
    from loans.services import borrower_personal_data_erase

    borrower_personal_data_erase(party)
    client_personal_data_erase(party)
    party_personal_data_erase(party)
    Person = _model("crm.Person")
    Enterprise = _model("crm.Enterprise")
    blank = dict.fromkeys(("nif", "social_security_number", "phone", "email"), "")
    blank.update({"municipality": "", "address": "", "display_name": erased_name(party)})
    if party.kind == PartyKind.PERSON:
        Person.objects.filter(pk=party.pk).update(
            first_name="Erased", last_name=f"person #{party.pk}", birth_date=None, civil_id=""
        )
    else:
        Enterprise.objects.filter(pk=party.pk).update(legal_name=erased_name(party), trade_name="")
    Party.objects.filter(pk=party.pk).update(**blank, updated_at=timezone.now())

    PartyLink.objects.filter(Q(from_party=party) | Q(to_party=party)).delete()
    consents = Consent.objects.filter(party=party)
    delete_files(consents, "evidence")
    consents.update(evidence="", notes="")
    Lead.objects.filter(party=party).delete()
    Interaction.objects.filter(party=party).update(summary=ERASED_TEXT, notes="")
    Task.objects.filter(party=party).update(title=ERASED_TEXT)


def _party_erase(*, actor, party: Party, reason: str) -> tuple[str, dict[str, int]]:
    """Erase one party's personal data (see the module docstring for what stays). Idempotent:
    an erased party is left alone. Must run inside a transaction."""
    from p2p_export.services import party_erasure_takedown  # imports the CRM

    locked = Party.objects.select_for_update().get(pk=party.pk)
    if is_erased(locked):
        return ErasureOutcome.ANONYMISED, {"publications": 0}
    _withdraw_consents(locked)
    publications = party_erasure_takedown(
        actor=actor, party=locked, reason=_("Erasure of the borrower's personal data.")
    )
    counts = {"publications": publications}
    if not _has_financial_records(locked) and _try_delete(locked):
        audit_record(
            actor=actor,
            action="party.erased",
            branch_id=locked.branch_id,
            after={
                "party_number": locked.pk,
                "reason": reason[:250],
                "outcome": ErasureOutcome.DELETED,
                **counts,
            },
        )
        return ErasureOutcome.DELETED, counts
    _anonymise_party(locked)
    locked.refresh_from_db()
    audit_record(
        actor=actor,
        action="party.erased",
        target=locked,
        after={"reason": reason[:250], "outcome": ErasureOutcome.ANONYMISED, **counts},
    )
    return ErasureOutcome.ANONYMISED, counts


@transaction.atomic
def party_erasure_request_create(*, actor, party: Party, reason: str) -> ErasureRequest:
    """Record a person's request to be erased. Reviewed later by someone else."""
    if not actor.has_capability(Capability.PARTY_EDIT):
        raise PermissionDenied(_("Your role may not record erasure requests."))
    _require_in_scope(actor, party.branch_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Write down what the person asked for and why.")})
    Party.objects.select_for_update().filter(pk=party.pk).first()
    if is_erased(party):
        raise ValidationError(_("This party has already been erased."))
    if ErasureRequest.objects.filter(party_number=party.pk, status=ErasureStatus.PENDING).exists():
        raise ValidationError(_("An erasure request for this party is already awaiting review."))
    request = ErasureRequest.objects.create(
        party=party,
        party_number=party.pk,
        branch_id=party.branch_id,
        reason=reason,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="erasure_request.created",
        target=request,
        after=snapshot(request, ["party_number", "status", "reason"]),
    )
    return request


def _lock_for_review(actor, request: ErasureRequest) -> ErasureRequest:
    if not can_approve_erasure(actor):
        raise PermissionDenied(_("Only a manager or an administrator may review erasure requests."))
    locked = ErasureRequest.objects.select_for_update().get(pk=request.pk)
    _require_in_scope(actor, locked.branch_id)
    if locked.requested_by_id == actor.pk:
        raise PermissionDenied(_("A request is reviewed by someone other than its requester."))
    return locked


@transaction.atomic
def party_erasure_request_approve(
    *, actor, request: ErasureRequest, note: str = ""
) -> ErasureRequest:
    """Approve and execute an erasure (four-eyes). Approving an executed request again changes
    nothing. Refused while the party has an open loan."""
    locked = _lock_for_review(actor, request)
    if locked.status == ErasureStatus.EXECUTED:
        return locked
    if locked.status != ErasureStatus.PENDING:
        raise ValidationError(_("This request has already been rejected."))
    if locked.party_id is not None:
        problems = erasure_blockers(locked.party)
        if problems:
            raise ValidationError(problems)
        outcome, counts = _party_erase(actor=actor, party=locked.party, reason=locked.reason)
    else:
        outcome, counts = ErasureOutcome.DELETED, {"publications": 0}
    now = timezone.now()
    locked.status = ErasureStatus.EXECUTED
    locked.outcome = outcome
    locked.reviewed_by = actor
    locked.reviewed_at = now
    locked.executed_at = now
    locked.review_note = note[:250]
    locked.save(
        update_fields=[
            "status",
            "outcome",
            "reviewed_by",
            "reviewed_at",
            "executed_at",
            "review_note",
        ]
    )
    if outcome == ErasureOutcome.DELETED:
        locked.party = None  # deleted with the party (SET NULL); the number stays
    audit_record(
        actor=actor,
        action="erasure_request.executed",
        target=locked,
        after={"outcome": outcome, **counts},
    )
    return locked


@transaction.atomic
def party_erasure_request_reject(*, actor, request: ErasureRequest, note: str) -> ErasureRequest:
    """Reject an erasure request, saying why (the person is told the reason)."""
    locked = _lock_for_review(actor, request)
    if locked.status != ErasureStatus.PENDING:
        raise ValidationError(_("Only a request awaiting review can be rejected."))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the request is rejected.")})
    locked.status = ErasureStatus.REJECTED
    locked.reviewed_by = actor
    locked.reviewed_at = timezone.now()
    locked.review_note = note[:250]
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    audit_record(
        actor=actor, action="erasure_request.rejected", target=locked, after={"note": note[:250]}
    )
    return locked


def erasure_requests_pending_for(user) -> QuerySet[ErasureRequest]:
    """Pending requests the user may review, oldest first."""
    if not can_approve_erasure(user):
        return ErasureRequest.objects.none()
    requests = ErasureRequest.objects.filter(status=ErasureStatus.PENDING).select_related(
        "party", "branch", "requested_by"
    )
    scope = user.branch_scope_ids()
    if scope is not None:
        requests = requests.filter(branch_id__in=scope)
    return requests.order_by("requested_at", "pk")


# --- retention -------------------------------------------------------------------------------


def _setting(name: str, default: int) -> int:
    # Declared in mfi/settings/base.py from the environment; the default covers older settings.
    return int(getattr(settings, name, default))


def _months_before(moment, months: int):
    """The same day ``months`` calendar months earlier (the month's last day when shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _retention_cutoffs(now: datetime.datetime) -> dict[str, Any]:
    today = timezone.localdate(now)
    return {
        "loans": _months_before(today, 12 * _setting("RETENTION_LOAN_RECORDS_YEARS", 10)),
        "leads": _months_before(now, _setting("RETENTION_LEADS_MONTHS", 24)),
        "desk": today - datetime.timedelta(days=_setting("RETENTION_DESK_VISITS_DAYS", 365)),
        "audit": _months_before(now, 12 * _setting("RETENTION_AUDIT_EVENTS_YEARS", 10)),
        "access": _months_before(now, _setting("RETENTION_ACCESS_LOG_MONTHS", 12)),
    }


def _expired_borrowers(cutoff: datetime.date) -> QuerySet[Party]:
    """Parties whose every loan ended before ``cutoff`` (closed, written off, rejected or
    withdrawn), who guarantee nothing still running, and who are not erased yet."""
    Loan = _model("loans.Loan")
    Guarantor = _model("loans.Guarantor")
    ended = (
        Loan.objects.values("borrower_id")
        .annotate(last=Max(Coalesce("closed_on", "approved_on", "submitted_on")))
        .filter(last__lt=cutoff)
        .values("borrower_id")
    )
    open_loans = Loan.objects.exclude(status__in=("closed", "written_off", "rejected", "withdrawn"))
    recent = Loan.objects.filter(
        Q(closed_on__gte=cutoff) | Q(closed_on__isnull=True, submitted_on__gte=cutoff)
    )
    return (
        Party.objects.filter(pk__in=ended)
        .exclude(pk__in=open_loans.values("borrower_id"))
        .exclude(pk__in=recent.values("borrower_id"))
        .exclude(pk__in=Guarantor.objects.filter(loan__in=open_loans).values("party_id"))
        .exclude(display_name__startswith="Erased ")
        .order_by("pk")
    )


def _expired_leads(cutoff: datetime.datetime) -> QuerySet[Party]:
    """Prospects whose lead never converted and has not moved since ``cutoff``, with no loan."""
    Loan = _model("loans.Loan")
    stale = Lead.objects.exclude(stage=LeadStage.CLIENT).filter(
        converted_at__isnull=True, stage_changed_at__lt=cutoff
    )
    return (
        Party.objects.filter(pk__in=stale.values("party_id"))
        .exclude(pk__in=Loan.objects.values("borrower_id"))
        .exclude(display_name__startswith="Erased ")
        .order_by("pk")
    )


def _audit_purge(events: QuerySet[AuditEvent]) -> int | None:
    """Delete expired audit events; None when the database's append-only trigger refuses."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL mfi.audit_retention_purge = 'on'")
            deleted, _by_model = events.delete()
    except DatabaseError:
        logger.warning("audit retention purge refused by the database (append-only trigger)")
        return None
    return deleted


def retention_apply(*, dry_run: bool = False, now: datetime.datetime | None = None) -> dict:
    """Anonymise or delete what is past its retention period (settings ``RETENTION_*``).
    Returns how many of each were (or, with ``dry_run``, would be) erased or deleted.
    Idempotent: a second run finds nothing more."""
    now = now or timezone.now()
    cutoffs = _retention_cutoffs(now)
    borrowers = list(_expired_borrowers(cutoffs["loans"]))
    leads = list(_expired_leads(cutoffs["leads"]))
    desk = (
        _model("compliance.DeskVisit")
        .objects.filter(business_date__lt=cutoffs["desk"])
        .exclude(visitor_name__in=("", ERASED_TEXT), visitor_phone="", notes="")
    )
    audit_events = AuditEvent.objects.filter(occurred_at__lt=cutoffs["audit"]).exclude(
        action__in=ACCESS_ACTIONS
    )
    access_events = AuditEvent.objects.filter(
        occurred_at__lt=cutoffs["access"], action__in=ACCESS_ACTIONS
    )
    result = {
        "borrowers_anonymised": len(borrowers),
        "leads_erased": len(leads),
        "desk_visits_anonymised": desk.count(),
        "audit_events_deleted": audit_events.count(),
        "access_events_deleted": access_events.count(),
    }
    if dry_run:
        return result
    # The audit trail first, so the erasures below keep their own fresh events.
    for key, events in (
        ("audit_events_deleted", audit_events),
        ("access_events_deleted", access_events),
    ):
        deleted = _audit_purge(events)
        result[key] = deleted if deleted is not None else 0
        if deleted is None:
            result.setdefault("refused", []).append(key)
    result["desk_visits_anonymised"] = desk_visits_anonymise(desk)
    reason = _("Retention period over.")
    for party in [*borrowers, *leads]:
        with transaction.atomic():
            _party_erase(actor=None, party=party, reason=reason)
    return result
