"""Login throttling: after too many failures for one username or one client address, lock out.

Counters live in the cache (Redis when configured, shared by every web process); a lock-out
expires by itself after ``LOGIN_LOCKOUT_SECONDS``. Passwords and two-factor codes are counted in
separate scopes, so signing in with the right password does not reset the count of wrong codes.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

SIGN_IN_SCOPE = "login"
CODE_SCOPE = "otp"


def _key(kind: str, value: str, scope: str = SIGN_IN_SCOPE) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"{scope}-failures:{kind}:{digest}"


def _keys(username: str, client_ip: str, scope: str) -> list[str]:
    return [_key("user", username, scope), _key("ip", client_ip, scope)]


def is_locked_out(*, username: str, client_ip: str, scope: str = SIGN_IN_SCOPE) -> bool:
    counts = cache.get_many(_keys(username, client_ip, scope))
    return any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values())


def record_failure(*, username: str, client_ip: str, scope: str = SIGN_IN_SCOPE) -> int:
    """Count one failed attempt; returns the highest failure count of the two keys."""
    highest = 0
    for key in _keys(username, client_ip, scope):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
            count = 1
        highest = max(highest, count)
    return highest


def clear_failures(*, username: str, scope: str = SIGN_IN_SCOPE) -> None:
    cache.delete(_key("user", username, scope))


def client_ip_of(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"
