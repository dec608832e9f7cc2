"""Walk-ins checked in at the same moment at one branch, and two agents calling the next visitor
at once, against the real PostgreSQL (committed data, real threads)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from compliance.choices import DeskVisitStatus
from compliance.desk import desk_call_next, desk_check_in
from compliance.models import DeskVisit
from tests.concurrency import race
from tests.factories import UserFactory
from users.models import Branch, User
from users.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def _check_in(user_pk: int, branch_pk: int, name: str):
    def call():
        return desk_check_in(
            actor=User.objects.get(pk=user_pk),
            branch=Branch.objects.get(pk=branch_pk),
            reason="repayment",
            visitor_name=name,
        )

    return call


def test_concurrent_check_ins_get_different_consecutive_tickets(
    service_desk, branch_manager, praia
):
    # given
    colleague = UserFactory(username="desk2", role=Role.SERVICE_DESK, branch=praia)
    agents = [service_desk, branch_manager, colleague, service_desk]
    # when
    outcomes = race(
        [_check_in(agent.pk, praia.pk, f"Visitor {n}") for n, agent in enumerate(agents)]
    )
    # then
    assert all(isinstance(outcome, DeskVisit) for outcome in outcomes), outcomes
    assert sorted(visit.ticket for visit in outcomes) == [1, 2, 3, 4]
    assert DeskVisit.objects.filter(branch=praia, business_date=timezone.localdate()).count() == 4


def test_two_agents_calling_the_next_visitor_at_once_get_different_visitors(
    service_desk, branch_manager, praia
):
    # given
    for name in ("First", "Second"):
        _check_in(service_desk.pk, praia.pk, name)()

    def call_next(user_pk):
        return lambda: desk_call_next(
            actor=User.objects.get(pk=user_pk), branch=Branch.objects.get(pk=praia.pk)
        )

    # when
    outcomes = race([call_next(service_desk.pk), call_next(branch_manager.pk)])
    # then
    assert all(isinstance(outcome, DeskVisit) for outcome in outcomes), outcomes
    assert sorted(visit.ticket for visit in outcomes) == [1, 2]
    assert set(DeskVisit.objects.values_list("status", flat=True)) == {DeskVisitStatus.IN_SERVICE}
