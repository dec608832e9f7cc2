"""The pure repayment allocation ``loans.services.allocate`` on unsaved installments (no database).

Oldest installment first; within an installment the product's order of parts (default penalties →
fees → interest → principal); what is left over is the overpayment.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.choices import DEFAULT_ALLOCATION_ORDER
from loans.models import Installment
from loans.services import PARTS, allocate

D = Decimal
ZERO = D("0")
ORDER = list(DEFAULT_ALLOCATION_ORDER)


def installment(number: int, due_date: datetime.date, **amounts) -> Installment:
    """An unsaved installment; ``amounts`` as strings, e.g. principal_due="8947.15"."""
    return Installment(number=number, due_date=due_date, **{k: D(v) for k, v in amounts.items()})


def reference_installments() -> list[Installment]:
    """The first two installments of the reference loan, with a fee and a penalty on the first."""
    return [
        installment(
            1,
            datetime.date(2026, 2, 15),
            principal_due="8947.15",
            interest_due="2400.00",
            fee_due="100.00",
            penalty_due="50.00",
        ),
        installment(2, datetime.date(2026, 3, 15), principal_due="9126.09", interest_due="2221.06"),
    ]


def _rows(allocation):
    return [(row.number, taken) for row, taken in allocation.rows]


# --- exact splits ------------------------------------------------------------------------------


def test_penalties_then_fees_then_interest_then_principal():
    # when
    allocation = allocate(reference_installments(), D("2500.00"), ORDER)

    # then
    assert allocation.parts == {
        "penalty": D("50.00"),
        "fee": D("100.00"),
        "interest": D("2350.00"),
        "principal": ZERO,
    }
    assert allocation.overpayment == ZERO
    assert _rows(allocation) == [
        (1, {"penalty": D("50.00"), "fee": D("100.00"), "interest": D("2350.00")})
    ]


def test_a_full_installment_then_the_next_ones_interest():
    # when
    allocation = allocate(reference_installments(), D("12497.15"), ORDER)

    # then
    assert _rows(allocation) == [
        (
            1,
            {
                "penalty": D("50.00"),
                "fee": D("100.00"),
                "interest": D("2400.00"),
                "principal": D("8947.15"),
            },
        ),
        (2, {"interest": D("1000.00")}),
    ]
    assert allocation.parts == {
        "penalty": D("50.00"),
        "fee": D("100.00"),
        "interest": D("3400.00"),
        "principal": D("8947.15"),
    }
    assert allocation.overpayment == ZERO


def test_what_is_already_paid_is_not_paid_again():
    # given: 1,000 of the first interest paid before
    rows = [
        installment(
            1,
            datetime.date(2026, 2, 15),
            principal_due="8947.15",
            interest_due="2400.00",
            interest_paid="1000.00",
        )
    ]

    # when
    allocation = allocate(rows, D("2000.00"), ORDER)

    # then
    assert _rows(allocation) == [(1, {"interest": D("1400.00"), "principal": D("600.00")})]


def test_a_paid_installment_is_skipped():
    # given
    rows = [
        installment(
            1,
            datetime.date(2026, 2, 15),
            principal_due="8947.15",
            interest_due="2400.00",
            principal_paid="8947.15",
            interest_paid="2400.00",
        ),
        installment(2, datetime.date(2026, 3, 15), principal_due="9126.09", interest_due="2221.06"),
    ]

    # when
    allocation = allocate(rows, D("3000.00"), ORDER)

    # then
    assert _rows(allocation) == [(2, {"interest": D("2221.06"), "principal": D("778.94")})]


def test_the_oldest_due_date_goes_first_whatever_the_list_order():
    # given
    first, second = reference_installments()

    # when
    allocation = allocate([second, first], D("150.00"), ORDER)

    # then
    assert _rows(allocation) == [(1, {"penalty": D("50.00"), "fee": D("100.00")})]


def test_the_products_own_order_within_an_installment():
    # when
    allocation = allocate(
        reference_installments(), D("9000.00"), ["principal", "interest", "fee", "penalty"]
    )

    # then
    assert _rows(allocation) == [(1, {"principal": D("8947.15"), "interest": D("52.85")})]


def test_more_than_everything_owed_is_an_overpayment():
    # when
    allocation = allocate(reference_installments(), D("23000.00"), ORDER)

    # then
    assert allocation.parts == {
        "penalty": D("50.00"),
        "fee": D("100.00"),
        "interest": D("4621.06"),
        "principal": D("18073.24"),
    }
    assert allocation.overpayment == D("155.70")


def test_nothing_owed_makes_everything_an_overpayment():
    # when
    allocation = allocate([], D("100.00"), ORDER)

    # then
    assert allocation.rows == []
    assert allocation.parts == dict.fromkeys(PARTS, ZERO)
    assert allocation.overpayment == D("100.00")


# --- properties --------------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=2_000_000).map(lambda n: D(n).scaleb(-2))


@st.composite
def owed_part(draw):
    """(due, paid) of one part, paid never above due."""
    due = draw(cents)
    paid = draw(st.integers(min_value=0, max_value=int(due * 100)).map(lambda n: D(n).scaleb(-2)))
    return due, paid


@st.composite
def installments(draw):
    count = draw(st.integers(min_value=0, max_value=8))
    rows = []
    for number in range(1, count + 1):
        # dates may repeat and come in any order: the number then breaks the tie
        due_date = datetime.date(2026, 1, 1) + datetime.timedelta(
            days=draw(st.integers(min_value=0, max_value=10))
        )
        amounts = {}
        for part in PARTS:
            due, paid = draw(owed_part())
            amounts[f"{part}_due"] = due
            amounts[f"{part}_paid"] = paid
        rows.append(Installment(number=number, due_date=due_date, **amounts))
    return draw(st.permutations(rows))


def _owed(row: Installment, part: str) -> Decimal:
    return getattr(row, f"{part}_due") - getattr(row, f"{part}_paid")


@settings(max_examples=200)
@given(rows=installments(), amount=cents, order=st.permutations(PARTS))
def test_allocated_parts_and_overpayment_add_up_to_the_amount(rows, amount, order):
    # when
    allocation = allocate(rows, amount, list(order))

    # then
    assert sum(allocation.parts.values(), ZERO) + allocation.overpayment == amount
    assert allocation.overpayment >= 0
    for part in PARTS:
        assert (
            sum((taken.get(part, ZERO) for _, taken in allocation.rows), ZERO)
            == (allocation.parts[part])
        )


@settings(max_examples=200)
@given(rows=installments(), amount=cents, order=st.permutations(PARTS))
def test_no_part_gets_more_than_is_owed(rows, amount, order):
    # when
    allocation = allocate(rows, amount, list(order))

    # then
    for row, taken in allocation.rows:
        for part, value in taken.items():
            assert 0 < value <= _owed(row, part)
    if allocation.overpayment > 0:
        # an overpayment only once everything owed is paid
        total_owed = sum((_owed(row, part) for row in rows for part in PARTS), ZERO)
        assert allocation.overpayment == amount - total_owed


@settings(max_examples=200)
@given(rows=installments(), amount=cents, order=st.permutations(PARTS))
def test_no_money_reaches_a_later_installment_while_an_earlier_one_is_owed(rows, amount, order):
    # when
    allocation = allocate(rows, amount, list(order))

    # then
    taken_by = {row.number: taken for row, taken in allocation.rows}
    ordered = sorted(rows, key=lambda row: (row.due_date, row.number))
    for index, row in enumerate(ordered):
        taken = taken_by.get(row.number, {})
        still_owed = sum((_owed(row, part) - taken.get(part, ZERO) for part in PARTS), ZERO)
        if still_owed > 0:
            later = ordered[index + 1 :]
            assert not any(taken_by.get(other.number) for other in later)
            assert allocation.overpayment == 0


@settings(max_examples=200)
@given(rows=installments(), amount=cents, order=st.permutations(PARTS))
def test_within_an_installment_a_part_is_paid_only_once_the_earlier_parts_are(rows, amount, order):
    # when
    allocation = allocate(rows, amount, list(order))

    # then
    for row, taken in allocation.rows:
        for position, part in enumerate(order):
            if taken.get(part, ZERO) > 0:
                assert all(
                    taken.get(before, ZERO) == _owed(row, before) for before in order[:position]
                )
