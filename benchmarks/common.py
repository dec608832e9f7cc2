"""What every benchmark shares: Django set up against the database it measures, timing and
percentiles, the machine it ran on, and one result format.

A result is one figure measured side by side with its reference in the same run::

    {"figure": ..., "value": 0.0, "unit": "s", "target": "<= 60 s", "passed": true,
     "reference": {"label": ..., "value": 0.0, "unit": ...}, "ratio": 0.0,
     "ratio_target": ">= 20x", "details": {...}}
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCALE_DATABASE_URL = os.environ.get(
    "SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mfi_scale"
)
SMALL_DATABASE_URL = os.environ.get(
    "SMALL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mfi_scale_small"
)


def django_setup(database_url: str, settings: str = "benchmarks.settings") -> None:
    """Point Django at ``database_url`` (before anything imports the settings) and set it up."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def signed_in_client(user):
    """A test client signed in as ``user``, past two-factor authentication for the roles that
    require it (a confirmed authenticator device is created for the benchmark user if missing,
    and the session marked verified, as a correct code would)."""
    from django.test import Client

    from users.two_factor import session_verify_without_code, two_factor_required_for

    client = Client()
    client.force_login(user)
    if two_factor_required_for(user):
        session_verify_without_code(client.session, user)
    return client


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile (0.95 = p95) by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def timings(values: list[float]) -> dict[str, float]:
    """Milliseconds: median, p95, max and mean of durations given in seconds."""
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict:
    """The machine and its load when the figures were taken."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average": load_average(),
    }


def result(
    figure: str,
    *,
    value: float,
    unit: str,
    target: str,
    passed: bool,
    reference: dict | None = None,
    ratio: float | None = None,
    ratio_target: str = "",
    details: dict | None = None,
) -> dict:
    return {
        "figure": figure,
        "value": value,
        "unit": unit,
        "target": target,
        "passed": bool(passed),
        "reference": reference,
        "ratio": ratio,
        "ratio_target": ratio_target,
        "details": details or {},
        "load_average": load_average(),
    }


def report(results: list[dict]) -> None:
    """Print each figure with its target, its reference and the ratio."""
    for item in results:
        mark = "PASS" if item["passed"] else "MISS"
        line = (
            f"[{mark}] {item['figure']}: {item['value']} {item['unit']} (target {item['target']})"
        )
        reference = item.get("reference")
        if reference:
            line += f"; reference {reference['label']}: {reference['value']} {reference['unit']}"
        if item.get("ratio") is not None:
            line += f"; ratio {item['ratio']}x (target {item['ratio_target']})"
        print(line, flush=True)


def cli(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", help="Also write the results to this file.")
    parser.add_argument("--database-url", default=SCALE_DATABASE_URL)
    parser.add_argument("--reference-database-url", default=SMALL_DATABASE_URL)
    parser.add_argument("--quick", action="store_true", help="Fewer repetitions (smoke tests).")
    return parser.parse_args()


def finish(results: list[dict], json_path: str | None) -> None:
    report(results)
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2, default=str))


class Stopwatch:
    """Wall and CPU time of a block."""

    def __enter__(self):
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self.cpu_started
