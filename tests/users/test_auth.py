"""Sign-in, lock-out after repeated failures, password change and reset, hashing."""

import re

import pytest
from django.core import mail
from django.test import override_settings

from audit.models import AuditEvent
from mfi.settings import base as base_settings
from tests.factories import TEST_PASSWORD


def _login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_production_and_development_hash_passwords_with_argon2():
    assert base_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_staff_member_signs_in_and_lands_on_the_home_page(client, loan_officer):
    # when
    response = _login(client, "officer", TEST_PASSWORD)
    # then
    assert (response.status_code, response["Location"]) == (302, "/")
    home = client.get("/")
    assert home.context["user"] == loan_officer


def test_a_wrong_password_is_refused_with_a_message(client, loan_officer):
    # when
    response = _login(client, "officer", "wrong-password")
    # then
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_LOCKOUT_SECONDS=600)
def test_after_three_failures_even_the_right_password_is_refused_and_audited(client, loan_officer):
    # given
    for _attempt in range(3):
        _login(client, "officer", "wrong-password")
    # when
    response = _login(client, "officer", TEST_PASSWORD)
    # then
    assert response.status_code == 200
    assert "Too many failed sign-in attempts. Try again in 10 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="user.locked_out")
    assert event.after == {"username": "officer", "client_ip": "127.0.0.1"}


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_a_success_before_the_limit_resets_the_username_counter(client, loan_officer):
    # given
    _login(client, "officer", "wrong-1")
    _login(client, "officer", "wrong-2")
    assert _login(client, "officer", TEST_PASSWORD).status_code == 302
    client.logout()
    # when: two more failures from another address stay under the limit
    _login(client, "officer", "wrong-3")
    response = client.post(
        "/accounts/login/",
        {"username": "officer", "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.9",
    )
    # then
    assert response.status_code == 302


def test_pages_need_a_signed_in_user(client, db):
    # when
    response = client.get("/parties/")
    # then
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/parties/")


def test_password_change_needs_the_old_password(client, loan_officer):
    # given
    client.force_login(loan_officer)
    # when
    refused = client.post(
        "/accounts/password_change/",
        {
            "old_password": "not-it",
            "new_password1": "Sal-rei-2026-x",
            "new_password2": "Sal-rei-2026-x",
        },
    )
    accepted = client.post(
        "/accounts/password_change/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Sal-rei-2026-x",
            "new_password2": "Sal-rei-2026-x",
        },
    )
    # then
    assert refused.status_code == 200
    assert accepted.status_code == 302
    loan_officer.refresh_from_db()
    assert loan_officer.check_password("Sal-rei-2026-x")


def test_a_short_new_password_is_refused(client, loan_officer):
    # given
    client.force_login(loan_officer)
    # when
    response = client.post(
        "/accounts/password_change/",
        {"old_password": TEST_PASSWORD, "new_password1": "abc123", "new_password2": "abc123"},
    )
    # then
    errors = response.context["form"].errors["new_password2"]
    assert "This password is too short. It must contain at least 10 characters." in errors


def test_password_reset_sends_a_working_link(client, loan_officer):
    # when
    client.post("/accounts/password_reset/", {"email": loan_officer.email})
    # then
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    set_password = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Mindelo-2026-reset", "new_password2": "Mindelo-2026-reset"},
    )
    assert set_password.status_code == 302
    loan_officer.refresh_from_db()
    assert loan_officer.check_password("Mindelo-2026-reset")


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, db):
    # when
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.cv"})
    # then
    assert (response.status_code, response["Location"]) == (302, "/accounts/password_reset/done/")
    assert len(mail.outbox) == 0


@pytest.mark.parametrize("persona", ["loan_officer", "auditor", "coach"])
def test_logout_is_a_post_and_ends_the_session(client, request, persona):
    # given
    client.force_login(request.getfixturevalue(persona))
    # when
    response = client.post("/accounts/logout/")
    # then
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
