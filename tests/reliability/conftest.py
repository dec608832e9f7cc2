"""Fault tests with real parts: our own redis-server (started, stopped and restarted per test on a
free port), real Celery worker processes on the test database, and the registry and Kiva
sandboxes over loopback.

Tests that stop Redis need the ``redis-server`` binary (``broker``) and skip, saying so, without
it. Tests that only need a running Redis (``running_broker``) use our own server too, or else the
Redis of ``REDIS_URL`` (CI's), on a database number of their own (``RELIABILITY_REDIS_DB``,
default 15), emptied first; they skip when there is neither.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.compliance.conftest import (  # noqa: F401 - fixtures shared with the compliance tests
    inps_sandbox,
    registry_tokens,
    revenue_sandbox,
    sandbox_faults,
    sandbox_servers,
)
from tests.p2p_export.conftest import kiva_platform, kiva_server, rules  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"still waiting after {seconds}s for {what}")


class RedisProcess:
    """A throw-away redis-server on its own port, no persistence: stopping it loses nothing but
    what it holds, exactly like a broker that went away."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisProcess:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, seconds=10, what=f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def queue_length(self, queue: str = "celery") -> int:
        """Messages waiting in a queue."""
        return self._ask(lambda client: client.llen(queue))

    def unacked_count(self) -> int:
        """Messages handed to a worker and not acknowledged yet (kombu's ``unacked`` hash)."""
        return self._ask(lambda client: client.hlen("unacked"))

    def queued_messages(self, queue: str = "celery") -> list[bytes]:
        """The raw messages waiting in a queue, the next to be consumed first."""
        # kombu LPUSHes and workers BRPOP: the oldest message is at the right end.
        return list(reversed(self._ask(lambda client: client.lrange(queue, 0, -1))))

    def _ask(self, question):
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=2)
        try:
            return question(client)
        finally:
            client.close()


class ExternalRedis(RedisProcess):
    """A Redis we did not start (CI's): one database number of it, emptied; it cannot be stopped."""

    def __init__(self, url: str, db: int):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.port = parts.port or 6379
        self.url = f"{parts.scheme}://{parts.netloc}/{db}"
        self.process = None

    def start(self) -> ExternalRedis:
        self._ask(lambda client: client.flushdb())
        return self

    def stop(self) -> None:
        raise NotImplementedError("an external Redis is not ours to stop")


@contextmanager
def _celery_sends_to(server: RedisProcess):
    from mfi.celery import app

    previous = (app.conf.broker_url, app.conf.task_always_eager)
    _reset_producers(app)
    app.conf.broker_url = server.url
    app.conf.task_always_eager = False
    try:
        yield server
    finally:
        _reset_producers(app)
        app.conf.broker_url, app.conf.task_always_eager = previous


@pytest.fixture
def broker():
    """Our own redis-server, running, which the test may stop and start again; Celery in this
    process sends to it (no eager mode)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: cannot start a broker to break")
    server = RedisProcess(free_port()).start()
    try:
        with _celery_sends_to(server):
            yield server
    finally:
        server.stop()


@pytest.fixture
def running_broker(request):
    """A running Redis that Celery in this process sends to: our own when redis-server is
    installed, else a database of its own on REDIS_URL's."""
    if REDIS_SERVER is not None:
        yield request.getfixturevalue("broker")
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("neither redis-server nor REDIS_URL: no Redis to run a real worker against")
    server = ExternalRedis(url, int(os.environ.get("RELIABILITY_REDIS_DB", "15"))).start()
    with _celery_sends_to(server):
        yield server


def _reset_producers(app) -> None:
    """Forget the app's producer pool so the next send uses the broker now configured. (Not
    closed: kombu keeps pools per broker URL for the whole process, and other tests reuse them.)"""
    app._pool = None
    app.amqp._producer_pool = None


def database_url() -> str:
    """The URL of the test database pytest created, for processes started by a test."""
    params = connection.settings_dict
    host = params["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return (
            f"postgres://{params['USER']}@/{params['NAME']}?host={quote(host, safe='')}"
            f"&port={params['PORT']}"
        )
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    return f"postgres://{params['USER']}{password}@{host}:{params['PORT']}/{params['NAME']}"


class Worker:
    """``celery -A mfi worker`` in its own process group on the test database."""

    def __init__(self, redis_url: str, name: str):
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "tests.reliability.worker_settings",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mfi", "worker", "--pool=solo"]
            + ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
            + ["-n", f"{name}-{os.getpid()}@%h"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL to the whole process group: no ack, no cleanup, no goodbye to the broker."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(running_broker):
    """``start_worker(name)``: a real worker on the test's Redis; all are stopped at the end."""
    started: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(running_broker.url, name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
