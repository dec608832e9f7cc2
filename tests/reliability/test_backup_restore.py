"""Backups restore: real loans, repayments and journal entries are committed, ``scripts/backup.sh``
dumps the test database and its uploaded files, ``scripts/restore.sh`` restores them into a fresh
database, and a separate process connected to that database finds the ledger balanced, every loan
reconciled with the general ledger and as many rows in the main tables as in the source.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from django.db import connection
from psycopg2 import sql

from accounting.choices import AccountRole
from accounting.models import JournalLine
from accounting.selectors import movements_mismatches, trial_balance
from loans.choices import LoanStatus, TransactionKind
from loans.models import Loan, LoanDocument
from loans.portfolio import loans_reconciliation
from loans.services import business_date, loan_document_add, repayment_record
from mfi.money import round_money
from mfi.scale.checks import ledger_rules
from tests.accounting.factories import PRAIA_CASH, chart, debit_credit, post_manual
from tests.loans.factories import (
    EMI,
    TOTAL_REPAYMENT,
    active_loan,
    approved_loan,
    cash_product,
    document_file,
)

ROOT = Path(__file__).resolve().parents[2]
MAIN_TABLES = (
    "users_user",
    "crm_party",
    "loans_loan",
    "loans_installment",
    "loans_loantransaction",
    "loans_repaymentallocation",
    "loans_loandocument",
    "accounting_account",
    "accounting_journalentry",
    "accounting_journalline",
    "accounting_accountdaymovement",
    "audit_auditevent",
)

pytestmark = pytest.mark.django_db(transaction=True)


def ledger_summary() -> dict:
    """What must survive a backup, as JSON-ready values: the trial balance, the loans ↔ GL
    reconciliation (in total and loan by loan), the ledger invariants and the row counts."""
    as_of = business_date()
    report = trial_balance(as_of=as_of)
    reconciliation = loans_reconciliation(as_of=as_of)
    loans = {}
    for loan in Loan.objects.order_by("number"):
        entry_ids = loan.transactions.exclude(journal_entry=None).values("journal_entry_id")
        portfolio = sum(
            (
                line.debit - line.credit
                for line in JournalLine.objects.filter(
                    entry_id__in=entry_ids, account__role=AccountRole.LOAN_PORTFOLIO
                )
            ),
            Decimal("0"),
        )
        repaid = sum(
            (
                txn.principal_portion
                for txn in loan.transactions.filter(
                    kind=TransactionKind.REPAYMENT, is_reversed=False
                )
            ),
            Decimal("0"),
        )
        lent = loan.principal if loan.disbursed_on else Decimal("0")
        loans[loan.number] = {
            "status": loan.status,
            "principal_outstanding": str(round_money(loan.principal_outstanding, loan.currency)),
            "gl_portfolio": str(round_money(portfolio, loan.currency)),
            "principal_less_repaid": str(round_money(lent - repaid, loan.currency)),
        }
    with connection.cursor() as cursor:
        counts = {}
        for table in MAIN_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our table names
            counts[table] = cursor.fetchone()[0]
    return {
        "total_debit": str(report.total_debit),
        "total_credit": str(report.total_credit),
        "gl_portfolio": str(reconciliation["gl_balance"]),
        "subledger": str(reconciliation["subledger_balance"]),
        "difference": str(reconciliation["difference"]),
        "loans": loans,
        "ledger_rules": ledger_rules(),
        "movements_mismatches": movements_mismatches(),
        "counts": counts,
        "documents": sorted(LoanDocument.objects.values_list("file", flat=True)),
    }


def _url(name: str) -> str:
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    credentials = f"{settings['USER']}:{settings['PASSWORD']}"
    if host.startswith("/"):  # the embedded server listens on a Unix socket directory
        return f"postgres://{credentials}@/{name}?host={host}&port={port}"
    return f"postgres://{credentials}@{host}:{port}/{name}"


def _run(command: list[str], *, database: str, media_root: Path, backups: Path):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mfi.settings.base",
        "DATABASE_URL": _url(database),
        "MEDIA_ROOT": str(media_root),
        "BACKUP_DIR": str(backups),
    }
    return subprocess.run(  # noqa: S603 - our own scripts
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )


def _drop(name: str) -> None:
    settings = connection.settings_dict
    server = psycopg2.connect(
        dbname="postgres",
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        server.close()


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    yield name
    _drop(name)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_backup_restores_into_a_fresh_database_with_the_ledger_and_loans_reconciled(
    head_office,
    praia,
    mindelo,
    loan_officer,
    credit_committee,
    accountant,
    manager,
    media_root,
    tmp_path,
    restored_name,
):
    # given: loans disbursed and repaid, one paid off, one only approved, a manual entry, a scan
    # (posted in date order, as the ledger's numbering rule expects)
    rules = chart()
    product = cash_product(manager, rules)
    repaying = active_loan(loan_officer, credit_committee, product)
    paid_off = active_loan(loan_officer, credit_committee, product)
    repayment_record(
        actor=loan_officer,
        loan=paid_off,
        amount=TOTAL_REPAYMENT,
        value_date=datetime.date(2026, 2, 1),
    )
    for value_date in (datetime.date(2026, 2, 15), datetime.date(2026, 3, 15)):
        repayment_record(actor=loan_officer, loan=repaying, amount=EMI, value_date=value_date)
    post_manual(
        accountant,
        manager,
        praia,
        datetime.date(2026, 3, 20),
        debit_credit(PRAIA_CASH, "1150", "2500.00"),
    )
    approved_loan(loan_officer, credit_committee, product)
    loan_document_add(
        actor=loan_officer, loan=repaying, kind="id_card", file=document_file("id.pdf")
    )
    source = ledger_summary()
    assert source["loans"][repaying.number] == {
        "status": LoanStatus.ACTIVE,
        "principal_outstanding": "101926.76",
        "gl_portfolio": "101926.76",
        "principal_less_repaid": "101926.76",
    }
    assert source["loans"][paid_off.number]["status"] == LoanStatus.CLOSED
    assert source["difference"] == "0.00"
    assert source["ledger_rules"] == dict.fromkeys(source["ledger_rules"], 0)
    assert source["counts"]["loans_loan"] == 3
    assert source["counts"]["loans_loantransaction"] == 5
    backups = tmp_path / "backups"
    source_db = connection.settings_dict["NAME"]
    connection.close()  # so that the dump sees only committed work, like any other client

    # when: backed up, then restored into a fresh database with an empty media directory
    backup = _run(
        ["bash", "scripts/backup.sh"], database=source_db, media_root=media_root, backups=backups
    )
    assert backup.returncode == 0, backup.stderr
    dumps = sorted(backups.glob("*.dump"))
    assert len(dumps) == 1
    assert sorted(path.name for path in backups.iterdir()) == [
        dumps[0].name,
        dumps[0].name.replace(".dump", ".media.tar.gz"),
        dumps[0].name.replace(".dump", ".sha256"),
    ]
    restored_media = tmp_path / "restored-media"
    restore = _run(
        ["bash", "scripts/restore.sh", str(dumps[0])],
        database=restored_name,
        media_root=restored_media,
        backups=backups,
    )
    assert restore.returncode == 0, restore.stderr
    # restore.sh ends with the platform's own checks on the restored database
    assert "Loans ↔ GL CVE" in restore.stdout
    assert "GL 101,926.76 · sub-ledger 101,926.76 · difference 0.00" in restore.stdout
    assert "Maintained movements differing from the journal lines: 0" in restore.stdout

    # then: a process connected to the restored database sees the same ledger and loans
    check = _run(
        [
            sys.executable,
            "-c",
            "import django, json; django.setup(); "
            "from tests.reliability.test_backup_restore import ledger_summary; "
            "print(json.dumps(ledger_summary()))",
        ],
        database=restored_name,
        media_root=restored_media,
        backups=backups,
    )
    assert check.returncode == 0, check.stderr
    restored = json.loads(check.stdout.strip().splitlines()[-1])
    assert restored == source
    assert restored["total_debit"] == restored["total_credit"]
    assert restored["ledger_rules"] == dict.fromkeys(source["ledger_rules"], 0)
    assert restored["movements_mismatches"] == 0
    for loan in restored["loans"].values():
        assert (
            loan["gl_portfolio"] == loan["principal_outstanding"] == loan["principal_less_repaid"]
        )
    # and the uploaded scan came back, byte for byte
    (document,) = source["documents"]
    assert (restored_media / document).read_bytes() == (media_root / document).read_bytes()

    # and restoring over the now non-empty database is refused without --force
    again = _run(
        ["bash", "scripts/restore.sh", "--no-media", str(dumps[0])],
        database=restored_name,
        media_root=restored_media,
        backups=backups,
    )
    assert again.returncode == 2
    assert "already has" in again.stderr
