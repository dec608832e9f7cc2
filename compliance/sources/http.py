"""The one HTTP client every registry pull goes through: bearer token, timeouts, bounded retries
(``mfi.http``: connection errors, timeouts, HTTP 5xx and 429). Never retried: any other 4xx (a
wrong token, an unknown path), nor an answer that is not the JSON we expect. ``attempts`` counts
every request sent, retries included, so a run can record it.

Tunable in settings (defaults in brackets): ``COMPLIANCE_HTTP_TIMEOUT`` seconds [10],
``COMPLIANCE_HTTP_RETRIES`` extra attempts [3], ``COMPLIANCE_HTTP_BACKOFF`` first wait in seconds,
doubled at each retry [1.0], ``COMPLIANCE_PAGE_SIZE`` records per page [500, the protocol's max].
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from mfi.http import Unreachable, send_with_retries


class SourceError(Exception):
    """A pull or file that could not be processed; the message is shown to staff as is."""


class SourceUnavailable(SourceError):
    """The registry did not answer usefully even after the retries (down, slow or overloaded)."""


class SourceRefused(SourceError):
    """The registry refused the request (4xx) or answered something we cannot read."""


def client_settings() -> dict[str, float | int]:
    return {
        "timeout": float(getattr(settings, "COMPLIANCE_HTTP_TIMEOUT", 10.0)),
        "retries": int(getattr(settings, "COMPLIANCE_HTTP_RETRIES", 3)),
        "backoff": float(getattr(settings, "COMPLIANCE_HTTP_BACKOFF", 1.0)),
        "page_size": int(getattr(settings, "COMPLIANCE_PAGE_SIZE", 500)),
    }


def _problem(exc: Unreachable) -> str:
    """What went wrong the last time, for staff."""
    if exc.response is not None:
        return _("HTTP %(status)s") % {"status": exc.response.status_code}
    if isinstance(exc.error, httpx.TimeoutException):
        return _("no answer within the time limit")
    return _("connection failed (%(error)s)") % {"error": exc.error.__class__.__name__}


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class RegistryClient:
    """A JSON client for one registry base URL. Use as a context manager."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        page_size: int | None = None,
    ):
        defaults = client_settings()
        self.base_url = base_url.rstrip("/")
        self.retries = defaults["retries"] if retries is None else retries
        self.backoff = defaults["backoff"] if backoff is None else backoff
        self.page_size = defaults["page_size"] if page_size is None else page_size
        self.attempts = 0
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=defaults["timeout"] if timeout is None else timeout,
            follow_redirects=False,
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self._http.close()

    def _counted(self) -> None:
        self.attempts += 1

    def _send(self, url: str, params: dict | None) -> httpx.Response:
        """GET with retries; returns the final response (any status) or raises SourceUnavailable."""
        try:
            return send_with_retries(
                lambda: self._http.get(url, params=params),
                label=f"GET {self.base_url}{url}",
                retries=self.retries,
                backoff=self.backoff,
                on_attempt=self._counted,
            )
        except Unreachable as exc:
            raise SourceUnavailable(
                _("The registry is unavailable: %(problem)s after %(attempts)s attempts.")
                % {"problem": _problem(exc), "attempts": exc.attempts}
            ) from exc

    def get_json(self, url: str, params: dict | None = None, *, missing_ok: bool = False) -> Any:
        """The decoded JSON answer; None for a 404 when ``missing_ok`` (an unknown subject)."""
        response = self._send(url, params)
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            detail = ""
            try:
                detail = str(response.json().get("error", ""))[:200]
            except (ValueError, AttributeError):
                detail = response.text[:200]
            raise SourceRefused(
                _("The registry refused the request (HTTP %(status)s): %(detail)s")
                % {"status": response.status_code, "detail": detail}
            )
        try:
            return response.json()
        except ValueError as exc:
            raise SourceRefused(_("The registry answered something that is not JSON.")) from exc

    def pages(self, path: str, params: dict | None = None) -> Iterator[Any]:
        """Every record of a paginated list, following ``next`` links (same host only)."""
        url: str | None = path
        query: dict | None = {**(params or {}), "page_size": self.page_size}
        while url:
            page = self.get_json(url, query)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise SourceRefused(_("The registry's page has no list of results."))
            yield from page["results"]
            url, query = page.get("next") or None, None
            if url and _origin(url) != _origin(self.base_url):
                raise SourceRefused(_("The registry's next page points to another host."))
