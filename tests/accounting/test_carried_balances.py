"""Carried balances (``CarriedBalance``): a branch's sums up to the end of its latest closed
month, kept by PostgreSQL, so a balance "as of" a day adds up one row per account plus the days
since. Whatever is posted, closed, reopened or posted back-dated, every balance read through them
equals the sum of the day movements, and they equal those sums themselves."""

from __future__ import annotations

import calendar
import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.models import Account, AccountDayMovement, CarriedBalance
from accounting.selectors import (
    account_net_debit,
    balances_by_account,
    movements_mismatches,
    trial_balance,
)
from accounting.services import period_close, period_reopen
from tests.accounting.factories import (
    BANK,
    MINDELO_CASH,
    PRAIA_CASH,
    SHARE_CAPITAL,
    D,
    account,
    chart,
    debit_credit,
    post_system,
)

JAN_10 = datetime.date(2026, 1, 10)
FEB_20 = datetime.date(2026, 2, 20)
FEB_28 = datetime.date(2026, 2, 28)
MAR_1 = datetime.date(2026, 3, 1)
MAR_5 = datetime.date(2026, 3, 5)
APR_1 = datetime.date(2026, 4, 1)
ONE_DAY = datetime.timedelta(days=1)


@pytest.fixture
def ledger(head_office, praia, mindelo):
    return chart()


def _carried(branch) -> dict[str, tuple]:
    """{account code: (through, debit, credit)} of the branch's carried balance."""
    return {
        row.account.code: (row.through, row.debit, row.credit)
        for row in CarriedBalance.objects.filter(branch=branch).select_related("account")
    }


def _from_days(date_to, **filters) -> dict[tuple[int, str], tuple[Decimal, Decimal]]:
    """What a balance must be: the day movements summed up to ``date_to``, nothing carried."""
    rows = (
        AccountDayMovement.objects.filter(day__lte=date_to, **filters)
        .values("account_id", "currency")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    return {(row["account_id"], row["currency"]): (row["debit"], row["credit"]) for row in rows}


def _read(date_to, **scope) -> dict[tuple[int, str], tuple[Decimal, Decimal]]:
    return {
        (row.account.pk, row.currency): (row.debit, row.credit)
        for row in balances_by_account(date_to=date_to, **scope)
    }


def test_closing_a_month_carries_the_branch_sums_up_to_its_end(ledger, praia, accountant):
    # given postings in January, February and March
    post_system(praia, JAN_10, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "1000"))
    post_system(praia, FEB_28, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "250.50"))
    post_system(praia, MAR_1, debit_credit(BANK, PRAIA_CASH, "100"))
    # when February is closed
    period_close(actor=accountant, branch=praia, year=2026, month=2)
    # then January and February are carried, March is read from its day
    assert _carried(praia) == {
        PRAIA_CASH: (FEB_28, D("1250.50"), D("0")),
        SHARE_CAPITAL: (FEB_28, D("0"), D("1250.50")),
    }
    report = trial_balance(as_of=APR_1, branch_ids=[praia.pk])
    assert [(row["account"].code, row["debit"], row["credit"]) for row in report.rows] == [
        (PRAIA_CASH, D("1150.50"), D("0")),
        (BANK, D("100.00"), D("0")),
        (SHARE_CAPITAL, D("0"), D("1250.50")),
    ]
    assert movements_mismatches() == 0


def test_a_back_dated_posting_drops_the_carried_balance_and_balances_stay_exact(
    ledger, praia, mindelo, accountant
):
    # given February closed in Praia and in Mindelo, January still open in Praia
    post_system(praia, FEB_20, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "300"))
    post_system(mindelo, FEB_20, debit_credit(MINDELO_CASH, SHARE_CAPITAL, "80"))
    period_close(actor=accountant, branch=praia, year=2026, month=2)
    period_close(actor=accountant, branch=mindelo, year=2026, month=2)
    # when an entry dated in Praia's open January is posted, and one in March
    post_system(praia, JAN_10, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "45"))
    post_system(praia, MAR_5, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "5"))
    # then Praia's carried balance is gone (it would miss January), Mindelo's stays
    assert _carried(praia) == {}
    assert set(_carried(mindelo)) == {MINDELO_CASH, SHARE_CAPITAL}
    assert account_net_debit(accounts=[account(PRAIA_CASH).pk], date_to=APR_1) == D("350.00")
    assert _read(APR_1) == _from_days(APR_1)
    # when March is closed, Praia is carried again, January included
    period_close(actor=accountant, branch=praia, year=2026, month=3)
    assert _carried(praia)[PRAIA_CASH] == (datetime.date(2026, 3, 31), D("350.00"), D("0"))
    assert movements_mismatches() == 0


def test_reopening_carries_from_the_latest_month_still_closed(
    ledger, praia, accountant, administrator
):
    # given January and February closed
    post_system(praia, JAN_10, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "10"))
    post_system(praia, FEB_20, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "20"))
    period_close(actor=accountant, branch=praia, year=2026, month=1)
    period_close(actor=accountant, branch=praia, year=2026, month=2)
    # when February is reopened
    period_reopen(actor=administrator, branch=praia, year=2026, month=2)
    # then the carried balance ends with January
    assert _carried(praia)[PRAIA_CASH] == (datetime.date(2026, 1, 31), D("10.00"), D("0"))
    # when January is reopened too, nothing is carried
    period_reopen(actor=administrator, branch=praia, year=2026, month=1)
    assert _carried(praia) == {}
    assert _read(APR_1) == _from_days(APR_1)


def test_a_balance_as_of_a_day_before_the_carried_one_is_read_from_the_days(
    ledger, praia, accountant
):
    # given February closed (carried to 28 February)
    post_system(praia, JAN_10, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "70"))
    post_system(praia, FEB_20, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "30"))
    period_close(actor=accountant, branch=praia, year=2026, month=2)
    # when the balance is asked as of 31 January
    cash = account_net_debit(accounts=[account(PRAIA_CASH).pk], date_to=datetime.date(2026, 1, 31))
    # then it has January only
    assert cash == D("70.00")


def test_the_carried_balances_take_no_direct_write(ledger, praia, accountant):
    # given a carried balance
    post_system(praia, JAN_10, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "10"))
    period_close(actor=accountant, branch=praia, year=2026, month=1)
    row = CarriedBalance.objects.get(branch=praia, account=account(PRAIA_CASH))
    # when it is changed directly, then the database refuses
    with pytest.raises(DatabaseError) as error, transaction.atomic():
        CarriedBalance.objects.filter(pk=row.pk).update(debit=D("99"))
    assert "carried balances are kept by the ledger itself" in str(error.value)
    assert CarriedBalance.objects.get(pk=row.pk).debit == D("10.00")


def test_a_carried_balance_altered_behind_the_ledger_is_found_and_rebuilt(
    ledger, praia, accountant
):
    # given a carried balance altered with the guard switched off
    post_system(praia, JAN_10, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "10"))
    period_close(actor=accountant, branch=praia, year=2026, month=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('accounting.carrying', 'on', true)")
        cursor.execute("UPDATE accounting_carriedbalance SET debit = 11 WHERE debit = 10")
        cursor.execute("SELECT set_config('accounting.carrying', 'off', true)")
    # then the check counts it, and a rebuild counts it again
    assert movements_mismatches() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT accounting_carried_rebuild()")
    assert movements_mismatches() == 0
    assert _carried(praia)[PRAIA_CASH] == (datetime.date(2026, 1, 31), D("10.00"), D("0"))


def test_the_trial_balance_reads_the_carried_rows_and_the_days_since(
    ledger, praia, accountant, django_assert_num_queries
):
    # given February closed and a posting in March
    post_system(praia, FEB_20, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "10"))
    period_close(actor=accountant, branch=praia, year=2026, month=2)
    post_system(praia, MAR_5, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "1"))
    # when the balances are read: one query for the sums, one for the accounts
    with django_assert_num_queries(2):
        balances = _read(APR_1, branch_ids=[praia.pk], currency="CVE")
    # then
    assert balances[(account(PRAIA_CASH).pk, "CVE")] == (D("11.00"), D("0"))


# --- whatever happens, a balance equals the days' sums ----------------------------------------

MONTHS = st.integers(min_value=1, max_value=4)  # January … April 2026
step = st.tuples(
    st.sampled_from(["post", "post", "close", "reopen"]),
    st.sampled_from(["praia", "mindelo"]),
    MONTHS,
    st.sampled_from([1, 31]),  # a month's first or last day (31 clipped to it)
    st.integers(min_value=1, max_value=100_000),  # cents
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_any_history_of_postings_closes_and_reopens_reads_the_same_balances(
    ledger, praia, mindelo, accountant, administrator, steps
):
    branches = {"praia": praia, "mindelo": mindelo}
    cash = {"praia": PRAIA_CASH, "mindelo": MINDELO_CASH}
    with transaction.atomic():
        for kind, name, month, day, cents in steps:
            branch = branches[name]
            closed = _is_closed(branch, month)
            if kind == "post" and not closed:
                day = min(day, calendar.monthrange(2026, month)[1])
                amount = (Decimal(cents) / 100).quantize(Decimal("0.01"))
                post_system(
                    branch,
                    datetime.date(2026, month, day),
                    debit_credit(cash[name], SHARE_CAPITAL, amount),
                )
            elif kind == "close" and not closed:
                period_close(actor=accountant, branch=branch, year=2026, month=month)
            elif kind == "reopen" and closed:
                period_reopen(actor=administrator, branch=branch, year=2026, month=month)
        month_ends = [datetime.date(2026, month, 1) - ONE_DAY for month in range(1, 6)]
        firsts = [datetime.date(2026, month, 1) for month in range(1, 5)]
        for as_of in [*month_ends, *firsts]:
            assert _read(as_of) == _from_days(as_of)
            assert _read(as_of, branch_ids=[praia.pk]) == _from_days(as_of, branch=praia)
        assert movements_mismatches() == 0
        transaction.set_rollback(True)


def _is_closed(branch, month: int) -> bool:
    from accounting.models import AccountingPeriod

    return AccountingPeriod.objects.filter(branch=branch, year=2026, month=month).exists()


def test_accounts_given_as_a_query_are_summed_in_the_same_single_query(
    ledger, praia, mindelo, accountant, django_assert_num_queries
):
    # given cash in two branches, one of them carried
    post_system(praia, JAN_10, debit_credit(PRAIA_CASH, SHARE_CAPITAL, "12.5"))
    post_system(mindelo, FEB_20, debit_credit(MINDELO_CASH, SHARE_CAPITAL, "7.25"))
    period_close(actor=accountant, branch=praia, year=2026, month=1)
    # when the cash boxes are given as a query whose pattern holds a "%" (LIKE '110%')
    cash_boxes = Account.objects.filter(code__startswith="110")
    with django_assert_num_queries(1):
        cash = account_net_debit(accounts=cash_boxes, date_to=APR_1)
    # then
    assert cash == D("19.75")
