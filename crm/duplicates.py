"""Finding likely duplicate parties and merging one party into another.

Two parties of the same kind are likely duplicates when they share a civil ID, a NIF or a phone
number, or when their names match ignoring case, accents and spacing and they have the same date
of birth (persons only). Merging moves every link of the removed party onto the kept one, copies
contact details the kept party lacks, records one audit event and deletes the removed party.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Func, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from crm.choices import ConsentStatus, DuplicateReason, PartyKind, Relationship
from crm.models import Consent, Lead, Party, PartyLink, Person
from crm.selectors import parties_visible_to
from users.roles import Capability

# Filled in on the kept party when it has no value of its own.
_COPIED_PARTY_FIELDS = [
    "nif",
    "social_security_number",
    "phone",
    "email",
    "island",
    "municipality",
    "address",
    "assigned_to",
]
_COPIED_PERSON_FIELDS = ["birth_date", "civil_id"]
# The stronger relationship wins: a client stays a client after a merge.
_RELATIONSHIP_RANK = {
    Relationship.PROSPECT: 0,
    Relationship.COACHING_CUSTOMER: 1,
    Relationship.CLIENT: 2,
}


@dataclass
class DuplicatePair:
    """Two parties (lower id first) and why they look like the same one."""

    first: Party
    second: Party
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_labels(self) -> list[str]:
        return [DuplicateReason(reason).label for reason in self.reasons]


def _unaccent_available() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'")
        return cursor.fetchone() is not None


def normalise_name(name: str) -> str:
    """Lower case, no accents, single spaces: "  José  Gonçalves" → "jose goncalves"."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def likely_duplicates(*, user) -> list[DuplicatePair]:
    """Pairs of parties in the user's scope that are probably the same, with the reasons.

    Only parties of the same kind are paired (a person and the enterprise they own often share a
    phone). Names are compared after ``unaccent()`` when PostgreSQL has the extension, and always
    after Python's accent, case and space folding. Ordered by the first party's name, then ids.
    """
    visible = parties_visible_to(user).order_by()
    name = (
        Func(F("display_name"), function="unaccent") if _unaccent_available() else F("display_name")
    )
    rows = visible.annotate(name_key=Lower(name)).values_list(
        "pk", "kind", "nif", "phone", "person__civil_id", "person__birth_date", "name_key"
    )
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk, kind, nif, phone, civil_id, birth_date, name_key in rows:
        if civil_id:
            groups[(DuplicateReason.CIVIL_ID, kind, civil_id)].append(pk)
        if nif:
            groups[(DuplicateReason.NIF, kind, nif)].append(pk)
        if phone:
            groups[(DuplicateReason.PHONE, kind, phone)].append(pk)
        if kind == PartyKind.PERSON and birth_date:
            key = (DuplicateReason.NAME_BIRTH_DATE, kind, normalise_name(name_key), birth_date)
            groups[key].append(pk)
    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)
    for (reason, *_rest), ids in groups.items():
        for pair in itertools.combinations(sorted(set(ids)), 2):
            if reason not in reasons[pair]:
                reasons[pair].append(reason)
    if not reasons:
        return []
    ids = {pk for pair in reasons for pk in pair}
    parties = {party.pk: party for party in visible.filter(pk__in=ids)}
    order = list(DuplicateReason.values)
    pairs = [
        DuplicatePair(parties[first], parties[second], sorted(found, key=order.index))
        for (first, second), found in reasons.items()
    ]
    pairs.sort(key=lambda pair: (pair.first.display_name, pair.first.pk, pair.second.pk))
    return pairs


# --- Merge -----------------------------------------------------------------------------------


def _related_model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _move(queryset, **values) -> int:
    return queryset.update(**values)


@transaction.atomic
def parties_merge(*, actor, keep: Party, remove: Party) -> Party:
    """Merge ``remove`` into ``keep`` and delete ``remove``; returns the kept party.

    Refused (nothing changed): merging a party with itself, parties of different kinds, a party
    outside the actor's scope, or a guarantee that would become the borrower guaranteeing their
    own loan or a second guarantee of the same loan.
    """
    if not actor.has_capability(Capability.PARTY_EDIT):
        raise PermissionDenied(_("Your role may not change parties."))
    if keep.pk == remove.pk:
        raise ValidationError(_("A party cannot be merged with itself."))
    locked = {
        party.pk: party
        for party in Party.objects.select_for_update()
        .filter(pk__in=[keep.pk, remove.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError(_("One of the parties no longer exists."))
    visible = set(parties_visible_to(actor).filter(pk__in=locked).values_list("pk", flat=True))
    if visible != set(locked):
        raise PermissionDenied(_("Both parties must be within your scope."))
    keep, remove = locked[keep.pk], locked[remove.pk]
    if keep.kind != remove.kind:
        raise ValidationError(
            _("A %(removed)s cannot be merged into a %(kept)s.")
            % {
                "removed": remove.get_kind_display().lower(),
                "kept": keep.get_kind_display().lower(),
            }
        )
    keep_specific, remove_specific = keep.specific, remove.specific
    moved: dict[str, int] = {}
    dropped: dict[str, int] = {}

    # Party links: a link between the two parties, or one keep already has, is dropped.
    links_moved = links_dropped = 0
    for link in PartyLink.objects.filter(Q(from_party=remove) | Q(to_party=remove)).order_by("pk"):
        from_id = keep.pk if link.from_party_id == remove.pk else link.from_party_id
        to_id = keep.pk if link.to_party_id == remove.pk else link.to_party_id
        clash = PartyLink.objects.filter(from_party_id=from_id, to_party_id=to_id, kind=link.kind)
        if from_id == to_id or clash.exists():
            link.delete()
            links_dropped += 1
        else:
            link.from_party_id, link.to_party_id = from_id, to_id
            link.save(update_fields=["from_party", "to_party"])
            links_moved += 1
    moved["party_links"], dropped["party_links"] = links_moved, links_dropped

    # Consents: an active consent for a purpose keep already consented to is superseded.
    keep_active = set(
        keep.consents.filter(status=ConsentStatus.GIVEN).values_list("purpose", flat=True)
    )
    superseded = Consent.objects.filter(
        party=remove, status=ConsentStatus.GIVEN, purpose__in=keep_active
    )
    for consent in superseded:
        consent.status = ConsentStatus.WITHDRAWN
        consent.withdrawn_on = max(consent.given_on, timezone.localdate())
        consent.notes = (consent.notes + " " + _("Superseded by a merge.")).strip()[:250]
        consent.save(update_fields=["status", "withdrawn_on", "notes"])
    dropped["consents_superseded"] = len(superseded)
    moved["consents"] = _move(Consent.objects.filter(party=remove), party=keep)

    for label, key in (("crm.Interaction", "interactions"), ("crm.Task", "tasks")):
        model = _related_model(label)
        if model is not None:
            moved[key] = _move(model.objects.filter(party=remove), party=keep)

    loan_model = _related_model("loans.Loan")
    if loan_model is not None:
        moved["loans"] = _move(loan_model.objects.filter(borrower=remove), borrower=keep)
    guarantor_model = _related_model("loans.Guarantor")
    if guarantor_model is not None:
        guarantees = guarantor_model.objects.filter(party=remove)
        if guarantees.filter(Q(loan__borrower=keep) | Q(loan__guarantors__party=keep)).exists():
            raise ValidationError(
                _(
                    "Both parties are on the same loan (as borrower or guarantor); fix the loan first."
                )
            )
        moved["loan_guarantees"] = _move(guarantees, party=keep)
    engagement_model = _related_model("coaching.Engagement")
    if engagement_model is not None:
        moved["coaching_engagements"] = _move(
            engagement_model.objects.filter(party=remove), party=keep
        )

    # Leads: one per party; the kept party's own lead wins.
    removed_lead = Lead.objects.filter(party=remove).first()
    moved["leads"] = dropped["leads"] = 0
    if removed_lead is not None:
        if Lead.objects.filter(party=keep).exists():
            removed_lead.delete()
            dropped["leads"] = 1
        else:
            removed_lead.party = keep
            removed_lead.save(update_fields=["party"])
            moved["leads"] = 1

    # Anything else another app points at the removed party with (added after this was written).
    handled = {
        "links_from",
        "links_to",
        "consents",
        "lead",
        "interactions",
        "tasks",
        "loans",
        "guarantees",
        "coaching_engagements",
    }
    relations = {id(rel): rel for rel in Party._meta.related_objects + Person._meta.related_objects}
    for relation in relations.values():
        if relation.one_to_one or relation.many_to_many or relation.get_accessor_name() in handled:
            continue
        target = remove if relation.model is Party else remove_specific
        if relation.model is Person and remove.kind != PartyKind.PERSON:
            continue
        queryset = relation.related_model._base_manager.filter(**{relation.field.name: target})
        new_value = keep if relation.model is Party else keep_specific
        try:
            with transaction.atomic():
                count = queryset.update(**{relation.field.name: new_value})
        except IntegrityError as exc:
            raise ValidationError(
                _("Both parties have records that cannot be combined: %(what)s.")
                % {"what": relation.related_model._meta.verbose_name_plural}
            ) from exc
        if count:
            moved[relation.related_model._meta.label_lower] = count

    # Copy what the kept party lacks, once the removed party's unique identifiers are gone.
    removed_snapshot = snapshot(remove_specific)
    copied: dict[str, object] = {}
    candidates = _COPIED_PARTY_FIELDS + (
        _COPIED_PERSON_FIELDS if keep.kind == PartyKind.PERSON else []
    )
    for name in candidates:
        attname = keep_specific._meta.get_field(name).attname
        if not getattr(keep_specific, attname) and getattr(remove_specific, attname):
            copied[name] = getattr(remove_specific, attname)
    if _RELATIONSHIP_RANK.get(remove.relationship, 0) > _RELATIONSHIP_RANK.get(
        keep.relationship, 0
    ):
        copied["relationship"] = remove.relationship
    remove_pk = remove.pk
    remove_specific.delete()
    for name, value in copied.items():
        setattr(keep_specific, keep_specific._meta.get_field(name).attname, value)
    if copied:
        keep_specific.save(
            update_fields=[keep_specific._meta.get_field(name).name for name in copied]
            + ["updated_at"]
        )
    audit_record(
        actor=actor,
        action="party.merged",
        target=keep_specific,
        branch_id=keep.branch_id,
        before={"removed_party": remove_pk, "removed": removed_snapshot},
        after={
            "moved": moved,
            "dropped": dropped,
            "copied": {name: snapshot(keep_specific, [name])[name] for name in copied},
        },
    )
    return keep_specific
