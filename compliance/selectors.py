"""Reads of compliance work: the risk-ranked worklist, one case with its history, checks,
requirements per offer, and the compact "Compliance" panels other pages include.

Scoping comes from ``compliance.scoping``; the worklist's risk score is computed in SQL so sorting
and pagination stay in the database:

    risk score = severity weight × exposure (the loan's principal outstanding)
                 × (1 + days open) × (1 + the loan's days past due)
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.db.models import (
    BooleanField,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from audit.selectors import events_for_object
from compliance.choices import SEVERITY_WEIGHT, CaseStatus, CheckStatus, Solution
from compliance.models import Case, ComplianceCheck, FollowUp, OfferRequirement
from compliance.scoping import cases_visible_to
from crm.models import Party
from loans.models import Loan, Offer
from users.models import Branch, User
from users.roles import ALL_BRANCH_ROLES, CAPABILITIES, READ_ONLY_ROLES, Capability

# What staff do for each solution of the playbook (shown next to the proposed solution).
PLAYBOOK_GUIDANCE: dict[str, str] = {
    Solution.SOCIAL_SECURITY_PLAN: _(
        "Help the borrower ask the Social Security Institute for a payment plan for the months "
        "in arrears, and keep a copy of the signed plan."
    ),
    Solution.TAX_REGULARISATION: _(
        "Help the borrower settle or schedule the tax debt with the revenue authority and obtain "
        "a new tax certificate."
    ),
    Solution.RESTRUCTURING_WATCH: _(
        "Agree a restructuring of the bank debt and watch the accounts until the end of the "
        "watch period."
    ),
    Solution.COACHING_REFERRAL: _(
        "Refer the business to coaching to recover activity and jobs; follow up the sessions."
    ),
    Solution.REPORT_REMINDER: _(
        "Remind the borrower of the periodic report and help to prepare and submit it."
    ),
}
MONEY = DecimalField(max_digits=20, decimal_places=4)
SCORE = DecimalField(max_digits=40, decimal_places=4)
# Roles that may own a case: those who follow cases up or manage them (never read-only ones).
CASE_WORKER_ROLES = sorted(
    (CAPABILITIES[Capability.COMPLIANCE_FOLLOW_UP] | CAPABILITIES[Capability.COMPLIANCE_MANAGE])
    - READ_ONLY_ROLES
)


def _days_between(later, earlier) -> Func:
    """Whole days from ``earlier`` to ``later`` (PostgreSQL date subtraction gives an integer)."""
    return Func(
        later, earlier, template="(%(expressions)s)", arg_joiner=" - ", output_field=IntegerField()
    )


def with_risk(cases: QuerySet[Case], *, today: datetime.date | None = None) -> QuerySet[Case]:
    """Annotate each case with the factors of its risk score, the score and whether it is overdue."""
    today = today or timezone.localdate()
    weight = SqlCase(
        *[
            When(severity=severity, then=Value(value))
            for severity, value in SEVERITY_WEIGHT.items()
        ],
        default=Value(0),
        output_field=IntegerField(),
    )
    days_open = Greatest(
        _days_between(Value(today, output_field=DateField()), TruncDate("opened_at")), Value(0)
    )
    return cases.annotate(
        severity_weight=weight,
        exposure=Coalesce(F("loan__principal_outstanding"), Value(0), output_field=MONEY),
        days_open=days_open,
        days_past_due=Coalesce(F("loan__days_past_due"), Value(0)),
        risk_score=ExpressionWrapper(
            F("severity_weight") * F("exposure") * (F("days_open") + 1) * (F("days_past_due") + 1),
            output_field=SCORE,
        ),
        is_overdue=ExpressionWrapper(
            Q(deadline__lt=today) & ~Q(status=CaseStatus.CLOSED), output_field=BooleanField()
        ),
    )


def worklist(*, user, today: datetime.date | None = None) -> QuerySet[Case]:
    """The cases the user may see, highest risk first (then the nearest deadline). The worklist
    filter (``compliance.filters.CaseFilter``) keeps the open ones unless a status is asked for."""
    return with_risk(cases_visible_to(user), today=today).order_by("-risk_score", "deadline", "pk")


def case_for_user(user, pk: int, *, today: datetime.date | None = None) -> Case:
    """One case with its risk factors, or Http404 if missing *or* out of the user's scope."""
    case = (
        worklist(user=user, today=today)
        .select_related("opening_check", "closing_check", "branch")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404("No such case")
    return case


def case_checks(*, case: Case, limit: int = 50) -> list[ComplianceCheck]:
    """The evaluations of the case's issue for its party, newest first, with their evidence."""
    return list(
        ComplianceCheck.objects.filter(party_id=case.party_id, requirement__kind=case.kind)
        .select_related("evidence__source", "requirement", "loan")
        .order_by("-evaluated_at", "-pk")[:limit]
    )


def case_follow_ups(*, case: Case) -> list[FollowUp]:
    return list(case.follow_ups.select_related("author").order_by("-occurred_at", "-pk"))


def case_events(*, case: Case, limit: int = 200) -> list[AuditEvent]:
    return list(events_for_object(target=case)[:limit])


def _branch_and_parents(branch_id: int) -> list[int]:
    ids, branch = [], Branch.objects.filter(pk=branch_id).first()
    while branch is not None:
        ids.append(branch.pk)
        branch = branch.parent
    return ids


def case_owner_candidates(*, case: Case) -> QuerySet[User]:
    """Staff who may own the case: case workers whose branch scope covers the case's branch."""
    return (
        User.objects.filter(is_active=True, role__in=CASE_WORKER_ROLES)
        .filter(Q(branch_id__in=_branch_and_parents(case.branch_id)) | Q(role__in=ALL_BRANCH_ROLES))
        .select_related("branch")
        .order_by("first_name", "last_name", "username")
    )


def checks_visible_to(user) -> QuerySet[ComplianceCheck]:
    """Checks of the loans whose cases the user may see (same branch and assignment scoping)."""
    if not user.is_authenticated or not user.has_capability(Capability.COMPLIANCE_VIEW):
        return ComplianceCheck.objects.none()
    checks = ComplianceCheck.objects.select_related(
        "requirement", "evidence__source", "loan", "party"
    )
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return checks
    return checks.filter(loan__branch_id__in=branch_ids)


def requirements_visible_to(user) -> QuerySet[OfferRequirement]:
    """Requirements are the institution's rules: every compliance reader sees all of them."""
    if not user.is_authenticated or not user.has_capability(Capability.COMPLIANCE_VIEW):
        return OfferRequirement.objects.none()
    return OfferRequirement.objects.select_related("offer").order_by("offer__name", "kind", "pk")


def offers_with_requirements() -> list[Offer]:
    """Active offers (and inactive ones that still have requirements), each with its
    requirements, active first."""
    requirements = OfferRequirement.objects.order_by("-is_active", "kind")
    return list(
        Offer.objects.filter(Q(is_active=True) | Q(requirements__isnull=False))
        .distinct()
        .prefetch_related(Prefetch("requirements", queryset=requirements))
        .order_by("name")
    )


# --- the "Compliance" panel of other pages -------------------------------------------------------


def _summary(checks: QuerySet[ComplianceCheck], cases: QuerySet[Case]) -> dict:
    latest = list(
        checks.filter(is_latest=True, requirement__is_active=True)
        .select_related("requirement", "evidence__source", "loan")
        .order_by("loan_id", "requirement__kind")
    )
    counts = Counter(check.status for check in latest)
    return {
        "checks": latest,
        "open_cases": list(
            cases.filter(~Q(status=CaseStatus.CLOSED)).select_related("owner").order_by("deadline")
        ),
        "counts": {status: counts.get(status, 0) for status in CheckStatus.values},
        "is_compliant": bool(latest)
        and all(check.status == CheckStatus.COMPLIANT for check in latest),
    }


def loan_compliance_summary(loan: Loan) -> dict:
    """Latest checks of the loan's requirements and the open cases on the loan, for a panel
    (``templates/compliance/cases/_summary_panel.html``). The caller has scoped the loan."""
    return _summary(ComplianceCheck.objects.filter(loan=loan), Case.objects.filter(loan=loan))


def party_compliance_summary(party: Party) -> dict:
    """Latest checks of every loan of the party and the party's open cases, for a panel.
    The caller has scoped the party."""
    return _summary(ComplianceCheck.objects.filter(party=party), Case.objects.filter(party=party))


def compliance_panel(user, *, loan=None, party=None) -> dict | None:
    """The compliance panel of a loan or party page, for staff who follow compliance (else None)."""
    if not user.has_capability(Capability.COMPLIANCE_VIEW):
        return None
    return loan_compliance_summary(loan) if loan is not None else party_compliance_summary(party)


def compliance_home_counts(user) -> dict | None:
    """The compliance figures of a user's home page: open and overdue cases in their scope, the
    cases they own, and the sources currently unavailable (None for staff without compliance)."""
    follows = user.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
    views = user.has_capability(Capability.COMPLIANCE_VIEW)
    if not (follows or views):
        return None
    from compliance.models import Source

    open_cases = cases_visible_to(user).exclude(status=CaseStatus.CLOSED)
    return open_cases.aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(deadline__lt=timezone.localdate())),
        mine=Count("pk", filter=Q(owner=user)),
    ) | {
        "unavailable_sources": (
            Source.objects.filter(is_active=True, unavailable_since__isnull=False).count()
            if views
            else None
        ),
        "follows": follows,
        "views": views,
    }
