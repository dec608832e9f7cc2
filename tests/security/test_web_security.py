"""Web security settings and headers, each asserted as it is served (issue 9, item 2).

Content security policy without inline script or style; secure, HttpOnly, SameSite cookies; HSTS and
the other production settings; Argon2; password policy; login lock-out; idle session expiry; and
``check --deploy`` with the production settings. Two-factor authentication has its own file,
tests/users/test_two_factor.py.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from mfi.navigation import menu_for
from tests.factories import ROLE_PERSONAS, TEST_PASSWORD
from users.roles import Role

BASE_DIR = Path(__file__).resolve().parents[2]
# django-csp writes the directives in no fixed order: compare them as a mapping.
EXPECTED_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}
PERSONAS = ROLE_PERSONAS


class _InlineCodeFinder(HTMLParser):
    """Collects what a strict policy would block: inline script, handlers, style attributes."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            if name in {"href", "src", "action"} and (value or "").lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            self.scripts += 1
            if not attributes.get("src"):
                self.problems.append("<script> without src")
            self._in_script = True
        if tag == "style":
            self.problems.append("<style> element")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"<script> body: {data.strip()[:60]!r}")


def _policy(response) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {words[0]: words[1:] for words in directives if words}


def _inline_code(html: str) -> tuple[list[str], int]:
    finder = _InlineCodeFinder()
    finder.feed(html)
    return finder.problems, finder.scripts


# --- Content security policy ------------------------------------------------------------------------


def test_every_response_carries_the_exact_content_security_policy(client, db):
    # when
    response = client.get("/accounts/login/")
    # then
    assert _policy(response) == EXPECTED_POLICY


def test_the_login_page_has_no_inline_script_style_or_handler(client, db):
    # when
    response = client.get("/accounts/login/")
    # then
    problems, scripts = _inline_code(response.content.decode())
    assert problems == []
    assert scripts == 3  # bootstrap, htmx, app.js: all from /static/
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", response.content.decode())
    assert json.loads(config.group(1)) == {"includeIndicatorStyles": False, "allowEval": False}


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_menu_page_of_every_role_has_no_inline_code(client, request, persona):
    # given
    user = request.getfixturevalue(persona)
    client.force_login(user)
    pages = ["/", "/accounts/password_change/", "/accounts/2fa/setup/"] + [
        item.url for item in menu_for(user)
    ]
    # when
    found = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _policy(response) == EXPECTED_POLICY, url
        problems, _scripts = _inline_code(response.content.decode())
        if problems:
            found[url] = problems
    # then
    assert found == {}
    assert len(pages) >= 4


def test_the_api_documentation_loads_its_start_up_script_from_a_url(client, loan_officer):
    # given
    client.force_login(loan_officer)
    # when
    page = client.get("/api/v1/docs/")
    script = client.get("/api/v1/docs/?script=")
    # then
    problems, scripts = _inline_code(page.content.decode())
    assert (problems, scripts) == ([], 3)
    assert script["Content-Type"] == "application/javascript"
    assert "SwaggerUIBundle" in script.content.decode()


def test_no_javascript_evaluates_strings():
    # then: htmx.config.allowEval is off and our own code never needs eval
    offenders = [
        path.name
        for path in (BASE_DIR / "static" / "js").glob("*.js")
        if any(needle in path.read_text() for needle in ("eval(", "new Function", 'setTimeout("'))
    ]
    assert offenders == []


def test_no_template_has_inline_script_or_handlers():
    # then: a grep over every HTML template served to browsers (PDF templates are rendered by
    # WeasyPrint, never sent as HTML, and may keep their <style> blocks)
    offenders = {}
    for path in (BASE_DIR / "templates").rglob("*.html"):
        if path.name.endswith("_pdf.html") or path.name == "_pdf_base.html":
            continue
        problems, _scripts = _inline_code(path.read_text())
        if problems:
            offenders[str(path.relative_to(BASE_DIR))] = problems
    assert offenders == {}


# --- Cookies -----------------------------------------------------------------------------------------


def test_session_and_csrf_cookies_are_http_only_and_same_site_lax(client, loan_officer):
    # when
    login_page = client.get("/accounts/login/")
    signed_in = client.post("/accounts/login/", {"username": "officer", "password": TEST_PASSWORD})
    # then
    csrf = login_page.cookies[settings.CSRF_COOKIE_NAME]
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert (csrf["httponly"], csrf["samesite"]) == (True, "Lax")
    assert (session["httponly"], session["samesite"]) == (True, "Lax")
    assert session["max-age"] == 8 * 3600


def test_no_script_reads_the_csrf_cookie():
    # then: the CSRF cookie can stay HttpOnly because every script takes the token from the page
    readers = [
        path.name
        for path in (BASE_DIR / "static" / "js").glob("*.js")
        if "document.cookie" in path.read_text()
    ]
    assert readers == []


# --- Production settings ---------------------------------------------------------------------------


@pytest.fixture
def production_settings(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.delenv("SECURE_HSTS_SECONDS", raising=False)
    monkeypatch.delenv("SECURE_SSL_REDIRECT", raising=False)
    module = importlib.import_module("mfi.settings.production")
    return importlib.reload(module)


def test_production_sends_hsts_for_a_year_with_subdomains_and_preload(production_settings):
    # then
    assert production_settings.SECURE_HSTS_SECONDS == 31536000
    assert production_settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is True
    assert production_settings.SECURE_HSTS_PRELOAD is True
    assert production_settings.SECURE_SSL_REDIRECT is True


def test_production_cookies_are_secure_http_only_and_same_site(production_settings):
    # then
    assert production_settings.SESSION_COOKIE_SECURE is True
    assert production_settings.CSRF_COOKIE_SECURE is True
    assert production_settings.SESSION_COOKIE_HTTPONLY is True
    assert production_settings.CSRF_COOKIE_HTTPONLY is True
    assert production_settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert production_settings.CSRF_COOKIE_SAMESITE == "Lax"
    assert production_settings.DEBUG is False
    assert production_settings.X_FRAME_OPTIONS == "DENY"


def test_production_hashes_passwords_with_argon2(production_settings):
    # then
    assert production_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch):
    # given
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("SECRET_KEY", "short")
    # then
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        importlib.reload(importlib.import_module("mfi.settings.production"))


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_the_hsts_header_is_sent_on_https(client, db):
    # when
    response = client.get("/accounts/login/", secure=True)
    # then
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_check_deploy_is_clean_with_production_settings():
    # when
    environment = {
        # the browser tests allow sync database access from Playwright's loop in this process
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "mfi.settings.production",
        # A key of few distinct characters would itself be a warning (security.W009).
        "SECRET_KEY": secrets.token_urlsafe(60),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- Passwords ----------------------------------------------------------------------------------------


def test_the_password_policy_has_the_four_validators_and_ten_characters():
    # then
    validators = {
        v["NAME"].rsplit(".", 1)[1]: v.get("OPTIONS") for v in settings.AUTH_PASSWORD_VALIDATORS
    }
    assert validators == {
        "UserAttributeSimilarityValidator": None,
        "MinimumLengthValidator": {"min_length": 10},
        "CommonPasswordValidator": None,
        "NumericPasswordValidator": None,
    }


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("Praia-26", "This password is too short. It must contain at least 10 characters."),
        ("password123", "This password is too common."),
        ("4815162342108", "This password is entirely numeric."),
        ("officer.praia", "The password is too similar to the username."),
    ],
)
def test_a_weak_new_password_is_refused_with_a_clear_message(
    client, loan_officer, new_password, message
):
    # given
    loan_officer.first_name, loan_officer.last_name = "Ana", "Tavares"
    loan_officer.save(update_fields=["first_name", "last_name"])
    client.force_login(loan_officer)
    # when
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    # then
    assert response.status_code == 200
    assert message in response.content.decode()
    loan_officer.refresh_from_db()
    assert loan_officer.check_password(TEST_PASSWORD)


# --- Sessions and sign-in -----------------------------------------------------------------------------


def test_idle_sessions_expire_and_each_request_extends_an_active_one(client, loan_officer):
    # given
    client.force_login(loan_officer)
    # when
    response = client.get("/")
    # then: the cookie is re-sent with a fresh eight-hour lifetime on every request
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 8 * 3600
    assert client.session.get_expiry_age() == 8 * 3600


@override_settings(SESSION_COOKIE_AGE=1)
def test_a_session_left_idle_past_its_age_is_signed_out(client, loan_officer):
    # given
    import time

    client.force_login(loan_officer)
    assert client.get("/").status_code == 200
    # when
    time.sleep(2)
    response = client.get("/")
    # then
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


@override_settings(LOGIN_FAILURE_LIMIT=2, LOGIN_LOCKOUT_SECONDS=60)
def test_a_lock_out_also_holds_for_other_usernames_from_the_same_address(
    client, loan_officer, coach
):
    # given: two failures from one address on one name
    for _attempt in range(2):
        client.post("/accounts/login/", {"username": "officer", "password": "wrong"})
    # when: the same address tries another, valid account
    response = client.post("/accounts/login/", {"username": "coach", "password": TEST_PASSWORD})
    # then
    assert response.status_code == 200
    assert "Too many failed sign-in attempts. Try again in 1 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_roles_that_need_two_factor_are_exactly_the_four_of_the_issue():
    # then
    from users.two_factor import TWO_FACTOR_REQUIRED_ROLES as required

    assert required == {
        Role.ADMINISTRATOR,
        Role.ACCOUNTANT,
        Role.MANAGER,
        Role.CREDIT_COMMITTEE,
    }


@override_settings(LOGIN_FAILURE_LIMIT=2, LOGIN_LOCKOUT_SECONDS=1)
def test_a_lock_out_ends_by_itself_after_its_time(client, loan_officer):
    # given
    import time

    for _attempt in range(2):
        client.post("/accounts/login/", {"username": "officer", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "officer", "password": TEST_PASSWORD})
    # when
    time.sleep(1.5)
    response = client.post("/accounts/login/", {"username": "officer", "password": TEST_PASSWORD})
    # then
    assert locked.status_code == 200
    assert (response.status_code, response["Location"]) == (302, "/")
