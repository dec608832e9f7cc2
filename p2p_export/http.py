"""The one outbound HTTP client of the P2P export: timeouts, retries for transient errors only
(connection failures, timeouts, 429 and 5xx answers), with a short backoff, and logging.

A 4xx answer other than 429 is returned to the caller, who knows what it means (401: refresh the
token; 400: the platform's validation errors). When every retry failed, ``TransientError`` is
raised so a Celery task can retry later with its own backoff.

(Generic on purpose: it can move to ``mfi/`` and be shared with the compliance sources.)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class TransientError(Exception):
    """The remote system could not be reached or failed; trying again later may succeed."""


@dataclass
class HttpClient:
    """Calls one remote system. ``retries`` is the number of extra tries after the first."""

    name: str
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.2

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            started = time.monotonic()
            try:
                response = httpx.request(method, url, timeout=self.timeout, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                logger.warning("%s %s %s failed: %s", self.name, method, url, last_problem)
                continue
            elapsed = int((time.monotonic() - started) * 1000)
            logger.info(
                "%s %s %s → %s (%s ms)", self.name, method, url, response.status_code, elapsed
            )
            if response.status_code not in RETRYABLE_STATUSES:
                return response
            last_problem = f"HTTP {response.status_code}: {response.text[:200]}"
        raise TransientError(
            _("%(name)s could not be reached (%(problem)s).")
            % {"name": self.name, "problem": last_problem}
        )
