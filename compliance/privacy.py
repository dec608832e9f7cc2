"""A person's data in compliance: where it is (for the export) and how it is erased (for
``crm.privacy``). Cases and checks stay, as evidence of the monitoring; their notes go."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from compliance.models import Case, DeskVisit, FollowUp, RegistryRecord
from mfi.erasure import ERASED_TEXT, delete_files


def registry_records_of(party) -> QuerySet[RegistryRecord]:
    """Registry answers about the party: matched to it, or carrying its NIF."""
    condition = Q(party=party)
    if party.nif:
        condition |= Q(nif=party.nif)
    return RegistryRecord.objects.filter(condition)


def desk_visits_of(party) -> QuerySet[DeskVisit]:
    """Desk check-ins of the party, or of a walk-in who gave the party's phone number."""
    condition = Q(party=party)
    if party.phone:
        condition |= Q(party__isnull=True, visitor_phone=party.phone)
    return DeskVisit.objects.filter(condition)


def desk_visits_anonymise(visits: QuerySet[DeskVisit]) -> int:
    """Clear the visitor's name, phone and notes (a walk-in keeps a placeholder name: a
    check-in without a party must name someone)."""
    count = visits.filter(party__isnull=False).update(visitor_name="", visitor_phone="", notes="")
    count += visits.filter(party__isnull=True).update(
        visitor_name=ERASED_TEXT, visitor_phone="", notes=""
    )
    return count


def party_personal_data_erase(party) -> None:
    """Clear what compliance holds about the person (call it before the party row loses its
    NIF and phone: registry records and walk-ins are found by them)."""
    Case.objects.filter(party=party).update(solution_notes="")
    follow_ups = FollowUp.objects.filter(party=party)
    delete_files(follow_ups, "photo")
    follow_ups.update(notes="", photo="", latitude=None, longitude=None, accuracy_m=None)
    registry_records_of(party).update(nif="", registry_number="", data={})
    desk_visits_anonymise(desk_visits_of(party))
