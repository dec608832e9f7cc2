"""P2P fixtures: the Kiva and file-platform sandboxes as real HTTP servers (a fresh one per test,
so their state starts empty), settings pointing at them, and the platforms configured on them."""

from __future__ import annotations

import httpx
import pytest

from accounting.chart import chart_install
from crm.choices import Island, Sector
from p2p_export import services
from p2p_export.choices import LookupKind, PlatformKind
from sandbox import kiva, p2p_files
from sandbox.core import RunningServer
from tests.p2p_export.factories import make_platform


@pytest.fixture
def rules(praia):
    return chart_install()


@pytest.fixture
def kiva_server(settings):
    server = RunningServer(kiva.build_app(token_ttl=3600)).start()
    settings.KIVA_API_BASE_URL = server.url
    settings.KIVA_AUTH_URL = f"{server.url}/oauth/token"
    settings.KIVA_CLIENT_ID = kiva.CLIENT_ID
    settings.KIVA_CLIENT_SECRET = kiva.CLIENT_SECRET
    settings.KIVA_PARTNER_ID = "77"
    settings.P2P_HTTP_TIMEOUT = 2.0
    yield server
    server.stop()


@pytest.fixture
def files_server(settings):
    server = RunningServer(p2p_files.build_app()).start()
    settings.P2P_FILES_DELIVERY_URL = server.url
    settings.P2P_FILES_TOKEN = p2p_files.TOKEN
    settings.P2P_HTTP_TIMEOUT = 2.0
    yield server
    server.stop()


@pytest.fixture
def kiva_platform(kiva_server, db):
    """Kiva with its lookup lists fetched from the sandbox and mapped to our sectors/islands."""
    platform = make_platform(PlatformKind.KIVA)
    services.lookups_refresh(actor=None, platform=platform)
    for kind, external_id, mapping in (
        (LookupKind.ACTIVITY, "25", {"sector": Sector.RETAIL}),
        (LookupKind.LOCATION, "238", {"island": Island.SANTIAGO}),
    ):
        services.lookup_map(
            actor=None, lookup=platform.lookups.get(kind=kind, external_id=external_id), **mapping
        )
    httpx.delete(f"{kiva_server.url}/_sandbox/requests", timeout=5)
    return platform


@pytest.fixture
def files_platform(files_server, db):
    return make_platform(PlatformKind.FILES)


def sandbox_log(server) -> list[dict]:
    return httpx.get(f"{server.url}/_sandbox/requests", timeout=5).json()


def sandbox_state(server) -> dict:
    return httpx.get(f"{server.url}/sandbox/state", timeout=5).json()


def inject(server, **faults) -> None:
    httpx.put(f"{server.url}/_sandbox/faults", json=faults, timeout=5).raise_for_status()


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """These tests follow a task's effect in the same process, so tasks run eagerly even when CI
    gives the suite a real broker (the worker round trip is tested in tests/mfi)."""
    from mfi.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
