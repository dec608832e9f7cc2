"""Registry records as the ingestion stores them, written directly (they are data from outside),
and a small ranked set of cases built through the real services.

One ``SourceRun`` per source; each record carries the registry's normalised fields in ``data`` as
``compliance.sources`` keeps them (amounts as 2-decimal strings, counts as integers).
"""

from __future__ import annotations

import datetime
import hashlib
import json

from django.utils import timezone

from compliance.cases import case_open
from compliance.choices import RequirementKind, RunStatus, RunTrigger, Severity, SourceKind
from compliance.evaluation import BANK_NO_FACILITY
from compliance.models import Case, RegistryRecord, Source, SourceRun
from loans.services import refresh_loan_balances
from tests.compliance.factories import make_source
from tests.loans.factories import active_loan, cash_product


def inps_source(**fields) -> Source:
    return make_source(SourceKind.SOCIAL_SECURITY, name="INPS", **fields)


def revenue_source(**fields) -> Source:
    return make_source(SourceKind.REVENUE, name="DNRE", **fields)


def bank_source(bank_code: str = "BCA", **fields) -> Source:
    return make_source(SourceKind.BANK, name=f"Bank {bank_code}", bank_code=bank_code, **fields)


def _run(source: Source) -> SourceRun:
    run = source.runs.first()
    if run is None:
        run = SourceRun.objects.create(
            source=source, trigger=RunTrigger.SCHEDULE, status=RunStatus.SUCCEEDED
        )
    return run


def record(
    source: Source,
    party,
    *,
    as_of: datetime.date,
    status: str,
    data: dict | None = None,
    valid_until: datetime.date | None = None,
    registry_number: str = "",
    retrieved_at: datetime.datetime | None = None,
) -> RegistryRecord:
    data = data or {}
    payload = json.dumps([status, as_of.isoformat(), str(valid_until), data], sort_keys=True)
    return RegistryRecord.objects.create(
        source=source,
        run=_run(source),
        party=party,
        nif=party.nif,
        registry_number=registry_number,
        as_of=as_of,
        retrieved_at=retrieved_at or timezone.now(),
        valid_until=valid_until,
        status=status,
        data=data,
        payload_sha256=hashlib.sha256(payload.encode()).hexdigest(),
    )


def inps_record(
    source: Source,
    party,
    *,
    as_of: datetime.date,
    status: str = "regular",
    months_in_arrears: int = 0,
    amount_due: str = "0.00",
    declared_employees: int | None = 5,
) -> RegistryRecord:
    data = {"months_in_arrears": months_in_arrears, "amount_due": amount_due, "currency": "CVE"}
    if declared_employees is not None:
        data["declared_employees"] = declared_employees
    return record(
        source,
        party,
        as_of=as_of,
        status=status,
        data=data,
        registry_number=party.social_security_number,
    )


def tax_record(
    source: Source,
    party,
    *,
    as_of: datetime.date,
    status: str = "regular",
    certificate_number: str | None = "CRT-2026-000123",
    valid_until: datetime.date | None = None,
    tax_debt: str = "0.00",
) -> RegistryRecord:
    issued_on = valid_until - datetime.timedelta(days=90) if valid_until else None
    return record(
        source,
        party,
        as_of=as_of,
        status=status,
        valid_until=valid_until,
        data={
            "certificate_number": certificate_number,
            "issued_on": issued_on.isoformat() if issued_on else None,
            "tax_debt": tax_debt,
            "currency": "CVE",
        },
    )


def bank_record(
    source: Source,
    party,
    *,
    as_of: datetime.date,
    account: str,
    days_past_due: int = 0,
    outstanding: str = "150000.00",
) -> RegistryRecord:
    return record(
        source,
        party,
        as_of=as_of,
        status="arrears" if days_past_due else "current",
        registry_number=account,
        data={
            "bank_code": source.bank_code,
            "account": account,
            "outstanding": outstanding,
            "currency": "CVE",
            "days_past_due": days_past_due,
        },
    )


def bank_no_facility(source: Source, party, *, as_of: datetime.date) -> RegistryRecord:
    """The bank answered that it has no facility for the party's NIF."""
    return record(
        source, party, as_of=as_of, status=BANK_NO_FACILITY, data={"bank_code": source.bank_code}
    )


def ranked_cases(officer, approver, rules, *, opened_on: datetime.date) -> dict[str, Case]:
    """Three open cases of Praia borrowers, each on its own reference loan:

    - ``late``: social security, high (weight 3), 120,000.00 outstanding, 5 days past due;
    - ``small``: tax, critical (weight 5), 50,000.00 outstanding, not late;
    - ``large``: bank arrears, low (weight 1), 200,000.00 outstanding, not late.

    Opened "on" ``opened_on`` (their deadlines count from it; ``opened_at`` is now).
    """
    product = cash_product(officer, rules)
    late = active_loan(officer, approver, product)
    small = active_loan(officer, approver, product, principal="50000")
    large = active_loan(officer, approver, product, principal="200000")
    refresh_loan_balances(late, as_of=datetime.date(2026, 2, 20))
    for loan in (small, large):
        refresh_loan_balances(loan, as_of=datetime.date(2026, 2, 1))
    issues = {
        "late": (late, RequirementKind.SOCIAL_SECURITY_PAID, Severity.HIGH),
        "small": (small, RequirementKind.TAX_REGULAR, Severity.CRITICAL),
        "large": (large, RequirementKind.NO_BANK_ARREARS, Severity.LOW),
    }
    return {
        name: case_open(
            party=loan.borrower, kind=kind, severity=severity, loan=loan, today=opened_on
        )[0]
        for name, (loan, kind, severity) in issues.items()
    }
