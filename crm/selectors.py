"""Reads of parties, always scoped to what the user may see."""

from __future__ import annotations

import contextlib

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from crm.choices import PartyKind
from crm.identifiers import normalise_phone
from crm.models import Consent, Enterprise, Party, PartyLink, Person
from users.roles import Capability


def parties_visible_to(user) -> QuerySet[Party]:
    """Every party the user may see: branch staff their branch subtree, head office all,
    field agents and coaches what is assigned to them."""
    if not user.is_authenticated or not user.has_capability(Capability.PARTY_VIEW):
        return Party.objects.none()
    parties = Party.objects.select_related("branch", "assigned_to")
    if user.sees_assigned_only:
        # A coach also follows the parties they coach (their engagements), whoever is assigned.
        from django.apps import apps

        # A field agent also follows the parties of the compliance cases they own.
        coached = apps.get_model("coaching", "Engagement").objects.filter(coach__user=user)
        owned_cases = apps.get_model("compliance", "Case").objects.filter(
            owner=user, closed_at__isnull=True
        )
        return parties.filter(
            Q(assigned_to=user)
            | Q(pk__in=coached.values("party_id"))
            | Q(pk__in=owned_cases.values("party_id"))
        )
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return parties
    return parties.filter(branch_id__in=branch_ids)


def party_get_for_user(*, user, party_id: int) -> Party:
    """The party with its specific row, or Http404 if it does not exist *or* is out of scope
    (out-of-scope objects are indistinguishable from missing ones)."""
    party = (
        parties_visible_to(user).select_related("person", "enterprise").filter(pk=party_id).first()
    )
    if party is None:
        raise Http404("No such party")
    return party


def persons_visible_to(user) -> QuerySet[Person]:
    return Person.objects.filter(pk__in=parties_visible_to(user).values("pk")).select_related(
        "branch", "assigned_to"
    )


def enterprises_visible_to(user) -> QuerySet[Enterprise]:
    return Enterprise.objects.filter(pk__in=parties_visible_to(user).values("pk")).select_related(
        "branch", "assigned_to"
    )


def party_links(*, party: Party) -> list[PartyLink]:
    return list(
        PartyLink.objects.filter(Q(from_party=party) | Q(to_party=party))
        .select_related("from_party", "to_party")
        .order_by("kind", "pk")
    )


def party_consents(*, party: Party) -> QuerySet[Consent]:
    return party.consents.select_related("recorded_by")


def party_search(*, user, text: str, limit: int = 20) -> list[Party]:
    """Global search: name (any part), NIF, social security number, phone (any format)."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    condition = Q(display_name__icontains=text)
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 6:
        condition |= Q(nif=digits) | Q(social_security_number=digits) | Q(phone__endswith=digits)
        with contextlib.suppress(ValidationError):  # a search text that is not a phone number
            condition |= Q(phone=normalise_phone(text))
    return list(parties_visible_to(user).filter(condition).order_by("display_name")[:limit])


def party_counts(*, user) -> dict[str, int]:
    """Counts for the home dashboard, in one query."""
    return parties_visible_to(user).aggregate(
        total=Count("pk"),
        persons=Count("pk", filter=Q(kind=PartyKind.PERSON)),
        enterprises=Count("pk", filter=Q(kind=PartyKind.ENTERPRISE)),
        prospects=Count("pk", filter=Q(relationship="prospect")),
        clients=Count("pk", filter=Q(relationship="client")),
        coaching_customers=Count("pk", filter=Q(relationship="coaching_customer")),
        assigned_to_me=Count("pk", filter=Q(assigned_to=user)),
    )


def party_counts_by_branch(*, user) -> list[dict]:
    return list(
        parties_visible_to(user)
        .values("branch__name")
        .annotate(
            total=Count("pk"),
            clients=Count("pk", filter=Q(relationship="client")),
            prospects=Count("pk", filter=Q(relationship="prospect")),
        )
        .order_by("branch__name")
    )
