"""Helpers shared by the browser tests: viewports, signing in, the overflow measure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.users.two_factor_support import current_code, enrolled_device
from users.models import User
from users.two_factor import has_two_factor, two_factor_required_for

HOME_URL = re.compile(r"^http://[^/]+/$")
TWO_FACTOR_URL = re.compile(r"^http://[^/]+/accounts/2fa/verify/")


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int

    def __str__(self) -> str:  # the parametrised test ids
        return self.name


DESKTOP = Viewport("desktop", 1366, 768)
PHONE = Viewport("phone", 390, 844)
VIEWPORTS = [DESKTOP, PHONE]


def log_in(page: Page, username: str, password: str) -> None:
    """Sign in through the login form, as a person would, and wait for the home page.

    A user whose role needs two-factor authentication is given an authenticator (as if enrolled)
    and types its current code on the page that follows the password.
    """
    device = _authenticator_of(username)
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    if device is not None:
        expect(page).to_have_url(TWO_FACTOR_URL)
        page.locator("#id_token").fill(current_code(device))
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(HOME_URL)


def _authenticator_of(username: str):
    user = User.objects.filter(username=username).first()
    if user is None or not (two_factor_required_for(user) or has_two_factor(user)):
        return None
    return enrolled_device(user)


def page_widths(page: Page) -> dict[str, int]:
    """The two widths of the no-horizontal-scroll check, measured in the page.

    app.css clips horizontal overflow (``html, body { overflow-x: hidden; }``), which would hide
    what sticks out instead of letting it scroll; so the clip is lifted while measuring.
    """
    return page.evaluate(
        """() => {
          const root = document.documentElement, body = document.body;
          const saved = [root.style.overflowX, body.style.overflowX];
          root.style.overflowX = body.style.overflowX = 'visible';
          const scrollWidth = root.scrollWidth;
          [root.style.overflowX, body.style.overflowX] = saved;
          return {scrollWidth, innerWidth: window.innerWidth};
        }"""
    )


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page_widths(page)
    assert widths["scrollWidth"] <= widths["innerWidth"], widths
