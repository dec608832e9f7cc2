"""Every role signs in on a desktop and on a phone: its home page, its menu, no sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mfi.navigation import menu_for
from tests.browser.support import DESKTOP, PHONE, assert_no_horizontal_scroll, log_in
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

# Head-office roles sit in the head office, as in tests/conftest.py; the others in Praia.
HEAD_OFFICE_ROLES = {
    Role.ACCOUNTANT,
    Role.COMPLIANCE_OFFICER,
    Role.MANAGER,
    Role.AUDITOR,
    Role.ADMINISTRATOR,
}
LOGIN_URL = re.compile(r"^http://[^/]+/accounts/login/$")
MENU_KEYS_JS = "links => links.map(link => link.getAttribute('data-menu'))"


def _persona(role, head_office, praia):
    branch = head_office if role in HEAD_OFFICE_ROLES else praia
    return UserFactory(username=role.value, role=role, branch=branch)


def _expected_menu(user) -> list[str]:
    """The ``data-menu`` keys templates/base.html renders: ``url_name`` or ``url_name:first_arg``."""
    return sorted(
        f"{item.url_name}:{item.url_args[0]}" if item.url_args else item.url_name
        for item in menu_for(user)
    )


def _signed_in_home(open_page, head_office, praia, role, viewport):
    """Sign the role's persona in; check its home page names the role and fits the screen."""
    user = _persona(role, head_office, praia)
    page = open_page(viewport)
    log_in(page, user.username, TEST_PASSWORD)
    expect(page.get_by_test_id("role")).to_contain_text(str(role.label))
    assert_no_horizontal_scroll(page)
    return page, _expected_menu(user)


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_desktop_home_and_menu_match_the_role_then_sign_out(
    open_page, screenshot, head_office, praia, role
):
    # given / when: the persona signs in; then: its home page fits the screen
    page, expected_menu = _signed_in_home(open_page, head_office, praia, role, DESKTOP)

    # then
    expect(page.locator("#main-menu")).to_be_visible()
    menu = page.locator("[data-testid=menu] a[data-menu]")
    assert sorted(menu.evaluate_all(MENU_KEYS_JS)) == expected_menu
    screenshot(page, role.value, DESKTOP)

    # when
    page.locator("nav .dropdown-toggle").click()
    page.get_by_test_id("logout").click()

    # then
    expect(page).to_have_url(LOGIN_URL)
    expect(page.locator("main h1")).to_have_text("MFI platform · Sign in")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.get_by_test_id("menu")).to_have_count(0)


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_phone_home_fits_and_collapsed_menu_opens_with_the_role_entries(
    open_page, screenshot, head_office, praia, role
):
    # given / when: the persona signs in; then: its home page fits the screen
    page, expected_menu = _signed_in_home(open_page, head_office, praia, role, PHONE)

    # then
    expect(page.locator("#main-menu")).to_be_hidden()

    # when
    page.locator(".navbar-toggler").click()

    # then
    expect(page.locator("#main-menu")).to_be_visible()
    expect(page.locator("#main-menu")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    menu = page.locator("[data-testid=menu] a[data-menu]")
    assert sorted(menu.evaluate_all(MENU_KEYS_JS)) == expected_menu
    assert_no_horizontal_scroll(page)
    screenshot(page, role.value, PHONE)
