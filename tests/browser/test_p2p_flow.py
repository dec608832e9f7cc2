"""A P2P manager fixes a profile the validation refused and pushes it to the Kiva sandbox, on a
phone and at a desk: the error is shown on the publication and next to its field, the preview
reads like the platform's page, and the status comes back from the platform."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from playwright.sync_api import expect

from accounting.chart import chart_install
from p2p_export import reconciliation
from p2p_export.journals import journal_create
from p2p_export.models import Publication
from p2p_export.services import profile_update, publication_validate
from tests.browser.support import PHONE, VIEWPORTS, assert_no_horizontal_scroll, log_in
from tests.factories import TEST_PASSWORD
from tests.p2p_export import conftest as p2p_fixtures
from tests.p2p_export.factories import (
    STORY,
    days_ago,
    loan_repaid_last_month,
    previous_month,
    publish_and_poll,
    ready_publication,
    recent_loan,
)

# The P2P fixtures: the Kiva sandbox on a free port, the platform configured on it.
kiva_server = p2p_fixtures.kiva_server
kiva_platform = p2p_fixtures.kiva_platform

STORY_ERROR = "The story must be at least 150 characters long (it has 32)."


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
def test_a_manager_fixes_a_validation_error_and_pushes_the_profile(
    open_page,
    screenshot,
    viewport,
    manager,
    loan_officer,
    branch_manager,
    kiva_platform,
    kiva_server,
):
    # given a profile refused by the validation: its story is too short
    loan = recent_loan(loan_officer, branch_manager, chart_install())
    publication = ready_publication(manager, kiva_platform, loan)
    profile_update(
        actor=manager, publication=publication, data={"story": "Maria sells bread at the market."}
    )
    with pytest.raises(ValidationError):
        publication_validate(actor=manager, publication=publication)
    page = open_page(viewport)
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, manager.username, TEST_PASSWORD)

    # when the manager opens the publication
    page.goto(f"/p2p/publications/{publication.pk}/")

    # then the error is listed by field and nothing can be pushed yet
    expect(page.get_by_test_id("field-errors")).to_contain_text(STORY_ERROR)
    expect(page.get_by_test_id("push")).to_have_count(0)
    assert_no_horizontal_scroll(page)

    # when the manager edits the story
    page.get_by_test_id("edit-profile").click()
    expect(page.locator('[data-stored-error="story"]')).to_contain_text(STORY_ERROR)
    assert_no_horizontal_scroll(page)
    page.locator("#id_story").fill(STORY)
    page.get_by_test_id("save-profile").click()
    expect(page.locator(".alert-success")).to_contain_text("Profile saved.")

    # and checks the preview, then validates
    page.get_by_test_id("preview").first.click()
    expect(page.get_by_test_id("preview-story")).to_contain_text("Maria runs a small grocery shop")
    expect(page.locator("[data-testid=preview-schedule] tbody tr")).to_have_count(12)
    assert_no_horizontal_scroll(page)
    screenshot(page, "manager-preview", viewport)
    page.goto(f"/p2p/publications/{publication.pk}/")
    page.get_by_test_id("validate").click()
    expect(page.locator(".alert-success")).to_contain_text("it is validated")

    # and pushes it
    page.get_by_test_id("push").click()

    # then the platform's answer is on the page
    expect(page.locator(".alert-success")).to_contain_text("on its way to Kiva")
    pushed = Publication.objects.get(pk=publication.pk)
    assert pushed.state == "awaiting_confirmation"
    expect(page.locator('[data-field="draft-id"]')).to_have_text(pushed.platform_draft_id)
    expect(page.locator('[data-state="awaiting_confirmation"]').first).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "manager-pushed", viewport)

    # and the dashboard counts it
    page.goto("/p2p/")
    expect(
        page.locator('[data-testid="states-kiva"] [data-state="awaiting_confirmation"]')
    ).to_have_text("1")
    assert_no_horizontal_scroll(page)


def test_every_p2p_screen_fits_a_phone(
    open_page, manager, accountant, loan_officer, branch_manager, kiva_platform, kiva_server
):
    # given a loan paying back on Kiva, its last month reported and its funds received
    loan = loan_repaid_last_month(loan_officer, branch_manager, chart_install())
    publication = publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 3)
    year, month = previous_month()
    (report,) = reconciliation.repayments_send(
        actor=manager, platform=kiva_platform, year=year, month=month
    )
    reconciliation.funding_record(
        actor=accountant,
        publication=publication,
        received_on=days_ago(0),
        reference="KIVA-TRF-1",
        amount=loan.principal,
    )
    journal_create(actor=manager, publication=publication, subject="News", body="All is well.")
    today = days_ago(0)
    period = f"platform=kiva&year={today.year}&month={today.month}"
    page = open_page(PHONE)
    log_in(page, manager.username, TEST_PASSWORD)

    # when / then
    for path in (
        "/p2p/",
        "/p2p/publications/",
        f"/p2p/eligible/?platform={kiva_platform.pk}",
        f"/p2p/publications/{publication.pk}/",
        f"/p2p/publications/{publication.pk}/preview/",
        f"/p2p/publications/{publication.pk}/dry-run/",
        "/p2p/news/",
        f"/p2p/news/{publication.journals.get().pk}/",
        "/p2p/reports/",
        f"/p2p/reports/{report.pk}/",
        f"/p2p/reconciliation/?{period}",
        f"/p2p/reconciliation/statement/?{period}",
    ):
        response = page.goto(path)
        assert response.status == 200, path
        assert_no_horizontal_scroll(page)
