"""Scoped reads: who sees which engagement, and the ranked coach suggestions from the database."""

import datetime

from coaching.selectors import coach_suggestions, engagements_visible_to, sessions_visible_to
from tests.coaching.factories import (
    D,
    accepted_engagement,
    coach_user,
    day,
    log_session,
    make_coach,
)
from tests.crm.factories import make_enterprise


def test_each_role_sees_the_engagements_of_its_scope(
    manager,
    branch_manager,
    loan_officer,
    outsider,
    auditor,
    coach,
    service_desk,
    engagement,
    mindelo_client,
    product,
):
    # given: a Mindelo engagement with another coach
    other = make_coach(manager, coach_user("coach.mindelo", "Rosa"))
    mindelo = accepted_engagement(manager, party=mindelo_client, product=product, coach=other)
    log_session(other.user, mindelo, on=day(2))

    # then
    def seen(user):
        return sorted(engagements_visible_to(user).values_list("pk", flat=True))

    assert seen(manager) == sorted([engagement.pk, mindelo.pk])
    assert seen(auditor) == sorted([engagement.pk, mindelo.pk])
    assert seen(branch_manager) == [engagement.pk]
    assert seen(loan_officer) == [engagement.pk]
    assert seen(coach) == [engagement.pk]
    assert seen(other.user) == [mindelo.pk]
    assert seen(outsider) == [mindelo.pk]
    assert seen(service_desk) == []
    assert list(sessions_visible_to(coach)) == []
    assert sessions_visible_to(outsider).count() == 1


def test_suggestions_rank_real_coaches_with_this_months_load_and_the_partys_sector_and_island(
    manager, branch_manager, loan_officer, product
):
    # given: an enterprise in retail on Santiago
    shop = make_enterprise(loan_officer, legal_name="Mercearia Lopes", sector="retail")
    ana = make_coach(
        manager,
        coach_user("coach.ana", "Ana", "Silva"),
        skills=["bookkeeping", "pricing"],
        sectors=["retail"],
        islands=["santiago"],
        languages=["kea"],
        capacity_hours_per_month=D("10"),
    )
    bruno = make_coach(
        manager,
        coach_user("coach.bruno", "Bruno", "Tavares"),
        skills=["bookkeeping"],
        sectors=["retail"],
        islands=["santiago"],
        languages=["pt"],
        capacity_hours_per_month=D("20"),
    )
    make_coach(
        manager,
        coach_user("coach.carla", "Carla", "Lima"),
        skills=["bookkeeping", "pricing"],
        sectors=["retail"],
        islands=["santiago"],
        languages=["kea"],
        capacity_hours_per_month=D("40"),
        accreditation_name="ICF ACC",
        accreditation_expires_on=day(10),
    )
    # Ana has 8.5 hours booked this month: 1.5 spare hours left, one whole hour scores.
    busy = accepted_engagement(branch_manager, party=shop, product=product, coach=ana)
    log_session(ana.user, busy, on=day(3), minutes=300)
    log_session(ana.user, busy, on=day(20), minutes=210, status="planned")
    # when
    suggestions = coach_suggestions(
        request_party=shop, skills=["Pricing", "bookkeeping"], language="kea", as_of=day(15)
    )
    # then
    assert [(item.coach, item.score) for item in suggestions] == [(ana, 40), (bruno, 34)]
    assert [item.reasons for item in suggestions] == [
        (
            "Skills: pricing, bookkeeping (2 of 2) +20",
            "Covers the sector Retail trade +8",
            "Works on Santiago +6",
            "Speaks Kriolu (Kabuverdianu) +5",
            "Spare this month: 1.5 h of 10 h +1",
        ),
        (
            "Skills: bookkeeping (1 of 2) +10",
            "Covers the sector Retail trade +8",
            "Works on Santiago +6",
            "Does not speak Kriolu (Kabuverdianu) +0",
            "Spare this month: 20 h of 20 h +10",
        ),
    ]


def test_an_explicit_empty_criterion_means_no_preference_and_next_month_frees_the_capacity(
    manager, branch_manager, loan_officer, product
):
    # given
    shop = make_enterprise(loan_officer, legal_name="Oficina Borges", sector="crafts")
    ana = make_coach(manager, coach_user("coach.ana", "Ana"), capacity_hours_per_month=D("4"))
    busy = accepted_engagement(branch_manager, party=shop, product=product, coach=ana)
    log_session(ana.user, busy, on=day(3), minutes=240)
    # when
    this_month = coach_suggestions(request_party=shop, sector="", island="", as_of=day(15))
    next_month = coach_suggestions(
        request_party=shop, sector="", island="", as_of=day(15) + datetime.timedelta(days=31)
    )
    # then
    assert [item.reasons for item in this_month] == [
        ("No spare capacity this month: 4 h booked of 4 h +0",)
    ]
    assert [item.reasons for item in next_month] == [("Spare this month: 4 h of 4 h +4",)]
