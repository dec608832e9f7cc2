"""Health of the parts the platform needs: database, broker, worker."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from mfi.models import WorkerHeartbeat


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        detail = check()
        result = {"status": "up", **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - any failure means "down", with its reason
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _broker() -> dict:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return {}


def _worker() -> dict:
    from mfi.celery import app

    replies = app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no worker answered a ping within 1 s")
    return {"workers": sorted(name for reply in replies for name in reply)}


def health_report() -> tuple[bool, dict]:
    """(healthy, report). Broker and worker are required only when REDIS_URL is configured."""
    report: dict = {"database": _timed(_database)}
    required = ["database"]
    if settings.REDIS_URL:
        report["broker"] = _timed(_broker)
        report["worker"] = (
            _timed(_worker)
            if report["broker"]["status"] == "up"
            else {"status": "down", "error": "broker is down"}
        )
        required += ["broker", "worker"]
    else:
        report["broker"] = {"status": "not_configured", "mode": "eager (tasks run in-process)"}
        report["worker"] = {"status": "not_configured"}
    if report["database"]["status"] == "up":
        last = WorkerHeartbeat.objects.order_by("-seen_at").first()
        report["worker"]["last_heartbeat"] = last.seen_at.isoformat() if last else None
    healthy = all(report[part]["status"] == "up" for part in required)
    report["status"] = "ok" if healthy else "unavailable"
    return healthy, report
