"""Demo ledger: the chart, and a year of manual entries (capital, funding, transfers to branch
cash, salaries, rent, interest on borrowings), each drafted by the accountant and approved by the
manager, as the maker-checker rule requires."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

from accounting import services
from accounting.chart import chart_install
from accounting.choices import AccountRole, EntrySource
from accounting.models import Account, JournalEntry
from accounting.services import LineSpec, account_for_role
from users.models import Branch, User

YEAR = 2026
MONTHS = range(1, 11)  # January to October 2026
BRANCH_COSTS = {  # branch code: (cash transfer, salaries, rent) per month, CVE
    "praia": (Decimal("600000"), Decimal("420000"), Decimal("95000")),
    "mindelo": (Decimal("450000"), Decimal("310000"), Decimal("70000")),
    "sal": (Decimal("300000"), Decimal("240000"), Decimal("65000")),
}


def _post(maker, checker, branch, day, description, lines):
    entry = services.manual_entry_draft(
        actor=maker,
        entry_date=day,
        branch=branch,
        currency="CVE",
        description=description,
        lines=lines,
    )
    services.manual_entry_approve(actor=checker, entry=entry)


def _dr_cr(debit_account, credit_account, amount):
    return [LineSpec(debit_account, debit=amount), LineSpec(credit_account, credit=amount)]


@transaction.atomic
def seed_ledger(*, maker: User, checker: User) -> int:
    """Post the demo year once; returns how many entries were created."""
    chart_install()
    if JournalEntry.objects.filter(source=EntrySource.MANUAL).exists():
        return 0
    head_office = Branch.objects.get(code="hq")
    bank = account_for_role(AccountRole.BANK)
    codes = {
        account.code: account
        for account in Account.objects.filter(code__in=["5100", "5200", "5500"])
    }
    _post(
        maker,
        checker,
        head_office,
        datetime.date(YEAR, 1, 2),
        "Paid-in share capital",
        _dr_cr(bank, account_for_role(AccountRole.SHARE_CAPITAL), Decimal("25000000")),
    )
    _post(
        maker,
        checker,
        head_office,
        datetime.date(YEAR, 1, 15),
        "Credit line from the development bank",
        _dr_cr(bank, account_for_role(AccountRole.BORROWINGS), Decimal("40000000")),
    )
    count = 2
    for month in MONTHS:
        for code, (transfer, salaries, rent) in BRANCH_COSTS.items():
            branch = Branch.objects.get(code=code)
            cash = account_for_role(AccountRole.CASH, branch)
            _post(
                maker,
                checker,
                branch,
                datetime.date(YEAR, month, 3),
                f"Cash transfer to {branch.name}",
                _dr_cr(cash, bank, transfer),
            )
            _post(
                maker,
                checker,
                branch,
                datetime.date(YEAR, month, 25),
                f"Salaries {branch.name} {YEAR}-{month:02d}",
                _dr_cr(codes["5100"], bank, salaries),
            )
            _post(
                maker,
                checker,
                branch,
                datetime.date(YEAR, month, 5),
                f"Rent {branch.name} {YEAR}-{month:02d}",
                _dr_cr(codes["5200"], cash, rent),
            )
            count += 3
        _post(
            maker,
            checker,
            head_office,
            datetime.date(YEAR, month, 28),
            f"Interest on the credit line {YEAR}-{month:02d}",
            _dr_cr(codes["5500"], bank, Decimal("160000")),
        )
        count += 1
    return count
