"""The registry sandboxes (INPS, DNRE, banks BCA and CECV) as real HTTP servers for the tests.

Each server starts once per session on a free port, on first use. The ``*_sandbox`` fixtures
hand a test its ``RunningServer`` with no faults and an empty request log (``server.app.log``);
``sandbox_faults(server, **faults)`` injects faults over the control API; ``registry_tokens``
puts the sandbox tokens in the environment variables our ``Source`` rows name.
"""

from __future__ import annotations

import httpx
import pytest

from sandbox.core import Faults, RunningServer
from sandbox.registries import SANDBOX_TOKEN_ENV, bank_app, revenue_app, social_security_app


@pytest.fixture(scope="session")
def sandbox_servers():
    """``serve(name, build)``: the session's server of that name, reset to no faults, no log."""
    started: dict[str, RunningServer] = {}

    def serve(name: str, build) -> RunningServer:
        if name not in started:
            started[name] = RunningServer(build()).start()
        server = started[name]
        with server.app.lock:
            server.app.faults = Faults()
            server.app.log.clear()
        return server

    yield serve
    for server in started.values():
        server.stop()


@pytest.fixture
def inps_sandbox(sandbox_servers) -> RunningServer:
    return sandbox_servers("inps", social_security_app)


@pytest.fixture
def revenue_sandbox(sandbox_servers) -> RunningServer:
    return sandbox_servers("dnre", revenue_app)


@pytest.fixture
def bca_sandbox(sandbox_servers) -> RunningServer:
    return sandbox_servers("bank-bca", lambda: bank_app("BCA"))


@pytest.fixture
def cecv_sandbox(sandbox_servers) -> RunningServer:
    return sandbox_servers("bank-cecv", lambda: bank_app("CECV"))


@pytest.fixture
def sandbox_faults():
    """``inject(server, latency_ms=..., fail_next=..., ...)``: set a sandbox's faults over HTTP."""

    def inject(server: RunningServer, **faults) -> dict:
        response = httpx.put(f"{server.url}/_sandbox/faults", json=faults, timeout=5)
        response.raise_for_status()
        return response.json()

    return inject


@pytest.fixture
def registry_tokens(monkeypatch) -> dict[str, str]:
    """INPS_API_TOKEN, DNRE_API_TOKEN, BANK_BCA_API_TOKEN, BANK_CECV_API_TOKEN = sandbox tokens."""
    for variable, token in SANDBOX_TOKEN_ENV.items():
        monkeypatch.setenv(variable, token)
    return dict(SANDBOX_TOKEN_ENV)


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """These tests follow a task's effect in the same process, so tasks run eagerly even when CI
    gives the suite a real broker (the worker round trip is tested in tests/mfi)."""
    from mfi.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
