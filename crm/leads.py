"""The leads pipeline and saved party segments: services (every change) and selectors (reads).

A lead moves prospect → contacted → applied → client, or to lost with a reason
(``crm.choices.LEAD_TRANSITIONS``). Every move goes through ``lead_move``, which validates it
against the map, changes nothing on a refused move and leaves one audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from crm import services
from crm.choices import LEAD_TRANSITIONS, LeadSource, LeadStage, PartyKind, Relationship
from crm.filters import PartyFilter
from crm.models import Lead, Party, Segment
from crm.selectors import parties_visible_to
from users.roles import Capability

_LEAD_FIELDS = ["stage", "lost_reason", "stage_changed_at", "applied_at", "converted_at"]


def _require_edit(actor) -> None:
    if not actor.has_capability(Capability.PARTY_EDIT):
        raise PermissionDenied(_("Your role may not change leads."))


def _require_in_scope(actor, party: Party) -> None:
    if not parties_visible_to(actor).filter(pk=party.pk).exists():
        raise PermissionDenied(_("This party is outside your scope."))


# --- Leads: services -------------------------------------------------------------------------


@transaction.atomic
def lead_create(*, actor, party: Party, source: str, owner=None) -> Lead:
    """Open a lead for a prospect party (one lead per party); the owner defaults to the actor."""
    _require_edit(actor)
    _require_in_scope(actor, party)
    if source not in LeadSource.values:
        raise ValidationError({"source": _("Unknown source.")})
    if party.relationship != Relationship.PROSPECT:
        raise ValidationError(_("Only a prospect can be entered in the pipeline."))
    if Lead.objects.filter(party=party).exists():
        raise ValidationError(_("This party is already in the pipeline."))
    lead = Lead(party=party, source=source, owner=owner or actor)
    try:
        with transaction.atomic():
            lead.save()
    except IntegrityError as exc:  # a concurrent lead for the same party
        raise ValidationError(_("This party is already in the pipeline.")) from exc
    audit_record(actor=actor, action="lead.created", target=lead, after=snapshot(lead))
    return lead


@transaction.atomic
def party_relationship_set(*, actor, party: Party, relationship: str) -> Party:
    """Change what the institution is to a party, through the person/enterprise service."""
    specific = party.specific
    if party.kind == PartyKind.PERSON:
        return services.person_update(
            actor=actor, person=specific, data={"relationship": relationship}
        )
    return services.enterprise_update(
        actor=actor, enterprise=specific, data={"relationship": relationship}
    )


@transaction.atomic
def lead_move(*, actor, lead: Lead, to_stage: str, lost_reason: str = "") -> Lead:
    """Move a lead to another stage of the pipeline.

    A refused move raises ``ValidationError`` and changes nothing. Reaching "client" makes the
    party a client; "lost" needs a reason; reopening a lost lead clears the reason.
    """
    _require_edit(actor)
    locked = Lead.objects.select_for_update(of=("self",)).select_related("party").get(pk=lead.pk)
    _require_in_scope(actor, locked.party)
    lost_reason = (lost_reason or "").strip()
    if to_stage not in LeadStage.values:
        raise ValidationError({"to_stage": _("Unknown stage.")})
    if to_stage not in LEAD_TRANSITIONS[locked.stage]:
        raise ValidationError(
            {
                "to_stage": _("A lead cannot move from “%(from)s” to “%(to)s”.")
                % {"from": LeadStage(locked.stage).label, "to": LeadStage(to_stage).label}
            }
        )
    if to_stage == LeadStage.LOST and not lost_reason:
        raise ValidationError({"lost_reason": _("Say why the lead was lost.")})
    before = snapshot(locked, _LEAD_FIELDS)
    now = timezone.now()
    locked.stage = to_stage
    locked.stage_changed_at = now
    locked.lost_reason = lost_reason if to_stage == LeadStage.LOST else ""
    if to_stage in {LeadStage.APPLIED, LeadStage.CLIENT} and locked.applied_at is None:
        locked.applied_at = now
    if to_stage == LeadStage.CLIENT:
        locked.converted_at = now
    locked.save(update_fields=_LEAD_FIELDS)
    if to_stage == LeadStage.CLIENT and locked.party.relationship != Relationship.CLIENT:
        locked.party = party_relationship_set(
            actor=actor, party=locked.party, relationship=Relationship.CLIENT
        )
    audit_record(
        actor=actor,
        action="lead.moved",
        target=locked,
        branch_id=locked.party.branch_id,
        before=before,
        after=snapshot(locked, _LEAD_FIELDS),
    )
    return locked


# --- Leads: selectors ------------------------------------------------------------------------


def leads_visible_to(user) -> QuerySet[Lead]:
    return Lead.objects.filter(party__in=parties_visible_to(user).values("pk")).select_related(
        "party", "owner"
    )


def lead_get_for_user(*, user, lead_id: int) -> Lead:
    from django.http import Http404

    lead = leads_visible_to(user).filter(pk=lead_id).first()
    if lead is None:
        raise Http404("No such lead")
    return lead


def _share(part: int, total: int) -> Decimal | None:
    """``part`` as a percentage of ``total``, to one decimal (HALF_EVEN); None without leads."""
    if not total:
        return None
    return (Decimal(part) * 100 / Decimal(total)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


@dataclass(frozen=True)
class SourceConversion:
    source: str
    label: str
    total: int
    applied: int
    clients: int

    @property
    def applied_share(self) -> Decimal | None:
        return _share(self.applied, self.total)

    @property
    def client_share(self) -> Decimal | None:
        return _share(self.clients, self.total)


def leads_pipeline(*, user) -> dict:
    """Counts per stage and conversion by source for the leads the user may see.

    "Applied" counts every lead that ever reached applied (including later clients and leads
    lost after applying); "clients" every lead that became a client. Two queries.
    """
    leads = leads_visible_to(user).order_by()
    per_stage = dict(leads.values_list("stage").annotate(n=Count("pk")))
    stages = [(stage.value, stage.label, per_stage.get(stage.value, 0)) for stage in LeadStage]
    rows = {
        row["source"]: row
        for row in leads.values("source").annotate(
            total=Count("pk"),
            applied=Count("pk", filter=Q(applied_at__isnull=False)),
            clients=Count("pk", filter=Q(converted_at__isnull=False)),
        )
    }
    by_source = [
        SourceConversion(
            source=source.value,
            label=source.label,
            total=rows[source.value]["total"],
            applied=rows[source.value]["applied"],
            clients=rows[source.value]["clients"],
        )
        for source in LeadSource
        if source.value in rows
    ]
    overall = SourceConversion(
        source="",
        label=_("All sources"),
        total=sum(row.total for row in by_source),
        applied=sum(row.applied for row in by_source),
        clients=sum(row.clients for row in by_source),
    )
    return {"stages": stages, "by_source": by_source, "overall": overall}


# --- Segments --------------------------------------------------------------------------------


def segment_query_normalise(query: str) -> str:
    """Keep only the party filter's own parameters with a value, in a stable order."""
    data = QueryDict(query.lstrip("?"))
    fields = PartyFilter.base_filters.keys()
    pairs = [(name, data.get(name).strip()) for name in fields if (data.get(name) or "").strip()]
    return urlencode(pairs)


@transaction.atomic
def segment_create(*, actor, name: str, query: str, is_shared: bool = False) -> Segment:
    """Save a party-list filter under a name (unique per owner)."""
    if not actor.has_capability(Capability.PARTY_VIEW):
        raise PermissionDenied
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the segment a name.")})
    normalised = segment_query_normalise(query or "")
    if not normalised:
        raise ValidationError({"query": _("Choose at least one filter to save.")})
    party_filter = PartyFilter(QueryDict(normalised), queryset=Party.objects.none())
    if not party_filter.is_valid():
        raise ValidationError({"query": _("This filter is not valid.")})
    if Segment.objects.filter(owner=actor, name=name).exists():
        raise ValidationError({"name": _("You already have a segment with this name.")})
    segment = Segment.objects.create(
        name=name[:100], owner=actor, query=normalised, is_shared=is_shared
    )
    audit_record(actor=actor, action="segment.created", target=segment, after=snapshot(segment))
    return segment


def segments_for_user(*, user) -> QuerySet[Segment]:
    """My segments and those colleagues shared."""
    return Segment.objects.filter(Q(owner=user) | Q(is_shared=True)).select_related("owner")


def segment_get_for_user(*, user, segment_id: int) -> Segment:
    from django.http import Http404

    segment = segments_for_user(user=user).filter(pk=segment_id).first()
    if segment is None:
        raise Http404("No such segment")
    return segment


def segment_parties(*, user, segment: Segment, request=None) -> QuerySet[Party]:
    """The parties of a segment, within the user's own scope."""
    return PartyFilter(
        QueryDict(segment.query), queryset=parties_visible_to(user), request=request
    ).qs
