"""Index review: every filter and sort the screens offer on a large table is served by an index.

Each query is built by the same selector the screen uses and explained by PostgreSQL with
sequential scans priced out (``enable_seqscan = off``): if an index can serve the query the plan
uses it, otherwise PostgreSQL still falls back to a sequential scan, which these tests refuse.
(On the test database the tables are small, so without that setting the planner would rightly
scan them; at 100,000 loans the same indexes are what ``benchmarks/bench_pages.py`` measures.)
Where a screen pages through a large table in a fixed order, the order must come from the
index too (``sorted_by_index``); a sort of one loan's or one branch's rows is bounded and fine.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.utils import timezone

from accounting.models import Account, AccountDayMovement, JournalLine
from accounting.selectors import from_the_start_query, journal, posted_lines
from audit.selectors import events_for_object
from coaching.selectors import engagement_list
from crm.selectors import parties_visible_to
from loans.models import Loan, PortfolioSnapshot
from loans.selectors import (
    VIEW_ARREARS,
    VIEW_DUE_TODAY,
    VIEW_MINE,
    approval_inbox,
    loan_portfolio,
    loan_transactions_queryset,
)
from tests.benchmarks.scale import seeded_database
from users.models import Branch, User

BIG_TABLES = {
    "loans_loan",
    "loans_installment",
    "loans_loantransaction",
    "loans_portfoliosnapshot",
    "accounting_journalentry",
    "accounting_journalline",
    "accounting_accountdaymovement",
    "audit_auditevent",
    "crm_party",
    "coaching_engagement",
}
# Plan nodes that read a table through an index.
INDEXED = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with seeded_database(django_db_blocker, loans=60) as result:
        yield result


def _nodes(plan: dict) -> list[tuple[str, str]]:
    """(node type, table or "") of every node of a JSON plan."""
    found = [(plan["Node Type"], plan.get("Relation Name", ""))]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


def _assert_indexed(queryset, table: str, *, sorted_by_index: bool = False) -> None:
    """The query reads ``table`` through an index and no large table sequentially; with
    ``sorted_by_index`` its order comes from an index too (no sort of every matching row;
    an incremental sort of rows already in index order is fine)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    nodes = _nodes(json.loads(queryset.explain(format="json"))[0]["Plan"])
    scans = [(node, scanned) for node, scanned in nodes if scanned in BIG_TABLES]
    assert scans, "the query reads no large table"
    assert not [scan for scan in scans if scan[0] == "Seq Scan"], nodes
    assert any(scanned == table and node in INDEXED for node, scanned in scans), nodes
    if sorted_by_index:
        assert "Sort" not in [node for node, _table in nodes], nodes


def _user(username: str) -> User:
    return User.objects.get(username=username)


# --- loans: the portfolio tabs, its filters, the approval inbox, a loan's records ------------


def test_my_loans_use_the_officer_index(seeded, db):
    _assert_indexed(loan_portfolio(user=_user("officer"), view=VIEW_MINE)[:25], "loans_loan")


def test_loans_in_arrears_sort_on_the_days_past_due_index(seeded, db):
    if connection.pg_version < 160000:
        pytest.skip("PostgreSQL 15 plans a sort after a nested loop here; 16+ uses the index")
    loans = loan_portfolio(user=_user("manager"), view=VIEW_ARREARS)[:25]
    _assert_indexed(loans, "loans_loan", sorted_by_index=True)


def test_loans_due_today_find_the_installments_by_due_date(seeded, db):
    loans = loan_portfolio(user=_user("manager"), view=VIEW_DUE_TODAY)[:25]
    _assert_indexed(loans, "loans_installment")


@pytest.mark.parametrize("status", ["active", "closed", "submitted"])
def test_the_status_filter_uses_an_index(seeded, db, status):
    loans = loan_portfolio(user=_user("manager"), view="all", status=status)[:25]
    _assert_indexed(loans, "loans_loan")


def test_the_branch_filter_uses_an_index(seeded, db):
    praia = Branch.objects.get(code="praia")
    _assert_indexed(
        loan_portfolio(user=_user("manager"), view="all", branch_id=praia.pk)[:25], "loans_loan"
    )


def test_the_product_filter_uses_an_index(seeded, db):
    product_id = Loan.objects.values_list("product_version__product_id", flat=True).first()
    loans = loan_portfolio(user=_user("manager"), view="all", product_id=product_id)[:25]
    _assert_indexed(loans, "loans_loan")


def test_the_whole_portfolio_newest_first_uses_an_index(seeded, db):
    _assert_indexed(
        loan_portfolio(user=_user("manager"), view="all")[:25], "loans_loan", sorted_by_index=True
    )


def test_the_approval_inbox_uses_the_status_index(seeded, db):
    _assert_indexed(approval_inbox(_user("branchmanager"))[:25], "loans_loan")


def test_a_loans_transactions_use_the_loan_index(seeded, db):
    loan = Loan.objects.filter(status="active").first()
    _assert_indexed(
        loan_transactions_queryset(loan=loan)[:50],
        "loans_loantransaction",
    )


def test_a_loans_history_uses_the_audit_object_index(seeded, db):
    loan = Loan.objects.filter(status="active").first()
    _assert_indexed(events_for_object(target=loan)[:20], "audit_auditevent", sorted_by_index=True)


def test_the_par_dashboard_reads_one_days_snapshot_by_index(seeded, db):
    snapshots = PortfolioSnapshot.objects.filter(business_date=seeded.as_of, currency="CVE")
    _assert_indexed(snapshots, "loans_portfoliosnapshot")


# --- accounting: entries, journal, general ledger, balances ---------------------------------


def test_the_entry_list_newest_first_uses_the_date_index(seeded, db):
    from accounting.selectors import entries_visible_to

    entries = entries_visible_to(_user("accountant")).order_by("-entry_date", "-pk")[:50]
    _assert_indexed(entries, "accounting_journalentry", sorted_by_index=True)


def test_the_journal_pages_through_the_date_and_number_index(seeded, db):
    today = timezone.localdate()
    entries = journal(date_from=today.replace(month=1, day=1), date_to=today)[:51]
    _assert_indexed(entries, "accounting_journalentry", sorted_by_index=True)


def test_the_general_ledger_finds_an_accounts_lines_by_index(seeded, db):
    cash = Account.objects.get(role="CASH", branch__code="praia")
    today = timezone.localdate()
    lines = (
        posted_lines(date_from=today - datetime.timedelta(days=365), date_to=today)
        .filter(account=cash)
        .order_by("entry__entry_date", "entry__number", "pk")[:101]
    )
    _assert_indexed(lines, "accounting_journalline")


def test_balances_read_the_days_since_each_branchs_carried_balance_by_index(seeded, db):
    # the trial balance, balance sheet and loans reconciliation (balances from the beginning)
    sql, params = from_the_start_query(date_to=seeded.as_of, currency="CVE")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {MOVEMENTS}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    root = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    nodes = _plan_nodes(root)
    days = [node["Node Type"] for node in nodes if node.get("Relation Name") == MOVEMENTS]
    indexes = {node["Index Name"] for node in nodes if "Index Name" in node}
    # a range of days per branch, from the branch and day index (never all of history)
    assert days and set(days) <= INDEXED, days
    assert "acct_movement_branch_day" in indexes, indexes


MOVEMENTS = "accounting_accountdaymovement"


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


def test_balances_of_a_period_read_the_movements_by_currency_and_day(seeded, db):
    movements = AccountDayMovement.objects.filter(
        currency="CVE", day__gte=seeded.as_of - datetime.timedelta(days=30), day__lte=seeded.as_of
    )
    _assert_indexed(movements.values("account_id"), "accounting_accountdaymovement")


def test_an_accounts_opening_balance_reads_its_movements_by_index(seeded, db):
    cash = Account.objects.get(role="CASH", branch__code="praia")
    movements = AccountDayMovement.objects.filter(account=cash, day__lt=seeded.as_of)
    _assert_indexed(movements, "accounting_accountdaymovement")


def test_journal_lines_of_an_entry_use_the_entry_index(seeded, db):
    entry_id = JournalLine.objects.values_list("entry_id", flat=True).first()
    _assert_indexed(JournalLine.objects.filter(entry_id=entry_id), "accounting_journalline")


# --- CRM and coaching lists -----------------------------------------------------------------


def test_the_party_list_of_a_branch_uses_the_branch_and_name_index(seeded, db):
    parties = parties_visible_to(_user("officer")).order_by("display_name")[:25]
    _assert_indexed(parties, "crm_party")


def test_a_coachs_engagements_use_the_coach_index(seeded, db):
    engagements = engagement_list(user=_user("coach"), mine=True)[:25]
    _assert_indexed(engagements, "coaching_engagement")
