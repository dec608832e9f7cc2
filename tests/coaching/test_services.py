"""Coaching services: every transition with its exact audit events, refusals that change nothing,
hours used against the package, capacity, feedback averages, confirmations and action items."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from coaching import services
from coaching.choices import ConfirmationChannel, EngagementStatus, SessionStatus
from coaching.models import ActionItem, Coach, CoachingProduct, Engagement, Feedback, Session
from coaching.selectors import (
    coach_average_rating,
    coach_month_load,
    coaches_with_load,
    engagement_get_for_user,
    engagement_hours,
)
from crm.models import Task
from loans.choices import OfferKind
from loans.models import Offer
from tests.coaching.factories import (
    D,
    accepted_engagement,
    accepted_on,
    at,
    coach_user,
    day,
    log_session,
    make_coach,
    make_engagement,
    make_product,
    requested_on,
)
from tests.crm.factories import make_person


def _actions(since: int = 0) -> list[str]:
    return list(
        AuditEvent.objects.filter(pk__gt=since).order_by("pk").values_list("action", flat=True)
    )


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _state(engagement):
    engagement.refresh_from_db()
    return (
        engagement.status,
        engagement.accepted_on,
        engagement.started_on,
        engagement.completed_on,
        engagement.cancelled_on,
    )


# --- products and coaches ----------------------------------------------------------------------


def test_a_subsidised_product_records_the_programme_and_splits_the_price(manager):
    # given
    programme = Offer.objects.create(code="pro-empresa", name="Pro Empresa", kind=OfferKind.GRANT)
    # when
    product = services.coaching_product_create(
        actor=manager,
        name="Start-up coaching",
        package_hours=D("12"),
        price=D("24000.00"),
        subsidy_percent=D("62.5"),
        programme=programme,
    )
    # then
    assert (product.currency, product.subsidy_amount, product.customer_amount) == (
        "CVE",
        D("15000.00"),
        D("9000.00"),
    )
    event = AuditEvent.objects.get(action="coaching_product.created")
    assert event.after == {
        "name": "Start-up coaching",
        "description": "",
        "package_hours": "12",
        "price": "24000.00",
        "currency": "CVE",
        "subsidy_percent": "62.5",
        "programme": programme.pk,
        "is_active": True,
    }


def test_a_subsidy_without_a_programme_is_refused_and_nothing_is_created(manager):
    # when
    with pytest.raises(ValidationError) as refusal:
        services.coaching_product_create(
            actor=manager,
            name="Free coaching",
            package_hours=D("5"),
            price=D("5000"),
            subsidy_percent=D("50"),
        )
    # then
    assert refusal.value.message_dict == {"programme": ["Say which programme pays the subsidy."]}
    assert CoachingProduct.objects.count() == 0
    assert _actions() == []


def test_a_coach_or_loan_officer_may_not_create_products(coach, loan_officer):
    # when / then
    for actor in (coach, loan_officer):
        with pytest.raises(PermissionDenied):
            make_product(actor)
    assert CoachingProduct.objects.count() == 0


def test_a_product_change_is_audited_field_by_field_and_sold_engagements_keep_their_terms(
    manager, engagement, product
):
    # when
    services.coaching_product_update(
        actor=manager, product=product, changes={"price": D("18000.00"), "package_hours": D("10")}
    )
    # then
    event = AuditEvent.objects.get(action="coaching_product.updated")
    assert (event.before, event.after) == ({"price": "15000.0000"}, {"price": "18000.00"})
    engagement.refresh_from_db()
    assert (engagement.price, engagement.package_hours) == (D("15000.0000"), D("10.00"))


def test_only_a_user_with_the_coach_role_gets_a_coach_profile(manager, loan_officer):
    # when
    with pytest.raises(ValidationError) as refusal:
        make_coach(manager, loan_officer)
    # then
    assert refusal.value.message_dict == {
        "user": ["Only a user with the coach role can have a profile."]
    }
    assert Coach.objects.count() == 0


def test_a_coach_profile_normalises_skills_and_refuses_unknown_sectors(manager, coach):
    # when
    with pytest.raises(ValidationError):
        make_coach(manager, coach, sectors=["space_travel"])
    profile = make_coach(
        manager,
        coach,
        skills=["Bookkeeping", "bookkeeping ", "Digital  marketing"],
        is_volunteer=True,
    )
    # then
    assert profile.skills == ["bookkeeping", "digital marketing"]
    assert _actions() == ["coaching_coach.created"]


# --- requests and transitions ------------------------------------------------------------------


def test_a_request_copies_the_terms_sold_and_is_audited(
    branch_manager, praia_client, product, coach_profile
):
    # when
    engagement = make_engagement(
        branch_manager,
        party=praia_client,
        product=product,
        coach=coach_profile,
        skills=["Bookkeeping"],
        sector="retail",
        needs="Keep accounts",
    )
    # then
    assert (
        engagement.status,
        engagement.package_hours,
        engagement.price,
        engagement.currency,
        engagement.requested_skills,
        engagement.requested_by,
    ) == (
        EngagementStatus.REQUESTED,
        D("10"),
        D("15000.00"),
        "CVE",
        ["bookkeeping"],
        branch_manager,
    )
    event = AuditEvent.objects.get(action="coaching_engagement.requested")
    assert (event.actor, event.branch_id, event.object_id) == (
        branch_manager,
        praia_client.branch_id,
        str(engagement.pk),
    )
    assert event.after == {
        "status": "requested",
        "party": praia_client.pk,
        "product": product.pk,
        "coach": coach_profile.pk,
        "package_hours": "10.00",
        "price": "15000.0000",
        "currency": "CVE",
        "subsidy_percent": "0.0000",
        "requested_on": requested_on().isoformat(),
    }


def test_a_party_of_another_branch_cannot_be_requested_for_and_nothing_is_created(
    branch_manager, mindelo_client, product, coach_profile
):
    # given
    before = _last_event_id()
    # when
    with pytest.raises(PermissionDenied):
        make_engagement(branch_manager, party=mindelo_client, product=product, coach=coach_profile)
    # then
    assert Engagement.objects.count() == 0
    assert _actions(before) == []


def test_a_coach_with_an_expired_accreditation_cannot_be_requested(
    manager, branch_manager, praia_client, product
):
    # given
    expired = make_coach(
        manager,
        coach_user("coach.expired", "Rui"),
        accreditation_name="ICF ACC",
        accreditation_expires_on=requested_on() - datetime.timedelta(days=1),
    )
    # when
    with pytest.raises(ValidationError) as refusal:
        make_engagement(branch_manager, party=praia_client, product=product, coach=expired)
    # then
    expiry = (requested_on() - datetime.timedelta(days=1)).isoformat()
    assert refusal.value.message_dict == {
        "coach": [f"The coach's accreditation expired on {expiry}."]
    }
    assert Engagement.objects.count() == 0


def test_the_whole_life_of_an_engagement_leaves_one_event_per_move(
    branch_manager, coach, praia_client, product, coach_profile
):
    # given
    engagement = make_engagement(
        branch_manager, party=praia_client, product=product, coach=coach_profile
    )
    start = _last_event_id()
    # when: the coach accepts, starts and completes
    services.engagement_transition(
        actor=coach, engagement=engagement, to_status="accepted", on=accepted_on()
    )
    services.engagement_transition(
        actor=coach, engagement=engagement, to_status="active", on=day(2)
    )
    services.engagement_transition(
        actor=coach, engagement=engagement, to_status="completed", on=day(20)
    )
    # then
    assert _state(engagement) == ("completed", accepted_on(), day(2), day(20), None)
    events = list(AuditEvent.objects.filter(pk__gt=start).order_by("pk"))
    assert [(event.action, event.actor, event.before, event.after) for event in events] == [
        (
            "coaching_engagement.accepted",
            coach,
            {"status": "requested"},
            {"status": "accepted", "accepted_on": accepted_on().isoformat()},
        ),
        (
            "coaching_engagement.started",
            coach,
            {"status": "accepted"},
            {"status": "active", "started_on": day(2).isoformat()},
        ),
        (
            "coaching_engagement.completed",
            coach,
            {"status": "active"},
            {"status": "completed", "completed_on": day(20).isoformat()},
        ),
    ]
    assert {event.branch_id for event in events} == {praia_client.branch_id}


def test_cancelling_needs_a_reason_and_cancels_the_planned_sessions(
    branch_manager, coach, engagement
):
    # given
    planned = log_session(coach, engagement, on=day(10), status=SessionStatus.PLANNED)
    held = log_session(coach, engagement, on=day(3))
    start = _last_event_id()
    # when: no reason
    with pytest.raises(ValidationError) as refusal:
        services.engagement_transition(
            actor=branch_manager, engagement=engagement, to_status="cancelled", on=day(11)
        )
    # then
    assert refusal.value.message_dict == {"reason": ["Say why the engagement is cancelled."]}
    assert _state(engagement)[0] == "active"
    assert _actions(start) == []
    # when: with a reason
    services.engagement_transition(
        actor=branch_manager,
        engagement=engagement,
        to_status="cancelled",
        on=day(11),
        reason="Moved to Boa Vista",
    )
    # then
    engagement.refresh_from_db()
    assert (engagement.status, engagement.cancelled_on, engagement.cancellation_reason) == (
        "cancelled",
        day(11),
        "Moved to Boa Vista",
    )
    assert dict(Session.objects.values_list("pk", "status")) == {
        planned.pk: "cancelled",
        held.pk: "held",
    }
    event = AuditEvent.objects.get(action="coaching_engagement.cancelled")
    assert event.after == {
        "status": "cancelled",
        "cancelled_on": day(11).isoformat(),
        "cancellation_reason": "Moved to Boa Vista",
        "planned_sessions_cancelled": [planned.pk],
    }


@pytest.mark.parametrize(
    ("moves", "refused", "message"),
    [
        ([], "completed", "An engagement that is requested cannot become completed."),
        ([], "active", "An engagement that is requested cannot become active."),
        (["accepted"], "requested", "An engagement that is accepted cannot become requested."),
        (
            ["accepted", "active", "completed"],
            "active",
            "An engagement that is completed cannot become active.",
        ),
        (["cancelled"], "accepted", "An engagement that is cancelled cannot become accepted."),
    ],
)
def test_a_move_outside_the_state_machine_is_refused_and_nothing_changes(
    branch_manager, praia_client, product, coach_profile, moves, refused, message
):
    # given
    engagement = make_engagement(
        branch_manager, party=praia_client, product=product, coach=coach_profile
    )
    for move in moves:
        services.engagement_transition(
            actor=branch_manager, engagement=engagement, to_status=move, reason="Changed plans"
        )
    state = _state(engagement)
    start = _last_event_id()
    # when
    with pytest.raises(ValidationError) as refusal:
        services.engagement_transition(
            actor=branch_manager, engagement=engagement, to_status=refused, reason="x"
        )
    # then
    assert refusal.value.messages == [message]
    assert _state(engagement) == state
    assert _actions(start) == []


def test_a_move_cannot_be_dated_before_the_previous_one_nor_in_the_future(
    branch_manager, engagement
):
    # when / then
    with pytest.raises(ValidationError) as early:
        services.engagement_transition(
            actor=branch_manager,
            engagement=engagement,
            to_status="active",
            on=accepted_on() - datetime.timedelta(days=1),
        )
    with pytest.raises(ValidationError) as future:
        services.engagement_transition(
            actor=branch_manager,
            engagement=engagement,
            to_status="active",
            on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert early.value.message_dict == {
        "on": [f"The date cannot be before {accepted_on().isoformat()}."]
    }
    assert future.value.message_dict == {
        "on": ["A change of status cannot be dated in the future."]
    }
    assert _state(engagement)[0] == "accepted"


def test_another_coach_an_outsider_and_an_auditor_may_not_move_an_engagement(
    manager, outsider, auditor, loan_officer, engagement
):
    # given
    other = coach_user("coach.other", "Rosa")
    make_coach(manager, other)
    start = _last_event_id()
    # when / then
    for actor in (other, outsider, auditor, loan_officer):
        with pytest.raises(PermissionDenied):
            services.engagement_transition(actor=actor, engagement=engagement, to_status="active")
    assert _state(engagement)[0] == "accepted"
    assert _actions(start) == []


# --- sessions and hours ------------------------------------------------------------------------


def test_the_first_held_session_starts_an_accepted_engagement(coach, engagement):
    # given
    start = _last_event_id()
    # when
    session = log_session(coach, engagement, on=day(4), minutes=90, situation="Sales are low")
    # then
    assert _state(engagement)[:3] == ("active", accepted_on(), day(4))
    assert _actions(start) == ["coaching_session.logged", "coaching_engagement.started"]
    logged = AuditEvent.objects.get(action="coaching_session.logged")
    assert logged.after == {
        "engagement": engagement.pk,
        "status": "held",
        "scheduled_at": at(day(4)).isoformat(),
        "duration_minutes": 90,
        "mode": "in_person",
        "situation": "Sales are low",
        "advice": "",
        "agreed_actions": "",
        "action_items": [],
    }
    assert (logged.actor, logged.object_id, logged.branch_id) == (
        coach,
        str(session.pk),
        engagement.party.branch_id,
    )


def test_hours_used_count_only_held_sessions_against_the_package(coach, branch_manager, engagement):
    # given: 60 + 90 + 50 held minutes = 200 minutes = 3.33 h; a no-show and a planned one
    log_session(coach, engagement, on=day(2), minutes=60)
    log_session(coach, engagement, on=day(9), minutes=90)
    log_session(coach, engagement, on=day(16), minutes=50, mode="phone")
    log_session(coach, engagement, on=day(20), minutes=45, status=SessionStatus.NO_SHOW)
    log_session(coach, engagement, on=day(25), minutes=30, status=SessionStatus.PLANNED)
    # when
    annotated = engagement_get_for_user(user=branch_manager, engagement_id=engagement.pk)
    engagement.refresh_from_db()
    # then
    for subject in (annotated, engagement):
        hours = engagement_hours(engagement=subject)
        assert (hours.used, hours.package, hours.remaining, hours.over_package) == (
            D("3.33"),
            D("10.00"),
            D("6.67"),
            D("0"),
        )


def test_hours_beyond_the_package_are_logged_and_shown_as_over_the_package(
    manager, coach, branch_manager, praia_client, coach_profile
):
    # given
    small = make_product(manager, name="Two hours", package_hours=D("2"), price=D("3000"))
    engagement = accepted_engagement(
        branch_manager, party=praia_client, product=small, coach=coach_profile
    )
    # when
    log_session(coach, engagement, on=day(2), minutes=90)
    log_session(coach, engagement, on=day(3), minutes=75)
    # then
    hours = engagement_hours(engagement=engagement)
    assert (hours.used, hours.remaining, hours.over_package) == (D("2.75"), D("0"), D("0.75"))


def test_a_held_session_in_the_future_or_before_acceptance_is_refused_and_nothing_is_logged(
    coach, engagement
):
    # given
    start = _last_event_id()
    # when / then
    with pytest.raises(ValidationError) as future:
        services.session_log(
            actor=coach,
            engagement=engagement,
            scheduled_at=timezone.now() + datetime.timedelta(hours=2),
        )
    with pytest.raises(ValidationError) as early:
        services.session_log(
            actor=coach,
            engagement=engagement,
            scheduled_at=at(accepted_on() - datetime.timedelta(days=1)),
        )
    assert future.value.message_dict == {
        "scheduled_at": ["A session that took place cannot be in the future."]
    }
    assert early.value.message_dict == {
        "scheduled_at": [
            f"The engagement was accepted on {accepted_on().isoformat()}; a session cannot be earlier."
        ]
    }
    assert Session.objects.count() == 0
    assert _actions(start) == []
    assert _state(engagement)[0] == "accepted"


def test_sessions_are_refused_on_a_requested_engagement(
    branch_manager, coach, praia_client, product, coach_profile
):
    # given
    engagement = make_engagement(
        branch_manager, party=praia_client, product=product, coach=coach_profile
    )
    # when
    with pytest.raises(ValidationError) as refusal:
        log_session(coach, engagement, on=day(2))
    # then
    assert refusal.value.messages == [
        "Sessions are logged on accepted or active engagements; this one is requested."
    ]
    assert Session.objects.count() == 0


def test_only_the_engagements_coach_or_branch_staff_log_sessions(
    manager, coach, branch_manager, loan_officer, outsider, engagement
):
    # given
    other = coach_user("coach.other", "Rosa")
    make_coach(manager, other)
    # when / then
    for actor in (other, loan_officer, outsider):
        with pytest.raises(PermissionDenied):
            log_session(actor, engagement, on=day(2))
    assert Session.objects.count() == 0
    log_session(branch_manager, engagement, on=day(2))
    assert Session.objects.count() == 1


def test_a_planned_session_becomes_held_with_its_real_duration(coach, engagement):
    # given
    planned = log_session(coach, engagement, on=day(5), minutes=60, status=SessionStatus.PLANNED)
    start = _last_event_id()
    # when
    services.session_transition(actor=coach, session=planned, to_status="held", duration_minutes=75)
    # then
    planned.refresh_from_db()
    assert (planned.status, planned.duration_minutes) == ("held", 75)
    assert _actions(start) == ["coaching_session.held", "coaching_engagement.started"]
    event = AuditEvent.objects.get(action="coaching_session.held")
    assert (event.before, event.after) == (
        {"status": "planned", "duration_minutes": 60},
        {"status": "held", "duration_minutes": 75},
    )
    assert engagement_hours(engagement=Engagement.objects.get()).used == D("1.25")
    # when: a held session cannot become a no-show
    with pytest.raises(ValidationError) as refusal:
        services.session_transition(actor=coach, session=planned, to_status="no_show")
    assert refusal.value.messages == ["A session that is held cannot become no-show."]


# --- capacity ----------------------------------------------------------------------------------


def test_the_month_load_counts_planned_and_held_sessions_of_that_month_only(
    manager, coach, coach_profile, engagement
):
    # given: 120 held + 90 planned this month; a no-show, a cancelled one and next month's ignored
    log_session(coach, engagement, on=day(2), minutes=120)
    log_session(coach, engagement, on=day(10), minutes=90, status=SessionStatus.PLANNED)
    log_session(coach, engagement, on=day(12), minutes=60, status=SessionStatus.NO_SHOW)
    cancelled = log_session(coach, engagement, on=day(14), minutes=60, status=SessionStatus.PLANNED)
    services.session_transition(actor=coach, session=cancelled, to_status="cancelled")
    log_session(
        coach, engagement, on=day(1) + datetime.timedelta(days=40), minutes=600, status="planned"
    )
    # when
    load = coach_month_load(coach_ids=[coach_profile.pk], as_of=day(15))
    rows = coaches_with_load(user=manager, as_of=day(15))
    # then
    assert load == {coach_profile.pk: D("3.50")}
    assert [(row.coach, row.load_hours, row.spare_hours, row.open_engagements) for row in rows] == [
        (coach_profile, D("3.50"), D("16.50"), 1)
    ]


# --- feedback ----------------------------------------------------------------------------------


def _completed(branch_manager, party, product, coach_profile):
    engagement = accepted_engagement(
        branch_manager, party=party, product=product, coach=coach_profile
    )
    services.engagement_transition(actor=branch_manager, engagement=engagement, to_status="active")
    return services.engagement_transition(
        actor=branch_manager, engagement=engagement, to_status="completed"
    )


def test_the_coach_average_rating_has_two_decimals(
    branch_manager, loan_officer, product, coach_profile
):
    # given
    ratings = [5, 4, 4]
    for rating in ratings:
        engagement = _completed(branch_manager, make_person(loan_officer), product, coach_profile)
        services.feedback_record(
            actor=branch_manager, engagement=engagement, rating=rating, comment="Useful"
        )
    # then
    assert coach_average_rating(coach=coach_profile) == D("4.33")
    assert AuditEvent.objects.filter(action="coaching_feedback.recorded").count() == 3


def test_an_average_of_four_and_a_half_shows_as_4_50_and_no_feedback_as_none(
    manager, branch_manager, loan_officer, product, coach_profile
):
    # given
    for rating in (5, 4):
        engagement = _completed(branch_manager, make_person(loan_officer), product, coach_profile)
        services.feedback_record(actor=branch_manager, engagement=engagement, rating=rating)
    unrated = make_coach(manager, coach_user("coach.new", "Nuno"))
    # then
    assert coach_average_rating(coach=coach_profile) == D("4.50")
    assert coach_average_rating(coach=unrated) is None
    rows = {row.coach.pk: row for row in coaches_with_load(user=manager, as_of=day(15))}
    assert (rows[coach_profile.pk].average_rating, rows[coach_profile.pk].ratings_count) == (
        D("4.50"),
        2,
    )
    assert rows[unrated.pk].average_rating is None


def test_feedback_is_refused_before_completion_twice_out_of_range_and_from_the_coach(
    branch_manager, coach, loan_officer, engagement, praia_client, product, coach_profile
):
    # given
    completed = _completed(branch_manager, praia_client, product, coach_profile)
    services.feedback_record(actor=branch_manager, engagement=completed, rating=5)
    unrated = _completed(branch_manager, make_person(loan_officer), product, coach_profile)
    start = _last_event_id()
    # when / then
    with pytest.raises(ValidationError) as too_early:
        services.feedback_record(actor=branch_manager, engagement=engagement, rating=4)
    with pytest.raises(ValidationError) as twice:
        services.feedback_record(actor=branch_manager, engagement=completed, rating=1)
    with pytest.raises(ValidationError) as out_of_range:
        services.feedback_record(actor=branch_manager, engagement=unrated, rating=6)
    with pytest.raises(PermissionDenied):
        services.feedback_record(actor=coach, engagement=unrated, rating=5)
    assert too_early.value.messages == ["Feedback is given once the engagement is completed."]
    assert twice.value.messages == ["Feedback for this engagement is already on file."]
    assert out_of_range.value.message_dict == {
        "rating": ["A rating is a whole number from 1 to 5."]
    }
    assert list(Feedback.objects.values_list("rating", flat=True)) == [5]
    assert _actions(start) == []


# --- confirmation by the customer --------------------------------------------------------------


def test_the_customer_confirms_a_held_session_through_the_signed_link_once(coach, engagement):
    # given
    session = log_session(coach, engagement, on=day(2))
    start = _last_event_id()
    # when
    services.session_confirm_by_customer(session=session, channel=ConfirmationChannel.SIGNED_LINK)
    # then
    session.refresh_from_db()
    assert session.confirmed_by_customer_at is not None
    assert (session.confirmation_channel, session.confirmation_recorded_by) == ("signed_link", None)
    event = AuditEvent.objects.get(pk__gt=start)
    assert (event.action, event.actor, event.before) == (
        "coaching_session.confirmed_by_customer",
        None,
        {"confirmed_by_customer_at": None},
    )
    # when: a second time
    with pytest.raises(ValidationError) as refusal:
        services.session_confirm_by_customer(
            session=session, channel=ConfirmationChannel.SIGNED_LINK
        )
    assert refusal.value.messages == [
        "The customer already confirmed this session on "
        f"{timezone.localdate(session.confirmed_by_customer_at).isoformat()}."
    ]
    assert _actions(start) == ["coaching_session.confirmed_by_customer"]


def test_staff_record_a_confirmation_but_not_the_sessions_coach_and_not_for_a_planned_session(
    branch_manager, coach, engagement
):
    # given
    held = log_session(coach, engagement, on=day(2))
    planned = log_session(coach, engagement, on=day(9), status=SessionStatus.PLANNED)
    # when / then
    with pytest.raises(PermissionDenied):
        services.session_confirm_by_customer(
            actor=coach, session=held, channel=ConfirmationChannel.STAFF
        )
    with pytest.raises(ValidationError) as refusal:
        services.session_confirm_by_customer(
            actor=branch_manager, session=planned, channel=ConfirmationChannel.STAFF
        )
    assert refusal.value.messages == ["Only a held session can be confirmed."]
    services.session_confirm_by_customer(
        actor=branch_manager, session=held, channel=ConfirmationChannel.STAFF
    )
    held.refresh_from_db()
    assert (held.confirmation_channel, held.confirmation_recorded_by) == ("staff", branch_manager)
    assert Session.objects.filter(confirmed_by_customer_at__isnull=False).count() == 1


# --- goals, milestones, action items -------------------------------------------------------------


def test_goals_and_milestones_are_added_and_reached_with_their_events(coach, engagement):
    # given
    start = _last_event_id()
    # when
    goal = services.goal_add(
        actor=coach,
        engagement=engagement,
        description="Keep a daily cash book",
        target_value=D("12"),
        target_unit="weeks",
        target_date=day(28),
    )
    milestone = services.milestone_add(
        actor=coach,
        engagement=engagement,
        title="First month of entries",
        due_on=day(20),
        goal=goal,
    )
    services.milestone_mark_reached(actor=coach, milestone=milestone, reached_on=day(19))
    services.goal_mark_achieved(actor=coach, goal=goal, achieved_on=day(27))
    # then
    goal.refresh_from_db()
    milestone.refresh_from_db()
    assert (goal.is_achieved, goal.achieved_on, milestone.is_reached, milestone.reached_on) == (
        True,
        day(27),
        True,
        day(19),
    )
    assert _actions(start) == [
        "coaching_goal.added",
        "coaching_milestone.added",
        "coaching_milestone.reached",
        "coaching_goal.achieved",
    ]
    with pytest.raises(ValidationError) as twice:
        services.goal_mark_achieved(actor=coach, goal=goal)
    assert twice.value.messages == ["This goal is already marked as achieved."]


def test_a_goal_with_a_target_value_needs_its_unit(coach, engagement):
    # when
    with pytest.raises(ValidationError) as refusal:
        services.goal_add(
            actor=coach, engagement=engagement, description="Raise sales", target_value=D("20")
        )
    # then
    assert refusal.value.message_dict == {"target_unit": ["Give the unit of the target value."]}
    assert engagement.goals.count() == 0


def test_action_items_become_crm_tasks_for_the_coach_when_the_coach_follows_the_party(
    branch_manager, loan_officer, coach, product, coach_profile
):
    # given: the party is assigned to the coach in the CRM
    party = make_person(loan_officer, first_name="Joana", assigned_to=coach)
    engagement = accepted_engagement(
        branch_manager, party=party, product=product, coach=coach_profile
    )
    due = timezone.localdate() + datetime.timedelta(days=3)
    # when
    session = log_session(
        coach,
        engagement,
        on=day(2),
        action_items=[("Open a bank account", due), ("  ", None), ("Price list", None)],
    )
    # then
    items = list(session.action_items.order_by("pk"))
    assert [(item.text, item.due_on) for item in items] == [
        ("Open a bank account", due),
        ("Price list", None),
    ]
    tasks = list(Task.objects.order_by("pk"))
    assert [(task.title, task.due_date, task.assigned_to, task.party_id) for task in tasks] == [
        ("Coaching action: Open a bank account", due, coach, party.pk),
        ("Coaching action: Price list", timezone.localdate(), coach, party.pk),
    ]
    assert [item.task_id for item in items] == [task.pk for task in tasks]


def test_a_coach_gets_a_task_for_each_action_item_of_a_client_they_coach(coach, engagement):
    # given: the client is not assigned to the coach in the CRM, but the coach coaches them
    # when
    session = log_session(coach, engagement, on=day(2), action_items=[("Count the stock", None)])
    # then
    task = Task.objects.get()
    assert list(ActionItem.objects.values_list("session", "text", "task_id")) == [
        (session.pk, "Count the stock", task.pk)
    ]
    assert (task.assigned_to, task.party_id) == (coach, engagement.party_id)
