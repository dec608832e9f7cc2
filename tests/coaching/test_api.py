"""Coaching API: scoped lists with a fixed query count, creation through the services, refusals
that change nothing."""

from rest_framework.test import APIClient

from audit.models import AuditEvent
from coaching.models import Engagement, Session
from tests.coaching.factories import (
    accepted_engagement,
    at,
    coach_user,
    day,
    log_session,
    make_coach,
)
from tests.crm.factories import make_person


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_engagement_list_is_scoped_and_keeps_a_fixed_query_count(
    manager,
    branch_manager,
    loan_officer,
    coach,
    outsider,
    coach_profile,
    product,
    mindelo_client,
    django_assert_max_num_queries,
):
    # given
    for number in range(8):
        engagement = accepted_engagement(
            branch_manager,
            party=make_person(loan_officer, first_name=f"Praia{number}"),
            product=product,
            coach=coach_profile,
        )
        log_session(coach, engagement, on=day(2), minutes=50)
    accepted_engagement(manager, party=mindelo_client, product=product, coach=coach_profile)
    # when
    with django_assert_max_num_queries(6):
        response = _api(branch_manager).get("/api/v1/coaching/engagements/")
    # then
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 8
    first = body["results"][0]
    assert (first["status"], first["hours_used"], first["package_hours"], first["price"]) == (
        "active",
        "0.83",
        "10.00",
        "15000.00",
    )
    assert _api(outsider).get("/api/v1/coaching/engagements/").json()["count"] == 1
    assert _api(coach).get("/api/v1/coaching/engagements/").json()["count"] == 9


def test_a_branch_manager_requests_coaching_through_the_api(
    branch_manager, praia_client, product, coach_profile
):
    # when
    response = _api(branch_manager).post(
        "/api/v1/coaching/engagements/",
        {
            "party": praia_client.pk,
            "product": product.pk,
            "coach": coach_profile.pk,
            "skills": ["Bookkeeping"],
            "language": "kea",
        },
        format="json",
    )
    # then
    assert response.status_code == 201, response.json()
    engagement = Engagement.objects.get()
    assert (response.json()["id"], response.json()["status"], response.json()["hours_used"]) == (
        engagement.pk,
        "requested",
        "0.00",
    )
    assert AuditEvent.objects.filter(action="coaching_engagement.requested").count() == 1


def test_a_coach_cannot_request_and_an_out_of_scope_party_is_404_with_nothing_created(
    coach, branch_manager, mindelo_client, praia_client, product, coach_profile
):
    # when
    by_coach = _api(coach).post(
        "/api/v1/coaching/engagements/",
        {"party": praia_client.pk, "product": product.pk, "coach": coach_profile.pk},
        format="json",
    )
    out_of_scope = _api(branch_manager).post(
        "/api/v1/coaching/engagements/",
        {"party": mindelo_client.pk, "product": product.pk, "coach": coach_profile.pk},
        format="json",
    )
    # then
    assert (by_coach.status_code, out_of_scope.status_code) == (403, 404)
    assert Engagement.objects.count() == 0


def test_the_coach_moves_their_engagement_and_an_invalid_move_is_a_400(coach, engagement):
    # when
    started = _api(coach).post(
        f"/api/v1/coaching/engagements/{engagement.pk}/transition/",
        {"status": "active"},
        format="json",
    )
    refused = _api(coach).post(
        f"/api/v1/coaching/engagements/{engagement.pk}/transition/",
        {"status": "accepted"},
        format="json",
    )
    # then
    assert (started.status_code, started.json()["status"]) == (200, "active")
    assert refused.status_code == 400
    assert refused.json() == {"detail": ["An engagement that is active cannot become accepted."]}


def test_a_coach_logs_a_session_through_the_api_and_another_coach_gets_404(
    manager, coach, engagement
):
    # given
    other = make_coach(manager, coach_user("coach.other", "Rosa"))
    payload = {
        "engagement": engagement.pk,
        "scheduled_at": at(day(3)).isoformat(),
        "duration_minutes": 90,
        "mode": "video",
        "advice": "Separate the shop's money from the household's",
        "action_items": [{"text": "Open a second cash box"}],
    }
    # when
    response = _api(coach).post("/api/v1/coaching/sessions/", payload, format="json")
    by_other = _api(other.user).post("/api/v1/coaching/sessions/", payload, format="json")
    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["duration_minutes"], body["mode"]) == ("held", 90, "video")
    from crm.models import Task

    assert body["action_items"] == [
        {"text": "Open a second cash box", "due_on": None, "task_id": Task.objects.get().pk}
    ]
    assert by_other.status_code == 404
    assert Session.objects.count() == 1
    engagement.refresh_from_db()
    assert engagement.status == "active"


def test_the_session_list_is_scoped_and_a_loan_officer_may_read_but_not_log(
    coach, loan_officer, outsider, engagement, django_assert_max_num_queries
):
    # given
    for number in range(5):
        log_session(coach, engagement, on=day(2 + number), action_items=[("Count stock", None)])
    # when
    with django_assert_max_num_queries(6):
        listed = _api(loan_officer).get("/api/v1/coaching/sessions/")
    logged = _api(loan_officer).post(
        "/api/v1/coaching/sessions/",
        {"engagement": engagement.pk, "scheduled_at": at(day(9)).isoformat()},
        format="json",
    )
    # then
    assert listed.json()["count"] == 5
    assert _api(outsider).get("/api/v1/coaching/sessions/").json()["count"] == 0
    assert logged.status_code == 403
    assert Session.objects.count() == 5
