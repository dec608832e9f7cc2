"""Interactions and the client timeline: content and order, filters, scoping, query count, the
quick form, follow-up tasks and the interactions API."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from rest_framework.test import APIClient

from accounting.chart import chart_install
from audit.models import AuditEvent
from coaching.choices import SessionMode, SessionStatus
from crm.choices import TaskStatus
from crm.interactions import interaction_record
from crm.models import Interaction, Task
from crm.services import consent_record, party_link_create, party_link_delete, person_update
from crm.timeline import party_timeline
from elearning import services as elearning
from loans.services import repayment_record
from tests.coaching.factories import (
    accepted_engagement,
    at,
    day,
    log_session,
    make_coach,
    make_product,
)
from tests.crm.factories import make_person
from tests.elearning.factories import answers, make_course, make_lesson, make_quiz
from tests.factories import UserFactory
from tests.loans.factories import EMI, active_loan, cash_product
from users.roles import Role

PRAIA_TIME = zoneinfo.ZoneInfo("Atlantic/Cape_Verde")


def _at(year, month, day, hour, minute=0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=PRAIA_TIME)


def _tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


@pytest.fixture
def rules(praia):
    return chart_install()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def colleague_officer(praia):
    return UserFactory(username="officer2", role=Role.LOAN_OFFICER, branch=praia)


@pytest.fixture
def borrower_with_history(loan_officer, branch_manager, rules):
    """A borrower with a loan (submitted 5 Jan, approved 10 Jan, disbursed 15 Jan 2026), one
    repayment on 15 Feb, a visit on disbursement day, a call in February and a consent."""
    person = make_person(loan_officer, first_name="Ana")
    loan = active_loan(
        loan_officer, branch_manager, cash_product(loan_officer, rules), borrower=person
    )
    repayment_record(
        actor=loan_officer,
        loan=loan,
        amount=EMI,
        value_date=datetime.date(2026, 2, 15),
        receipt_number="R-0001",
    )
    interaction_record(
        actor=loan_officer,
        party=person,
        kind="visit",
        summary="Handed over the contract",
        occurred_at=_at(2026, 1, 15, 9, 30),
    )
    interaction_record(
        actor=loan_officer,
        party=person,
        kind="call",
        summary="Reminded of the March installment",
        outcome="promised_to_pay",
        notes="Pays after the market day.",
        loan=loan,
        occurred_at=_at(2026, 2, 20, 10),
    )
    consent_record(
        actor=loan_officer,
        party=person,
        purpose="data_processing",
        given_on=datetime.date(2026, 1, 5),
    )
    return person, loan


def test_the_timeline_merges_interactions_changes_and_loan_events_newest_first(
    loan_officer, borrower_with_history
):
    # given
    person, loan = borrower_with_history
    number = loan.number
    # when
    entries = party_timeline(user=loan_officer, party=person)
    # then
    assert [(entry.kind, entry.title, entry.detail) for entry in entries] == [
        ("change", "Consent given", "Processing of personal data (Given)"),
        ("change", "Person registered", ""),
        (
            "call",
            "Reminded of the March installment",
            f"Promised to pay · Pays after the market day. · Loan {number}",
        ),
        ("loan", f"Repayment on loan {number}", "11,347.15 CVE · receipt R-0001"),
        ("visit", "Handed over the contract", ""),
        ("loan", f"Loan {number} disbursed", "120,000.00 CVE"),
        ("loan", f"Loan {number} approved", "120,000.00 CVE"),
        ("loan", f"Loan {number} submitted", "120,000.00 CVE · Stock for the grocery shop"),
    ]
    assert [entry.when.date() for entry in entries[2:]] == [
        datetime.date(2026, 2, 20),
        datetime.date(2026, 2, 15),
        datetime.date(2026, 1, 15),
        datetime.date(2026, 1, 15),
        datetime.date(2026, 1, 10),
        datetime.date(2026, 1, 5),
    ]
    assert [entry.is_date_only for entry in entries] == [
        False,
        False,
        False,
        True,
        False,
        True,
        True,
        True,
    ]
    assert entries[2].actor == loan_officer.display_name
    assert entries[2].link == f"/parties/{person.pk}/timeline/#{entries[2].key}"
    assert entries[3].link == f"/loans/{loan.pk}/"
    assert entries[0].link == f"/parties/{person.pk}/history/"


def test_the_timeline_filters_by_kind(loan_officer, borrower_with_history):
    # given
    person, loan = borrower_with_history
    # when
    calls = party_timeline(user=loan_officer, party=person, kinds=["call"])
    visits_and_changes = party_timeline(user=loan_officer, party=person, kinds=["visit", "change"])
    loans = party_timeline(user=loan_officer, party=person, kinds=["loan"])
    # then
    assert [entry.title for entry in calls] == ["Reminded of the March installment"]
    assert [entry.title for entry in visits_and_changes] == [
        "Consent given",
        "Person registered",
        "Handed over the contract",
    ]
    assert [entry.title for entry in loans] == [
        f"Repayment on loan {loan.number}",
        f"Loan {loan.number} disbursed",
        f"Loan {loan.number} approved",
        f"Loan {loan.number} submitted",
    ]


def test_the_timeline_page_shows_the_chosen_kind_only(client, loan_officer, borrower_with_history):
    # given
    person, _loan = borrower_with_history
    client.force_login(loan_officer)
    # when
    response = client.get(f"/parties/{person.pk}/timeline/", {"kind": "call"})
    # then
    assert response.status_code == 200
    assert [entry.kind for entry in response.context["entries"]] == ["call"]
    assert response.context["selected_kinds"] == ["call"]
    html = response.content.decode()
    assert "Reminded of the March installment" in html
    assert "Handed over the contract" not in html


def test_changes_of_the_record_links_and_withdrawn_consents_are_on_the_timeline(
    loan_officer, praia
):
    # given
    person = make_person(loan_officer, first_name="Rosa")
    spouse = make_person(loan_officer, first_name="Tomas")
    person_update(actor=loan_officer, person=person, data={"phone": "9912345"})
    link = party_link_create(
        actor=loan_officer, from_party=spouse, to_party=person, kind="household_member"
    )
    party_link_delete(actor=loan_officer, link=link)
    # when
    entries = party_timeline(user=loan_officer, party=person, kinds=["change"])
    # then
    assert [(entry.title, entry.detail) for entry in entries] == [
        ("Link removed", f"{spouse} — Household member — {person}"),
        ("Link added", f"{spouse} — Household member — {person}"),
        ("Details changed", "Changed: phone"),
        ("Person registered", ""),
    ]


def test_the_timeline_keeps_a_fixed_query_count(
    loan_officer, branch_manager, rules, django_assert_max_num_queries
):
    # given
    product = cash_product(loan_officer, rules)
    person = make_person(loan_officer)
    for _number in range(2):
        loan = active_loan(loan_officer, branch_manager, product, borrower=person)
        repayment_record(
            actor=loan_officer, loan=loan, amount=EMI, value_date=datetime.date(2026, 2, 15)
        )
    for number in range(25):
        interaction_record(
            actor=loan_officer,
            party=person,
            kind="call" if number % 2 else "visit",
            summary=f"Contact {number}",
            occurred_at=_at(2026, 3, 1, 8) + datetime.timedelta(hours=number),
        )
    for purpose in ("data_processing", "marketing", "credit_bureau"):
        consent_record(
            actor=loan_officer,
            party=person,
            purpose=purpose,
            given_on=datetime.date(2026, 1, 5),
        )
    # when
    with django_assert_max_num_queries(8):
        entries = party_timeline(user=loan_officer, party=person)
    # then
    assert len(entries) == 25 + 4 + 2 * 4  # interactions, changes, 2 loans x 4 events


def test_the_timeline_page_keeps_a_fixed_query_count(
    client, loan_officer, borrower_with_history, django_assert_max_num_queries
):
    # given
    person, _loan = borrower_with_history
    for number in range(20):
        interaction_record(actor=loan_officer, party=person, kind="note", summary=f"Note {number}")
    client.force_login(loan_officer)
    # when
    with django_assert_max_num_queries(18):
        response = client.get(f"/parties/{person.pk}/timeline/")
    # then
    assert response.status_code == 200
    assert len(response.context["entries"]) == 28


def test_an_outsider_cannot_read_the_timeline(client, loan_officer, outsider):
    # given
    person = make_person(loan_officer)
    client.force_login(outsider)
    # when
    response = client.get(f"/parties/{person.pk}/timeline/")
    # then
    assert response.status_code == 404
    with pytest.raises(Http404):
        party_timeline(user=outsider, party=person)


def test_a_coach_sees_interactions_but_no_loan_events(coach, loan_officer, branch_manager, rules):
    # given
    person = make_person(loan_officer, assigned_to=coach)
    active_loan(loan_officer, branch_manager, cash_product(loan_officer, rules), borrower=person)
    interaction_record(actor=coach, party=person, kind="visit", summary="First coaching visit")
    # when
    entries = party_timeline(user=coach, party=person)
    # then
    assert [entry.kind for entry in entries] == ["visit", "change"]


# --- Coaching sessions and course progress ------------------------------------------------------


@pytest.fixture
def coached_person(manager, branch_manager, loan_officer, coach):
    """A Praia client coached by the ``coach`` persona: a 90-minute held session on day 3 of the
    previous month, a no-show on day 5 and a phone session planned in two days."""
    person = make_person(loan_officer, first_name="Ana", last_name="Lopes", assigned_to=coach)
    product = make_product(manager, name="Business coaching 10 h")
    engagement = accepted_engagement(
        branch_manager, party=person, product=product, coach=make_coach(manager, coach)
    )
    held = log_session(coach, engagement, on=day(3), minutes=90)
    missed = log_session(coach, engagement, on=day(5), status=SessionStatus.NO_SHOW)
    planned_on = timezone.localdate() + datetime.timedelta(days=2)
    planned = log_session(
        coach,
        engagement,
        on=planned_on,
        minutes=45,
        hour=15,
        status=SessionStatus.PLANNED,
        mode=SessionMode.PHONE,
    )
    return person, engagement, (planned, missed, held)


def test_coaching_sessions_are_on_the_timeline_newest_first(branch_manager, coach, coached_person):
    # given
    person, engagement, (planned, missed, held) = coached_person
    # when
    entries = party_timeline(user=branch_manager, party=person)
    only_coaching = party_timeline(user=branch_manager, party=person, kinds=["coaching"])
    # then
    assert [(entry.kind, entry.title, entry.detail) for entry in entries] == [
        ("coaching", "Coaching session planned", "45 min · Phone · Business coaching 10 h"),
        ("change", "Person registered", ""),
        (
            "coaching",
            "Coaching session missed (no-show)",
            "60 min · In person · Business coaching 10 h",
        ),
        ("coaching", "Coaching session held", "90 min · In person · Business coaching 10 h"),
    ]
    assert [entry.key for entry in only_coaching] == [
        f"coaching-session-{planned.pk}",
        f"coaching-session-{missed.pk}",
        f"coaching-session-{held.pk}",
    ]
    assert [entry.when for entry in only_coaching] == [
        at(timezone.localdate() + datetime.timedelta(days=2), 15),
        at(day(5)),
        at(day(3)),
    ]
    assert {entry.link for entry in only_coaching} == {f"/coaching/engagements/{engagement.pk}/"}
    assert {entry.actor for entry in only_coaching} == {coach.display_name}
    assert {entry.kind_label for entry in only_coaching} == {"Coaching"}
    assert not any(entry.is_date_only for entry in only_coaching)


def test_coaching_sessions_follow_the_coaching_scope(coached_person, loan_officer, outsider):
    # given: the officer who registered the client sees coaching of their branch
    person, _engagement, _sessions = coached_person
    # when
    officer_entries = party_timeline(user=loan_officer, party=person, kinds=["coaching"])
    # then
    assert len(officer_entries) == 3
    with pytest.raises(Http404):
        party_timeline(user=outsider, party=person, kinds=["coaching"])


def test_a_coach_sees_the_sessions_of_their_client_on_the_timeline(coach, coached_person):
    # given
    person, _engagement, _sessions = coached_person
    # when
    entries = party_timeline(user=coach, party=person, kinds=["coaching"])
    # then
    assert [entry.title for entry in entries] == [
        "Coaching session planned",
        "Coaching session missed (no-show)",
        "Coaching session held",
    ]


@pytest.fixture
def learner_progress(loan_officer):
    """A learner who enrols, completes lesson 1, fails then passes its quiz, and completes
    lesson 2, which completes the course and issues the certificate."""
    person = make_person(loan_officer, first_name="Rosa")
    course = make_course(loan_officer, title="Cash book")
    first = make_lesson(loan_officer, course, title="Write sales down")
    second = make_lesson(loan_officer, course, title="Count the till")
    quiz = make_quiz(loan_officer, first, pass_mark="60", questions=3)
    enrolment = elearning.enrolment_create(actor=loan_officer, course=course, party=person)
    elearning.lesson_complete(actor=loan_officer, enrolment=enrolment, lesson=first)
    failed = elearning.quiz_attempt_record(
        actor=loan_officer, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=1)
    )
    passed = elearning.quiz_attempt_record(
        actor=loan_officer, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=3)
    )
    elearning.lesson_complete(actor=loan_officer, enrolment=enrolment, lesson=second)
    enrolment.refresh_from_db()
    return person, course, enrolment, (failed, passed)


def test_course_progress_is_on_the_timeline_in_order(loan_officer, learner_progress):
    # given
    person, course, enrolment, (failed, passed) = learner_progress
    code = enrolment.certificate.code
    # when
    entries = party_timeline(user=loan_officer, party=person, kinds=["course"])
    # then
    assert [(entry.title, entry.detail) for entry in entries] == [
        ("Certificate issued for Cash book", f"Verification code {code}"),
        ("Lesson completed in Cash book", "Count the till"),
        ("Quiz passed in Cash book", "Write sales down · score 100.00 %"),
        ("Quiz failed in Cash book", "Write sales down · score 33.33 %"),
        ("Lesson completed in Cash book", "Write sales down"),
        ("Enrolled in Cash book", ""),
    ]
    assert entries[0].when == enrolment.completed_at
    assert entries[-1].when == enrolment.enrolled_at
    assert entries[2].key == f"quiz-attempt-{passed.pk}"
    assert entries[3].key == f"quiz-attempt-{failed.pk}"
    assert entries[0].key == f"certificate-{enrolment.certificate.pk}"
    assert entries[-1].key == f"enrolment-{enrolment.pk}"
    assert {entry.link for entry in entries} == {f"/learning/courses/{course.pk}/"}
    assert {entry.kind for entry in entries} == {"course"}
    assert {entry.kind_label for entry in entries} == {"Course"}
    assert not any(entry.is_date_only for entry in entries)


def test_the_full_timeline_merges_course_progress_with_the_rest(loan_officer, learner_progress):
    # given
    person, _course, _enrolment, _attempts = learner_progress
    # when
    entries = party_timeline(user=loan_officer, party=person)
    # then: the person was registered before any course step
    assert [entry.kind for entry in entries] == ["course"] * 6 + ["change"]


def test_a_coach_sees_no_course_progress_of_someone_they_do_not_coach(coach, learner_progress):
    # given
    person, _course, enrolment, _attempts = learner_progress
    person.assigned_to = coach
    person.save(update_fields=["assigned_to"])
    # when: the coach may see the party but is not coaching them
    entries = party_timeline(user=coach, party=person)
    # then
    assert [entry.kind for entry in entries] == ["change"]


def test_coaching_and_course_entries_keep_a_fixed_query_count(
    manager, branch_manager, loan_officer, coach, django_assert_max_num_queries
):
    # given: two engagements with several sessions, and two courses with progress
    person = make_person(loan_officer, assigned_to=coach)
    profile = make_coach(manager, coach)
    for number in range(2):
        engagement = accepted_engagement(
            branch_manager,
            party=person,
            product=make_product(manager, name=f"Coaching {number}"),
            coach=profile,
        )
        for session_day in (3, 6, 9):
            log_session(coach, engagement, on=day(session_day + number), minutes=30)
    for number in range(2):
        course = make_course(loan_officer, title=f"Course {number}")
        lessons = [make_lesson(loan_officer, course) for _lesson in range(3)]
        quiz = make_quiz(loan_officer, lessons[0])
        enrolment = elearning.enrolment_create(actor=loan_officer, course=course, party=person)
        for lesson in lessons:
            elearning.lesson_complete(actor=loan_officer, enrolment=enrolment, lesson=lesson)
        elearning.quiz_attempt_record(
            actor=loan_officer, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=0)
        )
        elearning.quiz_attempt_record(
            actor=loan_officer, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=3)
        )
    # when
    with django_assert_max_num_queries(8):
        entries = party_timeline(user=branch_manager, party=person)
    # then: 6 sessions; per course enrolment, 3 lessons, 2 attempts, certificate; registration
    assert len(entries) == 6 + 2 * 7 + 1


def test_the_timeline_page_filters_coaching_and_courses(client, branch_manager, coached_person):
    # given
    person, _engagement, _sessions = coached_person
    client.force_login(branch_manager)
    # when
    response = client.get(f"/parties/{person.pk}/timeline/", {"kind": "coaching"})
    everything = client.get(f"/parties/{person.pk}/timeline/")
    # then
    html = response.content.decode()
    assert html.count('data-testid="timeline-entry"') == 3
    assert "Coaching session held" in html
    assert "Person registered" not in html
    assert 'href="?kind=coaching" data-kind="coaching" aria-current="true"' in html
    assert 'data-kind="course"' in html
    assert everything.content.decode().count('data-testid="timeline-entry"') == 4


# --- Recording interactions ----------------------------------------------------------------------


def test_an_interaction_with_a_next_action_creates_one_task_for_the_author(field_agent, praia):
    # given
    person = make_person(field_agent)
    due = _tomorrow()
    # when
    interaction = interaction_record(
        actor=field_agent,
        party=person,
        kind="call",
        summary="Asked for the sales book",
        outcome="reached",
        next_action_date=due,
    )
    # then
    tasks = list(Task.objects.all())
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.assigned_to, task.created_by, task.party_id, task.source_interaction) == (
        field_agent,
        field_agent,
        person.pk,
        interaction,
    )
    assert (task.due_date, task.status, task.completed_at) == (due, TaskStatus.OPEN, None)
    assert task.title == f"Follow up with {person.display_name}: Asked for the sales book"
    assert list(
        AuditEvent.objects.filter(action__in=["interaction.recorded", "task.created"])
        .order_by("pk")
        .values_list("action", "branch_id")
    ) == [("interaction.recorded", praia.pk), ("task.created", praia.pk)]


def test_the_follow_up_can_go_to_a_colleague_of_the_branch(branch_manager, loan_officer):
    # given
    person = make_person(branch_manager, assigned_to=loan_officer)
    # when
    interaction_record(
        actor=branch_manager,
        party=person,
        kind="desk_visit",
        summary="Wants a second loan",
        next_action_date=_tomorrow(),
        next_action_title="Visit the shop",
        assignee=loan_officer,
    )
    # then
    assert list(Task.objects.values_list("title", "assigned_to", "created_by")) == [
        ("Visit the shop", loan_officer.pk, branch_manager.pk)
    ]


def test_an_interaction_without_next_action_creates_no_task(loan_officer):
    # given
    person = make_person(loan_officer)
    # when
    interaction_record(actor=loan_officer, party=person, kind="note", summary="Moved house")
    # then
    assert Interaction.objects.count() == 1
    assert Task.objects.count() == 0


def test_a_follow_up_for_someone_out_of_scope_is_refused_and_nothing_is_recorded(
    loan_officer, outsider
):
    # given
    person = make_person(loan_officer)
    # when
    with pytest.raises(ValidationError) as error:
        interaction_record(
            actor=loan_officer,
            party=person,
            kind="call",
            summary="Called",
            next_action_date=_tomorrow(),
            assignee=outsider,
        )
    # then
    assert error.value.message_dict == {
        "assigned_to": ["Tasks can only be given to staff of your branches."]
    }
    assert (Interaction.objects.count(), Task.objects.count()) == (0, 0)
    assert not AuditEvent.objects.filter(action="interaction.recorded").exists()


def test_an_outsider_cannot_record_an_interaction(loan_officer, outsider):
    # given
    person = make_person(loan_officer)
    # when
    with pytest.raises(PermissionDenied):
        interaction_record(actor=outsider, party=person, kind="call", summary="Called")
    # then
    assert Interaction.objects.count() == 0


def test_an_interaction_in_the_future_or_a_past_next_action_is_refused(loan_officer):
    # given
    person = make_person(loan_officer)
    # when
    with pytest.raises(ValidationError) as error:
        interaction_record(
            actor=loan_officer,
            party=person,
            kind="call",
            summary="Called",
            occurred_at=timezone.now() + datetime.timedelta(hours=2),
            next_action_date=timezone.localdate() - datetime.timedelta(days=1),
        )
    # then
    assert error.value.message_dict == {
        "occurred_at": ["An interaction cannot be in the future."],
        "next_action_date": ["The next action cannot be in the past."],
    }
    assert Interaction.objects.count() == 0


def test_the_quick_form_records_a_call_with_a_follow_up(client, field_agent):
    # given
    person = make_person(field_agent)
    client.force_login(field_agent)
    due = _tomorrow()
    # when
    response = client.post(
        f"/parties/{person.pk}/interactions/new/",
        {"kind": "call", "summary": "No answer", "next_action_date": due.isoformat()},
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/parties/{person.pk}/timeline/"
    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.summary, interaction.author) == (
        "call",
        "No answer",
        field_agent,
    )
    assert list(Task.objects.values_list("assigned_to", "due_date")) == [(field_agent.pk, due)]


def test_the_quick_form_takes_the_optional_details(client, loan_officer, colleague_officer):
    # given
    person = make_person(loan_officer, assigned_to=colleague_officer)
    client.force_login(loan_officer)
    due = _tomorrow()
    # when
    response = client.post(
        f"/parties/{person.pk}/interactions/new/",
        {
            "kind": "visit",
            "summary": "Checked the stock",
            "outcome": "needs_help",
            "notes": "Fridge broken.",
            "occurred_at": "2026-01-15T09:30",
            "next_action_date": due.isoformat(),
            "next_action_title": "Bring the repair quote",
            "assignee": colleague_officer.pk,
        },
    )
    # then
    assert response.status_code == 302
    interaction = Interaction.objects.get()
    assert (interaction.outcome, interaction.notes, interaction.occurred_at) == (
        "needs_help",
        "Fridge broken.",
        _at(2026, 1, 15, 9, 30),
    )
    assert list(Task.objects.values_list("title", "assigned_to", "due_date")) == [
        ("Bring the repair quote", colleague_officer.pk, due)
    ]


def test_the_quick_form_without_a_kind_shows_the_error_and_records_nothing(client, field_agent):
    # given
    person = make_person(field_agent)
    client.force_login(field_agent)
    # when
    response = client.post(f"/parties/{person.pk}/interactions/new/", {"summary": "Hello"})
    # then
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["kind"]
    assert Interaction.objects.count() == 0


def test_an_auditor_reads_the_timeline_without_the_form_and_cannot_post(
    client, auditor, loan_officer
):
    # given
    person = make_person(loan_officer)
    client.force_login(auditor)
    # when
    page = client.get(f"/parties/{person.pk}/timeline/")
    post = client.post(
        f"/parties/{person.pk}/interactions/new/", {"kind": "call", "summary": "Hello"}
    )
    # then
    assert page.status_code == 200
    assert page.context["form"] is None
    assert post.status_code == 403
    assert Interaction.objects.count() == 0


# --- API -----------------------------------------------------------------------------------------


def test_the_interactions_api_lists_by_party_within_scope(
    api, loan_officer, outsider, django_assert_max_num_queries
):
    # given
    person = make_person(loan_officer)
    other = make_person(loan_officer)
    for number in range(12):
        interaction_record(
            actor=loan_officer,
            party=person,
            kind="call",
            summary=f"Call {number}",
            next_action_date=_tomorrow() if number % 3 == 0 else None,
        )
    interaction_record(actor=loan_officer, party=other, kind="note", summary="Other party")
    api.force_authenticate(loan_officer)
    # when
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/interactions/", {"party": person.pk})
    # then
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 12
    assert body["results"][0]["summary"] == "Call 11"
    assert body["results"][0]["author"] == "officer"
    assert [len(row["follow_up_tasks"]) for row in body["results"]].count(1) == 4

    # when an officer of another branch asks
    api.force_authenticate(outsider)
    listed = api.get("/api/v1/interactions/", {"party": person.pk})
    detail = api.get(f"/api/v1/interactions/{Interaction.objects.first().pk}/")
    # then
    assert listed.json()["count"] == 0
    assert detail.status_code == 404


def test_the_interactions_api_records_with_a_follow_up(api, loan_officer):
    # given
    person = make_person(loan_officer)
    api.force_authenticate(loan_officer)
    due = _tomorrow()
    # when
    response = api.post(
        "/api/v1/interactions/",
        {
            "party": person.pk,
            "kind": "visit",
            "summary": "Saw the new stall",
            "outcome": "reached",
            "next_action_date": due.isoformat(),
        },
        format="json",
    )
    # then
    assert response.status_code == 201
    body = response.json()
    task = Task.objects.get()
    assert (body["kind"], body["summary"], body["follow_up_tasks"]) == (
        "visit",
        "Saw the new stall",
        [task.pk],
    )
    assert (task.assigned_to, task.due_date) == (loan_officer, due)


def test_the_interactions_api_refuses_outsiders_and_read_only_roles(
    api, loan_officer, outsider, auditor
):
    # given
    person = make_person(loan_officer)
    payload = {"party": person.pk, "kind": "call", "summary": "Hello"}
    # when
    api.force_authenticate(outsider)
    outside = api.post("/api/v1/interactions/", payload, format="json")
    api.force_authenticate(auditor)
    read_only = api.post("/api/v1/interactions/", payload, format="json")
    # then
    assert outside.status_code == 404
    assert read_only.status_code == 403
    assert Interaction.objects.count() == 0
