"""Test helpers for two-factor authentication: an enrolled device and the code it shows now."""

from __future__ import annotations

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from users.two_factor import device_confirmed_without_code, session_verify_without_code


def enrolled_device(user) -> TOTPDevice:
    """The user's confirmed authenticator, created if the user has none (as after enrolment)."""
    return device_confirmed_without_code(user)


def current_code(device: TOTPDevice) -> str:
    """The code an authenticator app shows now, or the next one if now's was already used.

    A code is accepted once (django-otp remembers the last time step); a second sign-in in the
    same 30 seconds types the next step's code, which the device's tolerance of one step accepts.
    """
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    ahead = device.last_t + 1 - totp.t()
    while ahead > device.tolerance:
        time.sleep(1)
        totp.time = time.time()
        ahead = device.last_t + 1 - totp.t()
    if ahead > 0:
        totp.drift += ahead
    return f"{totp.token():0{device.digits}d}"


def mark_session_verified(client, user) -> None:
    """What a correct code does to a session (django_otp.login), for a client already signed in."""
    session_verify_without_code(client.session, user)
