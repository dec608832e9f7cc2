"""Service desk screens and API: the tablet page, check-in with lookup, start / finish with a
hand-off, figures, and who may use which desk (other branch 404, no desk role 403)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.choices import DeskVisitStatus, HandOff
from compliance.desk import desk_check_in, desk_start_service
from compliance.models import Case, DeskVisit
from crm.models import Task
from tests.crm.factories import make_person
from tests.factories import UserFactory
from users.roles import Role

DESK = reverse("compliance:desk")
FIGURES = reverse("compliance:desk_figures")
API_VISITS = reverse("compliance-desk-visit-list")
API_FIGURES = reverse("compliance-desk-figures")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_ana(field_agent):
    return make_person(field_agent, first_name="Ana", last_name="Lopes", nif="100000001")


@pytest.fixture
def mindelo_desk(mindelo):
    return UserFactory(username="desk.mindelo", role=Role.SERVICE_DESK, branch=mindelo)


def _visit(agent, branch, party=None, *, started=False):
    visit = desk_check_in(
        actor=agent,
        branch=branch,
        reason="repayment",
        party=party,
        visitor_name="" if party else "Walk-in",
    )
    if started:
        desk_start_service(actor=agent, visit=visit)
    return visit


def _statuses() -> list[str]:
    return list(DeskVisit.objects.order_by("ticket").values_list("status", flat=True))


def test_the_desk_page_shows_the_queue_with_a_fixed_query_count(
    client, service_desk, praia, client_ana, django_assert_max_num_queries
):
    # given
    for _ in range(5):
        _visit(service_desk, praia)
    _visit(service_desk, praia, client_ana, started=True)
    client.force_login(service_desk)
    # when
    with django_assert_max_num_queries(16):
        response = client.get(DESK)
    # then
    assert response.status_code == 200
    assert response.context["branch"] == praia
    html = response.content.decode()
    assert html.count('data-testid="waiting"') == 5
    assert html.count('data-testid="finish-form"') == 1
    assert 'hx-trigger="every 15s"' in html


def test_a_head_office_manager_chooses_the_branch(client, manager, praia, mindelo):
    # given
    client.force_login(manager)
    # when
    unchosen = client.get(DESK)
    chosen = client.get(DESK, {"branch": mindelo.pk})
    # then
    assert (unchosen.status_code, unchosen.context["branch"]) == (200, None)
    assert "Choose the branch whose desk you are working at." in unchosen.content.decode()
    assert (chosen.status_code, chosen.context["branch"]) == (200, mindelo)


def test_another_branchs_desk_is_a_404_and_other_roles_get_403(
    client, service_desk, auditor, outsider, mindelo, praia
):
    # given
    visit = _visit(service_desk, praia)
    # when
    client.force_login(service_desk)
    other_branch = client.get(DESK, {"branch": mindelo.pk})
    client.force_login(auditor)
    auditor_desk = client.get(DESK)
    auditor_start = client.post(reverse("compliance:desk_start", args=[visit.pk]))
    client.force_login(outsider)
    outsider_desk = client.get(DESK)
    # then
    assert [
        other_branch.status_code,
        auditor_desk.status_code,
        auditor_start.status_code,
        outsider_desk.status_code,
    ] == [404, 403, 403, 403]
    assert _statuses() == [DeskVisitStatus.WAITING]


def test_a_desk_agent_of_another_branch_cannot_touch_the_visit(
    client, service_desk, mindelo_desk, praia
):
    # given
    visit = _visit(service_desk, praia)
    client.force_login(mindelo_desk)
    # when
    responses = [
        client.post(reverse(f"compliance:desk_{name}", args=[visit.pk]))
        for name in ("start", "left", "finish")
    ]
    # then
    assert [response.status_code for response in responses] == [404, 404, 404]
    assert _statuses() == [DeskVisitStatus.WAITING]


def test_lookup_offers_the_client_to_pick(client, service_desk, client_ana):
    # given
    client.force_login(service_desk)
    # when
    found = client.get(reverse("compliance:desk_lookup"), {"q": "100 000 001"})
    missing = client.get(reverse("compliance:desk_lookup"), {"q": "999999999"})
    # then
    assert f'value="{client_ana.pk}"' in found.content.decode()
    assert "Ana Lopes" in found.content.decode()
    assert 'data-testid="lookup-none"' in missing.content.decode()


def test_checking_in_a_client_gives_the_next_ticket(client, service_desk, praia, client_ana):
    # given
    _visit(service_desk, praia)
    client.force_login(service_desk)
    # when
    response = client.post(
        reverse("compliance:desk_check_in"),
        {"branch": praia.pk, "party": client_ana.pk, "reason": "compliance_help", "q": "1000"},
        follow=True,
    )
    # then
    assert response.redirect_chain == [(f"{DESK}?branch={praia.pk}", 302)]
    assert "Ticket 2: Ana Lopes is in the queue." in response.content.decode()
    visit = DeskVisit.objects.get(ticket=2)
    assert (visit.party_id, visit.reason, visit.checked_in_by) == (
        client_ana.pk,
        "compliance_help",
        service_desk,
    )


def test_a_check_in_without_visitor_shows_the_error_and_changes_nothing(
    client, service_desk, praia
):
    # given
    client.force_login(service_desk)
    # when
    response = client.post(
        reverse("compliance:desk_check_in"), {"branch": praia.pk, "reason": "repayment"}
    )
    # then
    assert response.status_code == 200
    assert response.context["check_in_form"].errors == {
        "visitor_name": ["Find the client, or write the new visitor's name."]
    }
    assert DeskVisit.objects.count() == 0


def test_start_then_finish_with_a_task_hand_off(
    client, service_desk, field_agent, praia, client_ana
):
    # given
    visit = _visit(service_desk, praia, client_ana)
    due = timezone.localdate() + datetime.timedelta(days=2)
    client.force_login(service_desk)
    # when
    started = client.post(reverse("compliance:desk_call_next"), {"branch": praia.pk})
    finished = client.post(
        reverse("compliance:desk_finish", args=[visit.pk]),
        {"notes": "Needs help", "hand_off": "task", "task_title": "Visit", "task_due": due},
    )
    # then
    assert (started.status_code, finished.status_code) == (302, 302)
    visit.refresh_from_db()
    task = Task.objects.get()
    assert (visit.status, visit.hand_off, visit.task, visit.served_by) == (
        DeskVisitStatus.DONE,
        HandOff.TASK,
        task,
        service_desk,
    )
    assert (task.title, task.assigned_to, task.due_date) == ("Visit", field_agent, due)


def test_an_incomplete_finish_form_is_shown_again_and_nothing_changes(
    client, service_desk, praia, client_ana
):
    # given
    visit = _visit(service_desk, praia, client_ana, started=True)
    client.force_login(service_desk)
    # when
    response = client.post(
        reverse("compliance:desk_finish", args=[visit.pk]), {"hand_off": "appointment"}
    )
    # then
    assert response.status_code == 200
    ((shown_visit, form),) = response.context["serving"]
    assert shown_visit.pk == visit.pk
    assert form.errors == {"appointment_at": ["Give the day and time of the appointment."]}
    assert _statuses() == [DeskVisitStatus.IN_SERVICE]
    assert Task.objects.count() == 0


def test_the_queue_partial_and_figures_page(client, service_desk, auditor, outsider, praia):
    # given
    _visit(service_desk, praia)
    client.force_login(service_desk)
    # when
    partial = client.get(reverse("compliance:desk_queue"), {"branch": praia.pk})
    figures = client.get(FIGURES)
    client.force_login(auditor)
    auditor_figures = client.get(FIGURES, {"branch": praia.pk, "date": "2026-01-05"})
    client.force_login(outsider)
    outsider_figures = client.get(FIGURES, {"branch": praia.pk})
    # then
    assert partial.status_code == 200 and 'data-testid="wait"' in partial.content.decode()
    assert (figures.status_code, figures.context["figures"].visits) == (200, 1)
    assert (auditor_figures.status_code, auditor_figures.context["figures"].visits) == (200, 0)
    assert auditor_figures.context["day"] == datetime.date(2026, 1, 5)
    assert outsider_figures.status_code == 404


# --- API -----------------------------------------------------------------------------------------


def test_the_api_checks_in_lists_starts_and_finishes_with_a_case(
    api, service_desk, field_agent, praia, client_ana
):
    # given
    api.force_authenticate(service_desk)
    # when
    created = api.post(
        API_VISITS, {"party": client_ana.pk, "reason": "compliance_help"}, format="json"
    )
    walk_in = api.post(
        API_VISITS,
        {"visitor_name": "João", "visitor_phone": "9910011", "reason": "information"},
        format="json",
    )
    listed = api.get(API_VISITS)
    visit_id = created.data["id"]
    started = api.post(reverse("compliance-desk-visit-start", args=[visit_id]))
    finished = api.post(
        reverse("compliance-desk-visit-finish", args=[visit_id]),
        {"hand_off": "case", "case_kind": "social_security_paid", "severity": "high"},
        format="json",
    )
    left = api.post(reverse("compliance-desk-visit-left", args=[walk_in.data["id"]]))
    figures = api.get(API_FIGURES)
    # then
    assert (created.status_code, created.data["ticket"], created.data["visitor"]) == (
        201,
        1,
        "Ana Lopes",
    )
    assert (walk_in.data["ticket"], walk_in.data["visitor_phone"]) == (2, "+2389910011")
    assert [row["ticket"] for row in listed.data] == [1, 2]
    assert started.data["status"] == "in_service"
    case = Case.objects.get()
    assert (finished.data["status"], finished.data["case"], case.severity) == (
        "done",
        case.pk,
        "high",
    )
    assert left.data["status"] == "left"
    assert figures.status_code == 200
    assert (
        figures.data["visits"],
        figures.data["served"],
        figures.data["left"],
        figures.data["waiting"],
    ) == (2, 1, 1, 0)
    assert [row["reason"] for row in figures.data["by_reason"]] == [
        "compliance_help",
        "information",
    ]


def test_the_api_refuses_other_branches_and_other_roles_and_changes_nothing(
    api, service_desk, mindelo_desk, auditor, praia, mindelo
):
    # given
    visit = _visit(service_desk, praia)
    body = {"visitor_name": "X", "reason": "repayment"}
    # when
    api.force_authenticate(mindelo_desk)
    other_start = api.post(reverse("compliance-desk-visit-start", args=[visit.pk]))
    other_check_in = api.post(f"{API_VISITS}?branch={praia.pk}", body, format="json")
    api.force_authenticate(auditor)
    auditor_check_in = api.post(f"{API_VISITS}?branch={praia.pk}", body, format="json")
    auditor_figures = api.get(API_FIGURES, {"branch": praia.pk})
    api.force_authenticate(service_desk)
    bad_date = api.get(API_VISITS, {"date": "yesterday"})
    # then
    assert [
        other_start.status_code,
        other_check_in.status_code,
        auditor_check_in.status_code,
        auditor_figures.status_code,
        bad_date.status_code,
    ] == [404, 404, 403, 200, 400]
    assert bad_date.json() == {"date": ["Give the date as YYYY-MM-DD."]}
    assert _statuses() == [DeskVisitStatus.WAITING]
