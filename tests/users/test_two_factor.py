"""Two-factor authentication: who must use it, enrolment, the code after the password, recovery
codes, throttling of wrong codes, the administrator's reset, and API tokens."""

import re

import pytest
from django.test import override_settings
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory
from tests.users.two_factor_support import current_code, enrolled_device
from users.roles import Role
from users.two_factor import two_factor_reset

SETUP = "/accounts/2fa/setup/"
VERIFY = "/accounts/2fa/verify/"


def _sign_in(client, username, password=TEST_PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def _actions(user):
    return list(
        AuditEvent.objects.filter(object_id=str(user.pk), action__startswith="user.two_factor")
        .order_by("pk")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize(
    "role", [Role.ADMINISTRATOR, Role.ACCOUNTANT, Role.MANAGER, Role.CREDIT_COMMITTEE]
)
def test_a_role_that_needs_two_factor_reaches_nothing_before_enrolling(client, praia, role):
    # given
    UserFactory(username="newcomer", role=role, branch=praia)
    # when
    signed_in = _sign_in(client, "newcomer")
    home = client.get("/")
    parties = client.get("/parties/?q=x")
    api = client.get("/api/v1/loans/")
    # then
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")
    assert (home.status_code, home["Location"]) == (302, "/accounts/2fa/setup/?next=%2F")
    assert parties["Location"] == "/accounts/2fa/setup/?next=%2Fparties%2F%3Fq%3Dx"
    assert api.status_code == 403
    assert api.json() == {"detail": "Two-factor verification is required for this session."}


@pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.BRANCH_MANAGER, Role.AUDITOR])
def test_other_roles_work_without_a_second_factor(client, praia, role):
    # given
    UserFactory(username="plain", role=role, branch=praia)
    _sign_in(client, "plain")
    # when
    response = client.get("/")
    # then
    assert response.status_code == 200


def test_enrolment_shows_a_qr_code_and_confirms_with_a_code(client, praia):
    # given
    accountant = UserFactory(username="newcomer", role=Role.ACCOUNTANT, branch=praia)
    _sign_in(client, "newcomer")
    # when
    page = client.get(SETUP + "?next=/accounting/")
    device = TOTPDevice.objects.get(user=accountant)
    wrong = client.post(SETUP, {"token": "000000" if current_code(device) != "000000" else "1"})
    confirmed = client.post(SETUP, {"token": current_code(device), "next": "/accounting/"})
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert '<svg width="' in html and 'class="segno"' in html
    secret = re.search(r'data-testid="two-factor-secret">(\w+)<', html).group(1)
    assert len(secret) == 32  # 20 random bytes in base32
    assert "That code is not right" in wrong.content.decode()
    assert confirmed.status_code == 200
    codes = confirmed.context["codes"]
    assert len(codes) == 8 and all(re.fullmatch(r"[a-z2-9]{10}", code) for code in codes)
    assert 'href="/accounting/"' in confirmed.content.decode()
    device.refresh_from_db()
    assert device.confirmed is True
    assert sorted(
        StaticToken.objects.filter(device__user=accountant).values_list("token", flat=True)
    ) == sorted(codes)
    assert client.get("/").status_code == 200
    assert _actions(accountant) == [
        "user.two_factor_enrolment_started",
        "user.two_factor_enrolled",
    ]


def test_reloading_the_enrolment_page_keeps_the_same_secret(client, praia):
    # given
    UserFactory(username="newcomer", role=Role.MANAGER, branch=praia)
    _sign_in(client, "newcomer")
    # when
    first = client.get(SETUP).context["secret"]
    second = client.get(SETUP).context["secret"]
    # then
    assert first == second
    assert TOTPDevice.objects.filter(user__username="newcomer").count() == 1


def test_an_enrolled_user_types_the_code_after_the_password(client, accountant):
    # given
    device = enrolled_device(accountant)
    # when
    _sign_in(client, "accountant")
    before = client.get("/accounting/")
    wrong = client.post(VERIFY, {"token": "12345x", "next": "/accounting/"})
    right = client.post(VERIFY, {"token": current_code(device), "next": "/accounting/"})
    # then
    assert before["Location"] == "/accounts/2fa/verify/?next=%2Faccounting%2F"
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert (right.status_code, right["Location"]) == (302, "/accounting/")
    assert client.get("/").status_code == 200
    assert _actions(accountant) == ["user.two_factor_failed", "user.two_factor_verified"]


def test_the_code_page_never_redirects_to_another_site(client, accountant):
    # given
    device = enrolled_device(accountant)
    _sign_in(client, "accountant")
    # when
    response = client.post(VERIFY, {"token": current_code(device), "next": "https://evil.example/"})
    # then
    assert response["Location"] == "/"


def test_a_code_is_accepted_only_once(client, accountant):
    # given
    device = enrolled_device(accountant)
    code = current_code(device)
    _sign_in(client, "accountant")
    client.post(VERIFY, {"token": code})
    client.post("/accounts/logout/")
    # when
    _sign_in(client, "accountant")
    replay = client.post(VERIFY, {"token": code})
    # then
    assert replay.status_code == 200
    assert "That code is not right" in replay.content.decode()


def test_a_recovery_code_works_once_instead_of_the_phone(client, manager):
    # given
    enrolled_device(manager)
    recovery = enrolled_device(manager).user.staticdevice_set.create(name="recovery")
    recovery.token_set.create(token="abcdefgh23")
    # when
    _sign_in(client, "manager")
    first = client.post(VERIFY, {"token": "abcdefgh23"})
    client.post("/accounts/logout/")
    _sign_in(client, "manager")
    second = client.post(VERIFY, {"token": "abcdefgh23"})
    # then
    assert first["Location"] == "/"
    assert second.status_code == 200
    assert StaticToken.objects.filter(device=recovery).count() == 0
    event = AuditEvent.objects.get(action="user.two_factor_recovery_code_used")
    assert event.after == {"recovery_codes_left": 0}


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_LOCKOUT_SECONDS=600)
def test_wrong_codes_lock_out_like_wrong_passwords_and_the_password_does_not_reset_them(
    client, accountant
):
    # given
    device = enrolled_device(accountant)
    _sign_in(client, "accountant")
    client.post(VERIFY, {"token": "111111"})
    client.post(VERIFY, {"token": "222222"})
    client.post("/accounts/logout/")
    _sign_in(client, "accountant")  # the right password again
    client.post(VERIFY, {"token": "333333"})
    # when
    response = client.post(VERIFY, {"token": current_code(device)})
    # then
    assert response.status_code == 200
    assert "Too many wrong codes. Try again in 10 minutes." in response.content.decode()
    assert client.get("/")["Location"] == "/accounts/2fa/verify/?next=%2F"
    event = AuditEvent.objects.get(action="user.two_factor_locked_out")
    assert event.after == {"client_ip": "127.0.0.1"}


def test_an_administrator_resets_a_lost_phone_and_the_user_enrols_again(
    client, administrator, accountant
):
    # given: the administrator works in Django's admin site, as the demo administrator does
    administrator.is_staff = administrator.is_superuser = True
    administrator.save(update_fields=["is_staff", "is_superuser"])
    enrolled_device(accountant)
    client.force_login(administrator)
    # when
    response = client.post(
        "/admin/users/user/",
        {"action": "reset_two_factor", "_selected_action": [accountant.pk]},
    )
    # then
    assert (response.status_code, response["Location"]) == (302, "/admin/users/user/")
    assert TOTPDevice.objects.filter(user=accountant).count() == 0
    event = AuditEvent.objects.get(action="user.two_factor_reset")
    assert (event.actor, event.object_id, event.before) == (
        administrator,
        str(accountant.pk),
        {"devices": 1},
    )
    client.post("/accounts/logout/")
    _sign_in(client, "accountant")
    assert client.get("/")["Location"] == "/accounts/2fa/setup/?next=%2F"


def test_the_reset_service_removes_recovery_codes_too(administrator, manager):
    # given
    enrolled_device(manager)
    manager.staticdevice_set.create(name="recovery").token_set.create(token="abcdefgh23")
    # when
    removed = two_factor_reset(actor=administrator, user=manager)
    # then
    assert removed == 2
    assert StaticToken.objects.count() == 0


def test_an_api_token_keeps_working_without_a_session_second_factor(manager):
    # given
    token = Token.objects.create(user=manager)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    # when
    response = api.get("/api/v1/loans/")
    # then
    assert response.status_code == 200


def test_a_loan_officer_may_turn_two_factor_on_and_is_then_asked_for_codes(client, loan_officer):
    # given
    _sign_in(client, "officer")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=loan_officer)
    client.post(SETUP, {"token": current_code(device)})
    client.post("/accounts/logout/")
    # when
    _sign_in(client, "officer")
    home = client.get("/")
    status = client.post(VERIFY, {"token": current_code(device)})
    status_page = client.get(SETUP)
    # then
    assert home["Location"] == "/accounts/2fa/verify/?next=%2F"
    assert status["Location"] == "/"
    assert "Two-factor authentication is on for your account" in status_page.content.decode()


def test_force_login_in_tests_gives_a_verified_session_for_the_required_roles(
    client, credit_committee
):
    # when
    client.force_login(credit_committee)
    # then
    assert client.get("/").status_code == 200


def test_without_a_next_page_enrolment_continues_to_the_home_page(client, praia):
    # given
    UserFactory(username="newcomer", role=Role.CREDIT_COMMITTEE, branch=praia)
    _sign_in(client, "newcomer")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user__username="newcomer")
    # when
    response = client.post(SETUP, {"token": current_code(device)})
    # then
    assert response.context["next"] == "/"
    assert '<a class="btn btn-primary w-100" href="/">' in response.content.decode()
