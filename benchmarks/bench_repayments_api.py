"""Figure: repayments posted through the API by 16 concurrent clients against a real server
(gunicorn, the scale database): >= 150 repayments/s, p95 <= 150 ms, no error, and the ledger
still balanced and reconciled afterwards. Reference in the same run: the same clients calling a
trivial API view (same authentication, JSON in and out, no work); the repayment must cost at
most 4x what the trivial call costs.

Each client is a branch cashier (the branch manager's API token) repaying 100.00 on active loans
of their branch, with an ``Idempotency-Key`` on every call as a mobile-money integration sends.
The repayments stay in the database (they are real postings); run it last.

    python benchmarks/bench_repayments_api.py [--json out.json] [--quick]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, cli, django_setup, finish, load_average, result, timings

CLIENTS = 16
TARGET_RATE = 150
TARGET_P95_MS = 150
TARGET_COST = 4.0
AMOUNT = "100.00"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving the benchmark settings against ``database_url``."""

    def __init__(self, database_url: str, workers: int, threads: int):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DB_CONN_MAX_AGE": "600",
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own server
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "mfi.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--worker-class",
                "gthread",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )

    def wait(self) -> None:
        import httpx

        for _ in range(120):
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _clients() -> list[tuple[str, list[int]]]:
    """(API token, loan ids) for each client: branch managers, active CVE loans of their
    branch that owe enough for every repayment the run makes."""
    from django.db.models import F
    from rest_framework.authtoken.models import Token

    from loans.models import Loan
    from users.models import User
    from users.roles import Role

    managers = list(User.objects.filter(role=Role.BRANCH_MANAGER).order_by("pk"))
    assigned = [managers[index % len(managers)] for index in range(CLIENTS)]
    clients = []
    for index, manager in enumerate(assigned):
        token, _created = Token.objects.get_or_create(user=manager)
        sharing = [number for number, other in enumerate(assigned) if other == manager]
        loans = list(
            Loan.objects.filter(
                branch=manager.branch_id,
                status="active",
                currency="CVE",
                principal_outstanding__gt=F("principal") / 2,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:2000]
        )
        # the clients of one branch repay different loans
        mine = loans[sharing.index(index) :: len(sharing)][:200]
        if not mine:
            raise SystemExit(f"No active loan to repay in branch {manager.branch_id}.")
        clients.append((token.key, mine))
    return clients


def _run(base_url: str, clients, requests_each: int, call) -> tuple[list[float], int, float]:
    """``requests_each`` calls per client, all clients at once: durations, errors, seconds."""
    import httpx

    durations: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)

    def client(token: str, loans: list[int]) -> None:
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Token {token}"}, timeout=30
        ) as http:
            start.wait()
            mine, failed = [], 0
            for number in range(requests_each):
                began = time.perf_counter()
                response = call(http, loans[number % len(loans)])
                mine.append(time.perf_counter() - began)
                if response.status_code != 201:
                    failed += 1
            with lock:
                durations.extend(mine)
                errors[0] += failed

    threads = [threading.Thread(target=client, args=item) for item in clients]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return durations, errors[0], time.perf_counter() - began


def _repay(http, loan_id: int):
    return http.post(
        f"/api/v1/loans/{loan_id}/repayments/",
        json={"amount": AMOUNT, "channel": "mobile_money"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def _trivial(http, loan_id: int):
    return http.post(
        "/bench/trivial/",
        json={"amount": AMOUNT, "loan": loan_id},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def _ledger_checks() -> dict:
    from django.utils import timezone

    from accounting.selectors import movements_mismatches, trial_balance
    from loans.portfolio import loans_reconciliation

    today = timezone.localdate()
    balance = trial_balance(as_of=today, currency="CVE")
    reconciliation = loans_reconciliation(as_of=today, currency="CVE")
    return {
        "trial_balance_debits": str(balance.total_debit),
        "trial_balance_credits": str(balance.total_credit),
        "balanced": balance.total_debit == balance.total_credit,
        "loans_vs_gl_difference": str(reconciliation["difference"]),
        "movements_mismatches": movements_mismatches(),
    }


def main() -> None:
    args = cli(__doc__)
    django_setup(args.database_url)
    from django.db import connections

    from accounting.models import JournalEntry

    requests_each = 20 if args.quick else 150
    clients = _clients()
    connections.close_all()
    workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
    threads = int(os.environ.get("BENCH_GUNICORN_THREADS", "4"))
    server = Server(args.database_url, workers, threads)
    try:
        server.wait()
        _run(server.url, clients, 3, _trivial)  # warm every worker and connection
        _run(server.url, clients, 3, _repay)
        entries_before = JournalEntry.objects.count()
        load_before = load_average()
        trivial_durations, trivial_errors, trivial_seconds = _run(
            server.url, clients, requests_each, _trivial
        )
        durations, errors, seconds = _run(server.url, clients, requests_each, _repay)
    finally:
        server.stop()
    total = len(durations)
    rate = total / seconds
    trivial_rate = len(trivial_durations) / trivial_seconds
    cost = round(trivial_rate / rate, 2)
    measured = timings(durations)
    checks = _ledger_checks()
    posted = JournalEntry.objects.count() - entries_before
    passed = (
        rate >= TARGET_RATE
        and measured["p95_ms"] <= TARGET_P95_MS
        and errors == 0
        and checks["balanced"]
        and checks["loans_vs_gl_difference"] in ("0", "0.00")
        and checks["movements_mismatches"] == 0
        and cost <= TARGET_COST
    )
    finish(
        [
            result(
                f"Repayments through the API, {CLIENTS} concurrent clients",
                value=round(rate, 1),
                unit="repayments/s",
                target=f">= {TARGET_RATE}/s, p95 <= {TARGET_P95_MS} ms, 0 errors, ledger balanced",
                passed=passed,
                reference={
                    "label": "trivial API view, same clients",
                    "value": round(trivial_rate, 1),
                    "unit": "calls/s",
                },
                ratio=cost,
                ratio_target=f"<= {TARGET_COST}x the trivial call's cost",
                details={
                    "repayments": total,
                    "errors": errors,
                    "journal_entries_posted": posted,
                    "latency": measured,
                    "trivial_latency": timings(trivial_durations),
                    "trivial_errors": trivial_errors,
                    "gunicorn": f"{workers} workers x {threads} threads (gthread)",
                    "ledger_after": checks,
                    "load_average_before": load_before,
                },
            )
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
