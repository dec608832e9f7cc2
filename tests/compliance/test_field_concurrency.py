"""The same follow-up arriving twice at the same moment (a phone resending while the first copy is
still in flight), against the real PostgreSQL: one row, both answers name it."""

from __future__ import annotations

import uuid

import pytest

from compliance.field import follow_up_record
from compliance.models import Case, FollowUp
from crm.models import Interaction, Party, Task
from tests.compliance.test_field_support import client_with_case
from tests.concurrency import race
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_copies_of_one_submission_racing_are_stored_once(field_agent):
    # given
    party, case = client_with_case(field_agent)
    submission = uuid.uuid4()

    def send():
        return follow_up_record(
            actor=User.objects.get(pk=field_agent.pk),
            client_uuid=submission,
            party=Party.objects.get(pk=party.pk),
            case=Case.objects.get(pk=case.pk),
            kind="call",
            outcome="needs_help",
            next_action_date=None,
        )

    # when
    outcomes = race([send, send, send])
    # then
    assert all(isinstance(outcome, tuple) for outcome in outcomes), outcomes
    follow_up = FollowUp.objects.get()
    assert sorted(created for _follow_up, created in outcomes) == [False, False, True]
    assert {found.pk for found, _created in outcomes} == {follow_up.pk}
    assert (Interaction.objects.count(), Task.objects.count()) == (1, 0)
