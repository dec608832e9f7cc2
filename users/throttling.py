"""Login throttling: after too many failures for one username or one client address, lock out.

Counters live in the cache (Redis when configured, shared by every web process); a lock-out
expires by itself after ``LOGIN_LOCKOUT_SECONDS``.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{kind}:{digest}"


def _keys(username: str, client_ip: str) -> list[str]:
    return [_key("user", username), _key("ip", client_ip)]


def is_locked_out(*, username: str, client_ip: str) -> bool:
    counts = cache.get_many(_keys(username, client_ip))
    return any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values())


def record_failure(*, username: str, client_ip: str) -> int:
    """Count one failed login; returns the highest failure count of the two keys."""
    highest = 0
    for key in _keys(username, client_ip):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
            count = 1
        highest = max(highest, count)
    return highest


def clear_failures(*, username: str) -> None:
    cache.delete(_key("user", username))


def client_ip_of(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"
