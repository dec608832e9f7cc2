"""Run every benchmark against the scale database and record the figures.

1. Makes sure the two databases exist, are migrated and seeded: the scale one
   (``SCALE_DATABASE_URL``, default ``mfi_scale``, ``seed_scale --loans 100000``) and the
   1,000-loan reference (``SMALL_DATABASE_URL``, default ``mfi_scale_small``). An existing
   seeded database is reused (``--reseed`` rebuilds both; the seed time is then a figure too).
2. Runs each ``bench_*.py`` in a process of its own, read-only figures first and the repayment
   API last (it adds real repayments).
3. Writes ``benchmarks/results/latest.json`` and the table between the results markers of
   ``BENCHMARKS.md`` (machine, date, command).

    python benchmarks/run_all.py [--quick] [--reseed] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, SCALE_DATABASE_URL, SMALL_DATABASE_URL, machine, result

BENCHMARKS = [
    "bench_schedule",
    "bench_end_of_day",
    "bench_pages",
    "bench_pdfs",
    "bench_compliance_ingest",
    "bench_repayments_api",
]
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
DOCUMENT = ROOT / "BENCHMARKS.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SEED_TARGET_SECONDS = 300


def _manage(database_url: str, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "mfi.settings.base",
        },
        check=True,
        capture_output=capture,
        text=True,
    )


def _database_exists(database_url: str) -> bool:
    import psycopg2

    parts = urlparse(database_url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg2.connect(admin) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [parts.path.lstrip("/")])
        return cursor.fetchone() is not None


def _create_database(database_url: str) -> None:
    import psycopg2

    parts = urlparse(database_url)
    connection = psycopg2.connect(parts._replace(path="/postgres").geturl())
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')
    connection.close()


def _loan_count(database_url: str) -> int:
    import psycopg2

    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('loans_loan') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute("SELECT COUNT(*) FROM loans_loan")
        return cursor.fetchone()[0]


def ensure_seeded(database_url: str, loans: int, *, reseed: bool) -> dict | None:
    """Create, migrate and seed the database when needed; the seed's figure when it ran."""
    if not _database_exists(database_url):
        _create_database(database_url)
    _manage(database_url, "migrate", "--noinput", "-v", "0")
    if not reseed and _loan_count(database_url) >= loans:
        return None
    print(f"Seeding {loans:,} loans into {urlparse(database_url).path.lstrip('/')} ...", flush=True)
    started = time.perf_counter()
    load = os.getloadavg()
    output = _manage(
        database_url, "seed_scale", "--loans", str(loans), "--fresh", capture=True
    ).stdout
    seconds = time.perf_counter() - started
    print(output, flush=True)
    if loans < 100_000:
        return None
    return result(
        f"seed_scale --loans {loans:,} (build, checks, end of day, reconciliation)",
        value=round(seconds),
        unit="s",
        target=f"<= {SEED_TARGET_SECONDS} s",
        passed=seconds <= SEED_TARGET_SECONDS,
        details={"load_average_before": [round(value, 2) for value in load], "log": output},
    )


def run_benchmark(name: str, *, quick: bool) -> list[dict]:
    script = ROOT / "benchmarks" / f"{name}.py"
    if not script.exists():
        return []
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        path = handle.name
    command = [sys.executable, str(script), "--json", path]
    if quick:
        command.append("--quick")
    print(f"--- {name}", flush=True)
    completed = subprocess.run(command, cwd=ROOT, env={**os.environ}, check=False)  # noqa: S603
    if completed.returncode != 0:
        return [
            {
                **result(
                    name,
                    value="error",
                    unit="",
                    target="runs",
                    passed=False,
                    details={"exit_code": completed.returncode},
                ),
                "benchmark": name,
            }
        ]
    figures = json.loads(Path(path).read_text())
    Path(path).unlink()
    measured_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for figure in figures:
        figure["benchmark"], figure["measured_at"] = name, measured_at
    return figures


def _cell(value) -> str:
    return "—" if value in (None, "") else str(value)


def table(results: list[dict]) -> str:
    lines = [
        "| figure | measured | target | reference (same run) | ratio | ratio target | load | when | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for item in results:
        reference = item.get("reference") or {}
        reference_text = (
            f"{reference.get('label')}: {_cell(reference.get('value'))} {reference.get('unit', '')}"
            if reference
            else "—"
        )
        ratio = f"{item['ratio']}x" if item.get("ratio") is not None else "—"
        load = " / ".join(str(value) for value in item.get("load_average", []))
        lines.append(
            f"| {item['figure']} | {_cell(item['value'])} {item['unit']} | {item['target']} | "
            f"{reference_text} | {ratio} | {_cell(item.get('ratio_target'))} | {load} | "
            f"{_cell(item.get('measured_at'))} | {'pass' if item['passed'] else '**miss**'} |"
        )
    return "\n".join(lines)


def write_document(report: dict) -> None:
    info = report["machine"]
    block = "\n".join(
        [
            START,
            f"Last run on {report['date']} with `{report['command']}` (`make bench` runs "
            "`python benchmarks/run_all.py`); each figure says when it was taken.",
            "",
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB RAM, "
            f"{info['system']}, Python {info['python']}; load average at the start "
            f"{' / '.join(str(value) for value in info['load_average'])} "
            "(1 / 5 / 15 min; other work on the machine slows every figure down).",
            "",
            table(report["results"]),
            "",
            f"All figures: `{RESULTS.relative_to(ROOT)}`.",
            END,
        ]
    )
    text = DOCUMENT.read_text() if DOCUMENT.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    DOCUMENT.write_text(pattern.sub(lambda _match: block, text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.UTC)
    results = []
    seeded = ensure_seeded(SCALE_DATABASE_URL, 100_000, reseed=args.reseed)
    if seeded:
        stamp = started.strftime("%Y-%m-%d %H:%M UTC")
        results.append({**seeded, "benchmark": "seed_scale", "measured_at": stamp})
    ensure_seeded(SMALL_DATABASE_URL, 1_000, reseed=args.reseed)
    ran = {"seed_scale"} if seeded else set()
    for name in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        results.extend(run_benchmark(name, quick=args.quick))
        ran.add(name)
    if RESULTS.exists():  # the figures not taken again keep their last measurement
        kept = [
            item
            for item in json.loads(RESULTS.read_text())["results"]
            if item.get("benchmark") not in ran
        ]
        order = ["seed_scale", *BENCHMARKS]
        results = sorted(
            [*kept, *results], key=lambda item: order.index(item.get("benchmark", "seed_scale"))
        )
    report = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"python benchmarks/run_all.py {' '.join(sys.argv[1:])}".strip(),
        "machine": machine(),
        "databases": {"scale": SCALE_DATABASE_URL, "reference": SMALL_DATABASE_URL},
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str))
    write_document(report)
    missed = [item["figure"] for item in results if not item["passed"]]
    print(f"{len(results) - len(missed)} of {len(results)} figures met their targets.")
    for figure in missed:
        print(f"  missed: {figure}")


if __name__ == "__main__":
    main()
