"""Every change to publications: selection, the profile, photos, waivers, validation, push,
status sync, withdrawal (takedown) and anonymisation.

Conventions of this module:
- ``actor=None`` means the scheduler (the hourly sync task or ``manage.py p2p_sync``); a person
  always passes themselves and needs P2P_MANAGE and the loan's branch in scope.
- ``publication_transition`` is the only way a publication changes state: it checks the move
  against ``PUBLICATION_TRANSITIONS``, writes a ``PublicationEvent`` and an audit event.
- Calls to a platform happen while the publication row is locked, inside the transaction that
  records the result: if the process dies between the call and the commit, nothing is recorded
  and the next push first asks the platform whether it already has our loan id, so it never
  creates a second draft.
- Service errors: ``ValidationError`` (keyed by profile field) for anything a person can fix;
  ``p2p_export.http.TransientError`` when the platform could not be reached (try again later).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from crm.choices import ConsentPurpose, ConsentStatus, Island
from crm.models import Consent, Enterprise, Party, Person
from loans.models import Loan
from mfi.money import round_money
from mfi.outbox import outbox_enqueue
from mfi.uploads import validate_upload
from p2p_export.choices import (
    EDITABLE_STATES,
    FINAL_STATES,
    ON_PLATFORM_STATES,
    PUBLICATION_ROAD,
    PUBLICATION_TRANSITIONS,
    JournalStatus,
    LookupKind,
    OutboxKind,
    OutboxStatus,
    PlatformKind,
    PublicationState,
)
from p2p_export.http import TransientError
from p2p_export.models import (
    OutboxMessage,
    Platform,
    PlatformLookup,
    Profile,
    Publication,
    PublicationBorrower,
    PublicationEvent,
    PublicationPhoto,
    Waiver,
)
from p2p_export.payload import draft_payload, payload_hash
from p2p_export.photos import process_photo
from p2p_export.platforms import adapter_for
from p2p_export.platforms.base import PlatformRefused, PlatformValidationError, RemoteLoan
from p2p_export.selectors import loan_terms_problems, publications_of
from p2p_export.validation import borrower_persons, profile_errors
from users.roles import Capability

S = PublicationState
# Profile fields staff edit (``profile_update``); the rest of the profile comes from the loan.
PROFILE_FIELDS = (
    "first_name",
    "story",
    "loan_use",
    "activity",
    "theme",
    "location",
    "coarse_location",
    "family_situation",
    "standard_of_living",
    "description_language",
    "group_name",
)
LOOKUP_FIELDS = ("activity", "theme", "location")


def _require(actor, capability: Capability = Capability.P2P_MANAGE) -> None:
    """``None`` is the scheduler; people need the capability."""
    if actor is not None and not actor.has_capability(capability):
        raise PermissionDenied(_("Your role may not do this."))


def _require_scope(actor, loan: Loan) -> None:
    if actor is None:
        return
    scope = actor.branch_scope_ids()
    if scope is not None and loan.branch_id not in scope:
        raise PermissionDenied(_("This loan is outside your scope."))


def _lock(publication: Publication) -> Publication:
    return (
        Publication.objects.select_for_update(of=("self",))
        .select_related("platform", "loan", "loan__borrower", "profile")
        .get(pk=publication.pk)
    )


def _event(publication, *, actor, action: str, note: str = "", from_state: str = "") -> None:
    PublicationEvent.objects.create(
        publication=publication,
        from_state=from_state or publication.state,
        to_state=publication.state,
        action=action,
        note=note[:500],
        actor=actor if getattr(actor, "pk", None) else None,
    )


def publication_transition(
    publication: Publication,
    to_state: str,
    *,
    actor,
    action: str,
    note: str = "",
    update_fields: tuple[str, ...] = (),
) -> Publication:
    """Move a publication along its state machine: check the move, save, write the history row
    and the audit event. The caller holds the row lock."""
    if to_state not in PUBLICATION_TRANSITIONS[publication.state]:
        raise ValidationError(
            _("A publication that is %(from)s cannot become %(to)s.")
            % {"from": publication.get_state_display(), "to": S(to_state).label}
        )
    before = publication.state
    publication.state = to_state
    publication.save(update_fields=["state", "updated_at", *update_fields])
    _event(publication, actor=actor, action=action, note=note, from_state=before)
    audit_record(
        actor=actor,
        action=f"p2p_publication.{action}",
        target=publication,
        branch_id=publication.loan.branch_id,
        before={"state": before},
        after={"state": to_state, **({"note": note[:250]} if note else {})},
    )
    return publication


def _walk_to(publication: Publication, target: str, *, actor, action: str, note: str = "") -> bool:
    """Advance along the road (pushed → … → ended) to ``target``, one recorded step at a time,
    or jump to an exit state (refunded, defaulted, withdrawn) where the map allows it."""
    if target == publication.state or not target or publication.state in FINAL_STATES:
        return False
    road = PUBLICATION_ROAD
    if target in road and publication.state in road:
        if road.index(target) < road.index(publication.state):
            return False
        for step in road[road.index(publication.state) + 1 : road.index(target) + 1]:
            publication_transition(publication, step, actor=actor, action=action, note=note)
        return True
    while target not in PUBLICATION_TRANSITIONS[publication.state]:
        if publication.state not in road or publication.state == road[-1]:
            return False
        step = road[road.index(publication.state) + 1]
        publication_transition(publication, step, actor=actor, action=action, note=note)
    publication_transition(publication, target, actor=actor, action=action, note=note)
    return True


def _editable(publication: Publication) -> None:
    if publication.state not in EDITABLE_STATES:
        raise ValidationError(
            _("The profile can no longer be changed: it is %(state)s.")
            % {"state": publication.get_state_display()}
        )


def _changed(publication: Publication, *, actor) -> None:
    """The profile changed: a push already attempted for this payload version needs a new
    version (a new idempotency key); a validated profile must be validated again."""
    if OutboxMessage.objects.filter(idempotency_key=publication.idempotency_key).exists():
        publication.payload_version = F("payload_version") + 1
        publication.save(update_fields=["payload_version", "updated_at"])
        publication.refresh_from_db(fields=["payload_version"])
    if publication.state in (S.SELECTED, S.VALIDATED):
        publication_transition(publication, S.PREPARED, actor=actor, action="prepared")


# --- eligibility and selection ----------------------------------------------------------------


def eligibility_problems(platform: Platform, loan: Loan) -> list[str]:
    """Why a loan may not be published on a platform (empty when it may)."""
    allowed = set(platform.allowed_products.values_list("pk", flat=True))
    problems = loan_terms_problems(platform, loan, allowed)
    persons = borrower_persons(loan)
    if not persons:
        problems.append(_("The borrowing enterprise has no owner on file to publish."))
    consenting = set(
        Consent.objects.filter(
            party_id__in=[p.pk for p in persons],
            purpose=ConsentPurpose.P2P_PUBLICATION,
            status=ConsentStatus.GIVEN,
        ).values_list("party_id", flat=True)
    )
    if persons and len(consenting) < len(persons):
        problems.append(_("No consent to P2P publication is on file for every borrower."))
    return problems


def _sector_of(loan: Loan) -> str:
    if loan.borrower.kind != "person":
        return Enterprise.objects.filter(pk=loan.borrower_id).values_list("sector", flat=True)[0]
    owned = Enterprise.objects.filter(
        links_to__from_party_id=loan.borrower_id, links_to__kind="owner"
    ).values_list("sector", flat=True)
    return owned[0] if owned else ""


def _lookup(platform: Platform, kind: str, **mapping) -> PlatformLookup | None:
    if not any(mapping.values()):
        return None
    return platform.lookups.filter(kind=kind, **mapping).order_by("name").first()


def _split(amount, count: int, currency: str) -> list:
    """Equal shares in the currency's unit; the first share takes the rounding remainder."""
    share = round_money(amount / count, currency) if count else amount
    return [amount - share * (count - 1)] + [share] * (count - 1)


@transaction.atomic
def publication_select(*, actor, platform: Platform, loan: Loan) -> Publication:
    """A manager selects an eligible loan for a platform: the publication and its profile are
    created, pre-filled from the borrower's record (first name, place, sector mapping)."""
    _require(actor)
    loan = Loan.objects.select_for_update().select_related("borrower").get(pk=loan.pk)
    _require_scope(actor, loan)
    if not platform.is_active:
        raise ValidationError({"platform": _("This platform is not active.")})
    problems = eligibility_problems(platform, loan)
    if problems:
        raise ValidationError({"loan": problems})
    if Publication.objects.filter(loan=loan, platform=platform).exists():
        raise ValidationError({"loan": _("This loan is already selected for this platform.")})
    persons = borrower_persons(loan)
    party: Party = loan.borrower
    try:
        with transaction.atomic():
            publication = Publication.objects.create(
                platform=platform, loan=loan, selected_by=actor
            )
    except IntegrityError as exc:  # a concurrent selection of the same loan won
        raise ValidationError(
            {"loan": _("This loan is already selected for this platform.")}
        ) from exc
    place = ", ".join(
        part
        for part in (party.municipality, Island(party.island).label if party.island else "")
        if part
    )
    Profile.objects.create(
        publication=publication,
        first_name=persons[0].first_name if len(persons) == 1 else "",
        loan_use=loan.purpose[:250],
        activity=_lookup(platform, LookupKind.ACTIVITY, sector=_sector_of(loan)),
        location=_lookup(platform, LookupKind.LOCATION, island=party.island),
        coarse_location=place[:120],
        description_language=platform.language,
        updated_by=actor,
    )
    for person, amount in zip(
        persons, _split(loan.principal, len(persons), loan.currency), strict=True
    ):
        PublicationBorrower.objects.create(
            publication=publication,
            person=person,
            first_name=person.first_name,
            last_name=person.last_name,
            gender=person.gender,
            amount=amount,
        )
    _event(publication, actor=actor, action="selected")
    audit_record(
        actor=actor,
        action="p2p_publication.selected",
        target=publication,
        branch_id=loan.branch_id,
        after={"platform": platform.code, "loan": loan.number, "state": publication.state},
    )
    return publication


# --- the profile, photos and waivers ---------------------------------------------------------


@transaction.atomic
def profile_update(*, actor, publication: Publication, data: dict) -> Profile:
    """Staff edit the profile (and the "not pictured" flag); the publication is then prepared
    (again) and must be validated before it can be pushed."""
    _require(actor)
    locked = _lock(publication)
    _require_scope(actor, locked.loan)
    _editable(locked)
    unknown = set(data) - set(PROFILE_FIELDS) - {"is_not_pictured"}
    if unknown:
        raise ValidationError(
            _("Unknown profile fields: %(fields)s.") % {"fields": sorted(unknown)}
        )
    profile = locked.profile
    for name in LOOKUP_FIELDS:
        value = data.get(name)
        if value is not None and value.platform_id != locked.platform_id:
            raise ValidationError({name: _("Choose from this platform's list.")})
    before = {**snapshot(profile, PROFILE_FIELDS), "is_not_pictured": locked.is_not_pictured}
    for name in PROFILE_FIELDS:
        if name in data:
            value = data[name]
            if name not in LOOKUP_FIELDS:
                value = (value or "").strip()
            setattr(profile, name, value)
    profile.updated_by = actor
    profile.full_clean(exclude=["publication", "updated_by"])
    profile.save()
    if "is_not_pictured" in data:
        locked.is_not_pictured = bool(data["is_not_pictured"])
        locked.save(update_fields=["is_not_pictured", "updated_at"])
    after = {**snapshot(profile, PROFILE_FIELDS), "is_not_pictured": locked.is_not_pictured}
    changed = [name for name in after if before[name] != after[name]]
    if changed or locked.state == S.SELECTED:
        _changed(locked, actor=actor)
    if changed:
        audit_record(
            actor=actor,
            action="p2p_profile.updated",
            target=locked,
            branch_id=locked.loan.branch_id,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    return profile


@transaction.atomic
def publication_borrower_update(
    *, actor, borrower: PublicationBorrower, amount=None, is_pictured: bool | None = None
) -> PublicationBorrower:
    """Change a borrower's share of the loan or whether they are pictured (group loans)."""
    _require(actor)
    locked = _lock(borrower.publication)
    _require_scope(actor, locked.loan)
    _editable(locked)
    row = PublicationBorrower.objects.select_for_update().get(pk=borrower.pk)
    before = snapshot(row, ["amount", "is_pictured"])
    if amount is not None:
        if amount < 0 or round_money(amount, locked.loan.currency) != amount:
            raise ValidationError({"amount": _("Enter a positive amount in the loan's currency.")})
        row.amount = amount
    if is_pictured is not None:
        row.is_pictured = is_pictured
    row.save(update_fields=["amount", "is_pictured"])
    _changed(locked, actor=actor)
    audit_record(
        actor=actor,
        action="p2p_profile.borrower_updated",
        target=locked,
        branch_id=locked.loan.branch_id,
        before=before,
        after=snapshot(row, ["amount", "is_pictured"]),
    )
    return row


@transaction.atomic
def photo_add(*, actor, publication: Publication, file, person: Person | None = None):
    """Add a photo: the original is kept private, the processed copy (no metadata, upright,
    the platform's size, JPEG) becomes the main photo."""
    _require(actor)
    locked = _lock(publication)
    _require_scope(actor, locked.loan)
    _editable(locked)
    file.seek(0)
    data = file.read()
    processed = process_photo(
        data, width=locked.platform.photo_width, height=locked.platform.photo_height
    )
    if person is None:
        first = locked.borrowers.order_by("pk").first()
        person = first.person if first else None
    locked.photos.update(is_primary=False)
    name = uuid.uuid4().hex
    photo = PublicationPhoto(
        publication=locked,
        person=person,
        width=locked.platform.photo_width,
        height=locked.platform.photo_height,
        uploaded_by=actor,
    )
    photo.original.save(f"{name}.orig", ContentFile(data), save=False)
    photo.processed.save(f"{name}.jpg", ContentFile(processed), save=False)
    photo.save()
    _changed(locked, actor=actor)
    audit_record(
        actor=actor,
        action="p2p_photo.added",
        target=locked,
        branch_id=locked.loan.branch_id,
        after={"photo": photo.pk, "person": person.pk if person else None},
    )
    return photo


@transaction.atomic
def waiver_add(*, actor, loan: Loan, person: Person, signed_on: datetime.date, scan) -> Waiver:
    """File the signed publication waiver of one person for one loan (scan: PDF, PNG, JPEG)."""
    _require(actor)
    _require_scope(actor, loan)
    if signed_on > timezone.localdate():
        raise ValidationError({"signed_on": _("A waiver cannot be signed in the future.")})
    validate_upload(scan)
    Loan.objects.select_for_update().filter(pk=loan.pk).first()
    if Waiver.objects.filter(loan=loan, person=person, withdrawn_on__isnull=True).exists():
        raise ValidationError(
            {"person": _("A signed waiver of this person is already on file for this loan.")}
        )
    waiver = Waiver.objects.create(
        loan=loan, person=person, signed_on=signed_on, scan=scan, recorded_by=actor
    )
    audit_record(
        actor=actor,
        action="p2p_waiver.added",
        target=waiver,
        branch_id=loan.branch_id,
        after=snapshot(waiver, ["loan", "person", "signed_on"]),
    )
    return waiver


@transaction.atomic
def waiver_withdraw(*, actor, waiver: Waiver, withdrawn_on: datetime.date) -> Waiver:
    """The person withdraws the waiver: every publication of the loan is taken down and our
    copy anonymised."""
    _require(actor)
    locked = Waiver.objects.select_for_update().select_related("loan").get(pk=waiver.pk)
    _require_scope(actor, locked.loan)
    if locked.withdrawn_on is not None:
        raise ValidationError(_("This waiver has already been withdrawn."))
    if withdrawn_on < locked.signed_on:
        raise ValidationError({"withdrawn_on": _("Withdrawal cannot be before the signature.")})
    locked.withdrawn_on = withdrawn_on
    locked.save(update_fields=["withdrawn_on"])
    audit_record(
        actor=actor,
        action="p2p_waiver.withdrawn",
        target=locked,
        branch_id=locked.loan.branch_id,
        after={"withdrawn_on": withdrawn_on.isoformat()},
    )
    for publication in locked.loan.publications.exclude(state__in=FINAL_STATES):
        _withdraw(
            publication, actor=actor, reason=_("Waiver withdrawn by the borrower."), anonymise=True
        )
    return locked


# --- validation and push ------------------------------------------------------------------------


def _store_errors(publication: Publication, errors: dict, message: str = "") -> None:
    publication.field_errors = errors
    publication.last_error = message or "; ".join(
        " ".join(value) if key == "__all__" else f"{key}: {' '.join(value)}"
        for key, value in errors.items()
    )
    publication.save(update_fields=["field_errors", "last_error", "updated_at"])


def publication_validate(*, actor, publication: Publication) -> Publication:
    """Check the profile against the platform's rules and the consent gate. Failures are stored
    on the publication (shown on the profile) and raised as a field-keyed ValidationError;
    success moves it to validated."""
    _require(actor)
    with transaction.atomic():
        locked = _lock(publication)
        _require_scope(actor, locked.loan)
        if locked.state not in (S.SELECTED, S.PREPARED, S.VALIDATED):
            raise ValidationError(
                _("Only a profile not yet pushed can be validated; this one is %(state)s.")
                % {"state": locked.get_state_display()}
            )
        errors = profile_errors(locked)
        _store_errors(locked, errors)
        if not errors:
            if locked.state == S.SELECTED:
                publication_transition(locked, S.PREPARED, actor=actor, action="prepared")
            if locked.state == S.PREPARED:
                publication_transition(locked, S.VALIDATED, actor=actor, action="validated")
    if errors:
        raise ValidationError(errors)
    return locked


@dataclass
class PushOutcome:
    """What a push did. ``payload`` is exactly what was (or, in a dry run, would be) sent."""

    publication: Publication
    payload: dict
    payload_hash: str
    sent: bool = False
    found_existing: bool = False
    queued: bool = False
    errors: dict = field(default_factory=dict)


def _outbox_claim(publication, *, kind: str, key: str, digest: str = "") -> OutboxMessage:
    message, _created = OutboxMessage.objects.select_for_update().get_or_create(
        idempotency_key=key,
        defaults={
            "platform": publication.platform,
            "publication": publication,
            "kind": kind,
            "payload_hash": digest,
        },
    )
    message.attempts = F("attempts") + 1
    message.save(update_fields=["attempts"])
    message.refresh_from_db(fields=["attempts"])
    return message


def _outbox_done(message: OutboxMessage, *, response: dict | None = None) -> None:
    message.status = OutboxStatus.SENT
    message.sent_at = timezone.now()
    message.last_error = ""
    message.response = response
    message.save(update_fields=["status", "sent_at", "last_error", "response"])


def _outbox_failed(message: OutboxMessage, problem: str, *, final: bool) -> None:
    message.last_error = problem[:2000]
    if final:
        message.status = OutboxStatus.FAILED
    message.save(update_fields=["last_error", "status"])


def _apply_remote(publication: Publication, remote: RemoteLoan, *, actor, action: str) -> bool:
    """Record the platform's ids, status and funded amount; follow its status in our state
    machine. Returns whether the state changed."""
    updates = {"last_synced_at": timezone.now()}
    if remote.draft_id:
        updates["platform_draft_id"] = remote.draft_id
    if remote.loan_id:
        updates["platform_loan_id"] = remote.loan_id
    if remote.status:
        updates["platform_status"] = remote.status[:40]
    if remote.funded_amount is not None:
        updates["funded_amount"] = remote.funded_amount
    for name, value in updates.items():
        setattr(publication, name, value)
    publication.save(update_fields=[*updates, "updated_at"])
    note = _("Platform status: %(status)s") % {"status": remote.status} if remote.status else ""
    changed = _walk_to(publication, remote.state, actor=actor, action=action, note=note)
    if changed and publication.state == S.DEFAULTED and publication.platform.anonymises_defaulted:
        _anonymise(publication, actor=actor, reason=_("Defaulted loan."), on_platform=True)
    return changed


def publication_push(*, actor, publication: Publication, dry_run: bool = False) -> PushOutcome:
    """Send a validated profile to its platform, once.

    Idempotent: a publication already pushed is left alone, and the platform is asked for our
    internal loan id before a draft is created. The outbox row is keyed by loan + platform +
    payload version. A dry run sends and records nothing and returns the exact payload (with
    the validation errors, if any). File platforms queue the profile for the next package.
    """
    _require(actor)
    if dry_run:
        current = Publication.objects.select_related("platform", "loan", "profile").get(
            pk=publication.pk
        )
        _require_scope(actor, current.loan)
        payload = draft_payload(current)
        return PushOutcome(current, payload, payload_hash(payload), errors=profile_errors(current))
    problem: Exception | None = None
    with transaction.atomic():
        locked = _lock(publication)
        _require_scope(actor, locked.loan)
        if locked.state in ON_PLATFORM_STATES or locked.state in FINAL_STATES:
            return PushOutcome(locked, {}, locked.last_pushed_hash)
        if locked.state != S.VALIDATED:
            raise ValidationError(_("Validate the profile before pushing it."))
        errors = profile_errors(locked)
        if errors:  # something changed since validation (a consent withdrawn, say)
            _store_errors(locked, errors)
            publication_transition(locked, S.PREPARED, actor=actor, action="push_refused")
            problem = ValidationError(errors)
        else:
            payload = draft_payload(locked)
            digest = payload_hash(payload)
            message = _outbox_claim(
                locked, kind=OutboxKind.DRAFT, key=locked.idempotency_key, digest=digest
            )
            try:
                result = adapter_for(locked.platform).push_draft(
                    internal_loan_id=locked.internal_loan_id, payload=payload
                )
            except PlatformValidationError as exc:
                _outbox_failed(message, str(exc), final=True)
                _store_errors(locked, exc.errors)
                publication_transition(
                    locked, S.PREPARED, actor=actor, action="push_refused", note=str(exc)
                )
                problem = ValidationError(exc.errors)
            except (PlatformRefused, TransientError) as exc:
                _outbox_failed(message, str(exc), final=isinstance(exc, PlatformRefused))
                _store_errors(locked, {"__all__": [str(exc)]})
                _event(locked, actor=actor, action="push_failed", note=str(exc))
                problem = exc
            else:
                locked.last_pushed_hash = digest
                locked.pushed_at = timezone.now()
                locked.field_errors = {}
                locked.last_error = ""
                publication_transition(
                    locked,
                    S.PUSHED,
                    actor=actor,
                    action="pushed",
                    note=_("Found already on the platform.") if result.found_existing else "",
                    update_fields=("last_pushed_hash", "pushed_at", "field_errors", "last_error"),
                )
                if not result.queued:
                    _outbox_done(message, response={"draft_id": result.remote.draft_id})
                    _apply_remote(locked, result.remote, actor=actor, action="status_synced")
                return PushOutcome(
                    locked,
                    payload,
                    digest,
                    sent=not result.queued,
                    found_existing=result.found_existing,
                    queued=result.queued,
                )
    if isinstance(problem, PlatformRefused):
        raise ValidationError({"__all__": [str(problem)]})
    raise problem


def publication_push_request(*, actor, publication: Publication) -> None:
    """Queue the push as a Celery task, through the task outbox (sent once this transaction
    commits; kept and sent later if the broker is down)."""
    _require(actor)
    _require_scope(actor, publication.loan)
    if publication.state != S.VALIDATED:
        raise ValidationError(_("Validate the profile before pushing it."))
    from p2p_export.tasks import push_publication

    actor_id = actor.pk if actor is not None else None
    outbox_enqueue(push_publication, publication.pk, actor_id)


# --- status, takedown, anonymisation -----------------------------------------------------------


def publication_sync_status(
    *, actor, publication: Publication, remote: RemoteLoan | None = None
) -> bool:
    """Ask the platform (unless ``remote`` is given) how the loan stands and follow it.
    Returns whether the state changed."""
    _require(actor)
    if remote is None:
        adapter = adapter_for(publication.platform)
        remote = adapter.loan_statuses([publication.internal_loan_id]).get(
            publication.internal_loan_id
        )
        if remote is None:
            return False
    with transaction.atomic():
        locked = _lock(publication)
        _require_scope(actor, locked.loan)
        if locked.state in FINAL_STATES:
            return False
        return _apply_remote(locked, remote, actor=actor, action="status_synced")


def platform_status_sync(*, actor, platform: Platform) -> int:
    """Poll the platform for every publication it holds; returns how many changed state."""
    _require(actor)
    publications = list(
        Publication.objects.filter(platform=platform, state__in=ON_PLATFORM_STATES).select_related(
            "loan"
        )
    )
    if not publications:
        return 0
    remotes = adapter_for(platform).loan_statuses([p.internal_loan_id for p in publications])
    return sum(
        publication_sync_status(actor=actor, publication=p, remote=remotes[p.internal_loan_id])
        for p in publications
        if p.internal_loan_id in remotes
    )


@transaction.atomic
def return_file_import(*, actor, platform: Platform, content: bytes) -> dict[str, int]:
    """Apply a file platform's return file of status changes. Lines for loans we never
    published on this platform are counted as unknown, not applied."""
    from p2p_export.platforms.files import parse_return_file

    _require(actor)
    try:
        remotes = parse_return_file(content)
    except PlatformValidationError as exc:
        raise ValidationError(exc.errors) from exc
    by_number = {
        p.internal_loan_id: p
        for p in Publication.objects.filter(
            platform=platform, loan__number__in=list(remotes)
        ).select_related("loan")
    }
    counts = {"changed": 0, "unchanged": 0, "unknown": 0}
    for internal, remote in remotes.items():
        publication = by_number.get(internal)
        if publication is None:
            counts["unknown"] += 1
        elif publication_sync_status(actor=actor, publication=publication, remote=remote):
            counts["changed"] += 1
        else:
            counts["unchanged"] += 1
    audit_record(
        actor=actor, action="p2p_platform.return_file_imported", target=platform, after=counts
    )
    return counts


def _queue(publication: Publication, kind: str) -> OutboxMessage:
    """A takedown or anonymisation request to send (API platforms: by the outbox sender after
    commit; file platforms: in the next package)."""
    key = f"{kind}:{publication.platform.code}:{publication.loan_id}"
    message, _created = OutboxMessage.objects.get_or_create(
        idempotency_key=key,
        defaults={"platform": publication.platform, "publication": publication, "kind": kind},
    )
    if publication.platform.kind != PlatformKind.FILES:
        from p2p_export.tasks import send_outbox_message

        outbox_enqueue(send_outbox_message, message.pk)
    return message


def _anonymise(publication: Publication, *, actor, reason: str, on_platform: bool) -> None:
    """Our copy keeps no personal detail: names, story, family and living situation cleared,
    photos (originals and copies) deleted, unsent news discarded. Waiver scans stay: they are
    the evidence of what the person agreed to."""
    if publication.is_anonymised:
        return
    Profile.objects.filter(publication=publication).update(
        first_name="", story="", family_situation="", standard_of_living="", group_name=""
    )
    publication.borrowers.update(first_name="", last_name="")
    for photo in publication.photos.all():
        photo.original.delete(save=False)
        photo.processed.delete(save=False)
        photo.delete()
    publication.journals.exclude(status=JournalStatus.SENT).update(
        status=JournalStatus.DISCARDED, subject="—", body="", image=""
    )
    publication.is_anonymised = True
    publication.anonymised_at = timezone.now()
    publication.save(update_fields=["is_anonymised", "anonymised_at", "updated_at"])
    if on_platform and publication.platform.anonymises_defaulted:
        _queue(publication, OutboxKind.ANONYMISE)
    _event(publication, actor=actor, action="anonymised", note=reason)
    audit_record(
        actor=actor,
        action="p2p_publication.anonymised",
        target=publication,
        branch_id=publication.loan.branch_id,
        after={"reason": reason[:250], "on_platform": on_platform},
    )


def _withdraw(publication: Publication, *, actor, reason: str, anonymise: bool) -> Publication:
    locked = _lock(publication)
    was_on_platform = locked.state in ON_PLATFORM_STATES
    publication_transition(locked, S.WITHDRAWN, actor=actor, action="withdrawn", note=reason)
    if was_on_platform:
        _queue(locked, OutboxKind.TAKEDOWN)
    if anonymise:
        _anonymise(locked, actor=actor, reason=reason, on_platform=was_on_platform)
    return locked


@transaction.atomic
def publication_withdraw(
    *, actor, publication: Publication, reason: str, anonymise: bool = False
) -> Publication:
    """Take a profile down: withdrawn here, and a takedown request to the platform when it
    holds a copy. ``anonymise`` (consent withdrawn) also anonymises our copy and asks the
    platform to anonymise its own."""
    _require(actor)
    _require_scope(actor, publication.loan)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the profile is withdrawn.")})
    return _withdraw(publication, actor=actor, reason=reason, anonymise=anonymise)


@transaction.atomic
def borrower_anonymise(*, actor, publication: Publication, reason: str) -> Publication:
    """Anonymise a borrower here and, when the platform allows it, on the platform (defaulted
    or late borrowers)."""
    _require(actor)
    locked = _lock(publication)
    _require_scope(actor, locked.loan)
    on_platform = bool(locked.platform_draft_id or locked.platform_loan_id)
    _anonymise(locked, actor=actor, reason=reason, on_platform=on_platform)
    return locked


def _consent_lost(publication: Publication, person_id: int) -> bool:
    """Whether ``person_id`` withdrew what this publication relies on: their P2P consent (a
    borrower), their photo consent (pictured), or their waiver for the loan."""
    borrower = publication.borrowers.filter(person_id=person_id).exists()
    pictured = not publication.is_not_pictured and (
        publication.borrowers.filter(person_id=person_id, is_pictured=True).exists()
        or publication.photos.filter(person_id=person_id).exists()
    )
    given = set(
        Consent.objects.filter(party_id=person_id, status=ConsentStatus.GIVEN).values_list(
            "purpose", flat=True
        )
    )
    if borrower and ConsentPurpose.P2P_PUBLICATION not in given:
        return True
    if pictured and ConsentPurpose.PHOTO_PUBLICATION not in given:
        return True
    waivers = Waiver.objects.filter(loan_id=publication.loan_id, person_id=person_id)
    return waivers.exists() and not waivers.filter(withdrawn_on__isnull=True).exists()


@transaction.atomic
def consent_withdrawal_apply(*, actor, party: Party) -> list[Publication]:
    """A party withdrew consent to P2P publication (or to their photo, or their waiver): every
    live publication they are a borrower of, or pictured in, is taken down and anonymised.

    A consequence of the withdrawal, not a P2P decision: whoever may record the withdrawal
    triggers it (no P2P capability needed). To be called by ``crm.services.consent_withdraw``;
    the hourly sync also sweeps for it."""
    live = Publication.objects.exclude(state__in=FINAL_STATES)
    publications = (
        live.filter(borrowers__person_id=party.pk) | live.filter(photos__person_id=party.pk)
    ).distinct()
    withdrawn = []
    for publication in publications.order_by("pk"):
        if _consent_lost(publication, party.pk):
            reason = _("Consent withdrawn by the borrower.")
            withdrawn.append(_withdraw(publication, actor=actor, reason=reason, anonymise=True))
    return withdrawn


def party_erasure_takedown(*, actor, party: Party, reason: str) -> int:
    """The person's data is erased (``crm.privacy``): their P2P consents and waivers are
    withdrawn, every live profile taken down (a takedown request to the platform when it holds
    a copy) and our copy of every finished one anonymised. Returns the publications handled."""
    today = timezone.localdate()
    Waiver.objects.filter(
        person_id=party.pk, withdrawn_on__isnull=True, signed_on__lte=today
    ).update(withdrawn_on=today)
    consent_withdrawal_apply(actor=actor, party=party)
    count = 0
    for publication in publications_of(party).select_related("platform", "loan").order_by("pk"):
        if publication.state not in FINAL_STATES:  # an enterprise's loan: no consent of its own
            _withdraw(publication, actor=actor, reason=reason, anonymise=True)
            publication.refresh_from_db()
        if not publication.is_anonymised:
            on_platform = bool(publication.platform_draft_id or publication.platform_loan_id)
            _anonymise(publication, actor=actor, reason=reason, on_platform=on_platform)
        count += 1
    return count


def consent_sweep(*, actor, platform: Platform) -> int:
    """Withdraw every live publication of a platform whose borrower or pictured person has
    withdrawn a consent or waiver (never merely missing ones: those only block the push)."""
    live = Publication.objects.filter(platform=platform).exclude(state__in=FINAL_STATES)
    people = set(
        PublicationBorrower.objects.filter(publication__in=live).values_list("person_id", flat=True)
    ) | set(
        PublicationPhoto.objects.filter(publication__in=live, person__isnull=False).values_list(
            "person_id", flat=True
        )
    )
    lapsed = set(
        Consent.objects.filter(party_id__in=people, status=ConsentStatus.WITHDRAWN).values_list(
            "party_id", flat=True
        )
    ) | set(
        Waiver.objects.filter(person_id__in=people, withdrawn_on__isnull=False).values_list(
            "person_id", flat=True
        )
    )
    count = 0
    for party in Party.objects.filter(pk__in=lapsed).order_by("pk"):
        withdrawn = consent_withdrawal_apply(actor=actor, party=party)
        count += sum(1 for publication in withdrawn if publication.platform_id == platform.pk)
    return count


@transaction.atomic
def outbox_send(*, message: OutboxMessage) -> OutboxMessage:
    """Send one pending takedown or anonymisation request to an API platform (idempotent: the
    message's key travels as the Idempotency-Key; a sent message is left alone)."""
    locked = (
        OutboxMessage.objects.select_for_update(of=("self",))
        .select_related("platform", "publication", "publication__loan")
        .get(pk=message.pk)
    )
    if locked.status != OutboxStatus.PENDING or locked.publication is None:
        return locked
    if locked.platform.kind == PlatformKind.FILES:
        return locked  # goes out with the next package
    adapter = adapter_for(locked.platform)
    publication = locked.publication
    remote = RemoteLoan(
        draft_id=publication.platform_draft_id,
        loan_id=publication.platform_loan_id,
        internal_loan_id=publication.internal_loan_id,
    )
    locked.attempts = F("attempts") + 1
    locked.save(update_fields=["attempts"])
    send = (
        adapter.request_takedown
        if locked.kind == OutboxKind.TAKEDOWN
        else adapter.request_anonymisation
    )
    try:
        result = send(remote, key=locked.idempotency_key)
    except TransientError as exc:
        _outbox_failed(locked, str(exc), final=False)
        return locked
    except (PlatformRefused, PlatformValidationError) as exc:
        _outbox_failed(locked, str(exc), final=True)
        return locked
    _outbox_done(locked, response={"references": result.references})
    audit_record(
        actor=None,
        action=f"p2p_publication.{locked.kind}_sent",
        target=publication,
        branch_id=publication.loan.branch_id,
        after={"key": locked.idempotency_key},
    )
    return locked


# --- lookups ---------------------------------------------------------------------------------


@transaction.atomic
def lookups_refresh(*, actor, platform: Platform) -> int:
    """Fetch the platform's lookup lists into the cache table; our sector and island mappings
    of entries already known are kept. Returns how many entries the platform listed."""
    _require(actor)
    entries = adapter_for(platform).lookups()
    for entry in entries:
        PlatformLookup.objects.update_or_create(
            platform=platform,
            kind=entry.kind,
            external_id=entry.external_id,
            defaults={"name": entry.name},
        )
    audit_record(
        actor=actor,
        action="p2p_platform.lookups_refreshed",
        target=platform,
        after={"entries": len(entries)},
    )
    return len(entries)


@transaction.atomic
def lookup_map(
    *, actor, lookup: PlatformLookup, sector: str = "", island: str = ""
) -> PlatformLookup:
    """Map a platform lookup entry to our sector (activities) or island (locations)."""
    _require(actor)
    locked = PlatformLookup.objects.select_for_update().get(pk=lookup.pk)
    before = snapshot(locked, ["sector", "island"])
    locked.sector, locked.island = sector, island
    locked.full_clean(exclude=["platform"])
    locked.save(update_fields=["sector", "island"])
    audit_record(
        actor=actor,
        action="p2p_platform.lookup_mapped",
        target=locked.platform,
        before=before,
        after=snapshot(locked, ["sector", "island"]),
    )
    return locked
