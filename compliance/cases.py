"""Services of compliance cases and of the requirements offers declare.

A case is one non-compliance being worked: one open case per party and issue (a database
constraint; opening again returns the open one), numbered ``CMP-<year>-<6 digits>`` from the
table's own sequence, due by the SLA of its severity, with the playbook's proposed solution and an
owner chosen by the assignment rules (see ``OwnerPicker``). Status moves go through ``_transition``
against ``CASE_TRANSITIONS``; every change writes an audit event in the same transaction.

A case closed by hand (escalated, false alarm) keeps the check it was closed against: the same
non-compliant check does not open it again; new evidence from a registry does.

Refusals: ``PermissionDenied`` (who), ``ValidationError`` with field-keyed messages (what), raised
before anything is written. ``actor=None`` is the system (the evaluation).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from compliance.choices import (
    CASE_TRANSITIONS,
    PLAYBOOK,
    SEVERITY_SLA_DAYS,
    SEVERITY_WEIGHT,
    CaseOutcome,
    CaseStatus,
    CheckStatus,
    RequirementKind,
    Severity,
    Solution,
)
from compliance.models import Case, ComplianceCheck, OfferRequirement
from compliance.scoping import cases_visible_to
from crm.models import Party
from loans.choices import PORTFOLIO_STATUSES
from loans.models import Loan
from users.models import User
from users.roles import Capability, Role

# Who is asked to follow a case up in a branch, in this order, when the party's own follow-up
# person cannot: field agents, then loan officers, then the branch manager (least loaded first).
OWNER_TIERS: tuple[tuple[str, ...], ...] = (
    (Role.FIELD_AGENT,),
    (Role.LOAN_OFFICER,),
    (Role.BRANCH_MANAGER,),
)
DEFAULT_MAX_DAYS_PAST_DUE = 30
MAX_CHECK_EVERY_DAYS = 3660
_OPEN = ~Q(status=CaseStatus.CLOSED)


# --- who may do what ---------------------------------------------------------------------------


def _require(actor, *capabilities: Capability) -> None:
    if (
        actor is None
        or actor.is_read_only
        or not any(actor.has_capability(capability) for capability in capabilities)
    ):
        raise PermissionDenied(_("Your role may not do this."))


def _lock(case: Case, actor=None) -> Case:
    """The case locked for change; for a person, only if it is in their scope."""
    cases = Case.objects if actor is None else cases_visible_to(actor)
    locked = cases.select_for_update(of=("self",)).filter(pk=case.pk).first()
    if locked is None:
        raise PermissionDenied(_("This case is outside your scope."))
    return locked


def _covers_branch(user: User, branch_id: int) -> bool:
    scope = user.branch_scope_ids()
    return scope is None or branch_id in scope


# --- one change, one audit event ---------------------------------------------------------------


def _change(case: Case, *, actor, action: str, changes: dict[str, Any]) -> Case:
    """Apply field changes to a locked case, save them and audit before/after."""
    names = [Case._meta.get_field(key).name for key in changes]
    before = snapshot(case, names)
    for key, value in changes.items():
        setattr(case, key, value)
    case.save(update_fields=names)
    audit_record(
        actor=actor,
        action=f"compliance_case.{action}",
        target=case,
        branch_id=case.branch_id,
        before=before,
        after=snapshot(case, names),
    )
    return case


def _transition(
    case: Case, to_status: str, *, actor, action: str, changes: dict[str, Any] | None = None
) -> Case:
    """Move a locked case along ``CASE_TRANSITIONS``; a move the map does not allow is refused."""
    if to_status not in CASE_TRANSITIONS[case.status]:
        raise ValidationError(
            {
                "status": _("A case that is “%(from)s” cannot become “%(to)s”.")
                % {"from": CaseStatus(case.status).label, "to": CaseStatus(to_status).label}
            }
        )
    changes = {"status": to_status, **(changes or {})}
    if to_status == CaseStatus.CLOSED:
        changes["closed_at"] = timezone.now()
    return _change(case, actor=actor, action=action, changes=changes)


# --- opening -------------------------------------------------------------------------------------


class OwnerPicker:
    """Chooses owners of new cases by the assignment rules, keeping loads up to date in memory.

    The party's ``assigned_to`` if that person may follow cases up (COMPLIANCE_FOLLOW_UP);
    otherwise, in the party's branch, the field agent with the fewest open cases, else the loan
    officer with the fewest, else the branch manager (ties: the longest-standing account).
    """

    def __init__(self, parties: Iterable[Party]):
        parties = list(parties)
        branch_ids = {party.branch_id for party in parties}
        assigned_ids = {party.assigned_to_id for party in parties} - {None}
        tier_roles = [role for tier in OWNER_TIERS for role in tier]
        staff = User.objects.filter(
            Q(branch_id__in=branch_ids, role__in=tier_roles) | Q(pk__in=assigned_ids),
            is_active=True,
        ).annotate(
            load=Count("compliance_cases", filter=~Q(compliance_cases__status=CaseStatus.CLOSED))
        )
        self.users = {user.pk: user for user in staff}

    def pick(self, party: Party) -> User | None:
        assigned = self.users.get(party.assigned_to_id)
        choice = None
        if assigned is not None and assigned.has_capability(Capability.COMPLIANCE_FOLLOW_UP):
            choice = assigned
        else:
            for roles in OWNER_TIERS:
                candidates = [
                    user
                    for user in self.users.values()
                    if user.branch_id == party.branch_id and user.role in roles
                ]
                if candidates:
                    choice = min(candidates, key=lambda user: (user.load, user.pk))
                    break
        if choice is not None:
            choice.load += 1
        return choice


def _next_case_ids(count: int) -> list[int]:
    """Primary keys drawn from the case table's own sequence (safe under concurrency)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Case._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _deadline(severity: str, today: datetime.date) -> datetime.date:
    return today + datetime.timedelta(days=SEVERITY_SLA_DAYS[severity])


def _new_case(
    case_id: int, *, party: Party, kind: str, severity: str, loan_id, check_id, owner, today
) -> Case:
    return Case(
        pk=case_id,
        number=f"CMP-{today.year}-{case_id:06d}",
        party=party,
        loan_id=loan_id,
        branch_id=party.branch_id,
        kind=kind,
        severity=severity,
        status=CaseStatus.OPEN,
        owner=owner,
        opened_at=timezone.now(),
        deadline=_deadline(severity, today),
        proposed_solution=PLAYBOOK[kind],
        opening_check_id=check_id,
    )


def _audit_opened(case: Case, actor) -> None:
    audit_record(
        actor=actor,
        action="compliance_case.opened",
        target=case,
        branch_id=case.branch_id,
        after=snapshot(case),
    )


def _escalate(case: Case, *, severity: str, actor, today: datetime.date) -> Case:
    """A higher severity on an open case raises it and brings its deadline forward."""
    if SEVERITY_WEIGHT[severity] <= SEVERITY_WEIGHT[case.severity]:
        return case
    return _change(
        case,
        actor=actor,
        action="severity_raised",
        changes={"severity": severity, "deadline": min(case.deadline, _deadline(severity, today))},
    )


def _open_case_locked(party_id: int, kind: str) -> Case | None:
    return (
        Case.objects.select_for_update(of=("self",))
        .filter(_OPEN, party_id=party_id, kind=kind)
        .first()
    )


def _validate_issue(kind: str, severity: str) -> None:
    errors = {}
    if kind not in RequirementKind.values:
        errors["kind"] = _("Unknown requirement.")
    if severity not in Severity.values:
        errors["severity"] = _("Unknown severity.")
    if errors:
        raise ValidationError(errors)


def _open_one(
    *, party: Party, kind: str, severity: str, loan_id, check_id, actor, today
) -> tuple[Case, bool]:
    existing = _open_case_locked(party.pk, kind)
    if existing is None:
        case = _new_case(
            _next_case_ids(1)[0],
            party=party,
            kind=kind,
            severity=severity,
            loan_id=loan_id,
            check_id=check_id,
            owner=OwnerPicker([party]).pick(party),
            today=today,
        )
        try:
            with transaction.atomic():
                case.save(force_insert=True)
        except IntegrityError:  # opened meanwhile by someone else: the constraint decides
            existing = _open_case_locked(party.pk, kind)
            if existing is None:
                raise
        else:
            _audit_opened(case, actor)
            return case, True
    return _escalate(existing, severity=severity, actor=actor, today=today), False


@transaction.atomic
def case_open(
    *,
    party: Party,
    kind: str,
    severity: str,
    loan: Loan | None = None,
    check: ComplianceCheck | None = None,
    actor=None,
    today: datetime.date | None = None,
) -> tuple[Case, bool]:
    """Open the case of a party's non-compliance, or return the one already open (raising its
    severity if this one is higher). Returns ``(case, created)``."""
    if actor is not None:
        _require(
            actor, Capability.COMPLIANCE_MANAGE, Capability.COMPLIANCE_FOLLOW_UP, Capability.DESK
        )
    _validate_issue(kind, severity)
    return _open_one(
        party=party,
        kind=kind,
        severity=severity,
        loan_id=loan.pk if loan else None,
        check_id=check.pk if check else None,
        actor=actor,
        today=today or timezone.localdate(),
    )


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What case handling needs of one latest check written (or confirmed) by an evaluation."""

    check_id: int
    party_id: int
    loan_id: int
    kind: str
    severity: str
    status: str


def _cases_open_many(failing: list[tuple[str, CheckOutcome]], today: datetime.date) -> int:
    """Open cases for many (severity, check) at once (a first evaluation may open thousands).
    Should any of them have been opened meanwhile, fall back to opening them one by one."""
    if not failing:
        return 0
    parties = Party.objects.in_bulk([check.party_id for _severity, check in failing])
    picker = OwnerPicker(parties.values())
    ids = _next_case_ids(len(failing))
    cases = [
        _new_case(
            case_id,
            party=parties[check.party_id],
            kind=check.kind,
            severity=severity,
            loan_id=check.loan_id,
            check_id=check.check_id,
            owner=picker.pick(parties[check.party_id]),
            today=today,
        )
        for case_id, (severity, check) in zip(ids, failing, strict=True)
    ]
    try:
        with transaction.atomic():
            Case.objects.bulk_create(cases)
    except IntegrityError:
        return sum(
            _open_one(
                party=parties[check.party_id],
                kind=check.kind,
                severity=severity,
                loan_id=check.loan_id,
                check_id=check.check_id,
                actor=None,
                today=today,
            )[1]
            for severity, check in failing
        )
    for case in cases:
        _audit_opened(case, None)
    return len(cases)


# --- following the checks ------------------------------------------------------------------------


def _highest(severities: Iterable[str]) -> str:
    return max(severities, key=SEVERITY_WEIGHT.__getitem__)


def _locked_open(pks: Iterable[int]) -> list[Case]:
    return list(
        Case.objects.select_for_update(of=("self",))
        .select_related("loan")
        .filter(_OPEN, pk__in=list(pks))
        .order_by("pk")
    )


def cases_follow_checks(*, checks: list[CheckOutcome], today: datetime.date) -> tuple[int, int]:
    """Cases after an evaluation (inside its transaction): a non-compliant check opens or keeps
    the case of its party and issue; a compliant one closes it as cured, unless another loan of
    the party is still non-compliant on that issue. Returns ``(opened, closed)``.

    Only the cases that change are read as objects and locked; the others stay untouched.
    """
    failing: dict[tuple[int, str], list[CheckOutcome]] = {}
    passing: dict[tuple[int, str], CheckOutcome] = {}
    for check in checks:
        key = (check.party_id, check.kind)
        if check.status == CheckStatus.NON_COMPLIANT:
            failing.setdefault(key, []).append(check)
        elif check.status == CheckStatus.COMPLIANT:
            passing.setdefault(key, check)
    if not failing and not passing:
        return 0, 0
    open_cases = {
        (party_id, kind): (pk, severity, loan_id, loan_status)
        for pk, party_id, kind, severity, loan_id, loan_status in Case.objects.filter(
            _OPEN, party_id__in={party_id for party_id, _kind in (*failing, *passing)}
        ).values_list("pk", "party_id", "kind", "severity", "loan_id", "loan__status")
    }
    closed = _close_cured(passing, open_cases)
    handled = set(
        Case.objects.filter(
            status=CaseStatus.CLOSED,
            closing_check_id__in=[check.check_id for group in failing.values() for check in group],
        ).values_list("party_id", "kind")
    )
    to_open, to_keep = [], {}
    for key, group in failing.items():
        severity = _highest(check.severity for check in group)
        if key not in open_cases:
            if key not in handled:
                to_open.append((severity, group[0]))
            continue
        pk, current, loan_id, loan_status = open_cases[key]
        moves_loan = loan_id != group[0].loan_id and loan_status not in PORTFOLIO_STATUSES
        if moves_loan or SEVERITY_WEIGHT[severity] > SEVERITY_WEIGHT[current]:
            to_keep[pk] = (severity, group[0].loan_id)
    for case in _locked_open(to_keep):
        _keep(case, severity=to_keep[case.pk][0], loan_id=to_keep[case.pk][1], today=today)
    return _cases_open_many(to_open, today), closed


def _close_cured(passing, open_cases) -> int:
    curable = {open_cases[key][0]: passing[key] for key in passing if key in open_cases}
    if not curable:
        return 0
    still_failing = set(
        ComplianceCheck.objects.filter(
            party_id__in={check.party_id for check in curable.values()},
            is_latest=True,
            status=CheckStatus.NON_COMPLIANT,
            requirement__is_active=True,
        ).values_list("party_id", "requirement__kind")
    )
    closed = 0
    for case in _locked_open(curable):
        if (case.party_id, case.kind) not in still_failing:
            _transition(
                case,
                CaseStatus.CLOSED,
                actor=None,
                action="closed",
                changes={
                    "outcome": CaseOutcome.CURED,
                    "closing_check_id": curable[case.pk].check_id,
                },
            )
            closed += 1
    return closed


def _keep(case: Case, *, severity: str, loan_id: int, today: datetime.date) -> None:
    """An open case stays open; it follows a loan still running if its own loan ended."""
    if case.loan_id != loan_id and (
        case.loan is None or case.loan.status not in PORTFOLIO_STATUSES
    ):
        _change(case, actor=None, action="loan_changed", changes={"loan_id": loan_id})
    _escalate(case, severity=severity, actor=None, today=today)


@transaction.atomic
def cases_close_for_ended_loans(
    *,
    loan_ids: list[int] | None = None,
    party_ids: list[int] | None = None,
) -> int:
    """Close, as "loan ended", the open cases whose loan is no longer in the portfolio
    (closed, written off, rescheduled). Returns how many were closed."""
    cases = (
        Case.objects.select_for_update(of=("self",))
        .filter(_OPEN, loan__isnull=False)
        .exclude(loan__status__in=PORTFOLIO_STATUSES)
    )
    if loan_ids is not None:
        cases = cases.filter(loan_id__in=loan_ids)
    if party_ids is not None:
        cases = cases.filter(party_id__in=party_ids)
    closed = 0
    for case in cases.order_by("pk"):
        _transition(
            case,
            CaseStatus.CLOSED,
            actor=None,
            action="closed",
            changes={"outcome": CaseOutcome.LOAN_ENDED},
        )
        closed += 1
    return closed


# --- working a case ------------------------------------------------------------------------------


def _validate_owner(owner: User | None, case: Case) -> None:
    if owner is None:
        raise ValidationError({"owner": _("Choose who owns the case.")})
    may_work = owner.has_capability(Capability.COMPLIANCE_FOLLOW_UP) or owner.has_capability(
        Capability.COMPLIANCE_MANAGE
    )
    if not may_work or owner.is_read_only:
        raise ValidationError(
            {"owner": _("%(name)s may not work compliance cases.") % {"name": owner.display_name}}
        )
    if not _covers_branch(owner, case.branch_id):
        raise ValidationError(
            {
                "owner": _("%(name)s does not work for this case's branch.")
                % {"name": owner.display_name}
            }
        )


@transaction.atomic
def case_assign(*, actor, case: Case, owner: User) -> Case:
    """Give the case to another member of staff who works its branch."""
    _require(actor, Capability.COMPLIANCE_MANAGE)
    case = _lock(case, actor)
    if case.status == CaseStatus.CLOSED:
        raise ValidationError({"owner": _("A closed case cannot be reassigned.")})
    _validate_owner(owner, case)
    if case.owner_id == owner.pk:
        return case
    return _change(case, actor=actor, action="assigned", changes={"owner": owner})


@transaction.atomic
def case_record_contact(*, actor, case: Case, at: datetime.datetime) -> Case:
    """A call or visit reached the borrower about the case: the first one is kept as
    ``first_contact_at``; an open case becomes "contacted". A closed case is left as it is."""
    _require(actor, Capability.COMPLIANCE_FOLLOW_UP, Capability.COMPLIANCE_MANAGE)
    case = _lock(case, actor)
    changes = {} if case.first_contact_at else {"first_contact_at": at}
    if case.status == CaseStatus.OPEN:
        return _transition(
            case, CaseStatus.CONTACTED, actor=actor, action="contacted", changes=changes
        )
    if changes and case.status != CaseStatus.CLOSED:
        return _change(case, actor=actor, action="contacted", changes=changes)
    return case


@transaction.atomic
def case_propose_solution(
    *,
    actor,
    case: Case,
    solution: str,
    notes: str = "",
    watch_until: datetime.date | None = None,
) -> Case:
    """Record the solution agreed with the borrower (by a compliance manager or the case's
    owner). Restructuring needs the end of its watch period, after today."""
    if actor is None or actor.is_read_only:
        raise PermissionDenied(_("Your role may not do this."))
    case = _lock(case, actor)
    is_owner = case.owner_id == actor.pk and actor.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
    if not (is_owner or actor.has_capability(Capability.COMPLIANCE_MANAGE)):
        raise PermissionDenied(_("Only the case's owner or a compliance manager may do this."))
    if solution not in Solution.values:
        raise ValidationError({"solution": _("Choose a solution from the playbook.")})
    if solution == Solution.RESTRUCTURING_WATCH and watch_until is None:
        raise ValidationError(
            {"watch_until": _("A restructuring needs the date its watch period ends.")}
        )
    if watch_until is not None and watch_until <= timezone.localdate():
        raise ValidationError({"watch_until": _("The watch period must end after today.")})
    changes = {
        "proposed_solution": solution,
        "solution_notes": (notes or "").strip(),
        "watch_until": watch_until,
    }
    if case.status == CaseStatus.SOLUTION_AGREED:
        return _change(case, actor=actor, action="solution_revised", changes=changes)
    return _transition(
        case, CaseStatus.SOLUTION_AGREED, actor=actor, action="solution_agreed", changes=changes
    )


def _latest_check(case: Case, status: str) -> ComplianceCheck | None:
    return (
        ComplianceCheck.objects.filter(
            party_id=case.party_id, requirement__kind=case.kind, is_latest=True, status=status
        )
        .order_by("-evaluated_at", "-pk")
        .first()
    )


def _closing_check(case: Case, outcome: str, check: ComplianceCheck | None):
    """The check a case closes against: given, or the latest one that explains the outcome."""
    if check is not None:
        if check.party_id != case.party_id or check.requirement.kind != case.kind:
            raise ValidationError({"check": _("This check is about another party or issue.")})
        if outcome == CaseOutcome.CURED and check.status != CheckStatus.COMPLIANT:
            raise ValidationError({"outcome": _("A case is cured by a compliant check.")})
        return check
    if outcome == CaseOutcome.CURED:
        check = _latest_check(case, CheckStatus.COMPLIANT)
        if check is None or _latest_check(case, CheckStatus.NON_COMPLIANT) is not None:
            raise ValidationError(
                {"outcome": _("A case is cured when the latest check is compliant; it is not.")}
            )
        return check
    if outcome == CaseOutcome.LOAN_ENDED:
        if case.loan is None or case.loan.status in PORTFOLIO_STATUSES:
            raise ValidationError({"outcome": _("The case's loan is still running.")})
        return None
    return _latest_check(case, CheckStatus.NON_COMPLIANT)


@transaction.atomic
def case_close(*, actor, case: Case, outcome: str, check: ComplianceCheck | None = None) -> Case:
    """Close the case with its outcome. Cured needs a compliant check; loan ended, a loan that
    ended. A case closed by hand is not reopened by the same non-compliant check."""
    if actor is not None:
        _require(actor, Capability.COMPLIANCE_MANAGE)
    case = _lock(case, actor)
    if outcome not in CaseOutcome.values:
        raise ValidationError({"outcome": _("Choose an outcome.")})
    closing = _closing_check(case, outcome, check)
    return _transition(
        case,
        CaseStatus.CLOSED,
        actor=actor,
        action="closed",
        changes={"outcome": outcome, "closing_check": closing},
    )


# --- requirements of offers --------------------------------------------------------------------


def _whole_number(value, *, minimum: int, message: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"threshold": message}) from None
    if not number.is_finite() or number != number.to_integral() or number < minimum:
        raise ValidationError({"threshold": message})
    return number


def requirement_threshold(kind: str, threshold) -> Decimal | None:
    """The threshold a requirement of this kind keeps: the most days past due allowed at a bank
    (default 30), the fewest declared employees (required); no other kind takes one."""
    blank = threshold in (None, "")
    if kind == RequirementKind.NO_BANK_ARREARS:
        if blank:
            return Decimal(DEFAULT_MAX_DAYS_PAST_DUE)
        return _whole_number(
            threshold,
            minimum=0,
            message=_("Give the most days past due allowed, a whole number of 0 or more."),
        )
    if kind == RequirementKind.JOBS_KEPT:
        if blank:
            raise ValidationError({"threshold": _("Give the minimum number of employees to keep.")})
        return _whole_number(
            threshold,
            minimum=1,
            message=_("Give the minimum number of employees, a whole number of 1 or more."),
        )
    if not blank:
        raise ValidationError({"threshold": _("This requirement takes no threshold.")})
    return None


def _requirement_clean(kind: str, severity: str, check_every_days, threshold) -> dict[str, Any]:
    _validate_issue(kind, severity)
    if (
        not isinstance(check_every_days, int)
        or isinstance(check_every_days, bool)
        or not 1 <= check_every_days <= MAX_CHECK_EVERY_DAYS
    ):
        raise ValidationError(
            {
                "check_every_days": _("Check every 1 to %(max)s days.")
                % {"max": MAX_CHECK_EVERY_DAYS}
            }
        )
    return {
        "severity": severity,
        "check_every_days": check_every_days,
        "threshold": requirement_threshold(kind, threshold),
    }


_REQUIREMENT_AUDIT = ("offer", "kind", "severity", "check_every_days", "threshold", "is_active")


def _audit_requirement(requirement, *, actor, action: str, before=None) -> None:
    audit_record(
        actor=actor,
        action=f"compliance_requirement.{action}",
        target=requirement,
        before=before,
        after=snapshot(requirement, _REQUIREMENT_AUDIT),
    )


@transaction.atomic
def requirement_create(
    *,
    actor,
    offer,
    kind: str,
    severity: str,
    check_every_days: int = 30,
    threshold=None,
) -> OfferRequirement:
    """A new requirement borrowers of the offer must keep up (one per kind and offer)."""
    _require(actor, Capability.COMPLIANCE_MANAGE)
    values = _requirement_clean(kind, severity, check_every_days, threshold)
    if OfferRequirement.objects.filter(offer=offer, kind=kind).exists():
        raise ValidationError(
            {"kind": _("This offer already has this requirement: edit it instead.")}
        )
    try:
        with transaction.atomic():
            requirement = OfferRequirement.objects.create(offer=offer, kind=kind, **values)
    except IntegrityError:
        raise ValidationError(
            {"kind": _("This offer already has this requirement: edit it instead.")}
        ) from None
    _audit_requirement(requirement, actor=actor, action="created")
    return requirement


@transaction.atomic
def requirement_update(
    *,
    actor,
    requirement: OfferRequirement,
    severity: str,
    check_every_days: int,
    threshold=None,
    is_active: bool | None = None,
) -> OfferRequirement:
    """Change how serious a breach is, how often to check and the threshold (the kind stays:
    its history of checks is about that kind); ``is_active`` may switch it back on or off."""
    _require(actor, Capability.COMPLIANCE_MANAGE)
    requirement = OfferRequirement.objects.select_for_update().get(pk=requirement.pk)
    values = _requirement_clean(requirement.kind, severity, check_every_days, threshold)
    if is_active is not None:
        values["is_active"] = bool(is_active)
    before = snapshot(requirement, _REQUIREMENT_AUDIT)
    for name, value in values.items():
        setattr(requirement, name, value)
    requirement.save(update_fields=list(values))
    _audit_requirement(requirement, actor=actor, action="updated", before=before)
    return requirement


@transaction.atomic
def requirement_deactivate(*, actor, requirement: OfferRequirement) -> OfferRequirement:
    """Stop evaluating the requirement (its checks stay as history)."""
    _require(actor, Capability.COMPLIANCE_MANAGE)
    requirement = OfferRequirement.objects.select_for_update().get(pk=requirement.pk)
    if not requirement.is_active:
        return requirement
    before = snapshot(requirement, _REQUIREMENT_AUDIT)
    requirement.is_active = False
    requirement.save(update_fields=["is_active"])
    _audit_requirement(requirement, actor=actor, action="deactivated", before=before)
    return requirement
