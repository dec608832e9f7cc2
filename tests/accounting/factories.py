"""Ledger builders on top of the real services (no row is written here by hand).

Amounts are given as strings (``"1000.00"``) and turned into ``Decimal``; accounts by their code.
The default chart numbers the branch cash boxes in branch order: when the branches are created
head office → Praia → Mindelo (the ``ledger`` fixtures of the test modules make sure of it) the
cash accounts are 1101, 1102 and 1103.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Mapping
from decimal import Decimal

from accounting.chart import chart_install
from accounting.choices import AccountRole, EntrySource
from accounting.models import Account, JournalEntry, JournalLine, PostingRuleSet
from accounting.services import (
    LineSpec,
    account_for_role,
    event_post,
    journal_entry_post,
    manual_entry_approve,
    manual_entry_draft,
)
from users.models import Branch

BANK = "1150"  # the institution's bank account, shared by every branch
SHARE_CAPITAL = "3100"
HEAD_OFFICE_CASH = "1101"
PRAIA_CASH = "1102"
MINDELO_CASH = "1103"
ZERO = Decimal("0")

_references = itertools.count(1)

LineRow = tuple[str, Decimal | str | int, Decimal | str | int]


def D(value: Decimal | str | int) -> Decimal:  # noqa: N802 - reads like the literal it builds
    return value if isinstance(value, Decimal) else Decimal(str(value))


def chart() -> dict[str, PostingRuleSet]:
    """The default chart of accounts and the standard rule sets: {"cash": …, "accrual": …}."""
    return chart_install()


def account(code: str) -> Account:
    return Account.objects.get(code=code)


def cash_account(branch: Branch) -> Account:
    return account_for_role(AccountRole.CASH, branch)


def specs(rows: Iterable[LineRow]) -> list[LineSpec]:
    """(code, debit, credit) rows → line specs for the services."""
    return [
        LineSpec(account(code), debit=D(debit), credit=D(credit)) for code, debit, credit in rows
    ]


def debit_credit(debit_code: str, credit_code: str, amount: Decimal | str) -> list[LineRow]:
    """The two rows of a simple entry: debit ``debit_code``, credit ``credit_code``, same amount."""
    return [(debit_code, amount, "0"), (credit_code, "0", amount)]


def lines_of(entry: JournalEntry) -> tuple[tuple[str, Decimal, Decimal], ...]:
    """The entry's lines as (account code, debit, credit), in posting order."""
    return tuple(
        (line.account.code, line.debit, line.credit)
        for line in JournalLine.objects.filter(entry=entry).select_related("account").order_by("pk")
    )


def row_counts() -> tuple[int, int]:
    """(journal entries, journal lines) in the database."""
    return JournalEntry.objects.count(), JournalLine.objects.count()


def next_reference(prefix: str = "ref") -> str:
    return f"{prefix}-{next(_references)}"


def _entry_fields(
    branch: Branch, entry_date: datetime.date, currency: str, description: str
) -> dict[str, object]:
    """The keyword arguments that every posting service takes alike."""
    return {
        "entry_date": entry_date,
        "branch": branch,
        "currency": currency,
        "description": description,
    }


def draft_manual(
    maker,
    branch: Branch,
    entry_date: datetime.date,
    lines: Iterable[LineRow],
    *,
    description: str = "Manual entry",
    currency: str = "CVE",
) -> JournalEntry:
    """A manual entry drafted by ``maker`` (not yet approved: it does not count)."""
    return manual_entry_draft(
        actor=maker, lines=specs(lines), **_entry_fields(branch, entry_date, currency, description)
    )


def post_manual(
    maker, checker, branch: Branch, entry_date: datetime.date, lines: Iterable[LineRow], **options
) -> JournalEntry:
    """A manual entry drafted by ``maker`` (``options`` as for ``draft_manual``: description,
    currency) and approved (posted) by ``checker``."""
    draft = draft_manual(maker, branch, entry_date, lines, **options)
    return manual_entry_approve(actor=checker, entry=draft)


def post_system(
    branch: Branch,
    entry_date: datetime.date,
    lines: Iterable[LineRow],
    *,
    actor=None,
    source: str = EntrySource.LOAN_TRANSACTION,
    reference: str | None = None,
    description: str = "System entry",
    currency: str = "CVE",
) -> JournalEntry:
    """A system entry (as the loans app posts one), straight through ``journal_entry_post``."""
    return journal_entry_post(
        actor=actor,
        source=source,
        source_reference=reference if reference is not None else next_reference(source),
        lines=specs(lines),
        **_entry_fields(branch, entry_date, currency, description),
    )


def post_event(
    rule_set: PostingRuleSet,
    branch: Branch,
    entry_date: datetime.date,
    amounts: Mapping[str, Decimal | str],
    *,
    actor=None,
    source: str = EntrySource.LOAN_TRANSACTION,
    reference: str | None = None,
    currency: str = "CVE",
) -> JournalEntry | None:
    """Business events through a posting rule set, as the loans app reports them."""
    return event_post(
        actor=actor,
        rule_set=rule_set,
        amounts={event: D(amount) for event, amount in amounts.items()},
        source=source,
        source_reference=reference if reference is not None else next_reference(source),
        **_entry_fields(branch, entry_date, currency, "Loan transaction"),
    )
