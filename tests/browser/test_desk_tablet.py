"""A service-desk agent on a tablet checks in a walk-in found by NIF, serves them and hands the
visit off to a task for the client's field agent. The desk fits a tablet and a phone."""

from __future__ import annotations

import datetime

from django.utils import timezone
from playwright.sync_api import expect

from compliance.choices import DeskVisitStatus, HandOff
from compliance.models import DeskVisit
from crm.models import Interaction, Task
from tests.browser.support import PHONE, Viewport, assert_no_horizontal_scroll, log_in
from tests.crm.factories import make_person
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

TABLET = Viewport("tablet", 768, 1024)


def test_a_walk_in_found_by_nif_is_served_and_handed_off_to_a_task(open_page, screenshot, praia):
    # given
    desk_agent = UserFactory(username="desk", role=Role.SERVICE_DESK, branch=praia)
    field_agent = UserFactory(username="fieldagent", role=Role.FIELD_AGENT, branch=praia)
    client = make_person(field_agent, first_name="Ana", last_name="Lopes", nif="100000001")
    due = timezone.localdate() + datetime.timedelta(days=3)
    page = open_page(TABLET)
    log_in(page, desk_agent.username, TEST_PASSWORD)

    # when: the agent opens the desk and types the client's NIF as she says it
    page.goto("/compliance/desk/")
    expect(page.get_by_test_id("desk-branch")).to_have_text("Praia")
    page.get_by_test_id("lookup").fill("100 000 001")

    # then: the client is found and picked
    pick = page.get_by_test_id("pick-party")
    expect(pick).to_have_count(1)
    expect(pick).to_be_checked()
    expect(page.get_by_test_id("lookup-results")).to_contain_text("Ana Lopes")

    # when: the reason is chosen and the client checked in
    page.locator("#id_reason").select_option("compliance_document")
    page.get_by_test_id("check-in").click()

    # then: ticket 1 is waiting
    expect(page.get_by_role("alert")).to_contain_text("Ticket 1: Ana Lopes is in the queue.")
    waiting = page.get_by_test_id("waiting")
    expect(waiting).to_have_count(1)
    expect(waiting.get_by_test_id("visitor")).to_have_text("Ana Lopes")
    expect(waiting.get_by_test_id("wait")).to_have_text("0 min")
    assert_no_horizontal_scroll(page)
    screenshot(page, "service_desk-queue", TABLET)

    # when: the agent starts serving her
    waiting.get_by_test_id("start").click()

    # then: she is being served by the agent, with the finish form
    serving = page.get_by_test_id("serving")
    expect(serving).to_have_count(1)
    expect(page.get_by_test_id("queue-empty")).to_be_visible()

    # when: the agent finishes with a task hand-off
    serving.locator("textarea[name=notes]").fill("Needs help with the INPS payment plan.")
    serving.get_by_test_id("hand-off-task").click()
    serving.locator("input[name=task_title]").fill("Visit about the INPS plan")
    serving.locator("input[name=task_due]").fill(due.isoformat())
    assert_no_horizontal_scroll(page)
    screenshot(page, "service_desk-finish", TABLET)
    serving.get_by_test_id("finish").click()

    # then: the visit is served today, handed off to a task for her field agent
    expect(page.get_by_role("alert")).to_contain_text("Ticket 1 served (task).")
    expect(page.get_by_test_id("served")).to_have_count(1)
    expect(page.get_by_test_id("serving-none")).to_be_visible()
    visit = DeskVisit.objects.get()
    task = Task.objects.get()
    assert (visit.status, visit.hand_off, visit.task, visit.served_by) == (
        DeskVisitStatus.DONE,
        HandOff.TASK,
        task,
        desk_agent,
    )
    assert (task.title, task.assigned_to, task.due_date, task.party_id) == (
        "Visit about the INPS plan",
        field_agent,
        due,
        client.pk,
    )
    assert Interaction.objects.get().kind == "desk_visit"

    # and the day's figures count it
    page.get_by_test_id("desk-figures-link").click()
    expect(page.locator("[data-figure=visits]")).to_have_text("1")
    expect(page.locator("[data-figure=served]")).to_have_text("1")
    assert_no_horizontal_scroll(page)


def test_the_desk_fits_a_phone(open_page, screenshot, praia):
    # given: one visitor waiting, one being served by the agent
    desk_agent = UserFactory(username="desk", role=Role.SERVICE_DESK, branch=praia)
    from compliance.desk import desk_check_in, desk_start_service

    for name in ("Maria Fernanda dos Santos Tavares", "João"):
        desk_check_in(actor=desk_agent, branch=praia, reason="new_loan", visitor_name=name)
    desk_start_service(actor=desk_agent, visit=DeskVisit.objects.get(ticket=1))
    page = open_page(PHONE)
    log_in(page, desk_agent.username, TEST_PASSWORD)

    # when
    page.goto("/compliance/desk/")

    # then
    expect(page.get_by_test_id("serving")).to_have_count(1)
    expect(page.get_by_test_id("waiting")).to_have_count(1)
    assert_no_horizontal_scroll(page)
    screenshot(page, "service_desk-desk", PHONE)
    page.goto("/compliance/desk/figures/")
    assert_no_horizontal_scroll(page)
