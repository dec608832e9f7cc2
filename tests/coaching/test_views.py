"""Coaching screens: scoping (403/404 and nothing changed), the phone session form, the request
form with its ranked suggestions, the customer's confirmation link, products and coaches."""

import re

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from coaching import services
from coaching.confirmation import confirmation_token
from coaching.models import CoachingProduct, Engagement, Feedback, Session
from tests.coaching.factories import (
    D,
    accepted_engagement,
    coach_user,
    day,
    log_session,
    make_coach,
)
from tests.crm.factories import make_person


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _event_count() -> int:
    return AuditEvent.objects.count()


# --- dashboard -------------------------------------------------------------------------------


def test_a_coach_sees_only_their_engagements_and_the_page_keeps_a_fixed_query_count(
    client,
    manager,
    branch_manager,
    loan_officer,
    coach,
    coach_profile,
    product,
    django_assert_max_num_queries,
):
    # given: 12 engagements for the coach, 3 for another coach
    other = make_coach(manager, coach_user("coach.other", "Rosa"))
    for number in range(12):
        engagement = accepted_engagement(
            branch_manager,
            party=make_person(loan_officer, first_name=f"Mine{number:02d}"),
            product=product,
            coach=coach_profile,
        )
        log_session(coach, engagement, on=day(2), minutes=90)
    for number in range(3):
        accepted_engagement(
            branch_manager,
            party=make_person(loan_officer, first_name=f"Theirs{number}"),
            product=product,
            coach=other,
        )
    client.force_login(coach)
    # when
    with django_assert_max_num_queries(12):
        response = client.get("/coaching/")
    # then
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 12
    html = response.content.decode()
    assert "Theirs" not in html
    assert html.count('data-testid="row-hours">1.50</strong>') == 12
    assert response.context["counts"] == {
        "requested": 0,
        "accepted": 0,
        "active": 12,
        "completed": 0,
    }


def test_a_manager_sees_every_branch_and_a_branch_manager_only_theirs(
    client, manager, branch_manager, engagement, mindelo_client, product, coach_profile
):
    # given
    accepted_engagement(manager, party=mindelo_client, product=product, coach=coach_profile)
    # when
    client.force_login(manager)
    everyone = client.get("/coaching/").context["page"].paginator.count
    client.force_login(branch_manager)
    praia_only = client.get("/coaching/").context["page"].paginator.count
    # then
    assert (everyone, praia_only) == (2, 1)


def test_roles_without_coaching_get_403(client, service_desk, accountant, field_agent):
    for user in (service_desk, accountant, field_agent):
        client.force_login(user)
        assert client.get("/coaching/").status_code == 403


# --- engagement page and its actions --------------------------------------------------------------


def test_an_engagement_out_of_scope_is_404_for_another_coach_and_an_outsider(
    client, manager, outsider, engagement
):
    # given
    other = make_coach(manager, coach_user("coach.other", "Rosa"))
    # when / then
    for user in (other.user, outsider):
        client.force_login(user)
        assert client.get(f"/coaching/engagements/{engagement.pk}/").status_code == 404


def test_the_auditor_reads_the_engagement_page_without_any_action(client, auditor, engagement):
    # given
    client.force_login(auditor)
    # when
    response = client.get(f"/coaching/engagements/{engagement.pk}/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="engagement-status">Accepted<' in html
    assert 'data-testid="log-session"' not in html
    assert 'data-testid="move-active"' not in html


def test_an_outsider_posting_a_move_gets_404_and_nothing_changes(client, outsider, engagement):
    # given
    events = _event_count()
    client.force_login(outsider)
    # when
    response = client.post(
        f"/coaching/engagements/{engagement.pk}/transition/", {"status": "cancelled", "reason": "x"}
    )
    # then
    assert response.status_code == 404
    engagement.refresh_from_db()
    assert engagement.status == "accepted"
    assert _event_count() == events


def test_a_loan_officer_who_sees_the_engagement_may_not_move_it(client, loan_officer, engagement):
    # given
    events = _event_count()
    client.force_login(loan_officer)
    # when
    response = client.post(
        f"/coaching/engagements/{engagement.pk}/transition/", {"status": "active"}, follow=True
    )
    # then
    assert _messages(response) == ["Your role may not do this."]
    engagement.refresh_from_db()
    assert engagement.status == "accepted"
    assert _event_count() == events


def test_the_coach_starts_and_an_invalid_move_shows_the_refusal(client, coach, engagement):
    # given
    client.force_login(coach)
    url = f"/coaching/engagements/{engagement.pk}/transition/"
    # when
    started = client.post(url, {"status": "active"}, follow=True)
    refused = client.post(url, {"status": "accepted"}, follow=True)
    # then
    assert _messages(started) == ["The engagement is now active."]
    assert _messages(refused) == ["An engagement that is active cannot become accepted."]
    engagement.refresh_from_db()
    assert (engagement.status, engagement.started_on) == ("active", timezone.localdate())


def test_goals_milestones_and_feedback_from_the_engagement_page(
    client, coach, branch_manager, engagement
):
    # given
    client.force_login(coach)
    base = f"/coaching/engagements/{engagement.pk}"
    # when
    client.post(
        f"{base}/goals/",
        {"description": "Keep a cash book", "target_value": "12", "target_unit": "weeks"},
    )
    client.post(f"{base}/milestones/", {"title": "First month"})
    goal = engagement.goals.get()
    client.post(f"{base}/goals/{goal.pk}/achieved/")
    services.engagement_transition(actor=coach, engagement=engagement, to_status="active")
    services.engagement_transition(actor=coach, engagement=engagement, to_status="completed")
    coach_feedback = client.post(f"{base}/feedback/", {"rating": "5"})
    client.force_login(branch_manager)
    response = client.post(
        f"{base}/feedback/", {"rating": "4", "comment": "Clear advice"}, follow=True
    )
    # then
    goal.refresh_from_db()
    assert (goal.target_value, goal.target_unit, goal.is_achieved) == (D("12"), "weeks", True)
    assert engagement.milestones.get().title == "First month"
    assert coach_feedback.status_code == 403
    assert list(Feedback.objects.values_list("rating", "comment", "recorded_by")) == [
        (4, "Clear advice", branch_manager.pk)
    ]
    assert 'data-testid="feedback-rating">4 / 5<' in response.content.decode()


# --- the phone session form -------------------------------------------------------------------------


def test_the_session_form_opens_with_the_defaults(client, coach, engagement):
    # given
    client.force_login(coach)
    # when
    response = client.get(f"/coaching/engagements/{engagement.pk}/sessions/new/")
    # then
    form = response.context["form"]
    assert response.status_code == 200
    assert (
        form["status"].value(),
        form["date"].value(),
        form["duration_minutes"].value(),
        form["mode"].value(),
    ) == ("held", timezone.localdate(), 60, "in_person")


def test_a_coach_logs_a_held_session_with_the_defaults_and_the_hours_used_update(
    client, coach, engagement
):
    # given
    client.force_login(coach)
    now = timezone.localtime()
    data = {
        "status": "held",
        "date": now.date().isoformat(),
        "time": now.replace(minute=0).strftime("%H:%M"),
        "duration_minutes": "60",
        "mode": "in_person",
        "situation": "No records of sales",
        "action_1_text": "Write down every sale",
        "action_1_due": "",
    }
    # when
    response = client.post(
        f"/coaching/engagements/{engagement.pk}/sessions/new/", data, follow=True
    )
    # then
    session = Session.objects.get()
    assert (session.status, session.duration_minutes, session.mode, session.logged_by) == (
        "held",
        60,
        "in_person",
        coach,
    )
    assert list(session.action_items.values_list("text", flat=True)) == ["Write down every sale"]
    assert response.redirect_chain[-1][0] == f"/coaching/engagements/{engagement.pk}/#sessions"
    assert _messages(response) == ["Held session of 60 minutes logged."]
    html = response.content.decode()
    assert 'data-testid="hours-used">1.00</strong>' in html
    assert 'data-testid="engagement-status">Active<' in html


def test_a_session_in_the_future_is_shown_as_a_form_error_and_nothing_is_saved(
    client, coach, engagement
):
    # given
    client.force_login(coach)
    tomorrow = timezone.localdate() + timezone.timedelta(days=1)
    data = {
        "status": "held",
        "date": tomorrow.isoformat(),
        "time": "10:00",
        "duration_minutes": "60",
        "mode": "phone",
    }
    # when
    response = client.post(f"/coaching/engagements/{engagement.pk}/sessions/new/", data)
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "date": ["A session that took place cannot be in the future."]
    }
    assert Session.objects.count() == 0


def test_another_coach_gets_404_and_a_loan_officer_403_on_the_session_form(
    client, manager, loan_officer, engagement
):
    # given
    other = make_coach(manager, coach_user("coach.other", "Rosa"))
    data = {
        "status": "held",
        "date": day(2).isoformat(),
        "time": "10:00",
        "duration_minutes": "60",
        "mode": "phone",
    }
    url = f"/coaching/engagements/{engagement.pk}/sessions/new/"
    # when
    client.force_login(other.user)
    other_coach = client.post(url, data)
    client.force_login(loan_officer)
    officer = client.post(url, data)
    # then
    assert (other_coach.status_code, officer.status_code) == (404, 403)
    assert Session.objects.count() == 0


def test_a_planned_session_is_marked_held_from_the_engagement_page(client, coach, engagement):
    # given
    planned = log_session(coach, engagement, on=day(4), status="planned", minutes=45)
    client.force_login(coach)
    # when
    response = client.post(
        f"/coaching/engagements/{engagement.pk}/sessions/{planned.pk}/outcome/",
        {"status": "held"},
        follow=True,
    )
    # then
    planned.refresh_from_db()
    assert planned.status == "held"
    assert 'data-testid="hours-used">0.75</strong>' in response.content.decode()


# --- confirmation by the customer -------------------------------------------------------------------


def test_the_customer_confirms_attendance_through_the_signed_link_without_signing_in(
    client, coach, engagement
):
    # given
    session = log_session(coach, engagement, on=day(2))
    url = f"/coaching/confirm/{confirmation_token(session.pk)}/"
    # when
    asked = client.get(url)
    confirmed = client.post(url)
    again = client.get(url)
    # then
    assert asked.status_code == 200
    assert 'data-testid="confirm-attendance"' in asked.content.decode()
    assert 'data-testid="confirmed"' in confirmed.content.decode()
    assert 'data-testid="confirm-attendance"' not in again.content.decode()
    session.refresh_from_db()
    assert session.confirmation_channel == "signed_link"
    assert AuditEvent.objects.filter(action="coaching_session.confirmed_by_customer").count() == 1


def test_a_forged_link_is_404_and_a_planned_session_cannot_be_confirmed(client, coach, engagement):
    # given
    planned = log_session(coach, engagement, on=day(9), status="planned")
    token = confirmation_token(planned.pk)
    # when
    forged = client.get(f"/coaching/confirm/{token[:-2]}xx/")
    posted = client.post(f"/coaching/confirm/{token}/")
    # then
    assert forged.status_code == 404
    assert posted.status_code == 200
    planned.refresh_from_db()
    assert planned.confirmed_by_customer_at is None


def test_the_coach_sees_the_link_and_the_branch_manager_records_a_confirmation(
    client, coach, branch_manager, engagement
):
    # given
    session = log_session(coach, engagement, on=day(2))
    client.force_login(coach)
    page = client.get(f"/coaching/engagements/{engagement.pk}/").content.decode()
    coach_post = client.post(
        f"/coaching/engagements/{engagement.pk}/sessions/{session.pk}/confirm/"
    )
    # when
    client.force_login(branch_manager)
    client.post(f"/coaching/engagements/{engagement.pk}/sessions/{session.pk}/confirm/")
    # then
    link = re.search(
        rf'value="http://testserver(/coaching/confirm/[^"]+/)" [^>]*data-testid="confirm-link-{session.pk}"',
        page,
    )
    assert link is not None
    # the link is genuine: it opens the session, already confirmed by the branch manager
    assert 'data-testid="confirmed"' in client.get(link.group(1)).content.decode()
    assert f'data-testid="confirm-{session.pk}"' not in page  # not the coach's own word
    assert coach_post.status_code == 403
    session.refresh_from_db()
    assert (session.confirmation_channel, session.confirmation_recorded_by) == (
        "staff",
        branch_manager,
    )


# --- request form with suggestions -------------------------------------------------------------------


def test_the_request_form_ranks_coaches_with_reasons_then_creates_the_engagement(
    client, manager, branch_manager, praia_client, product, coach_profile
):
    # given
    make_coach(
        manager,
        coach_user("coach.rosa", "Rosa", "Lima"),
        skills=["marketing"],
        islands=["fogo"],
        capacity_hours_per_month=D("5"),
    )
    client.force_login(branch_manager)
    data = {
        "party": praia_client.pk,
        "product": product.pk,
        "skills": "Bookkeeping",
        "sector": "__party__",
        "island": "__party__",
        "language": "kea",
        "action": "suggest",
    }
    # when
    suggested = client.post("/coaching/requests/new/", data)
    # then
    suggestions = suggested.context["suggestions"]
    assert [(item.coach.display_name, item.score) for item in suggestions] == [
        (coach_profile.display_name, 31),
        ("Rosa Lima", 10),
    ]
    assert suggestions[0].reasons == (
        "Skills: bookkeeping (1 of 1) +10",
        "Works on Santiago +6",
        "Speaks Kriolu (Kabuverdianu) +5",
        "Spare this month: 20 h of 20 h +10",
    )
    assert "Works on Santiago +6" in suggested.content.decode()
    assert Engagement.objects.count() == 0
    # when
    created = client.post(
        "/coaching/requests/new/", {**data, "action": "create", "coach": coach_profile.pk}
    )
    # then
    engagement = Engagement.objects.get()
    assert created.status_code == 302
    assert created["Location"] == f"/coaching/engagements/{engagement.pk}/"
    assert (
        engagement.coach,
        engagement.requested_skills,
        engagement.requested_island,
        engagement.requested_language,
    ) == (coach_profile, ["bookkeeping"], "santiago", "kea")


def test_a_coach_cannot_open_the_request_form_and_an_outsiders_party_is_not_found(
    client, coach, branch_manager, mindelo_client, product, coach_profile
):
    # given
    client.force_login(coach)
    assert client.get("/coaching/requests/new/").status_code == 403
    client.force_login(branch_manager)
    # when
    response = client.post(
        "/coaching/requests/new/",
        {
            "party": mindelo_client.pk,
            "product": product.pk,
            "action": "create",
            "coach": coach_profile.pk,
            "sector": "",
            "island": "",
        },
    )
    # then
    assert response.context["form"].errors["party"] == ["No party with this number in your scope."]
    assert Engagement.objects.count() == 0


# --- products and coaches ----------------------------------------------------------------------------


def test_a_manager_creates_a_product_and_a_coach_may_only_read_the_list(
    client, manager, coach, product
):
    # given
    client.force_login(manager)
    # when
    response = client.post(
        "/coaching/products/new/",
        {
            "name": "Marketing basics",
            "package_hours": "6",
            "price": "9000",
            "currency": "CVE",
            "subsidy_percent": "",
            "is_active": "on",
        },
    )
    # then
    assert response.status_code == 302
    created = CoachingProduct.objects.get(name="Marketing basics")
    assert (created.package_hours, created.price, created.subsidy_percent) == (
        D("6"),
        D("9000"),
        D("0"),
    )
    client.force_login(coach)
    assert client.get("/coaching/products/").status_code == 200
    assert client.post("/coaching/products/new/", {"name": "X"}).status_code == 403
    assert CoachingProduct.objects.count() == 2


def test_the_coaches_list_shows_load_spare_hours_and_rating(
    client, manager, coach, coach_profile, engagement
):
    # given
    log_session(coach, engagement, on=timezone.localdate(), minutes=90, status="planned")
    client.force_login(manager)
    # when
    response = client.get("/coaching/coaches/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="load">1.50</strong>' in html
    assert 'data-testid="spare">18.50 h<' in html


@pytest.mark.parametrize("url", ["/coaching/", "/coaching/products/", "/coaching/coaches/"])
def test_the_coaching_pages_need_a_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
