"""Reads of branches and staff, scoped to the user."""

from __future__ import annotations

from django.db.models import QuerySet

from users.models import Branch, User
from users.roles import Role

FOLLOW_UP_ROLES = [Role.LOAN_OFFICER, Role.FIELD_AGENT, Role.COACH, Role.BRANCH_MANAGER]


def branches_visible_to(user) -> QuerySet[Branch]:
    scope = user.branch_scope_ids()
    branches = Branch.objects.filter(is_active=True)
    return branches if scope is None else branches.filter(pk__in=scope)


def staff_assignable_by(user) -> QuerySet[User]:
    """Staff a party can be assigned to: follow-up roles in the user's branches."""
    staff = User.objects.filter(is_active=True, role__in=FOLLOW_UP_ROLES).select_related("branch")
    scope = user.branch_scope_ids()
    return staff if scope is None else staff.filter(branch_id__in=scope)
