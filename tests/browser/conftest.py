"""Playwright (sync API) against pytest-django's ``live_server``, in Debian's chromium.

Every test in this folder is marked ``browser``. The browser is launched once per session; each test
opens its own browser contexts (cookies, viewport) on the live server, closed at the end. A failing
test leaves a screenshot of each of its pages in tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.support import Viewport

# Playwright's sync API runs an event loop in the test thread; Django's async-safety check would
# then refuse every ORM call made by the test itself (factories, assertions on the database).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

BROWSER_TESTS = Path(__file__).resolve().parent
SCREENSHOTS = BROWSER_TESTS.parent / "screenshots"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 15_000


def _is_browser_test(item) -> bool:
    return BROWSER_TESTS in Path(item.path).resolve().parents


def pytest_collection_modifyitems(config, items):
    """Mark ``browser`` every test collected from this folder, and only those."""
    for item in items:
        if _is_browser_test(item):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM_PATH", DEFAULT_CHROMIUM)
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        pytest.skip(
            f"Debian chromium not installed at {executable}: "
            "`make test` installs it with apt when run as root"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(request, browser, live_server, transactional_db):
    """``open_page(viewport)``: a fresh page with its own cookies on the live server, in English.

    Anything the content security policy blocks (inline script or style, eval) fails the test.
    """
    contexts = []
    csp_violations: list[str] = []

    def _watch_console(message):
        if "Content Security Policy" in message.text:
            csp_violations.append(f"{message.location.get('url', '')}: {message.text}")

    def _open(viewport: Viewport):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": viewport.width, "height": viewport.height},
            locale="en-GB",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", _watch_console)
        return page

    yield _open
    if getattr(request.node, "browser_call_failed", False):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
        for number, context in enumerate(contexts, start=1):
            for page in context.pages:
                page.screenshot(
                    path=str(SCREENSHOTS / f"{name}-FAILED-{number}.png"), full_page=True
                )
    for context in contexts:
        context.close()
    if csp_violations:
        pytest.fail("Blocked by the content security policy:\n" + "\n".join(csp_violations))


@pytest.fixture
def screenshot(request):
    """``screenshot(page, role, viewport)`` saves tests/screenshots/<test>-<role>-<viewport>.png."""

    def _take(page, role: str, viewport: Viewport) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.originalname}-{role}-{viewport.name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _take
