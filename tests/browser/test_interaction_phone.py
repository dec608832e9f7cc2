"""A field agent on a phone logs a call with a next-action date on a party assigned to them: two
taps (the "Call" button, then Save) plus typing. The call is on the party's timeline and its
follow-up is in "My tasks" and on the home card."""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from crm.models import Interaction, Task
from tests.browser.support import PHONE, assert_no_horizontal_scroll, log_in
from tests.crm.factories import make_person
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

TIMELINE_URL = re.compile(r"^http://[^/]+/parties/(\d+)/timeline/$")
TASKS_URL = re.compile(r"^http://[^/]+/parties/tasks/$")


def test_a_field_agent_logs_a_call_with_a_follow_up_on_a_phone(open_page, screenshot, praia):
    # given
    agent = UserFactory(
        username="fieldagent", role=Role.FIELD_AGENT, branch=praia, first_name="Zeca"
    )
    person = make_person(agent, first_name="Ana", last_name="Lopes")
    assert person.assigned_to == agent
    due = timezone.localdate() + datetime.timedelta(days=2)
    page = open_page(PHONE)
    log_in(page, agent.username, TEST_PASSWORD)

    # when: the agent opens the party from the home page and goes to its timeline
    page.get_by_test_id("my-parties").get_by_role("link", name="Ana Lopes").click()
    expect(page.get_by_test_id("party-name")).to_have_text("Ana Lopes")
    page.get_by_test_id("timeline-tab").click()
    expect(page).to_have_url(TIMELINE_URL)
    assert_no_horizontal_scroll(page)

    # when: tap "Call", type the summary and the next-action date, tap "Save"
    page.get_by_test_id("kind-call").click()
    page.locator("#id_summary").fill("Promised to bring the sales book")
    page.locator("#id_next_action_date").fill(due.isoformat())
    page.get_by_test_id("save-interaction").click()

    # then: the call is at the top of the timeline
    expect(page).to_have_url(TIMELINE_URL)
    expect(page.get_by_role("alert")).to_contain_text(
        f"Interaction recorded; follow-up task due on {due.isoformat()}."
    )
    first = page.get_by_test_id("timeline-entry").first
    expect(first).to_have_attribute("data-kind", "call")
    expect(first.get_by_test_id("entry-title")).to_have_text("Promised to bring the sales book")
    expect(first.get_by_test_id("entry-detail")).to_have_text(f"Next action on {due.isoformat()}")
    assert_no_horizontal_scroll(page)
    screenshot(page, "field_agent-timeline", PHONE)
    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.author, interaction.party_id) == (
        "call",
        agent,
        person.pk,
    )

    # when: the agent opens "My tasks" from the collapsed menu
    page.locator(".navbar-toggler").click()
    page.locator("#main-menu").get_by_role("link", name="My tasks").click()

    # then: the follow-up is there, this week or later
    expect(page).to_have_url(TASKS_URL)
    title = "Follow up with Ana Lopes: Promised to bring the sales book"
    tasks = page.get_by_test_id("task")
    expect(tasks).to_have_count(1)
    expect(tasks.first.get_by_test_id("task-title")).to_have_text(title)
    expect(page.get_by_test_id("tasks-overdue").get_by_test_id("count")).to_have_text("0")
    expect(page.get_by_test_id("tasks-today").get_by_test_id("count")).to_have_text("0")
    assert_no_horizontal_scroll(page)
    screenshot(page, "field_agent-tasks", PHONE)
    task = Task.objects.get()
    assert (task.assigned_to, task.due_date, task.source_interaction) == (agent, due, interaction)

    # when: back on the home page, the card counts the task once it has loaded
    page.goto("/")
    card = page.get_by_test_id("task-card")
    expect(card).to_be_visible()
    counts = [
        card.locator(f"[data-task-count={key}]").inner_text()
        for key in ("overdue", "today", "this_week")
    ]
    # then
    end_of_week = timezone.localdate() + datetime.timedelta(days=6 - timezone.localdate().weekday())
    assert counts == ["0", "0", "1" if due <= end_of_week else "0"]

    # when: the task is done
    card.click()
    page.get_by_test_id("complete-task").click()
    # then
    expect(page.get_by_role("alert")).to_contain_text(f"Task done: {title}")
    expect(page.get_by_test_id("task")).to_have_count(0)
    task.refresh_from_db()
    assert task.status == "done"
