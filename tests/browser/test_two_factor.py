"""An accountant's first sign-in on a phone: set up the authenticator from the QR page, keep the
recovery codes, reach the home page; the next sign-in asks for a code. Under the strict content
security policy (tests/browser/conftest.py fails on any blocked inline code)."""

from __future__ import annotations

import re
import time

from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.browser.support import HOME_URL, PHONE, assert_no_horizontal_scroll
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

SETUP_URL = re.compile(r"^http://[^/]+/accounts/2fa/setup/\?next=%2F$")
VERIFY_URL = re.compile(r"^http://[^/]+/accounts/2fa/verify/\?next=%2F$")


def _code_from_secret(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for a key typed in by hand."""
    import base64

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def _sign_in(page):
    page.goto("/accounts/login/")
    page.locator("#id_username").fill("accountant")
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()


def test_an_accountant_sets_up_two_factor_at_first_sign_in(open_page, screenshot, head_office):
    # given
    UserFactory(username="accountant", role=Role.ACCOUNTANT, branch=head_office)
    page = open_page(PHONE)
    # when: the password is right, but the role needs a second factor first
    _sign_in(page)
    # then
    expect(page).to_have_url(SETUP_URL)
    expect(page.get_by_test_id("two-factor-qr").locator("svg")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "accountant", PHONE)

    # when: the key is typed into an app, and its code confirms the device
    secret = page.get_by_test_id("two-factor-secret").inner_text().strip()
    page.locator("#id_token").fill(_code_from_secret(secret))
    page.locator("main form button[type=submit]").click()
    # then
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(8)
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(HOME_URL)

    # when: signing out and in again
    page.locator(".navbar-toggler").click()
    page.locator("nav .dropdown-toggle").click()
    page.get_by_test_id("logout").click()
    _sign_in(page)
    # then: the code page, and the next code lets the accountant in
    expect(page).to_have_url(VERIFY_URL)
    page.locator("#id_token").fill(_code_from_secret(secret, steps_ahead=1))
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(HOME_URL)
