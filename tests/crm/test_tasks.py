"""Tasks: grouping of "My tasks" by due date, complete / reassign / cancel within scope, the home
card, daily reminders (once per day), and the tasks API."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from crm.choices import TaskStatus
from crm.interactions import (
    interaction_record,
    task_cancel,
    task_complete,
    task_create,
    task_reassign,
    task_reminders_send,
)
from crm.models import Task, TaskReminder
from crm.tasks import ReminderDeliveryFailed, send_task_reminders
from crm.timeline import task_counts_for_user, tasks_grouped_for_user
from mfi.navigation import menu_for
from tests.crm.factories import make_person
from tests.factories import UserFactory
from users.roles import Role

# A Wednesday far enough ahead that every due date below may still be set today.
TODAY = datetime.date(2099, 3, 11)
YESTERDAY = datetime.date(2099, 3, 10)
SUNDAY = datetime.date(2099, 3, 15)
NEXT_MONDAY = datetime.date(2099, 3, 16)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def mailoutbox(db, settings):
    """Django's locmem outbox, once the test case has set up its own (pytest-django's fixture
    may hand out a list that the test case then replaces)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    yield mail.outbox
    mail.outbox = []


@pytest.fixture
def colleague(praia):
    """A second loan officer of Praia, to hand tasks to."""
    return UserFactory(username="officer2", role=Role.LOAN_OFFICER, branch=praia)


def _tasks_by_title(user, titles_and_dates) -> dict[str, Task]:
    return {
        title: task_create(actor=user, title=title, due_date=day) for title, day in titles_and_dates
    }


def test_my_tasks_are_grouped_by_due_date_relative_to_today(loan_officer, colleague):
    # given
    _tasks_by_title(
        loan_officer,
        [
            ("Later", NEXT_MONDAY),
            ("Sunday", SUNDAY),
            ("Today", TODAY),
            ("Overdue", YESTERDAY),
            ("Thursday", TODAY + datetime.timedelta(days=1)),
            ("Long overdue", datetime.date(2099, 1, 2)),
        ],
    )
    done = task_create(actor=loan_officer, title="Done already", due_date=TODAY)
    task_complete(actor=loan_officer, task=done)
    task_create(actor=colleague, title="Not mine", due_date=TODAY)
    # when
    groups = tasks_grouped_for_user(user=loan_officer, today=TODAY)
    counts = task_counts_for_user(user=loan_officer, today=TODAY)
    # then
    assert [task.title for task in groups.overdue] == ["Long overdue", "Overdue"]
    assert [task.title for task in groups.today] == ["Today"]
    assert [task.title for task in groups.this_week] == ["Thursday", "Sunday"]
    assert [task.title for task in groups.later] == ["Later"]
    assert counts == {"overdue": 2, "today": 1, "this_week": 2, "later": 1, "total": 6}


def test_on_a_sunday_nothing_is_left_of_this_week(loan_officer):
    # given
    _tasks_by_title(loan_officer, [("Monday", NEXT_MONDAY), ("Sunday", SUNDAY)])
    # when
    groups = tasks_grouped_for_user(user=loan_officer, today=SUNDAY)
    # then
    assert ([t.title for t in groups.today], groups.this_week, [t.title for t in groups.later]) == (
        ["Sunday"],
        [],
        ["Monday"],
    )


def test_the_my_tasks_page_shows_the_groups_with_a_fixed_query_count(
    client, field_agent, django_assert_max_num_queries
):
    # given
    today = timezone.localdate()
    person = make_person(field_agent)
    for number in range(15):
        interaction_record(
            actor=field_agent,
            party=person,
            kind="call",
            summary=f"Call {number}",
            next_action_date=today if number % 2 else today + datetime.timedelta(days=40),
        )
    client.force_login(field_agent)
    # when
    with django_assert_max_num_queries(10):
        response = client.get("/parties/tasks/")
    # then
    assert response.status_code == 200
    groups = response.context["groups"]
    assert (len(groups.overdue), len(groups.today), len(groups.later)) == (0, 7, 8)
    assert response.content.decode().count('data-testid="task"') == 15


def test_completing_a_task_records_when_and_who(loan_officer):
    # given
    task = task_create(actor=loan_officer, title="Call back", due_date=TODAY)
    # when
    done = task_complete(actor=loan_officer, task=task)
    # then
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.completed_at is not None
    assert done.completed_at == task.completed_at
    event = AuditEvent.objects.get(action="task.completed")
    assert (event.actor, event.before["status"], event.after["status"]) == (
        loan_officer,
        "open",
        "done",
    )


def test_a_done_task_cannot_be_completed_or_cancelled_again(loan_officer):
    # given
    task = task_complete(
        actor=loan_officer, task=task_create(actor=loan_officer, title="X", due_date=TODAY)
    )
    # when / then
    with pytest.raises(ValidationError):
        task_complete(actor=loan_officer, task=task)
    with pytest.raises(ValidationError):
        task_cancel(actor=loan_officer, task=task)
    assert AuditEvent.objects.filter(action__startswith="task.").count() == 2


def test_cancelling_a_task(loan_officer):
    # given
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY)
    # when
    task_cancel(actor=loan_officer, task=task)
    # then
    task.refresh_from_db()
    assert (task.status, task.completed_at) == (TaskStatus.CANCELLED, None)


def test_reassigning_to_a_colleague_of_the_branch(loan_officer, colleague):
    # given
    person = make_person(loan_officer)
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY, party=person)
    # when
    task_reassign(actor=loan_officer, task=task, assigned_to=colleague)
    # then
    task.refresh_from_db()
    assert task.assigned_to == colleague
    event = AuditEvent.objects.get(action="task.reassigned")
    assert (event.before, event.after) == (
        {"assigned_to": loan_officer.pk},
        {"assigned_to": colleague.pk},
    )


def test_reassigning_outside_the_branch_scope_is_refused_and_nothing_changes(
    loan_officer, outsider
):
    # given
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY)
    # when
    with pytest.raises(ValidationError) as error:
        task_reassign(actor=loan_officer, task=task, assigned_to=outsider)
    # then
    assert error.value.message_dict == {
        "assigned_to": ["Tasks can only be given to staff of your branches."]
    }
    task.refresh_from_db()
    assert task.assigned_to == loan_officer
    assert not AuditEvent.objects.filter(action="task.reassigned").exists()


def test_reassigning_to_someone_who_cannot_see_the_party_is_refused(loan_officer, field_agent):
    # given
    person = make_person(loan_officer)  # not assigned to the field agent
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY, party=person)
    # when
    with pytest.raises(ValidationError) as error:
        task_reassign(actor=loan_officer, task=task, assigned_to=field_agent)
    # then
    assert error.value.message_dict == {
        "assigned_to": [f"{field_agent.display_name} cannot see this party."]
    }
    task.refresh_from_db()
    assert task.assigned_to == loan_officer


def test_an_outsider_cannot_complete_reassign_or_cancel(loan_officer, outsider):
    # given
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY)
    # when / then
    with pytest.raises(PermissionDenied):
        task_complete(actor=outsider, task=task)
    with pytest.raises(PermissionDenied):
        task_cancel(actor=outsider, task=task)
    with pytest.raises(PermissionDenied):
        task_reassign(actor=outsider, task=task, assigned_to=outsider)
    task.refresh_from_db()
    assert (task.status, task.assigned_to) == (TaskStatus.OPEN, loan_officer)


def test_the_branch_manager_may_complete_a_task_of_the_branch(loan_officer, branch_manager):
    # given
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY)
    # when
    task_complete(actor=branch_manager, task=task)
    # then
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_the_page_actions_complete_and_reassign(client, loan_officer, colleague, outsider):
    # given
    today = timezone.localdate()
    first = task_create(actor=loan_officer, title="First", due_date=today)
    second = task_create(actor=loan_officer, title="Second", due_date=today)
    client.force_login(loan_officer)
    # when
    completed = client.post(f"/parties/tasks/{first.pk}/complete/")
    refused = client.post(f"/parties/tasks/{second.pk}/reassign/", {"assigned_to": outsider.pk})
    reassigned = client.post(f"/parties/tasks/{second.pk}/reassign/", {"assigned_to": colleague.pk})
    # then
    assert [completed.status_code, refused.status_code, reassigned.status_code] == [302, 302, 302]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.assigned_to) == (TaskStatus.DONE, colleague)
    assert AuditEvent.objects.filter(action="task.reassigned").count() == 1


def test_an_outsider_gets_404_from_the_page_actions(client, loan_officer, outsider):
    # given
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY)
    client.force_login(outsider)
    # when
    response = client.post(f"/parties/tasks/{task.pk}/complete/")
    # then
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_the_home_card_counts_my_tasks(client, field_agent):
    # given
    today = timezone.localdate()
    person = make_person(field_agent)
    for day in (today, today, today + datetime.timedelta(days=60)):
        interaction_record(
            actor=field_agent, party=person, kind="visit", summary="Visit", next_action_date=day
        )
    client.force_login(field_agent)
    # when
    home = client.get("/")
    card = client.get("/parties/tasks/card/")
    # then
    assert 'data-task-count="today">2<' in home.content.decode()
    assert card.context["task_counts"] == {
        "overdue": 0,
        "today": 2,
        "this_week": 0,
        "later": 1,
        "total": 3,
    }
    assert 'data-task-count="today">2<' in card.content.decode()


def test_my_tasks_is_in_the_menu_of_those_who_follow_up_parties(field_agent, auditor):
    # then
    assert "crm:task_list" in [item.url_name for item in menu_for(field_agent)]
    assert "crm:task_list" not in [item.url_name for item in menu_for(auditor)]


# --- Reminders -----------------------------------------------------------------------------------


def test_reminders_are_sent_once_per_day_per_user(mailoutbox, loan_officer, colleague):
    # given
    task_create(actor=loan_officer, title="Overdue call", due_date=YESTERDAY)
    task_create(actor=loan_officer, title="Visit today", due_date=TODAY)
    task_create(actor=loan_officer, title="Next week", due_date=NEXT_MONDAY)
    task_create(actor=colleague, title="Colleague today", due_date=TODAY)
    # when
    first = send_task_reminders.apply(args=[TODAY.isoformat()]).get()
    second = send_task_reminders.apply(args=[TODAY.isoformat()]).get()
    # then
    assert (first, second) == ({"sent": 2, "failed": 0}, {"sent": 0, "failed": 0})
    assert sorted(message.to[0] for message in mailoutbox) == [
        "officer2@example.cv",
        "officer@example.cv",
    ]
    mine = next(message for message in mailoutbox if message.to == ["officer@example.cv"])
    assert mine.subject == "Your tasks for 2099-03-11: 1 overdue, 1 due today"
    assert "- 2099-03-10 · Overdue call" in mine.body
    assert "- Visit today" in mine.body
    assert "Next week" not in mine.body
    assert list(TaskReminder.objects.order_by("user__username").values_list("user", "sent_on")) == [
        (loan_officer.pk, TODAY),
        (colleague.pk, TODAY),
    ]
    assert AuditEvent.objects.filter(action="task_reminder.sent").count() == 2


def test_the_next_day_brings_a_new_reminder(mailoutbox, loan_officer):
    # given
    task_create(actor=loan_officer, title="Overdue call", due_date=YESTERDAY)
    task_reminders_send(today=YESTERDAY)
    # when
    task_reminders_send(today=TODAY)
    task_reminders_send(today=TODAY)
    # then
    assert [message.subject for message in mailoutbox] == [
        "Your tasks for 2099-03-10: 0 overdue, 1 due today",
        "Your tasks for 2099-03-11: 1 overdue, 0 due today",
    ]


def test_users_without_due_tasks_or_e_mail_get_no_reminder(mailoutbox, loan_officer, colleague):
    # given
    colleague.email = ""
    colleague.save(update_fields=["email"])
    task_create(actor=colleague, title="Today", due_date=TODAY)
    task_create(actor=loan_officer, title="Later", due_date=NEXT_MONDAY)
    done = task_create(actor=loan_officer, title="Done", due_date=TODAY)
    task_complete(actor=loan_officer, task=done)
    # when
    result = task_reminders_send(today=TODAY)
    # then
    assert result == {"sent": 0, "failed": 0}
    assert mailoutbox == []
    assert TaskReminder.objects.count() == 0


def test_a_refused_reminder_stays_queued_and_goes_out_with_the_next_run(mailoutbox, loan_officer):
    # given
    task_create(actor=loan_officer, title="Today", due_date=TODAY)
    # when
    with (
        mock.patch("crm.interactions.send_mail", side_effect=OSError("mail server down")),
        pytest.raises(ReminderDeliveryFailed),
    ):
        send_task_reminders(TODAY.isoformat())
    # then
    reminder = TaskReminder.objects.get()
    assert reminder.delivered_at is None
    assert mailoutbox == []

    # when the mail server is back
    result = task_reminders_send(today=TODAY)
    # then
    assert result == {"sent": 1, "failed": 0}
    assert len(mailoutbox) == 1
    reminder.refresh_from_db()
    assert reminder.delivered_at is not None


# --- API -----------------------------------------------------------------------------------------


def test_the_tasks_api_lists_only_my_tasks(
    api, loan_officer, colleague, django_assert_max_num_queries
):
    # given
    person = make_person(loan_officer)
    for number in range(10):
        task_create(actor=loan_officer, title=f"Mine {number}", due_date=TODAY, party=person)
    task_create(actor=loan_officer, title="For colleague", due_date=TODAY, assigned_to=colleague)
    api.force_authenticate(loan_officer)
    # when
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/tasks/")
    # then
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 10
    assert {row["assigned_to"] for row in body["results"]} == {"officer"}
    assert body["results"][0]["party"] == person.pk


def test_the_tasks_api_creates_and_completes(api, loan_officer, colleague):
    # given
    person = make_person(loan_officer)
    api.force_authenticate(loan_officer)
    # when
    created = api.post(
        "/api/v1/tasks/",
        {
            "title": "Bring the guarantor form",
            "due_date": TODAY.isoformat(),
            "party": person.pk,
            "assigned_to": "officer2",
        },
        format="json",
    )
    task_id = created.json()["id"]
    completed = api.post(f"/api/v1/tasks/{task_id}/complete/")
    # then
    assert created.status_code == 201
    assert (created.json()["assigned_to"], created.json()["status"]) == ("officer2", "open")
    assert completed.status_code == 200
    assert completed.json()["status"] == "done"
    task = Task.objects.get(pk=task_id)
    assert (task.status, task.created_by, task.assigned_to) == (
        TaskStatus.DONE,
        loan_officer,
        colleague,
    )


def test_the_tasks_api_keeps_outsiders_out(api, loan_officer, outsider, auditor):
    # given
    person = make_person(loan_officer)
    task = task_create(actor=loan_officer, title="Visit", due_date=TODAY, party=person)
    # when
    api.force_authenticate(outsider)
    listed = api.get("/api/v1/tasks/")
    completed = api.post(f"/api/v1/tasks/{task.pk}/complete/")
    created = api.post(
        "/api/v1/tasks/",
        {"title": "Sneak", "due_date": TODAY.isoformat(), "party": person.pk},
        format="json",
    )
    handed_over = api.post(
        "/api/v1/tasks/",
        {"title": "For you", "due_date": TODAY.isoformat(), "assigned_to": "officer"},
        format="json",
    )
    api.force_authenticate(auditor)
    audited = api.post(f"/api/v1/tasks/{task.pk}/complete/")
    # then
    assert listed.json()["count"] == 0
    assert completed.status_code == 404
    assert created.status_code == 404
    assert handed_over.status_code == 400
    assert handed_over.json() == {
        "assigned_to": ["Tasks can only be given to staff of your branches."]
    }
    assert audited.status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert Task.objects.count() == 1
