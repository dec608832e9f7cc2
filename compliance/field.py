"""Field follow-up: the calls and visits staff make about compliance cases, and their day list.

A follow-up is typed on a phone, possibly with no network: the phone gives it a ``client_uuid``
when the form is opened and may send it several times, so it is stored once. Each follow-up is
also the CRM interaction (call or visit) on the party's timeline; a next-action date becomes a
task; on a case, a call or visit that reached the borrower records the contact (the first one is
the case's first contact; an open case becomes "contacted").
"""

from __future__ import annotations

import datetime
import math
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from compliance.choices import CaseStatus, FollowUpKind, FollowUpOutcome
from compliance.models import Case, FollowUp
from compliance.scoping import cases_visible_to, follow_ups_visible_to
from crm.choices import InteractionKind, InteractionOutcome, TaskStatus
from crm.models import Party, Task
from crm.selectors import parties_visible_to
from loans.selectors import loans_visible_to
from mfi.uploads import validate_upload
from users.roles import Capability

PHOTO_TYPES = frozenset({"png", "jpeg"})
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = datetime.timedelta(minutes=5)
COORDINATE_STEP = Decimal("0.000001")

# How each field outcome reads on the CRM timeline.
INTERACTION_OUTCOME: dict[str, str] = {
    FollowUpOutcome.WILL_REGULARISE: InteractionOutcome.REACHED,
    FollowUpOutcome.REGULARISED: InteractionOutcome.REACHED,
    FollowUpOutcome.NEEDS_HELP: InteractionOutcome.NEEDS_HELP,
    FollowUpOutcome.REFUSED: InteractionOutcome.REACHED,
    FollowUpOutcome.NOT_REACHED: InteractionOutcome.NOT_REACHED,
    FollowUpOutcome.WRONG_CONTACT: InteractionOutcome.NOT_REACHED,
}
INTERACTION_KIND: dict[str, str] = {
    FollowUpKind.CALL: InteractionKind.CALL,
    FollowUpKind.VISIT: InteractionKind.VISIT,
}


# --- Recording a follow-up -----------------------------------------------------------------------


def _coordinate(value, limit: int, field: str, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[field] = _("Enter a number.")
        return None
    if not number.is_finite() or not -limit <= number <= limit:
        errors[field] = _("Must be between -%(limit)s and %(limit)s.") % {"limit": limit}
        return None
    return number.quantize(COORDINATE_STEP)


def _location(latitude, longitude, accuracy_m, errors: dict):
    """The location as stored (6 decimals, whole metres), or errors: both coordinates or
    neither, each in range, a non-negative accuracy only with a location."""
    lat = _coordinate(latitude, 90, "latitude", errors)
    lon = _coordinate(longitude, 180, "longitude", errors)
    if (latitude in (None, "")) != (longitude in (None, "")):
        errors["latitude"] = _("Give both latitude and longitude, or neither.")
    accuracy = None
    if accuracy_m not in (None, ""):
        try:
            accuracy = Decimal(str(accuracy_m))
        except InvalidOperation:
            accuracy = Decimal("NaN")
        if not accuracy.is_finite() or accuracy < 0:
            errors["accuracy_m"] = _("The accuracy is a distance in metres, zero or more.")
        elif lat is None and lon is None and "latitude" not in errors:
            errors["accuracy_m"] = _("An accuracy needs a location.")
        else:
            accuracy = int(accuracy.to_integral_value())
    return lat, lon, accuracy


def _validate(*, actor, party, kind, outcome, case, occurred_at, next_action_date, photo) -> dict:
    errors: dict[str, str] = {}
    if kind not in FollowUpKind.values:
        errors["kind"] = _("Choose a call or a visit.")
    if outcome not in FollowUpOutcome.values:
        errors["outcome"] = _("Choose what came out of it.")
    if case is not None:
        if case.party_id != party.pk:
            errors["case"] = _("This case is about another client.")
        elif not cases_visible_to(actor).filter(pk=case.pk).exists():
            errors["case"] = _("This case is outside your scope.")
    if timezone.is_naive(occurred_at):
        errors["occurred_at"] = _("Give the time with its time zone.")
    elif occurred_at > timezone.now() + CLOCK_SKEW:
        errors["occurred_at"] = _("A call or visit cannot be in the future.")
    if (
        next_action_date is not None
        and not timezone.is_naive(occurred_at)
        and next_action_date < timezone.localdate(occurred_at)
    ):
        errors["next_action_date"] = _("The next action cannot be before the call or visit.")
    if photo:
        try:
            validate_upload(photo, allowed=PHOTO_TYPES)
        except ValidationError as exc:
            errors["photo"] = (
                _("The photo must be a PNG or JPEG picture.")
                if exc.code == "file_type"
                else exc.messages[0]
            )
    return errors


def _existing(actor, client_uuid: uuid.UUID) -> FollowUp | None:
    """The follow-up already stored under this submission id, if it is the actor's own."""
    existing = FollowUp.objects.select_related("party", "case").filter(client_uuid=client_uuid)
    found = existing.first()
    if found is not None and found.author_id != actor.pk:
        raise ValidationError({"client_uuid": _("This submission id is already used.")})
    return found


def _parse_uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValidationError({"client_uuid": _("The form has no valid submission id.")}) from None


def _summary(outcome: str, case: Case | None) -> str:
    label = FollowUpOutcome(outcome).label
    return f"{case.number}: {label}" if case is not None else str(label)


def _create(*, actor, follow_up: FollowUp, next_action_date) -> FollowUp:
    """The interaction (and its task), the follow-up, the case contact and the audit event."""
    from compliance.cases import case_record_contact
    from crm.interactions import interaction_record

    case = follow_up.case
    loan = case.loan if case is not None else None
    if loan is not None and not loans_visible_to(actor).filter(pk=loan.pk).exists():
        loan = None
    follow_up.interaction = interaction_record(
        actor=actor,
        party=follow_up.party,
        kind=INTERACTION_KIND[follow_up.kind],
        summary=_summary(follow_up.outcome, case),
        outcome=INTERACTION_OUTCOME[follow_up.outcome],
        notes=follow_up.notes,
        occurred_at=follow_up.occurred_at,
        loan=loan,
        next_action_date=next_action_date,
    )
    follow_up.save()
    reached = INTERACTION_OUTCOME[follow_up.outcome] != InteractionOutcome.NOT_REACHED
    if case is not None and reached and case.status != CaseStatus.CLOSED:
        case_record_contact(actor=actor, case=case, at=follow_up.occurred_at)
    audit_record(
        actor=actor,
        action="follow_up.recorded",
        target=follow_up,
        branch_id=follow_up.party.branch_id,
        after=snapshot(follow_up),
    )
    return follow_up


@transaction.atomic
def follow_up_record(
    *,
    actor,
    client_uuid,
    party: Party,
    kind: str,
    outcome: str,
    case: Case | None = None,
    notes: str = "",
    occurred_at: datetime.datetime | None = None,
    next_action_date: datetime.date | None = None,
    latitude=None,
    longitude=None,
    accuracy_m=None,
    photo=None,
) -> tuple[FollowUp, bool]:
    """Record a call or visit with a party (about one of its cases, if given).

    Returns ``(follow_up, True)``, or ``(existing, False)`` when the phone sends a submission
    already received (same ``client_uuid``): nothing more is created, even when two copies
    arrive at the same moment. A next-action date may not be before the call; one that has
    passed by the time an offline form arrives gives a task due today. Latitude and longitude
    are decimal degrees (both or neither), ``accuracy_m`` the phone's accuracy in metres; the
    photo must be a PNG or JPEG picture.
    """
    if not actor.has_capability(Capability.COMPLIANCE_FOLLOW_UP):
        raise PermissionDenied(_("Your role may not log field calls and visits."))
    client_uuid = _parse_uuid(client_uuid)
    existing = _existing(actor, client_uuid)
    if existing is not None:
        return existing, False
    if not parties_visible_to(actor).filter(pk=party.pk).exists():
        raise PermissionDenied(_("This client is outside your scope."))
    occurred_at = occurred_at or timezone.now()
    errors = _validate(
        actor=actor,
        party=party,
        kind=kind,
        outcome=outcome,
        case=case,
        occurred_at=occurred_at,
        next_action_date=next_action_date,
        photo=photo,
    )
    latitude, longitude, accuracy_m = _location(latitude, longitude, accuracy_m, errors)
    if errors:
        raise ValidationError(errors)
    follow_up = FollowUp(
        client_uuid=client_uuid,
        case=case,
        party=party,
        kind=kind,
        outcome=outcome,
        notes=(notes or "").strip(),
        next_action_date=next_action_date,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy_m,
        photo=photo or "",
        occurred_at=occurred_at,
        author=actor,
    )
    # A form kept offline may arrive after its next-action date: the task is then due today.
    task_due = None if next_action_date is None else max(next_action_date, timezone.localdate())
    try:
        with transaction.atomic():
            return _create(actor=actor, follow_up=follow_up, next_action_date=task_due), True
    except IntegrityError:
        # The same submission arrived twice at once: the other copy won; keep nothing of this one.
        if follow_up.photo:
            follow_up.photo.delete(save=False)
        existing = _existing(actor, client_uuid)
        if existing is None:
            raise
        return existing, False


# --- Reads ---------------------------------------------------------------------------------------


def follow_ups_for_user(user, *, party_id: int | None = None, case_id: int | None = None):
    """Follow-ups the user may see, newest first, optionally of one party or one case."""
    follow_ups = follow_ups_visible_to(user).order_by("-occurred_at", "-pk")
    if party_id is not None:
        follow_ups = follow_ups.filter(party_id=party_id)
    if case_id is not None:
        follow_ups = follow_ups.filter(case_id=case_id)
    return follow_ups


def follow_up_get_for_user(user, pk: int) -> FollowUp:
    from django.http import Http404

    follow_up = follow_ups_visible_to(user).filter(pk=pk).first()
    if follow_up is None:
        raise Http404
    return follow_up


@dataclass(frozen=True)
class DayItem:
    """One card of a field agent's day: an open case they own, or a task due about a client.

    ``due`` is the case's deadline or the task's due date; ``distance_km`` is from the agent to
    where the client was last met (None when either location is unknown).
    """

    kind: str
    due: datetime.date
    party: Party
    is_overdue: bool
    case: Case | None = None
    task: Task | None = None
    distance_km: float | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}-{(self.case or self.task).pk}"


EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres between two points in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = math.radians(lat2 - lat1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def party_last_locations(party_ids) -> dict[int, tuple[float, float]]:
    """Where each party was last met: the location of its latest located follow-up."""
    rows = (
        FollowUp.objects.filter(party_id__in=party_ids, latitude__isnull=False)
        .order_by("party_id", "-occurred_at", "-pk")
        .distinct("party_id")
        .values_list("party_id", "latitude", "longitude")
    )
    return {party_id: (float(lat), float(lon)) for party_id, lat, lon in rows}


def _my_open_cases(user) -> QuerySet[Case]:
    return (
        cases_visible_to(user)
        .filter(owner=user)
        .exclude(status=CaseStatus.CLOSED)
        .order_by("deadline", "pk")
    )


def _my_due_client_tasks(user, today: datetime.date) -> QuerySet[Task]:
    return (
        Task.objects.filter(
            assigned_to=user, status=TaskStatus.OPEN, party__isnull=False, due_date__lte=today
        )
        .select_related("party", "loan")
        .order_by("due_date", "pk")
    )


def location_from_query(params) -> tuple[float | None, float | None]:
    """The agent's position from ``?lat=&lon=`` (decimal degrees), or (None, None) when either
    is missing or out of range."""
    try:
        latitude, longitude = float(params.get("lat")), float(params.get("lon"))
    except (TypeError, ValueError):
        return None, None
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        return latitude, longitude
    return None, None


def field_day_list(
    *,
    user,
    today: datetime.date | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> list[DayItem]:
    """The agent's day: their open cases and their tasks about clients due today or overdue.

    Without the agent's location the list is by deadline / due date. With it, clients already
    met somewhere come first, nearest first; clients never located follow, by deadline.
    """
    if not user.has_capability(Capability.COMPLIANCE_FOLLOW_UP):
        return []
    today = today or timezone.localdate()
    items = [
        DayItem(
            kind="case",
            due=case.deadline,
            party=case.party,
            is_overdue=case.deadline < today,
            case=case,
        )
        for case in _my_open_cases(user)
    ] + [
        DayItem(
            kind="task",
            due=task.due_date,
            party=task.party,
            is_overdue=task.due_date < today,
            task=task,
        )
        for task in _my_due_client_tasks(user, today)
    ]
    by_date = sorted(items, key=lambda item: (item.due, item.kind, item.key))
    if latitude is None or longitude is None or not items:
        return by_date
    locations = party_last_locations({item.party.pk for item in items})
    located = []
    for item in by_date:
        where = locations.get(item.party.pk)
        if where is not None:
            item = replace(item, distance_km=distance_km(latitude, longitude, *where))
        located.append(item)
    # Stable sorts: equal distances, and the never-located clients, stay in deadline order.
    return sorted(
        (item for item in located if item.distance_km is not None),
        key=lambda item: item.distance_km,
    ) + [item for item in located if item.distance_km is None]
