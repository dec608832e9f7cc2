"""``python -m sandbox``: starts the servers on their ports, applies faults, checks, stops."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox.__main__ import SERVERS, build_app, main, parse_args, start_servers, stop_servers

ROOT = Path(__file__).resolve().parents[2]
INPS_PORT = 8101


def free_port_offset() -> int:
    """An offset that puts the INPS sandbox (default port 8101) on a port nobody uses."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1] - INPS_PORT


def test_check_starts_the_chosen_servers_reports_their_health_and_exits_0(capsys):
    # given
    offset = free_port_offset()
    # when
    status = main(["--check", "--only", "inps", "--port-offset", str(offset)])
    # then
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines == [
        f"inps       http://127.0.0.1:{INPS_PORT + offset}  token: sandbox-inps",
        'inps       health: {"ok": true, "name": "inps"}',
    ]


def test_faults_given_at_start_are_in_force(capsys):
    # given
    options = parse_args(
        [
            "--only",
            "inps",
            "--port-offset",
            str(free_port_offset()),
            "--faults",
            'inps={"fail_next": 1}',
        ]
    )
    servers = start_servers(options)
    # when
    try:
        first = httpx.get(f"{servers['inps'].url}/api/v1/contributions", timeout=5)
        second = httpx.get(f"{servers['inps'].url}/api/v1/contributions", timeout=5)
    finally:
        stop_servers(servers)
    # then
    assert (first.status_code, second.status_code) == (500, 401)


@pytest.mark.parametrize(
    "argv", [["--only", "inps,nowhere"], ["--faults", 'inps={"latency": 1}'], ["--faults", "x={}"]]
)
def test_unknown_servers_or_faults_are_refused(argv, capsys):
    # when
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    # then
    assert exit_info.value.code == 2


def test_a_sandbox_module_that_does_not_exist_yet_is_skipped():
    # when
    app = build_app("sandbox.not_written_yet:build_app")
    # then
    assert app is None
    assert [entry[:3] for entry in SERVERS[:4]] == [
        ("inps", "sandbox.registries:social_security_app", 8101),
        ("dnre", "sandbox.registries:revenue_app", 8102),
        ("bank-bca", "sandbox.registries:bank_app", 8103),
        ("bank-cecv", "sandbox.registries:bank_app", 8104),
    ]


def test_ctrl_c_stops_the_servers_cleanly():
    # given
    offset = str(free_port_offset())
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--only", "inps", "--port-offset", offset],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    started = [process.stdout.readline(), process.stdout.readline()]
    # when
    process.send_signal(signal.SIGINT)
    status = process.wait(timeout=10)
    # then
    assert started[1] == "Sandboxes running (Ctrl+C to stop)\n"
    assert status == 0
    assert process.stdout.read() == "Sandboxes stopped\n"
    process.stdout.close()
