"""Strict reading of settings from the environment.

Every value the platform takes from the environment goes through :data:`env`. A malformed value
stops start-up with ``ImproperlyConfigured`` naming the variable, instead of being silently read
as a default (``DEBUG=maybe`` must not quietly mean "off").
"""

from __future__ import annotations

import os
import zoneinfo
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class StrictEnv:
    """Typed accessors over ``os.environ`` that fail loudly on malformed values."""

    def __init__(self, environ_mapping: os._Environ | dict[str, str] | None = None):
        self._environ = os.environ if environ_mapping is None else environ_mapping

    def raw(self, name: str) -> str | None:
        return self._environ.get(name)

    def is_set(self, name: str) -> bool:
        return bool(self._environ.get(name, "").strip())

    def str(self, name: str, default: str = "") -> str:
        return self._environ.get(name, default)

    def bool(self, name: str, default: bool = False) -> bool:
        value = self._environ.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
        )

    def int(self, name: str, default: int) -> int:
        value = self._environ.get(name)
        if value is None or not value.strip():
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc

    def list(self, name: str, default: list[str]) -> list[str]:
        value = self._environ.get(name)
        if value is None:
            return default
        return [item.strip() for item in value.split(",") if item.strip()]

    def timezone(self, name: str, default: str) -> str:
        value = self._environ.get(name) or default
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ImproperlyConfigured(f"{name}={value!r} is not a known time zone.") from exc
        return value

    def database(self, name: str) -> dict | None:
        """The Django ``DATABASES['default']`` entry for a PostgreSQL URL, or None when unset."""
        value = self._environ.get(name, "").strip()
        if not value:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise ImproperlyConfigured(
                f"{name}={value!r} is not a PostgreSQL URL "
                "(expected postgres://user:password@host:port/database)."
            )
        if not parsed.path.strip("/"):
            raise ImproperlyConfigured(f"{name}={value!r} names no database.")
        try:
            config = environ.Env.db_url_config(value)
        except (ValueError, KeyError) as exc:
            raise ImproperlyConfigured(f"{name}={value!r} cannot be parsed: {exc}.") from exc
        config["ENGINE"] = "django.db.backends.postgresql"
        options = config.get("OPTIONS", {})
        for key in ("host", "port"):  # postgres://user@/db?host=/socket/dir (a Unix socket)
            if key in options and not config.get(key.upper()):
                config[key.upper()] = str(options.pop(key))
        if not options:
            config.pop("OPTIONS", None)
        return config

    def redis_url(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        if not value:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in {"redis", "rediss"} or not parsed.hostname:
            raise ImproperlyConfigured(
                f"{name}={value!r} is not a Redis URL (expected redis://host:port/db)."
            )
        try:
            parsed.port  # noqa: B018 - urlparse validates the port lazily
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}={value!r} has an invalid port.") from exc
        return value

    def email_settings(self, name: str) -> dict:
        """Django e-mail settings from ``EMAIL_URL`` (smtp://, smtp+tls://, consolemail://)."""
        value = self._environ.get(name, "").strip()
        if not value:
            return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
        try:
            config = environ.Env.email_url_config(value)
        except (ValueError, KeyError) as exc:
            raise ImproperlyConfigured(f"{name}={value!r} is not an e-mail URL: {exc}.") from exc
        if not config.get("EMAIL_BACKEND"):
            raise ImproperlyConfigured(f"{name}={value!r} is not an e-mail URL.")
        return config


env = StrictEnv()
