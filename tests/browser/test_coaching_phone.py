"""A coach logs a held session from a phone with the form's defaults, and sees the hours used of
the package go up on the engagement page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from coaching.models import Session
from tests.browser.support import PHONE, assert_no_horizontal_scroll, log_in
from tests.coaching.factories import (
    D,
    accepted_engagement,
    day,
    log_session,
    make_coach,
    make_product,
)
from tests.crm.factories import make_person
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

ENGAGEMENT_URL = re.compile(r"^http://[^/]+/coaching/engagements/(\d+)/(#sessions)?$")


def test_a_coach_logs_a_held_session_on_a_phone_and_sees_the_hours_used_update(
    open_page, screenshot, head_office, praia
):
    # given: an accepted engagement of 10 hours with 90 minutes already held
    manager = UserFactory(username="manager", role=Role.MANAGER, branch=head_office)
    branch_manager = UserFactory(username="branchmanager", role=Role.BRANCH_MANAGER, branch=praia)
    officer = UserFactory(username="officer", role=Role.LOAN_OFFICER, branch=praia)
    coach = UserFactory(
        username="coach", role=Role.COACH, branch=praia, first_name="Rosa", last_name="Lima"
    )
    product = make_product(manager, name="Business coaching 10 h", package_hours=D("10"))
    profile = make_coach(manager, coach)
    party = make_person(officer, first_name="Ana", last_name="Lopes")
    engagement = accepted_engagement(branch_manager, party=party, product=product, coach=profile)
    log_session(coach, engagement, on=day(3), minutes=90)
    page = open_page(PHONE)
    log_in(page, coach.username, TEST_PASSWORD)

    # when: the coach opens their coaching list from the menu
    page.get_by_role("button", name="Toggle navigation").click()
    page.locator("[data-menu='coaching:dashboard']").click()

    # then
    row = page.locator(f"[data-engagement='{engagement.pk}']")
    expect(row).to_contain_text("Ana Lopes")
    expect(row.get_by_test_id("row-hours")).to_have_text("1.50")
    assert_no_horizontal_scroll(page)

    # when: they open the session form, which is filled with the defaults
    row.get_by_test_id(f"log-session-{engagement.pk}").click()
    expect(page.get_by_test_id("session-form")).to_be_visible()
    expect(page.locator("#id_status_0")).to_be_checked()
    expect(page.locator("#id_duration_minutes")).to_have_value("60")
    expect(page.locator("#id_mode")).to_have_value("in_person")
    expect(page.get_by_test_id("hours-used")).to_have_text("1.50")
    assert_no_horizontal_scroll(page)
    screenshot(page, "coach-session-form", PHONE)
    page.locator("summary", has_text="Notes").click()
    page.locator("#id_situation").fill("Sales are written nowhere")
    page.get_by_test_id("save-session").click()

    # then
    expect(page).to_have_url(ENGAGEMENT_URL)
    expect(page.get_by_test_id("hours-used")).to_have_text("2.50")
    expect(page.get_by_test_id("hours-left")).to_have_text("7.50 h")
    expect(page.get_by_test_id("engagement-status")).to_have_text("Active")
    expect(page.locator("[data-testid=sessions] > li")).to_have_count(2)
    expect(page.get_by_role("alert")).to_contain_text("Held session of 60 minutes logged.")
    assert_no_horizontal_scroll(page)
    screenshot(page, "coach-engagement", PHONE)
    latest = Session.objects.order_by("-pk").first()
    assert (latest.status, latest.duration_minutes, latest.mode, latest.situation) == (
        "held",
        60,
        "in_person",
        "Sales are written nowhere",
    )
