"""A loan officer registers a person through the form, on a desktop and on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.models import Party, Person
from tests.browser.support import PHONE, VIEWPORTS, assert_no_horizontal_scroll, log_in
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

FORM_URL = "/parties/new/person/"
DETAIL_URL = re.compile(r"^http://[^/]+/parties/(\d+)/$")
HISTORY_URL = re.compile(r"^http://[^/]+/parties/(\d+)/history/$")


def _fill_person_form(page, *, nif: str, branch_id: int) -> None:
    page.locator("#id_first_name").fill("Maria")
    page.locator("#id_last_name").fill("Tavares Semedo")
    page.locator("#id_gender").select_option("female")
    page.locator("#id_nif").fill(nif)
    page.locator("#id_phone").fill("991 23 45")
    page.locator("#id_relationship").select_option("client")
    page.locator("#id_branch").select_option(str(branch_id))


def _officer_on_the_new_person_form(open_page, praia, viewport):
    """A Praia loan officer, signed in, on the new-person form, which fits the screen."""
    officer = UserFactory(username="officer", role=Role.LOAN_OFFICER, branch=praia)
    page = open_page(viewport)
    log_in(page, officer.username, TEST_PASSWORD)
    page.goto(FORM_URL)
    assert_no_horizontal_scroll(page)
    return page


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
def test_loan_officer_registers_a_person_with_normalised_identifiers(
    open_page, screenshot, praia, viewport
):
    # given
    page = _officer_on_the_new_person_form(open_page, praia, viewport)

    # when
    _fill_person_form(page, nif="123 456 789", branch_id=praia.pk)
    page.locator("main").get_by_role("button", name="Save").click()

    # then
    expect(page).to_have_url(DETAIL_URL)
    expect(page.get_by_test_id("party-name")).to_have_text("Maria Tavares Semedo")
    expect(page.get_by_test_id("nif")).to_have_text("123456789")
    people = list(Person.objects.filter(nif="123456789"))
    assert len(people) == 1
    person = people[0]
    assert person.phone == "+2389912345"
    assert person.branch_id == praia.pk
    assert page.url.endswith(f"/parties/{person.pk}/")

    # when
    page.get_by_test_id("history-tab").click()

    # then
    expect(page).to_have_url(HISTORY_URL)
    expect(page.locator("[data-testid=audit-events] tbody code")).to_have_text(["person.created"])
    screenshot(page, "loan_officer", viewport)


def test_invalid_nif_shows_the_field_error_and_registers_nothing_on_a_phone(
    open_page, screenshot, praia
):
    # given
    page = _officer_on_the_new_person_form(open_page, praia, PHONE)

    # when
    _fill_person_form(page, nif="12AB", branch_id=praia.pk)
    page.locator("main").get_by_role("button", name="Save").click()

    # then
    expect(page.locator("#id_nif")).to_have_class(re.compile(r"(^|\s)is-invalid(\s|$)"))
    nif_errors = page.locator("[id^=error_][id$=_id_nif]")
    expect(nif_errors).to_have_text(["A NIF has exactly 9 digits."])
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    assert page.url.endswith(FORM_URL)
    assert Party.objects.count() == 0
    assert_no_horizontal_scroll(page)
    screenshot(page, "loan_officer", PHONE)
