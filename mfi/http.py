"""Outbound HTTP with bounded retries, shared by every adapter to an external system (registry
pulls, P2P platforms).

Retried, with an exponential backoff (and the server's ``Retry-After`` when it asks for longer,
capped): connection failures, timeouts, HTTP 429 and 5xx. Any other answer, 4xx included, is
returned to the caller, who knows what it means. When every attempt failed, ``Unreachable``
says what went wrong the last time and how many requests were sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

logger = logging.getLogger(__name__)

RETRY_AFTER_CAP_SECONDS = 60.0


def is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


class Unreachable(Exception):
    """Every attempt failed: ``error`` (a timeout or transport error) or ``response`` (429/5xx)
    of the last one, and ``attempts`` sent."""

    def __init__(self, *, error: Exception | None, response: httpx.Response | None, attempts: int):
        super().__init__(f"{error or response} after {attempts} attempts")
        self.error = error
        self.response = response
        self.attempts = attempts


def send_with_retries(
    send: Callable[[], httpx.Response],
    *,
    label: str,
    retries: int,
    backoff: float,
    on_attempt: Callable[[], None] | None = None,
) -> httpx.Response:
    """Call ``send`` until an answer that is not worth retrying, at most ``1 + retries`` times;
    ``on_attempt`` is told of each request sent. Raises ``Unreachable``."""
    attempt = 0
    while True:
        attempt += 1
        if on_attempt is not None:
            on_attempt()
        started = time.monotonic()
        error, response = None, None
        try:
            response = send()
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            error = exc
            logger.warning("%s attempt %s failed: %s", label, attempt, type(exc).__name__)
        else:
            logger.info(
                "%s -> %s in %.2fs (attempt %s)",
                label,
                response.status_code,
                time.monotonic() - started,
                attempt,
            )
            if not is_retryable(response.status_code):
                return response
        if attempt > retries:
            logger.error("%s failed after %s attempts", label, attempt)
            raise Unreachable(error=error, response=response, attempts=attempt)
        delay = backoff * 2 ** (attempt - 1)
        retry_after = response.headers.get("Retry-After", "") if response is not None else ""
        if retry_after.isdigit():
            delay = max(delay, min(float(retry_after), RETRY_AFTER_CAP_SECONDS))
        time.sleep(delay)
