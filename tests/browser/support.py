"""Helpers shared by the browser tests: viewports, signing in, the overflow measure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

HOME_URL = re.compile(r"^http://[^/]+/$")


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
    """Sign in through the login form, as a person would, and wait for the home page."""
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(HOME_URL)


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
