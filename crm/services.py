"""Every change to parties, their links and consents. Each is atomic and leaves an audit event."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from crm.choices import ConsentPurpose, ConsentStatus, LinkKind, PartyKind
from crm.identifiers import (
    normalise_civil_id,
    normalise_nif,
    normalise_phone,
    normalise_social_security_number,
)
from crm.models import Consent, Enterprise, Party, PartyLink, Person
from users.models import Branch
from users.roles import Capability

_NORMALISERS = {
    "nif": normalise_nif,
    "social_security_number": normalise_social_security_number,
    "civil_id": normalise_civil_id,
    "phone": normalise_phone,
}
# Which model holds each unique identifier, for the duplicate check.
_UNIQUE_IDENTIFIERS = {"nif": Party, "social_security_number": Party, "civil_id": Person}
_CONSTRAINT_FIELDS = {
    "crm_party_unique_nif": "nif",
    "crm_party_unique_social_security_number": "social_security_number",
    "crm_person_unique_civil_id": "civil_id",
}


def _require_edit(actor, branch: Branch | None = None) -> None:
    if not actor.has_capability(Capability.PARTY_EDIT):
        raise PermissionDenied(_("Your role may not change parties."))
    if branch is not None:
        scope = actor.branch_scope_ids()
        if scope is not None and branch.pk not in scope:
            raise PermissionDenied(_("This branch is outside your scope."))


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(data)
    errors = {}
    for field, normalise in _NORMALISERS.items():
        if field in cleaned:
            try:
                cleaned[field] = normalise(cleaned[field] or "")
            except ValidationError as exc:
                errors[field] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_identifiers_free(data: dict[str, Any], exclude_pk: int | None) -> None:
    errors = {}
    for field, model in _UNIQUE_IDENTIFIERS.items():
        value = data.get(field)
        if not value:
            continue
        clash = model.objects.filter(**{field: value}).exclude(pk=exclude_pk).first()
        if clash is not None:
            errors[field] = _("Already registered for another party (%(number)s).") % {
                "number": f"#{clash.pk}"
            }
    if errors:
        raise ValidationError(errors)


def _display_name(kind: str, values: dict[str, Any]) -> str:
    if kind == PartyKind.PERSON:
        return f"{values['first_name']} {values['last_name']}".strip()
    return values.get("trade_name") or values["legal_name"]


def _save_party(instance: Party, data: dict[str, Any], exclude_pk: int | None) -> None:
    data = _normalised(data)
    _check_identifiers_free(data, exclude_pk)
    for field, value in data.items():
        setattr(instance, field, value)
    instance.display_name = _display_name(instance.kind, {**snapshot(instance), **data})[:200]
    try:
        with transaction.atomic():
            instance.full_clean(exclude=["kind", "display_name"], validate_unique=False)
            instance.save()
    except IntegrityError as exc:
        # Lost a race against a concurrent registration of the same identifier.
        for constraint, field in _CONSTRAINT_FIELDS.items():
            if constraint in str(exc):
                raise ValidationError({field: _("Already registered for another party.")}) from exc
        raise


def _party_create(model: type[Party], kind: str, *, actor, data: dict[str, Any]) -> Party:
    _require_edit(actor, data.get("branch"))
    instance = model(kind=kind, created_by=actor)
    if actor.sees_assigned_only and not data.get("assigned_to"):
        data = {**data, "assigned_to": actor}  # so a field agent or coach keeps seeing it
    _save_party(instance, data, exclude_pk=None)
    audit_record(actor=actor, action=f"{kind}.created", target=instance, after=snapshot(instance))
    return instance


def _party_update(model: type[Party], *, actor, party: Party, data: dict[str, Any]) -> Party:
    locked = model.objects.select_for_update().get(pk=party.pk)
    _require_edit(actor, locked.branch)
    if "branch" in data:
        _require_edit(actor, data["branch"])
    before = snapshot(locked)
    _save_party(locked, data, exclude_pk=locked.pk)
    after = snapshot(locked)
    changed = [field for field in after if field != "updated_at" and before[field] != after[field]]
    if changed:
        audit_record(
            actor=actor,
            action=f"{locked.kind}.updated",
            target=locked,
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
        )
    return locked


@transaction.atomic
def person_create(*, actor, data: dict[str, Any]) -> Person:
    return _party_create(Person, PartyKind.PERSON, actor=actor, data=data)


@transaction.atomic
def person_update(*, actor, person: Person, data: dict[str, Any]) -> Person:
    return _party_update(Person, actor=actor, party=person, data=data)


@transaction.atomic
def enterprise_create(*, actor, data: dict[str, Any]) -> Enterprise:
    return _party_create(Enterprise, PartyKind.ENTERPRISE, actor=actor, data=data)


@transaction.atomic
def enterprise_update(*, actor, enterprise: Enterprise, data: dict[str, Any]) -> Enterprise:
    return _party_update(Enterprise, actor=actor, party=enterprise, data=data)


@transaction.atomic
def party_link_create(*, actor, from_party: Party, to_party: Party, kind: str) -> PartyLink:
    """Link two parties ("from_party is <kind> of to_party")."""
    _require_edit(actor, from_party.branch)
    if from_party.pk == to_party.pk:
        raise ValidationError({"to_party": _("A party cannot be linked to itself.")})
    if kind not in LinkKind.values:
        raise ValidationError({"kind": _("Unknown relation.")})
    if kind in {LinkKind.OWNER, LinkKind.EMPLOYEE} and to_party.kind != PartyKind.ENTERPRISE:
        raise ValidationError({"to_party": _("Owners and employees are linked to an enterprise.")})
    link, created = PartyLink.objects.get_or_create(
        from_party=from_party, to_party=to_party, kind=kind
    )
    if created:
        audit_record(
            actor=actor,
            action="party_link.created",
            target=link,
            branch_id=from_party.branch_id,
            after=snapshot(link),
        )
    return link


@transaction.atomic
def party_link_delete(*, actor, link: PartyLink) -> None:
    _require_edit(actor, link.from_party.branch)
    audit_record(
        actor=actor,
        action="party_link.deleted",
        target=link,
        branch_id=link.from_party.branch_id,
        before=snapshot(link),
    )
    link.delete()


@transaction.atomic
def consent_record(
    *, actor, party: Party, purpose: str, given_on: datetime.date, evidence=None, notes: str = ""
) -> Consent:
    """Record a consent given by the party. A purpose has at most one active consent."""
    _require_edit(actor, party.branch)
    Party.objects.select_for_update().filter(pk=party.pk).first()
    if party.consents.filter(purpose=purpose, status=ConsentStatus.GIVEN).exists():
        raise ValidationError({"purpose": _("A consent for this purpose is already on file.")})
    consent = Consent(
        party=party, purpose=purpose, given_on=given_on, notes=notes, recorded_by=actor
    )
    if evidence is not None:
        consent.evidence = evidence
    consent.full_clean(exclude=["party", "recorded_by"])
    consent.save()
    audit_record(
        actor=actor,
        action="consent.given",
        target=consent,
        branch_id=party.branch_id,
        after=snapshot(consent),
    )
    return consent


@transaction.atomic
def consent_withdraw(*, actor, consent: Consent, withdrawn_on: datetime.date) -> Consent:
    """The party withdraws a consent; whatever relied on it stops (P2P profiles are taken down)."""
    locked = (
        Consent.objects.select_for_update(of=("self",)).select_related("party").get(pk=consent.pk)
    )
    _require_edit(actor, locked.party.branch)
    if locked.status != ConsentStatus.GIVEN:
        raise ValidationError(_("This consent has already been withdrawn."))
    if withdrawn_on < locked.given_on:
        raise ValidationError({"withdrawn_on": _("Withdrawal cannot be before the consent date.")})
    before = snapshot(locked, ["status", "withdrawn_on"])
    locked.status = ConsentStatus.WITHDRAWN
    locked.withdrawn_on = withdrawn_on
    locked.save(update_fields=["status", "withdrawn_on"])
    audit_record(
        actor=actor,
        action="consent.withdrawn",
        target=locked,
        branch_id=locked.party.branch_id,
        before=before,
        after=snapshot(locked, ["status", "withdrawn_on"]),
    )
    if locked.purpose in (ConsentPurpose.P2P_PUBLICATION, ConsentPurpose.PHOTO_PUBLICATION):
        # Published profiles must come down: the takedown is queued in this same transaction.
        from p2p_export.services import consent_withdrawal_apply

        consent_withdrawal_apply(actor=actor, party=locked.party)
    return locked
