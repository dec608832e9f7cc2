"""The outbound HTTP client of the P2P export: timeouts, and retries for transient errors only
(``mfi.http``: connection failures, timeouts, 429 and 5xx answers) with a short backoff.

A 4xx answer other than 429 is returned to the caller, who knows what it means (401: refresh the
token; 400: the platform's validation errors). When every retry failed, ``TransientError`` is
raised so a Celery task can retry later with its own backoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.utils.translation import gettext as _

from mfi.http import Unreachable, send_with_retries


class TransientError(Exception):
    """The remote system could not be reached or failed; trying again later may succeed."""


def _problem(exc: Unreachable) -> str:
    if exc.response is not None:
        return f"HTTP {exc.response.status_code}: {exc.response.text[:200]}"
    return f"{type(exc.error).__name__}: {exc.error}"


@dataclass
class HttpClient:
    """Calls one remote system. ``retries`` is the number of extra tries after the first."""

    name: str
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.2

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            return send_with_retries(
                lambda: httpx.request(method, url, timeout=self.timeout, **kwargs),
                label=f"{self.name} {method} {url}",
                retries=self.retries,
                backoff=self.backoff,
            )
        except Unreachable as exc:
            raise TransientError(
                _("%(name)s could not be reached (%(problem)s).")
                % {"name": self.name, "problem": _problem(exc)}
            ) from exc
