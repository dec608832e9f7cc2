"""Figure: the PDFs staff print: a loan contract (target <= 1 s) and the portfolio report of a
loan officer's 1,000 loans (target <= 10 s), rendered warm through the real views (WeasyPrint).

    python benchmarks/bench_pdfs.py [--json out.json] [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import cli, django_setup, finish, result, signed_in_client

TARGET_CONTRACT = 1.0
TARGET_REPORT = 10.0
REPORT_LOANS = 1000


def _time(client, url: str, repeat: int) -> tuple[list[float], int]:
    durations = []
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf", url
        size = len(response.content)
    return durations, size


def main() -> None:
    args = cli(__doc__)
    django_setup(args.database_url)
    from django.db.models import Count

    from loans.models import Loan
    from users.models import User
    from users.roles import Role

    loan = Loan.objects.filter(status="active", number_of_repayments=18).order_by("pk").first()
    officer_id = (
        Loan.objects.filter(officer__role=Role.LOAN_OFFICER)
        .values("officer_id")
        .annotate(loans=Count("pk"))
        .filter(loans__gte=REPORT_LOANS if not args.quick else 1)
        .order_by("loans", "officer_id")
        .first()["officer_id"]
    )
    officer = User.objects.get(pk=officer_id)
    mine = Loan.objects.filter(officer=officer).count()
    client = signed_in_client(User.objects.get(username="manager"))
    contract_url = f"/loans/{loan.pk}/contract.pdf"
    client.get(contract_url)  # WeasyPrint's import and fonts out of the figure
    contract, contract_size = _time(client, contract_url, 3 if args.quick else 10)
    client = signed_in_client(officer)
    report_url = "/loans/portfolio-report.pdf?view=mine"
    report, report_size = _time(client, report_url, 1 if args.quick else 3)
    contract_worst, report_worst = max(contract), max(report)
    finish(
        [
            result(
                "PDF: loan contract",
                value=round(contract_worst, 2),
                unit="s (slowest of the runs)",
                target=f"<= {TARGET_CONTRACT} s",
                passed=contract_worst <= TARGET_CONTRACT,
                details={
                    "loan": loan.number,
                    "installments": loan.number_of_repayments,
                    "runs": len(contract),
                    "median_s": round(sorted(contract)[len(contract) // 2], 2),
                    "bytes": contract_size,
                },
            ),
            result(
                f"PDF: portfolio report of {mine:,} loans",
                value=round(report_worst, 2),
                unit="s (slowest of the runs)",
                target=f"<= {TARGET_REPORT} s for {REPORT_LOANS:,} loans",
                passed=report_worst <= TARGET_REPORT and (mine >= REPORT_LOANS or args.quick),
                details={
                    "officer": officer.username,
                    "loans": mine,
                    "runs": len(report),
                    "bytes": report_size,
                },
            ),
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
