"""Two-factor authentication with time-based codes (TOTP, RFC 6238) and one-time recovery codes.

Administrators, accountants, head-office managers and credit-committee members must use it: after
the password they enter a six-digit code from an authenticator app. Anyone else may turn it on.
Devices are django-otp's: one confirmed ``TOTPDevice`` per user and one ``StaticDevice`` holding the
recovery codes. Every step writes an audit event.
"""

from __future__ import annotations

import base64
import secrets

import segno
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_record
from users.models import User
from users.roles import Role

TWO_FACTOR_REQUIRED_ROLES = frozenset(
    {Role.ADMINISTRATOR, Role.ACCOUNTANT, Role.MANAGER, Role.CREDIT_COMMITTEE}
)
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery"


def two_factor_required_for(user) -> bool:
    """Whether this user's role may not work without a second factor."""
    return getattr(user, "role", None) in TWO_FACTOR_REQUIRED_ROLES


def has_two_factor(user) -> bool:
    """Whether the user has a confirmed authenticator; cached, as every request asks."""
    key = _enrolled_cache_key(user.pk)
    enrolled = cache.get(key)
    if enrolled is None:
        enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        cache.set(key, enrolled, timeout=3600)
    return enrolled


def _enrolled_cache_key(user_id: int) -> str:
    return f"two-factor-enrolled:{user_id}"


def _forget_enrolment(user_id: int) -> None:
    cache.delete(_enrolled_cache_key(user_id))


@transaction.atomic
def two_factor_enrolment_start(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator device of an enrolment, created once and reused on reload.

    The secret stays the same until the user confirms a code, so a QR code already scanned keeps
    working if the page is opened again.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
        audit_record(actor=user, action="user.two_factor_enrolment_started", target=user)
    return device


@transaction.atomic
def two_factor_enrolment_confirm(*, request, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with one of its codes; returns the new recovery codes, or None.

    On success the session counts as verified and new recovery codes (each usable once, shown to
    the user only now) replace any earlier ones.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if device.confirmed or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    codes = _replace_recovery_codes(device.user)
    _forget_enrolment(device.user_id)
    otp_login(request, device)
    audit_record(
        actor=device.user,
        action="user.two_factor_enrolled",
        target=device.user,
        after={"recovery_codes": len(codes)},
    )
    return codes


@transaction.atomic
def two_factor_verify(*, request, user: User, token: str) -> bool:
    """Check a code (authenticator or recovery) after the password; marks the session verified."""
    device = match_token(user, token.strip().replace(" ", ""))
    if device is None:
        audit_record(actor=user, action="user.two_factor_failed", target=user)
        return False
    otp_login(request, device)
    recovery = isinstance(device, StaticDevice)
    audit_record(
        actor=user,
        action="user.two_factor_recovery_code_used" if recovery else "user.two_factor_verified",
        target=user,
        after={"recovery_codes_left": device.token_set.count()} if recovery else None,
    )
    return True


@transaction.atomic
def two_factor_lockout_record(*, user: User, client_ip: str) -> None:
    """Too many wrong codes: the lock-out itself lives in the cache (users/throttling.py)."""
    audit_record(
        actor=user, action="user.two_factor_locked_out", target=user, after={"client_ip": client_ip}
    )


@transaction.atomic
def two_factor_reset(*, actor: User, user: User) -> int:
    """Remove every second-factor device of ``user`` (lost phone); returns how many were removed.

    A user of a role that needs two-factor authentication enrols again at the next sign-in.
    """
    totp = TOTPDevice.objects.filter(user=user)
    static = StaticDevice.objects.filter(user=user)
    removed = totp.count() + static.count()
    totp.delete()
    static.delete()  # with its recovery codes
    _forget_enrolment(user.pk)
    audit_record(
        actor=actor,
        action="user.two_factor_reset",
        target=user,
        before={"devices": removed},
    )
    return removed


# For clients that sign in without the login form (the benchmarks and the tests); no URL
# reaches these two.


@transaction.atomic
def device_confirmed_without_code(user: User) -> TOTPDevice:
    """The user's confirmed authenticator, created as if enrolment had been completed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
        _forget_enrolment(user.pk)
    return device


def session_verify_without_code(session, user: User) -> TOTPDevice:
    """Record in a signed-in ``session`` what a correct code records (``django_otp.login``)."""
    device = device_confirmed_without_code(user)
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def _replace_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [_recovery_code() for _ in range(settings.TWO_FACTOR_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _recovery_code() -> str:
    # Ten characters of base32 without look-alikes is about 50 bits: plenty for a one-time code.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def secret_base32(device: TOTPDevice) -> str:
    """The shared secret as authenticator apps expect it when typed in by hand."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_code_svg(device: TOTPDevice) -> str:
    """The otpauth:// provisioning URI as an SVG QR code, rendered here (no script in the page)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2)
