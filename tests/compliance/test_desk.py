"""Service desk services: tickets per branch and day, the queue's state machine, exact wait and
service minutes, hand-offs (one case, one task, one appointment), lookup and the day's figures.

Times are fixed by passing ``now`` to the services: the desk day is yesterday, opening at 09:00.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from compliance.choices import DeskVisitStatus, HandOff, RequirementKind
from compliance.desk import (
    desk_call_next,
    desk_check_in,
    desk_day_figures,
    desk_find_party,
    desk_finish,
    desk_mark_left,
    desk_queue,
    desk_start_service,
)
from compliance.models import Case, DeskVisit
from crm.models import Interaction, Task
from tests.crm.factories import make_person
from tests.factories import UserFactory
from users.roles import Role

D = Decimal
DAY = timezone.localdate() - datetime.timedelta(days=1)
OPENING = timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(9, 0)))


def at(minutes: float) -> datetime.datetime:
    """``minutes`` after the desk opened."""
    return OPENING + datetime.timedelta(minutes=minutes)


@pytest.fixture
def client_ana(field_agent):
    """A client of Praia followed by the field agent, known by NIF, civil ID and phone."""
    return make_person(
        field_agent,
        first_name="Ana",
        last_name="Lopes",
        nif="100000001",
        civil_id="CV1234567",
        phone="991 23 45",
    )


def _walk_in(agent, branch, minutes, *, reason="repayment", **visitor):
    visitor = visitor or {"visitor_name": "Walk-in", "visitor_phone": ""}
    return desk_check_in(actor=agent, branch=branch, reason=reason, now=at(minutes), **visitor)


def _serve(agent, visit, start, end, **finish):
    desk_start_service(actor=agent, visit=visit, now=at(start))
    return desk_finish(actor=agent, visit=visit, now=at(end), **finish)


def test_tickets_count_from_one_each_day_and_branch(service_desk, manager, praia, mindelo):
    # when
    praia_tickets = [_walk_in(service_desk, praia, minutes).ticket for minutes in (0, 1, 2)]
    mindelo_ticket = _walk_in(manager, mindelo, 3).ticket
    next_day = desk_check_in(
        actor=service_desk,
        branch=praia,
        reason="information",
        visitor_name="Tomorrow",
        now=at(24 * 60),
    )
    # then
    assert praia_tickets == [1, 2, 3]
    assert mindelo_ticket == 1
    assert (next_day.ticket, next_day.business_date) == (1, DAY + datetime.timedelta(days=1))
    assert list(
        DeskVisit.objects.filter(branch=praia, business_date=DAY).values_list("ticket", flat=True)
    ) == [1, 2, 3]


def test_a_client_is_checked_in_by_party_and_a_new_visitor_by_name_and_phone(
    service_desk, praia, client_ana
):
    # when
    known = desk_check_in(
        actor=service_desk,
        branch=praia,
        reason="compliance_document",
        party=client_ana,
        visitor_name="ignored",
        now=at(0),
    )
    new = desk_check_in(
        actor=service_desk,
        branch=praia,
        reason="new_loan",
        visitor_name="  João   Semedo ",
        visitor_phone="991 00 11",
        notes="Asks about a first loan.",
        now=at(1),
    )
    # then
    assert (known.party, known.visitor_name, known.visitor_label, known.status) == (
        client_ana,
        "",
        "Ana Lopes",
        DeskVisitStatus.WAITING,
    )
    assert (new.party, new.visitor_name, new.visitor_phone, new.notes) == (
        None,
        "João Semedo",
        "+2389910011",
        "Asks about a first loan.",
    )
    assert (new.checked_in_at, new.checked_in_by, new.business_date) == (at(1), service_desk, DAY)
    assert AuditEvent.objects.filter(action="desk_visit.checked_in").count() == 2


def test_a_client_already_in_the_queue_is_not_checked_in_twice(service_desk, praia, client_ana):
    # given
    first = _walk_in(service_desk, praia, 0, party=client_ana)
    # when
    with pytest.raises(ValidationError) as error:
        _walk_in(service_desk, praia, 1, party=client_ana)
    # then
    assert error.value.message_dict == {
        "party": ["Ana Lopes is already in the queue with ticket 1."]
    }
    assert DeskVisit.objects.count() == 1
    # once served, she may come back the same day
    desk_start_service(actor=service_desk, visit=first, now=at(2))
    desk_finish(actor=service_desk, visit=first, now=at(3))
    assert _walk_in(service_desk, praia, 4, party=client_ana).ticket == 2


def test_a_check_in_without_a_visitor_or_with_a_bad_phone_changes_nothing(service_desk, praia):
    # when
    with pytest.raises(ValidationError) as error:
        desk_check_in(
            actor=service_desk, branch=praia, reason="chat", visitor_phone="12ab", now=at(0)
        )
    # then
    assert error.value.message_dict == {
        "reason": ["Choose why the visitor came."],
        "visitor_name": ["Find the client, or write the new visitor's name."],
        "visitor_phone": ["Enter a phone number such as 991 23 45 or +238 991 23 45."],
    }
    assert DeskVisit.objects.count() == 0


def test_a_desk_outside_the_agents_branch_or_role_is_refused(
    service_desk, auditor, outsider, praia, mindelo, client_ana
):
    # when / then
    with pytest.raises(PermissionDenied):
        _walk_in(service_desk, mindelo, 0)
    with pytest.raises(PermissionDenied):
        _walk_in(auditor, praia, 0)
    mindelo_desk = UserFactory(username="desk.mindelo", role=Role.SERVICE_DESK, branch=mindelo)
    with pytest.raises(PermissionDenied):
        desk_check_in(
            actor=mindelo_desk, branch=mindelo, reason="repayment", party=client_ana, now=at(0)
        )
    assert DeskVisit.objects.count() == 0


def test_the_queue_moves_waiting_in_service_done_and_left(service_desk, praia, client_ana):
    # given
    first = _walk_in(service_desk, praia, 0, party=client_ana)
    second = _walk_in(service_desk, praia, 2)
    third = _walk_in(service_desk, praia, 4)
    # when
    called = desk_call_next(actor=service_desk, branch=praia, now=at(5))
    desk_mark_left(actor=service_desk, visit=second)
    # then
    assert called.pk == first.pk
    assert (called.status, called.service_started_at, called.served_by) == (
        DeskVisitStatus.IN_SERVICE,
        at(5),
        service_desk,
    )
    queue = desk_queue(user=service_desk, branch=praia, now=at(10))
    assert [visit.ticket for visit in queue.waiting] == [3]
    assert [visit.wait_minutes for visit in queue.waiting] == [6]
    assert [visit.ticket for visit in queue.in_service] == [1]
    assert [visit.ticket for visit in queue.left] == [2]
    assert desk_call_next(actor=service_desk, branch=praia, now=at(11)).pk == third.pk
    assert desk_call_next(actor=service_desk, branch=praia, now=at(12)) is None


@pytest.mark.parametrize(
    ("move", "message"),
    [
        ("finish_waiting", "Ticket 1 is “Waiting”; it cannot become “Served”."),
        ("start_twice", "Ticket 1 is “Being served”; it cannot become “Being served”."),
        ("left_in_service", "Ticket 1 is “Being served”; it cannot become “Left without service”."),
    ],
)
def test_moves_the_queue_does_not_allow_are_refused(service_desk, praia, move, message):
    # given
    visit = _walk_in(service_desk, praia, 0)
    if move != "finish_waiting":
        desk_start_service(actor=service_desk, visit=visit, now=at(1))
    # when
    with pytest.raises(ValidationError) as error:
        if move == "finish_waiting":
            desk_finish(actor=service_desk, visit=visit, now=at(2))
        elif move == "start_twice":
            desk_start_service(actor=service_desk, visit=visit, now=at(2))
        else:
            desk_mark_left(actor=service_desk, visit=visit)
    # then
    assert error.value.messages == [message]
    assert Interaction.objects.count() == 0


def test_service_cannot_start_before_check_in_nor_end_before_it_started(service_desk, praia):
    # given
    visit = _walk_in(service_desk, praia, 10)
    # when / then
    with pytest.raises(ValidationError) as early_start:
        desk_start_service(actor=service_desk, visit=visit, now=at(9))
    desk_start_service(actor=service_desk, visit=visit, now=at(12))
    with pytest.raises(ValidationError) as early_end:
        desk_finish(actor=service_desk, visit=visit, now=at(11))
    assert early_start.value.messages == ["Service cannot start before the visitor checked in."]
    assert early_end.value.messages == ["Service cannot end before it started."]


def test_finishing_a_clients_visit_records_a_desk_visit_interaction(
    service_desk, praia, client_ana
):
    # given
    visit = _walk_in(service_desk, praia, 0, party=client_ana, reason="compliance_document")
    # when
    done = _serve(service_desk, visit, 7.5, 19, notes="Brought the tax certificate.")
    # then
    done.refresh_from_db()
    assert (done.status, done.served_at, done.hand_off, done.notes) == (
        DeskVisitStatus.DONE,
        at(19),
        HandOff.NONE,
        "Brought the tax certificate.",
    )
    interaction = Interaction.objects.get()
    assert done.interaction == interaction
    assert (
        interaction.kind,
        interaction.party_id,
        interaction.summary,
        interaction.occurred_at,
    ) == (
        "desk_visit",
        client_ana.pk,
        "Desk visit: Bring a tax or social security document",
        at(7.5),
    )
    assert AuditEvent.objects.get(action="desk_visit.served").after["status"] == "done"


def test_a_new_visitors_visit_records_no_interaction(service_desk, praia):
    # when
    done = _serve(service_desk, _walk_in(service_desk, praia, 0), 1, 2)
    # then
    assert (done.status, done.interaction) == (DeskVisitStatus.DONE, None)
    assert Interaction.objects.count() == 0


def test_a_case_hand_off_opens_one_case_and_reuses_it(service_desk, field_agent, praia, client_ana):
    # given
    first = _walk_in(service_desk, praia, 0, party=client_ana, reason="compliance_help")
    # when: she comes twice the same day about her taxes
    one = _serve(
        service_desk, first, 2, 5, hand_off=HandOff.CASE, case_kind=RequirementKind.TAX_REGULAR
    )
    second = _walk_in(service_desk, praia, 6, party=client_ana, reason="compliance_help")
    two = _serve(
        service_desk, second, 7, 8, hand_off=HandOff.CASE, case_kind=RequirementKind.TAX_REGULAR
    )
    # then
    case = Case.objects.get()
    assert (one.case, two.case, one.hand_off) == (case, case, HandOff.CASE)
    assert (case.party_id, case.kind, case.severity, case.owner) == (
        client_ana.pk,
        "tax_regular",
        "medium",
        field_agent,
    )


def test_a_case_hand_off_needs_a_known_client_and_an_issue(service_desk, praia):
    # given
    visit = _walk_in(service_desk, praia, 0)
    desk_start_service(actor=service_desk, visit=visit, now=at(1))
    # when
    with pytest.raises(ValidationError) as error:
        desk_finish(actor=service_desk, visit=visit, hand_off=HandOff.CASE, now=at(2))
    # then
    assert error.value.message_dict == {
        "hand_off": ["Only a known client's visit can open a compliance case."],
        "case_kind": ["Choose the compliance issue."],
    }
    visit.refresh_from_db()
    assert (visit.status, Case.objects.count()) == (DeskVisitStatus.IN_SERVICE, 0)


def test_a_task_hand_off_goes_to_the_clients_staff(service_desk, field_agent, praia, client_ana):
    # given
    due = timezone.localdate() + datetime.timedelta(days=3)
    visit = _walk_in(service_desk, praia, 0, party=client_ana)
    # when
    done = _serve(
        service_desk, visit, 1, 4, hand_off=HandOff.TASK, task_title="Call back", task_due=due
    )
    # then
    task = Task.objects.get()
    assert done.task == task
    assert (task.title, task.due_date, task.assigned_to, task.party_id, task.created_by) == (
        "Call back",
        due,
        field_agent,
        client_ana.pk,
        service_desk,
    )


def test_a_new_visitors_task_goes_to_the_branch_manager(service_desk, branch_manager, praia):
    # given
    due = timezone.localdate() + datetime.timedelta(days=1)
    visit = _walk_in(service_desk, praia, 0, visitor_name="João Semedo", visitor_phone="9910011")
    # when
    _serve(service_desk, visit, 1, 4, hand_off=HandOff.TASK, task_title="Offer", task_due=due)
    # then
    task = Task.objects.get()
    assert (task.title, task.assigned_to, task.party) == (
        "Offer (João Semedo, +2389910011)",
        branch_manager,
        None,
    )


def test_an_appointment_is_a_task_on_its_day_for_the_desk(service_desk, praia, client_ana):
    # given
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    appointment = timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time(10, 30)))
    visit = _walk_in(service_desk, praia, 0, party=client_ana)
    # when
    done = _serve(
        service_desk, visit, 1, 4, hand_off=HandOff.APPOINTMENT, appointment_at=appointment
    )
    # then
    task = Task.objects.get()
    assert (done.task, done.hand_off) == (task, HandOff.APPOINTMENT)
    assert (task.title, task.due_date, task.assigned_to) == (
        f"Appointment at the desk, {tomorrow.isoformat()} 10:30",
        tomorrow,
        service_desk,
    )


def test_a_task_hand_off_needs_a_title_and_a_date(service_desk, praia, client_ana):
    # given
    visit = _walk_in(service_desk, praia, 0, party=client_ana)
    desk_start_service(actor=service_desk, visit=visit, now=at(1))
    # when
    with pytest.raises(ValidationError) as error:
        desk_finish(actor=service_desk, visit=visit, hand_off=HandOff.TASK, now=at(2))
    # then
    assert error.value.message_dict == {
        "task_title": ["Say what has to be done."],
        "task_due": ["Give the date it is due."],
    }
    assert (Task.objects.count(), Interaction.objects.count()) == (0, 0)


def test_lookup_finds_a_client_by_nif_civil_id_or_phone_in_any_spelling(
    service_desk, outsider, praia, client_ana
):
    # given
    make_person(outsider, nif="200000002", phone="9915555")
    # when / then
    for query in ("100 000 001", "cv-1234567", "991 23 45", "+238 991 2345", "002389912345"):
        assert [party.pk for party in desk_find_party(service_desk, query)] == [client_ana.pk]
    assert desk_find_party(service_desk, "200000002") == []
    assert desk_find_party(service_desk, "9915555") == []
    assert desk_find_party(service_desk, "Ana") == []


def test_the_day_figures_are_exact_and_match_the_queue(
    service_desk, branch_manager, praia, client_ana
):
    # given: waits 7.5 and 18 min, services 11.5 and 10 min; one left, one still waiting
    first = _walk_in(service_desk, praia, 0, party=client_ana, reason="compliance_document")
    second = _walk_in(service_desk, praia, 2)
    third = _walk_in(service_desk, praia, 5)
    fourth = _walk_in(service_desk, praia, 10, reason="information")
    _serve(service_desk, first, 7.5, 19)
    _serve(branch_manager, second, 20, 30)
    desk_mark_left(actor=service_desk, visit=third)
    # when
    figures = desk_day_figures(branch=praia, day=DAY)
    queue = desk_queue(user=service_desk, branch=praia, now=at(31))
    # then
    assert (
        figures.visits,
        figures.served,
        figures.left,
        figures.waiting,
        figures.in_service,
    ) == (4, 2, 1, 1, 0)
    assert (
        len(queue.served),
        len(queue.left),
        len(queue.waiting),
        len(queue.in_service),
    ) == (figures.served, figures.left, figures.waiting, figures.in_service)
    assert [visit.pk for visit in queue.waiting] == [fourth.pk]
    assert figures.wait == {"average": D("12.8"), "median": D("12.8"), "max": D("18.0")}
    assert figures.service == {"average": D("10.8"), "median": D("10.8"), "max": D("11.5")}
    assert [
        (row["reason"], row["visits"], row["served"], row["left"]) for row in figures.by_reason
    ] == [
        ("repayment", 2, 1, 1),
        ("compliance_document", 1, 1, 0),
        ("information", 1, 0, 0),
    ]
    assert figures.by_reason[0]["wait"]["average"] == D("18.0")
    assert {
        row["name"]: (row["served"], row["service"]["average"]) for row in figures.by_staff
    } == {
        branch_manager.display_name: (1, D("10.0")),
        service_desk.display_name: (1, D("11.5")),
    }
    assert desk_day_figures(branch=praia, day=DAY + datetime.timedelta(days=1)).visits == 0
