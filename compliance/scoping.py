"""Who sees which compliance data: one place for the branch and assignment scoping.

Branch staff see their branch subtree, head-office roles everything, field agents only the cases
they own or whose party is assigned to them. Out-of-scope objects are indistinguishable from
missing ones (404).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from compliance.models import Case, DeskVisit, FollowUp
from users.roles import Capability


def _may_see_cases(user) -> bool:
    return user.is_authenticated and (
        user.has_capability(Capability.COMPLIANCE_VIEW)
        or user.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
    )


def cases_visible_to(user) -> QuerySet[Case]:
    """Every case the user may see, with what a list row shows already joined."""
    if not _may_see_cases(user):
        return Case.objects.none()
    cases = Case.objects.select_related("party", "loan", "branch", "owner")
    if user.sees_assigned_only:
        return cases.filter(Q(owner=user) | Q(party__assigned_to=user))
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return cases
    return cases.filter(branch_id__in=branch_ids)


def case_get_for_user(user, pk: int) -> Case:
    case = cases_visible_to(user).filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


def follow_ups_visible_to(user) -> QuerySet[FollowUp]:
    if not _may_see_cases(user):
        return FollowUp.objects.none()
    follow_ups = FollowUp.objects.select_related("party", "case", "author")
    if user.sees_assigned_only:
        return follow_ups.filter(Q(author=user) | Q(case__owner=user) | Q(party__assigned_to=user))
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return follow_ups
    return follow_ups.filter(party__branch_id__in=branch_ids)


def desk_visits_visible_to(user) -> QuerySet[DeskVisit]:
    if not user.is_authenticated or not (
        user.has_capability(Capability.DESK) or user.has_capability(Capability.COMPLIANCE_VIEW)
    ):
        return DeskVisit.objects.none()
    visits = DeskVisit.objects.select_related("party", "branch", "served_by", "checked_in_by")
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return visits
    return visits.filter(branch_id__in=branch_ids)
