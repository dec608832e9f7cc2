"""The service desk: walk-ins checked in with a ticket, queued, served, and handed off.

Tickets restart at 1 each day per branch. Wait time runs from check-in to the start of service;
service time from there to the end of service. A visit ends served (with an optional hand-off to
a compliance case, a task or an appointment) or left without service. Services take ``now`` so a
test can fix the clock; they default to the current time.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from compliance.choices import (
    DESK_TRANSITIONS,
    DeskReason,
    DeskVisitStatus,
    HandOff,
    RequirementKind,
    Severity,
)
from compliance.models import DeskVisit
from compliance.scoping import desk_visits_visible_to
from crm.choices import InteractionKind
from crm.identifiers import normalise_civil_id, normalise_nif, normalise_phone
from crm.models import Party
from crm.selectors import parties_visible_to
from users.models import Branch, User
from users.roles import Capability, Role
from users.selectors import branches_visible_to, staff_assignable_by

_TIME_FIELDS = ["status", "service_started_at", "served_at", "served_by"]
_IN_QUEUE = (DeskVisitStatus.WAITING, DeskVisitStatus.IN_SERVICE)
_FINISH_FIELDS = [*_TIME_FIELDS, "notes", "hand_off", "case", "task", "interaction"]


def _require_desk(actor) -> None:
    if not actor.has_capability(Capability.DESK):
        raise PermissionDenied(_("Your role may not work at the service desk."))


def desk_branches(user) -> QuerySet[Branch]:
    """Branches whose desk the user may operate: their own branch subtree (every branch for
    head-office roles)."""
    if not user.has_capability(Capability.DESK):
        return Branch.objects.none()
    return branches_visible_to(user).order_by("name")


def desk_figure_branches(user) -> QuerySet[Branch]:
    """Branches whose desk figures the user may read (desk staff, and compliance readers)."""
    if not (
        user.has_capability(Capability.DESK) or user.has_capability(Capability.COMPLIANCE_VIEW)
    ):
        return Branch.objects.none()
    return branches_visible_to(user).order_by("name")


def desk_branch_for(user, branch_id=None, *, branches: QuerySet[Branch] | None = None):
    """The desk the user works at (or reads): the chosen branch if it is one of ``branches``
    (default: the desks they may operate), else their own branch (None for head-office staff
    until they choose one). A branch outside their scope is a 404."""
    branches = desk_branches(user) if branches is None else branches
    if branch_id not in (None, ""):
        chosen = branches.filter(pk=int(branch_id)).first() if str(branch_id).isdigit() else None
        if chosen is None:
            raise Http404
        return chosen
    if user.branch is not None and not user.branch.is_head_office:
        return branches.filter(pk=user.branch_id).first()
    return None


def _check_transition(visit: DeskVisit, status: str) -> None:
    if status not in DESK_TRANSITIONS[visit.status]:
        raise ValidationError(
            _("Ticket %(ticket)s is “%(status)s”; it cannot become “%(target)s”.")
            % {
                "ticket": visit.ticket,
                "status": visit.get_status_display(),
                "target": DeskVisitStatus(status).label,
            }
        )


def _transition(visit: DeskVisit, status: str, *, actor, action: str, changes: dict) -> DeskVisit:
    """Move the visit to ``status`` if the desk's state machine allows it, and record it."""
    _check_transition(visit, status)
    before = snapshot(visit, _FINISH_FIELDS)
    visit.status = status
    for name, value in changes.items():
        setattr(visit, name, value)
    visit.save(update_fields=["status", *changes])
    audit_record(
        actor=actor,
        action=action,
        target=visit,
        branch_id=visit.branch_id,
        before=before,
        after=snapshot(visit, _FINISH_FIELDS),
    )
    return visit


def _lock(actor, visit: DeskVisit) -> DeskVisit:
    _require_desk(actor)
    locked = (
        desk_visits_visible_to(actor).select_for_update(of=("self",)).filter(pk=visit.pk).first()
    )
    if locked is None:
        raise PermissionDenied(_("This visit is outside your branches."))
    return locked


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


@transaction.atomic
def desk_check_in(
    *,
    actor,
    branch: Branch,
    reason: str,
    party: Party | None = None,
    visitor_name: str = "",
    visitor_phone: str = "",
    notes: str = "",
    now: datetime.datetime | None = None,
) -> DeskVisit:
    """Give a walk-in the next ticket of the day at the branch and put them in the queue.

    A known client is checked in by ``party``; a new visitor by name (and phone), without
    creating a party. Concurrent check-ins at one branch get consecutive tickets.
    """
    _require_desk(actor)
    now = _now(now)
    if not desk_branches(actor).filter(pk=branch.pk).exists():
        raise PermissionDenied(_("This branch is outside your scope."))
    errors = {}
    if reason not in DeskReason.values:
        errors["reason"] = _("Choose why the visitor came.")
    visitor_name = " ".join((visitor_name or "").split())[:160]
    if party is not None:
        if not parties_visible_to(actor).filter(pk=party.pk).exists():
            raise PermissionDenied(_("This client is outside your scope."))
        visitor_name = visitor_phone = ""
    elif not visitor_name:
        errors["visitor_name"] = _("Find the client, or write the new visitor's name.")
    try:
        visitor_phone = normalise_phone(visitor_phone)
    except ValidationError as exc:
        errors["visitor_phone"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    business_date = timezone.localdate(now)
    # One check-in at a time per branch: the branch row is the ticket counter's lock.
    Branch.objects.select_for_update().filter(pk=branch.pk).values_list("pk").get()
    today = DeskVisit.objects.filter(branch=branch, business_date=business_date)
    if party is not None:
        queued = today.filter(party=party, status__in=_IN_QUEUE).values_list("ticket", flat=True)
        if queued:
            raise ValidationError(
                {
                    "party": _("%(name)s is already in the queue with ticket %(ticket)s.")
                    % {"name": party.display_name, "ticket": queued[0]}
                }
            )
    last = today.order_by("-ticket").values_list("ticket", flat=True).first()
    visit = DeskVisit.objects.create(
        branch=branch,
        business_date=business_date,
        ticket=(last or 0) + 1,
        party=party,
        visitor_name=visitor_name,
        visitor_phone=visitor_phone,
        reason=reason,
        checked_in_at=now,
        checked_in_by=actor,
        notes=(notes or "").strip(),
    )
    audit_record(
        actor=actor,
        action="desk_visit.checked_in",
        target=visit,
        branch_id=branch.pk,
        after=snapshot(visit),
    )
    return visit


def _start(actor, visit: DeskVisit, now: datetime.datetime) -> DeskVisit:
    if visit.status == DeskVisitStatus.WAITING and now < visit.checked_in_at:
        raise ValidationError(_("Service cannot start before the visitor checked in."))
    return _transition(
        visit,
        DeskVisitStatus.IN_SERVICE,
        actor=actor,
        action="desk_visit.service_started",
        changes={"service_started_at": now, "served_by": actor},
    )


@transaction.atomic
def desk_start_service(*, actor, visit: DeskVisit, now: datetime.datetime | None = None):
    """Call a waiting visitor to the desk: the wait ends, the service starts."""
    return _start(actor, _lock(actor, visit), _now(now))


@transaction.atomic
def desk_call_next(*, actor, branch: Branch, now: datetime.datetime | None = None):
    """Start serving the longest-waiting visitor of the day at the branch (None if nobody
    waits). Two agents calling at once get two different visitors."""
    _require_desk(actor)
    now = _now(now)
    visit = (
        desk_visits_visible_to(actor)
        .select_for_update(of=("self",), skip_locked=True)
        .filter(
            branch=branch,
            business_date=timezone.localdate(now),
            status=DeskVisitStatus.WAITING,
        )
        .order_by("ticket")
        .first()
    )
    return None if visit is None else _start(actor, visit, now)


@transaction.atomic
def desk_mark_left(*, actor, visit: DeskVisit) -> DeskVisit:
    """The visitor left the queue before being served."""
    return _transition(
        _lock(actor, visit), DeskVisitStatus.LEFT, actor=actor, action="desk_visit.left", changes={}
    )


def _task_assignee(actor, visit: DeskVisit) -> User:
    """Who follows up a desk hand-off: the client's assigned staff, else the branch manager
    (each only if the actor may give them tasks), else the desk agent."""
    staff = staff_assignable_by(actor)
    party = visit.party
    if party is not None and party.assigned_to_id:
        assigned = staff.filter(pk=party.assigned_to_id).first()
        if assigned is not None:
            return assigned
    manager = staff.filter(branch=visit.branch_id, role=Role.BRANCH_MANAGER).order_by("pk")
    return manager.first() or actor


def _visitor_suffix(visit: DeskVisit) -> str:
    if visit.party_id:
        return ""
    contact = ", ".join(part for part in (visit.visitor_name, visit.visitor_phone) if part)
    return f" ({contact})"


def _hand_off(
    *,
    actor,
    visit: DeskVisit,
    hand_off: str,
    case_kind,
    severity,
    task_title: str,
    task_due,
    appointment_at,
    now: datetime.datetime,
) -> dict:
    """Create what the visit is handed off to; returns the visit fields that link it."""
    from compliance.cases import case_open
    from crm.interactions import task_create

    if hand_off == HandOff.NONE:
        return {}
    if hand_off == HandOff.CASE:
        errors = {}
        if visit.party_id is None:
            errors["hand_off"] = _("Only a known client's visit can open a compliance case.")
        if case_kind not in RequirementKind.values:
            errors["case_kind"] = _("Choose the compliance issue.")
        if severity not in Severity.values:
            errors["severity"] = _("Choose a severity.")
        if errors:
            raise ValidationError(errors)
        case, _created = case_open(
            party=visit.party,
            kind=case_kind,
            severity=severity,
            actor=actor,
            today=timezone.localdate(now),
        )
        return {"case": case}
    if hand_off == HandOff.TASK:
        errors = {}
        if not (task_title or "").strip():
            errors["task_title"] = _("Say what has to be done.")
        if task_due is None:
            errors["task_due"] = _("Give the date it is due.")
        if errors:
            raise ValidationError(errors)
        title, due = task_title.strip() + _visitor_suffix(visit), task_due
        assignee = _task_assignee(actor, visit)
    elif hand_off == HandOff.APPOINTMENT:
        if appointment_at is None:
            raise ValidationError(
                {"appointment_at": _("Give the day and time of the appointment.")}
            )
        if timezone.is_naive(appointment_at) or appointment_at < now:
            raise ValidationError({"appointment_at": _("An appointment must be in the future.")})
        local = timezone.localtime(appointment_at)
        title = _("Appointment at the desk, %(when)s") % {"when": f"{local:%Y-%m-%d %H:%M}"}
        title, due, assignee = title + _visitor_suffix(visit), local.date(), actor
    else:
        raise ValidationError({"hand_off": _("Choose what the visit is handed off to.")})
    task = task_create(
        actor=actor, title=title, due_date=due, assigned_to=assignee, party=visit.party
    )
    return {"task": task}


@transaction.atomic
def desk_finish(
    *,
    actor,
    visit: DeskVisit,
    notes: str = "",
    hand_off: str = HandOff.NONE,
    case_kind: str | None = None,
    task_title: str = "",
    task_due: datetime.date | None = None,
    appointment_at: datetime.datetime | None = None,
    severity: str | None = None,
    now: datetime.datetime | None = None,
) -> DeskVisit:
    """End the service of a visitor and hand the visit off if something remains to be done.

    A known client's visit is recorded as a desk-visit interaction on their timeline. Hand-offs:
    a compliance case (opened, or the open one of that issue, medium severity unless given), a
    task for the client's assigned staff (or the branch manager), or an appointment at the desk
    (a task for the agent, due that day).
    """
    from crm.interactions import interaction_record

    locked = _lock(actor, visit)
    now = _now(now)
    if locked.status == DeskVisitStatus.IN_SERVICE and now < locked.service_started_at:
        raise ValidationError(_("Service cannot end before it started."))
    _check_transition(locked, DeskVisitStatus.DONE)
    notes = (notes or "").strip()
    links = _hand_off(
        actor=actor,
        visit=locked,
        hand_off=hand_off,
        case_kind=case_kind,
        severity=severity or Severity.MEDIUM,
        task_title=task_title,
        task_due=task_due,
        appointment_at=appointment_at,
        now=now,
    )
    if locked.party_id is not None:
        links["interaction"] = interaction_record(
            actor=actor,
            party=locked.party,
            kind=InteractionKind.DESK_VISIT,
            summary=_("Desk visit: %(reason)s") % {"reason": locked.get_reason_display()},
            notes=notes,
            occurred_at=locked.service_started_at,
        )
    return _transition(
        locked,
        DeskVisitStatus.DONE,
        actor=actor,
        action="desk_visit.served",
        changes={
            "served_at": now,
            "notes": "\n".join(part for part in (locked.notes, notes) if part),
            "hand_off": hand_off,
            **links,
        },
    )


# --- Reads ---------------------------------------------------------------------------------------


def desk_visit_get_for_user(user, pk: int) -> DeskVisit:
    visit = desk_visits_visible_to(user).filter(pk=pk).first()
    if visit is None:
        raise Http404
    return visit


def desk_day_visits(*, user, branch: Branch, day: datetime.date) -> list[DeskVisit]:
    """Every visit of the day at the branch, by ticket, as the user may see them."""
    return list(
        desk_visits_visible_to(user)
        .filter(branch=branch, business_date=day)
        .select_related("case", "task")
        .order_by("ticket")
    )


@dataclass
class DeskQueue:
    """The desk's day split the way the screen shows it."""

    waiting: list[DeskVisit] = field(default_factory=list)
    in_service: list[DeskVisit] = field(default_factory=list)
    served: list[DeskVisit] = field(default_factory=list)
    left: list[DeskVisit] = field(default_factory=list)


def desk_queue(*, user, branch: Branch, now: datetime.datetime | None = None) -> DeskQueue:
    """Today's visits at the branch's desk; each waiting visit carries ``wait_minutes``."""
    now = _now(now)
    queue = DeskQueue()
    lists = {
        DeskVisitStatus.WAITING: queue.waiting,
        DeskVisitStatus.IN_SERVICE: queue.in_service,
        DeskVisitStatus.DONE: queue.served,
        DeskVisitStatus.LEFT: queue.left,
    }
    for visit in desk_day_visits(user=user, branch=branch, day=timezone.localdate(now)):
        visit.wait_minutes = desk_wait_minutes(visit, now)
        lists[visit.status].append(visit)
    queue.served.sort(key=lambda visit: visit.served_at, reverse=True)
    return queue


def desk_find_party(user, query: str, *, limit: int = 10) -> list[Party]:
    """Clients of the user's branches matching a NIF, a civil ID or a phone number, in any
    common spelling ("123 456 789", "991 23 45", "+238 991 2345")."""
    text = (query or "").strip()
    if len(text) < 5:
        return []
    condition = Q()
    for normalise, lookup in (
        (normalise_nif, "nif"),
        (normalise_civil_id, "person__civil_id"),
        (normalise_phone, "phone"),
    ):
        try:
            value = normalise(text)
        except ValidationError:
            continue
        if value:
            condition |= Q(**{lookup: value})
    if not condition:
        return []
    return list(
        parties_visible_to(user)
        .filter(condition)
        .select_related("person")
        .order_by("display_name")[:limit]
    )


# --- Daily figures -------------------------------------------------------------------------------

_MINUTE = Decimal("0.1")


def _minutes(seconds: list[float]) -> dict[str, Decimal | None]:
    """Average, median and longest of durations, in minutes to one decimal."""

    def to_minutes(value: float) -> Decimal:
        return (Decimal(str(value)) / 60).quantize(_MINUTE, rounding=ROUND_HALF_UP)

    if not seconds:
        return {"average": None, "median": None, "max": None}
    return {
        "average": to_minutes(sum(seconds) / len(seconds)),
        "median": to_minutes(statistics.median(seconds)),
        "max": to_minutes(max(seconds)),
    }


@dataclass(frozen=True)
class DeskFigures:
    """One branch's desk on one day. Waits count every visitor called to the desk; service
    times every visitor served. Minutes are Decimal to one decimal place."""

    branch: Branch
    day: datetime.date
    visits: int
    waiting: int
    in_service: int
    served: int
    left: int
    wait: dict
    service: dict
    by_reason: list[dict]
    by_staff: list[dict]


def _wait_seconds(visit: DeskVisit) -> float | None:
    if visit.service_started_at is None:
        return None
    return (visit.service_started_at - visit.checked_in_at).total_seconds()


def _service_seconds(visit: DeskVisit) -> float | None:
    if visit.status != DeskVisitStatus.DONE:
        return None
    return (visit.served_at - visit.service_started_at).total_seconds()


def desk_day_figures(*, branch: Branch, day: datetime.date) -> DeskFigures:
    """Visits, outcomes and wait / service minutes of a branch's desk on a day, overall, by
    reason and by member of staff (one query)."""
    visits = list(
        DeskVisit.objects.filter(branch=branch, business_date=day)
        .select_related("served_by")
        .order_by("ticket")
    )
    counts = defaultdict(int)
    for visit in visits:
        counts[visit.status] += 1
    by_reason = []
    for reason in DeskReason:
        mine = [visit for visit in visits if visit.reason == reason]
        if mine:
            by_reason.append(
                {
                    "reason": reason.value,
                    "label": reason.label,
                    "visits": len(mine),
                    "served": sum(visit.status == DeskVisitStatus.DONE for visit in mine),
                    "left": sum(visit.status == DeskVisitStatus.LEFT for visit in mine),
                    "wait": _minutes([s for s in map(_wait_seconds, mine) if s is not None]),
                }
            )
    staff: dict[int, list[DeskVisit]] = defaultdict(list)
    for visit in visits:
        if visit.served_by_id is not None:
            staff[visit.served_by_id].append(visit)
    by_staff = sorted(
        (
            {
                "user_id": user_id,
                "name": mine[0].served_by.display_name,
                "served": sum(visit.status == DeskVisitStatus.DONE for visit in mine),
                "in_service": sum(visit.status == DeskVisitStatus.IN_SERVICE for visit in mine),
                "service": _minutes([s for s in map(_service_seconds, mine) if s is not None]),
            }
            for user_id, mine in staff.items()
        ),
        key=lambda row: (-row["served"], row["name"]),
    )
    return DeskFigures(
        branch=branch,
        day=day,
        visits=len(visits),
        waiting=counts[DeskVisitStatus.WAITING],
        in_service=counts[DeskVisitStatus.IN_SERVICE],
        served=counts[DeskVisitStatus.DONE],
        left=counts[DeskVisitStatus.LEFT],
        wait=_minutes([s for s in map(_wait_seconds, visits) if s is not None]),
        service=_minutes([s for s in map(_service_seconds, visits) if s is not None]),
        by_reason=by_reason,
        by_staff=by_staff,
    )


def parse_day(raw: str | None) -> datetime.date | None:
    """A ``YYYY-MM-DD`` query value, or None when it is missing or not a date."""
    try:
        return datetime.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def desk_wait_minutes(visit: DeskVisit, now: datetime.datetime | None = None) -> int:
    """Whole minutes a visitor has waited (until now, or until called to the desk)."""
    end = visit.service_started_at or _now(now)
    return max(0, int((end - visit.checked_in_at).total_seconds() // 60))
