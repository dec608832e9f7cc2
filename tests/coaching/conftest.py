"""Coaching fixtures: one product, the ``coach`` persona's profile, a Praia client and a Mindelo
client, built through the real services."""

from __future__ import annotations

import pytest

from tests.coaching.factories import D, accepted_engagement, make_coach, make_product
from tests.crm.factories import make_person


@pytest.fixture
def product(manager):
    return make_product(manager, name="Business coaching 10 h", package_hours=D("10"))


@pytest.fixture
def coach_profile(manager, coach):
    return make_coach(manager, coach)


@pytest.fixture
def praia_client(loan_officer):
    return make_person(loan_officer, first_name="Ana", last_name="Lopes")


@pytest.fixture
def mindelo_client(outsider):
    return make_person(outsider, first_name="Cidalia", last_name="Fortes", island="sao_vicente")


@pytest.fixture
def engagement(branch_manager, praia_client, product, coach_profile):
    """Accepted (before the previous month began) by the Praia branch manager."""
    return accepted_engagement(
        branch_manager, party=praia_client, product=product, coach=coach_profile
    )
