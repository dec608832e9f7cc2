"""/healthz and the background-job round trip (eager without a broker, a real worker with Redis)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from mfi.models import WorkerHeartbeat
from mfi.tasks import worker_heartbeat

ROOT = Path(__file__).resolve().parents[2]


@override_settings(REDIS_URL=None)
def test_healthz_is_200_with_the_database_up_and_no_broker_configured(client, db):
    # when
    response = client.get("/healthz")
    # then
    body = response.json()
    assert response.status_code == 200
    assert (
        body["status"],
        body["database"]["status"],
        body["broker"]["status"],
        body["worker"]["status"],
    ) == ("ok", "up", "not_configured", "not_configured")


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_healthz_is_503_when_the_configured_broker_is_down(client, db):
    # when
    response = client.get("/healthz")
    # then
    body = response.json()
    assert response.status_code == 503
    assert (
        body["status"],
        body["database"]["status"],
        body["broker"]["status"],
        body["worker"]["status"],
    ) == ("unavailable", "up", "down", "down")
    assert "Connection" in body["broker"]["error"]


def test_the_heartbeat_task_is_idempotent(db):
    # when
    worker_heartbeat.apply(args=["token-1"])
    worker_heartbeat.apply(args=["token-1"])
    # then
    assert list(WorkerHeartbeat.objects.values_list("token", flat=True)) == ["token-1"]


@pytest.mark.skipif(
    bool(os.environ.get("REDIS_URL")),
    reason="with REDIS_URL tasks go to a worker: covered by the Redis round-trip test",
)
def test_without_a_broker_the_system_page_runs_the_task_in_process(
    client, administrator, django_capture_on_commit_callbacks
):
    # given
    client.force_login(administrator)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/system/")
    # then
    token = response.context["token"]
    assert WorkerHeartbeat.objects.filter(token=token).count() == 1


def test_only_administrators_open_the_system_page(client, manager):
    # given
    client.force_login(manager)
    # when / then
    assert client.post("/system/").status_code == 403
    assert WorkerHeartbeat.objects.count() == 0


def _database_url() -> str:
    params = connection.settings_dict
    host = params["HOST"] or "127.0.0.1"
    from urllib.parse import quote

    if host.startswith("/"):
        return (
            f"postgres://{params['USER']}@/{params['NAME']}?host={quote(host, safe='')}"
            f"&port={params['PORT']}"
        )
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    return f"postgres://{params['USER']}{password}@{host}:{params['PORT']}/{params['NAME']}"


@pytest.mark.redis
@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL is not set: no broker to run a real worker against (CI sets it)",
)
def test_web_enqueues_a_worker_runs_it_and_the_result_is_visible(
    client, administrator, transactional_db
):
    # given: a real Celery worker process on the test database
    environment = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "mfi.settings.base",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mfi",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        client.force_login(administrator)
        # when
        token = client.post("/system/").context["token"]
        # then
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(token=token).exists()
        ):
            time.sleep(0.25)
        assert WorkerHeartbeat.objects.filter(token=token).count() == 1
        health = client.get("/healthz").json()
        assert health["worker"]["status"] == "up"
        assert health["worker"]["last_heartbeat"] is not None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
