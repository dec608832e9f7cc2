"""Run every sandbox in one process, each on its own port: ``python -m sandbox``.

    python -m sandbox                          # all servers on 127.0.0.1:8101...
    python -m sandbox --only inps,bank-bca --port-offset 1000
    python -m sandbox --faults inps='{"latency_ms": 200}' --faults dnre='{"fail_next": 3}'
    python -m sandbox --check                  # start, GET each /_sandbox/health, stop; exit 0

Prints one line per server with its URL and token. Ctrl+C (or SIGTERM) stops them cleanly.
Sandboxes written elsewhere (Kiva, the P2P file platform) are imported lazily and skipped with a
note while their module does not exist.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import threading
from dataclasses import asdict

import httpx

from sandbox.core import App, Faults, RunningServer

# (name, "module:factory", default port, factory arguments)
SERVERS: list[tuple[str, str, int, tuple]] = [
    ("inps", "sandbox.registries:social_security_app", 8101, ()),
    ("dnre", "sandbox.registries:revenue_app", 8102, ()),
    ("bank-bca", "sandbox.registries:bank_app", 8103, ("BCA",)),
    ("bank-cecv", "sandbox.registries:bank_app", 8104, ("CECV",)),
    ("kiva", "sandbox.kiva:build_app", 8110, ()),
    ("p2p-files", "sandbox.p2p_files:build_app", 8111, ()),
]
NAMES = [name for name, *_ in SERVERS]


def build_app(target: str, args: tuple = ()) -> App | None:
    """The app a ``module:factory`` target builds, or None when the module does not exist yet."""
    module_name, factory = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    return getattr(module, factory)(*args)


def _faults(text: str) -> tuple[str, Faults]:
    name, _, values = text.partition("=")
    if name not in NAMES:
        raise argparse.ArgumentTypeError(f"unknown server {name!r}; known: {', '.join(NAMES)}")
    try:
        return name, Faults(**json.loads(values))
    except (ValueError, TypeError) as exc:
        fields = ", ".join(asdict(Faults()))
        raise argparse.ArgumentTypeError(f"{text!r}: a JSON object of {fields} ({exc})") from exc


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown servers {unknown}; known: {', '.join(NAMES)}")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--only", type=_names, default=NAMES, help=f"some of {','.join(NAMES)}")
    parser.add_argument("--port-offset", type=int, default=0, help="added to every default port")
    parser.add_argument(
        "--faults",
        type=_faults,
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="faults at start, e.g. inps='{\"latency_ms\": 200}' (repeatable)",
    )
    parser.add_argument("--check", action="store_true", help="start, check health, stop")
    return parser.parse_args(argv)


def credentials(name: str, app: App) -> str:
    """How a client authenticates to a sandbox: its ``app.token``, else its module's published
    ``TOKEN`` or ``CLIENT_ID``/``CLIENT_SECRET``."""
    target = next(target for server, target, *_ in SERVERS if server == name)
    module = importlib.import_module(target.split(":")[0])
    token = getattr(app, "token", None) or getattr(module, "TOKEN", None)
    if token:
        return f"token: {token}"
    if hasattr(module, "CLIENT_ID"):
        return f"client id: {module.CLIENT_ID}  secret: {module.CLIENT_SECRET}"
    return ""


def start_servers(options: argparse.Namespace, out=None) -> dict[str, RunningServer]:
    """Start the chosen servers, apply the start-up faults and print one line per server."""
    faults = dict(options.faults)
    running: dict[str, RunningServer] = {}
    for name, target, port, args in SERVERS:
        if name not in options.only:
            continue
        app = build_app(target, args)
        if app is None:
            print(f"{name:<10} skipped: {target.split(':')[0]} is not available yet", file=out)
            continue
        app.faults = faults.get(name, app.faults)
        try:
            server = RunningServer(app, options.host, port + options.port_offset).start()
        except OSError as exc:
            stop_servers(running)
            raise SystemExit(
                f"{name}: cannot listen on port {port + options.port_offset}: {exc}"
            ) from exc
        running[name] = server
        print(f"{name:<10} {server.url}  {credentials(name, app)}", file=out, flush=True)
    return running


def stop_servers(servers: dict[str, RunningServer]) -> None:
    for server in servers.values():
        server.stop()


def check_health(servers: dict[str, RunningServer], out=None) -> bool:
    """GET every server's ``/_sandbox/health``; print and return whether all answered ok."""
    healthy = True
    for name, server in servers.items():
        try:
            answer = httpx.get(f"{server.url}/_sandbox/health", timeout=5).json()
        except (httpx.HTTPError, ValueError) as exc:
            answer = {"ok": False, "error": str(exc)}
        healthy = healthy and answer.get("ok") is True
        print(f"{name:<10} health: {json.dumps(answer)}", file=out)
    return healthy


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    servers = start_servers(options)
    if options.check:
        healthy = check_health(servers)
        stop_servers(servers)
        return 0 if healthy else 1
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        print("Sandboxes running (Ctrl+C to stop)", flush=True)
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_servers(servers)
        print("Sandboxes stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
