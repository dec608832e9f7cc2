"""Property: whatever is posted and reversed through the services, the ledger balances.

Each hypothesis example runs in its own savepoint that is rolled back at the end, so the
examples start from the same empty ledger inside the one test transaction pytest-django gives.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounting.choices import EntrySource, EntryStatus, PostingEvent
from accounting.models import Account, JournalEntry, JournalLine
from accounting.selectors import balance_sheet, balances_by_account, trial_balance
from accounting.services import event_post, journal_entry_reverse
from tests.accounting.factories import chart, post_manual, post_system

ZERO = Decimal("0")
FIRST_DAY = datetime.date(2026, 1, 1)
CENT = Decimal("0.01")

_references = itertools.count(1)

cents = st.integers(min_value=1, max_value=50_000_000)  # 0.01 … 500,000.00
day = st.integers(min_value=0, max_value=300)  # 2026-01-01 … 2026-10-28
pick = st.integers(min_value=0, max_value=10_000)  # an index, taken modulo the choices

system_entry = st.tuples(
    st.just("system"),
    pick,  # branch
    day,
    pick,  # debit account
    st.lists(st.tuples(pick, cents), min_size=1, max_size=4),  # credit accounts and amounts
)
manual_entry = st.tuples(
    st.just("manual"),
    pick,
    day,
    pick,
    st.lists(st.tuples(pick, cents), min_size=1, max_size=3),
)
business_event = st.tuples(
    st.just("event"),
    pick,
    day,
    st.sampled_from(["cash", "accrual"]),
    st.dictionaries(st.sampled_from(sorted(PostingEvent.values)), cents, min_size=1, max_size=4),
)
reversal = st.tuples(st.just("reverse"), pick, st.booleans())
operations = st.lists(
    st.one_of(system_entry, manual_entry, business_event, reversal), min_size=1, max_size=10
)


@pytest.fixture
def ledger(head_office, praia, mindelo):
    return chart()


def _money(amount_in_cents: int) -> Decimal:
    return (Decimal(amount_in_cents) * CENT).quantize(CENT)


def _check_invariants(branches, expected_net: dict[str, Decimal]) -> None:
    today = timezone.localdate()
    for branch_ids in (None, *([branch.pk] for branch in branches)):
        report = trial_balance(as_of=today, branch_ids=branch_ids)
        assert report.total_debit == report.total_credit
        sheet = balance_sheet(as_of=today, branch_ids=branch_ids)
        totals = sheet.totals
        assert totals["asset"] == totals["liability"] + totals["equity"] + totals["current_result"]
    balances = balances_by_account()
    assert sum((row.net_debit for row in balances), ZERO) == ZERO
    assert {row.account.code: row.net_debit for row in balances if row.net_debit} == {
        code: net for code, net in expected_net.items() if net
    }
    totals = JournalLine.objects.filter(entry__status=EntryStatus.POSTED).aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    assert (totals["debit"] or ZERO) == (totals["credit"] or ZERO)


def _record(entry: JournalEntry, expected_net: dict[str, Decimal]) -> None:
    for line in entry.lines.select_related("account"):
        expected_net[line.account.code] = (
            expected_net.get(line.account.code, ZERO) + line.debit - line.credit
        )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_any_sequence_of_postings_and_reversals_keeps_the_ledger_balanced(
    ledger, accountant, manager, head_office, praia, mindelo, steps
):
    branches = [head_office, praia, mindelo]
    detail = list(Account.objects.filter(is_header=False, is_active=True).order_by("code"))
    manual = [account for account in detail if account.allows_manual_entries]
    with transaction.atomic():
        expected_net: dict[str, Decimal] = {}
        posted: list[JournalEntry] = []
        reversed_ids: set[int] = set()
        for step in steps:
            kind = step[0]
            if kind in {"system", "manual"}:
                _, branch_pick, offset, debit_pick, credits = step
                branch = branches[branch_pick % len(branches)]
                choices = [  # a branch posts to shared accounts and its own cash box only
                    account
                    for account in (detail if kind == "system" else manual)
                    if account.branch_id in (None, branch.pk)
                ]
                amounts = [(choices[index % len(choices)], _money(c)) for index, c in credits]
                total = sum((amount for _, amount in amounts), ZERO)
                rows = [(choices[debit_pick % len(choices)].code, total, ZERO)]
                rows += [(account.code, ZERO, amount) for account, amount in amounts]
                entry_date = FIRST_DAY + datetime.timedelta(days=offset)
                if kind == "system":
                    entry = post_system(
                        branch,
                        entry_date,
                        rows,
                        source=EntrySource.END_OF_DAY,
                        reference=f"eod-{next(_references)}",
                        description="Random system entry",
                    )
                else:
                    entry = post_manual(
                        accountant,
                        manager,
                        branch,
                        entry_date,
                        rows,
                        description="Random manual entry",
                    )
            elif kind == "event":
                _, branch_pick, offset, rule_set, events = step
                entry = event_post(
                    actor=None,
                    rule_set=ledger[rule_set],
                    entry_date=FIRST_DAY + datetime.timedelta(days=offset),
                    branch=branches[branch_pick % len(branches)],
                    currency="CVE",
                    amounts={event: _money(c) for event, c in events.items()},
                    description="Random business events",
                    source=EntrySource.LOAN_TRANSACTION,
                    source_reference=f"loan-{next(_references)}",
                )
                if entry is None:  # only accruals, under cash accounting
                    continue
            else:
                _, entry_pick, dated_like_original = step
                candidates = [
                    entry
                    for entry in posted
                    if entry.pk not in reversed_ids and entry.source != EntrySource.REVERSAL
                ]
                if not candidates:
                    continue
                original = candidates[entry_pick % len(candidates)]
                entry = journal_entry_reverse(
                    actor=manager,
                    entry=original,
                    entry_date=original.entry_date if dated_like_original else None,
                    reason="Random correction",
                )
                reversed_ids.add(original.pk)
            event(f"step: {kind}")
            assert entry.status == EntryStatus.POSTED
            posted.append(entry)
            _record(entry, expected_net)
            _check_invariants(branches, expected_net)
        # the database's own deferred balance check agrees with every entry written
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        transaction.set_rollback(True)
