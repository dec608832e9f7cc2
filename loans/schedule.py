"""Loan repayment schedules: pure functions (no ORM) that reproduce Apache Fineract to the cent.

Two engines, as in Fineract:

* ``cumulative`` - Fineract's classic generator (``AbstractCumulativeLoanScheduleGenerator`` with
  its flat and declining-balance subclasses, rules in ``LoanApplicationTerms``);
* ``progressive`` - Fineract's ``ProgressiveEMICalculator``: one rate factor per period and an
  EMI that is nudged afterwards so the last installment stays close to the others.

Money follows ``org.apache.fineract...Money``: every amount that Fineract wraps in ``Money`` is
rounded HALF_EVEN to the currency's minor unit (and, for a currency without minor unit, to the
currency's "in multiples of" when one is set). Intermediate ratios are kept at Fineract's 19
significant digits (``MoneyHelper`` precision, HALF_EVEN), so rounding happens where Fineract
rounds, not earlier or later.

Nothing here reads the database or the clock; every function returns a new value.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import NamedTuple

from mfi.money import CURRENCY_DECIMALS

REPAYMENT_FREQUENCIES = ("days", "weeks", "months")
INTEREST_METHODS = ("flat", "declining_balance")
AMORTIZATIONS = ("equal_installments", "equal_principal")
INTEREST_CALCULATIONS = ("daily", "same_as_repayment_period")
SCHEDULE_ENGINES = ("cumulative", "progressive")
DAYS_IN_YEAR = ("actual", "360", "364", "365")
DAYS_IN_MONTH = ("actual", "30")

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# Fineract's MoneyHelper math context: 19 significant digits, HALF_EVEN.
FINERACT_CONTEXT = Context(prec=19, rounding=ROUND_HALF_EVEN)
# Fineract computes the PMT in IEEE doubles; 34 digits of Decimal give the same cents without
# floats (the two can only differ when the exact EMI sits within 1e-12 of a half cent).
_PMT_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)
_RATE_FACTOR_EXPONENT = Decimal(1).scaleb(-FINERACT_CONTEXT.prec)
# Fineract's ProgressiveEMICalculator tries at most three EMI adjustments.
_MAX_EMI_ADJUSTMENTS = 3
# Each currency's minor unit (Decimal("0.01"), Decimal("1")), computed once: rounding is the
# engine's hottest operation.
_MINOR_UNITS = {code: Decimal(1).scaleb(-places) for code, places in CURRENCY_DECIMALS.items()}


class ScheduleError(ValueError):
    """The terms cannot produce a schedule (the message says which rule was broken)."""


@dataclass(frozen=True)
class ScheduleTerms:
    """Everything a repayment schedule depends on; amounts in ``currency``, rates in percent a year.

    ``first_repayment_date`` defaults to one period after ``disbursement_date``. Grace counts are
    numbers of installments from the first one. ``installment_multiple`` rounds the equal
    installment (and the flat principal+interest) to a multiple of that many currency units;
    ``currency_multiple`` is the currency's "in multiples of" (Fineract only applies it to
    currencies without minor unit, e.g. XOF). ``fees`` is a fee due with every installment.
    """

    principal: Decimal
    currency: str
    annual_interest_rate: Decimal
    number_of_repayments: int
    repayment_every: int
    repayment_frequency: str
    interest_method: str
    amortization: str
    interest_calculation: str
    days_in_year: str
    days_in_month: str
    disbursement_date: date
    schedule_engine: str = "cumulative"
    first_repayment_date: date | None = None
    grace_on_principal: int = 0
    grace_on_interest_payment: int = 0
    grace_on_interest_charged: int = 0
    installment_multiple: int | None = None
    currency_multiple: int | None = None
    fees: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("principal", "annual_interest_rate", "fees"):
            object.__setattr__(self, name, _as_decimal(name, getattr(self, name)))
        object.__setattr__(self, "days_in_year", str(self.days_in_year))
        object.__setattr__(self, "days_in_month", str(self.days_in_month))
        _check_terms(self)


class Installment(NamedTuple):
    """One repayment: what falls due on ``due_date`` and the principal still owed afterwards."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fees: Decimal
    total: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Schedule:
    """A repayment schedule and its totals, every amount in ``currency``."""

    currency: str
    installments: tuple[Installment, ...]
    total_principal: Decimal
    total_interest: Decimal
    total_fees: Decimal
    total_repayment: Decimal


def generate_schedule(terms: ScheduleTerms) -> Schedule:
    """The repayment schedule Fineract would generate for ``terms`` with the chosen engine."""
    if terms.schedule_engine == "progressive":
        rows = _progressive_rows(terms)
    else:
        rows = _cumulative_rows(terms)
    return _build_schedule(terms, rows)


def repayment_due_dates(terms: ScheduleTerms) -> list[date]:
    """Due dates of the ``number_of_repayments`` installments.

    Every date is counted from one anchor, not chained from the previous due date, so a loan due
    on the 31st falls on the last day of shorter months and comes back to the 31st afterwards
    (Fineract's seed date). The anchor is ``first_repayment_date`` when given, otherwise the
    disbursement date (due dates are then one, two, ... periods after it).
    """
    count = terms.number_of_repayments
    if terms.first_repayment_date is None:
        anchor, periods = terms.disbursement_date, range(1, count + 1)
    else:
        anchor, periods = terms.first_repayment_date, range(count)
    if terms.repayment_frequency == "months":
        every = terms.repayment_every
        return [_add_months(anchor, k * every) for k in periods]
    return [_shift(terms, anchor, k) for k in periods]


# --- money ------------------------------------------------------------------------------------


class _Money:
    """Fineract's ``Money`` rounding for one currency (and its optional "in multiples of")."""

    def __init__(self, terms: ScheduleTerms):
        self.currency = terms.currency
        self.decimals = CURRENCY_DECIMALS[terms.currency]
        self.minor_unit = _MINOR_UNITS[terms.currency]
        self.currency_multiple = terms.currency_multiple
        self.installment_multiple = terms.installment_multiple
        self.rounds_to_multiple = bool(terms.currency_multiple) and self.decimals == 0

    def of(self, amount: Decimal) -> Decimal:
        """``Money.of``: round to the currency (to its multiple first when it has no minor unit)."""
        if self.rounds_to_multiple and amount > 0:
            amount = _nearest_multiple_ties_up(amount, Decimal(self.currency_multiple))
        return amount.quantize(self.minor_unit, rounding=ROUND_HALF_EVEN)

    def times_rate(self, amount: Decimal, rate: Decimal) -> Decimal:
        """``Money.multiplyRetainScale``: 19 digits first, then the currency."""
        amount = FINERACT_CONTEXT.multiply(amount, rate)
        if self.rounds_to_multiple:
            return self.of(amount)
        return amount.quantize(self.minor_unit, rounding=ROUND_HALF_EVEN)

    def divided(self, amount: Decimal, divisor: int | Decimal) -> Decimal:
        """``Money.dividedBy``: 19 digits first, then the currency."""
        return self.of(FINERACT_CONTEXT.divide(amount, Decimal(divisor)))

    def to_installment_multiple(self, amount: Decimal) -> Decimal:
        """``Money.roundToMultiplesOf`` with the installment multiple (HALF_EVEN)."""
        return self.of(_round_to_multiple(amount, self.installment_multiple))


def _round_to_multiple(amount: Decimal, multiple: int | None) -> Decimal:
    if not multiple:
        return amount
    step = Decimal(multiple)
    with localcontext(_PMT_CONTEXT):
        return (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * step


def _nearest_multiple_ties_up(amount: Decimal, step: Decimal) -> Decimal:
    # Money's constructor: the nearer of floor and ceiling; a tie goes to the ceiling.
    with localcontext(_PMT_CONTEXT):
        floor = (amount / step).to_integral_value(rounding=ROUND_FLOOR) * step
        ceiling = (amount / step).to_integral_value(rounding=ROUND_CEILING) * step
        return floor if ceiling - amount > amount - floor else ceiling


# --- dates ------------------------------------------------------------------------------------


def _shift(terms: ScheduleTerms, anchor: date, periods: int) -> date:
    units = periods * terms.repayment_every
    if terms.repayment_frequency == "days":
        return anchor + timedelta(days=units)
    if terms.repayment_frequency == "weeks":
        return anchor + timedelta(weeks=units)
    return _add_months(anchor, units)


def _add_months(day: date, months: int) -> date:
    """``day`` plus whole months, the day clipped to the month's end (as ``relativedelta``)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    if day.day <= 28:
        return date(year, month, day.day)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _year_length(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


# --- cumulative engine ------------------------------------------------------------------------


# One computed period: (due date, principal, interest, principal balance after it). A plain
# tuple: tens of thousands are made per second when a large portfolio is scheduled.
_Row = tuple[date, Decimal, Decimal, Decimal]


def _periods_in_one_year(terms: ScheduleTerms) -> int:
    """``LoanApplicationTerms.calculatePeriodsInOneYear``.

    Day-based counts use the product's days in year; "actual" counts as 365 in the cumulative
    engine (Fineract's DefaultPaymentPeriodsInOneYearCalculator), leap years included.
    """
    fixed_days = None if terms.days_in_year == "actual" else int(terms.days_in_year)
    if terms.interest_calculation == "daily" or terms.repayment_frequency == "days":
        return fixed_days or 365
    return 52 if terms.repayment_frequency == "weeks" else 12


def _rate_per_period_unit(terms: ScheduleTerms) -> Decimal:
    """Annual rate / periods (or days) in a year / 100, at Fineract's precision."""
    context = FINERACT_CONTEXT
    per_unit = context.divide(terms.annual_interest_rate, Decimal(_periods_in_one_year(terms)))
    return context.divide(per_unit, HUNDRED)


def _cumulative_period_rate(
    terms: ScheduleTerms, per_unit: Decimal, interest_from: date, due_date: date
) -> Decimal:
    """``periodicInterestRate``: the rate for one installment period (declining balance);
    ``per_unit`` is ``_rate_per_period_unit(terms)``."""
    if terms.interest_calculation == "same_as_repayment_period":
        return per_unit * terms.repayment_every
    days = (due_date - interest_from).days
    if terms.repayment_frequency == "months" and terms.days_in_month == "30":
        days = 30 * terms.repayment_every
    return FINERACT_CONTEXT.multiply(per_unit, Decimal(days))


def _cumulative_pmt_rate(terms: ScheduleTerms) -> Decimal:
    """The regular-period rate the EMI is computed with (months count as 30 days when daily)."""
    per_unit = _rate_per_period_unit(terms)
    if terms.interest_calculation == "same_as_repayment_period":
        return per_unit * terms.repayment_every
    days_per_unit = {"days": 1, "weeks": 7, "months": 30}[terms.repayment_frequency]
    return FINERACT_CONTEXT.multiply(per_unit, Decimal(days_per_unit * terms.repayment_every))


def _pmt(rate: Decimal, periods: int, balance: Decimal) -> Decimal:
    """Excel's PMT: the level payment that repays ``balance`` in ``periods`` at ``rate``."""
    with localcontext(_PMT_CONTEXT):
        if rate == 0:
            return balance / periods
        growth = (1 + rate) ** periods
        return balance * rate * growth / (growth - 1)


def _flat_total_interest(terms: ScheduleTerms, money: _Money, principal: Decimal) -> Decimal:
    """``calculateTotalFlatInterestDueWithoutGrace``: principal x rate over the whole term."""
    if terms.interest_calculation == "daily":
        last_due = repayment_due_dates(terms)[-1]
        term_length = (last_due - terms.disbursement_date).days
    else:
        term_length = terms.number_of_repayments * terms.repayment_every
    return money.times_rate(principal, _rate_per_period_unit(terms) * term_length)


def _cumulative_rows(terms: ScheduleTerms) -> list[_Row]:
    money = _Money(terms)
    count = terms.number_of_repayments
    principal = money.of(terms.principal)
    due_dates = repayment_due_dates(terms)
    # Fineract charges the first period's interest from one regular period before the first
    # due date, whatever the real disbursement date (interest-charged-from not set).
    ideal_disbursement = _shift(terms, due_dates[0], -1)
    principal_grace = terms.grace_on_principal
    interest_payment_grace = terms.grace_on_interest_payment
    interest_free = terms.grace_on_interest_charged
    periods_with_principal = count - principal_grace
    is_flat = terms.interest_method == "flat"
    is_equal_installments = terms.amortization == "equal_installments"

    per_unit = _rate_per_period_unit(terms)
    # the same rate every period unless interest is counted by the day
    fixed_rate = (
        per_unit * terms.repayment_every
        if terms.interest_calculation == "same_as_repayment_period"
        else None
    )
    emi = None
    fixed_principal = None
    flat_interest_per_installment = ZERO
    total_interest_due = ZERO
    if is_flat:
        total_without_grace = _flat_total_interest(terms, money, principal)
        flat_interest_per_installment = money.divided(total_without_grace, count)
        total_interest_due = total_without_grace - flat_interest_per_installment * interest_free
        flat_principal = money.divided(principal, periods_with_principal)
    elif is_equal_installments:
        raw_emi = _pmt(_cumulative_pmt_rate(terms), periods_with_principal, principal)
        emi = money.of(_round_to_multiple(raw_emi, terms.installment_multiple))
    else:
        fixed_principal = money.divided(principal, periods_with_principal)

    rows: list[_Row] = []
    balance = principal
    paid_principal = ZERO
    charged_interest = ZERO
    deferred_interest = ZERO  # interest accrued in payment-grace periods, due after the grace
    for number, due_date in enumerate(due_dates, start=1):
        if balance == 0:
            break  # Fineract stops once the principal is repaid, even before the last period
        in_principal_grace = number <= principal_grace
        in_payment_grace = number <= interest_payment_grace
        in_interest_free = number <= interest_free
        interest_from = ideal_disbursement if number == 1 else due_dates[number - 2]

        if is_flat:
            if is_equal_installments:
                # interest spread evenly over the periods where interest is paid
                if in_payment_grace or in_interest_free:
                    interest = ZERO
                else:
                    paying_periods = count - interest_payment_grace - interest_free
                    interest = money.divided(total_interest_due, paying_periods)
            elif in_payment_grace:
                deferred_interest += flat_interest_per_installment
                interest = ZERO
            elif in_interest_free:
                interest = ZERO
            elif number == interest_payment_grace + 1:
                interest = deferred_interest + flat_interest_per_installment
                deferred_interest = ZERO
            else:
                interest = flat_interest_per_installment
            principal_due = ZERO if in_principal_grace else flat_principal
            if terms.installment_multiple:
                # Fineract rounds principal and interest each to the multiple and keeps the
                # real interest, so principal + interest is a multiple (even in grace periods).
                principal_due = money.of(
                    money.to_installment_multiple(principal_due)
                    + money.to_installment_multiple(interest)
                    - interest
                )
            principal_due = _adjust_principal(
                principal, paid_principal, principal_due, number, count
            )
            interest = _adjust_flat_interest(
                total_interest_due, charged_interest, interest, number, count
            )
        else:
            rate = fixed_rate or _cumulative_period_rate(terms, per_unit, interest_from, due_date)
            accrued = money.times_rate(balance, rate)
            deferred_before = deferred_interest
            payable_now = ZERO if (in_payment_grace or in_interest_free) else accrued
            if payable_now > 0 and not deferred_interest:
                interest = own_interest = payable_now  # the usual period: nothing deferred
            elif payable_now > 0:
                interest = deferred_interest + payable_now
                deferred_interest = ZERO
                own_interest = interest - deferred_before
            elif in_interest_free:
                interest = ZERO
                own_interest = ZERO
            else:
                deferred_interest += accrued
                interest = ZERO
                own_interest = deferred_interest - deferred_before
            if emi is not None and emi < interest:
                raise ScheduleError(
                    f"The equal installment {emi} is lower than the interest {interest} due "
                    f"in installment {number}."
                )
            if in_principal_grace:
                principal_due = ZERO
            elif emi is not None:
                principal_due = emi - own_interest
            else:
                principal_due = fixed_principal
            principal_due = _adjust_principal(
                principal, paid_principal, principal_due, number, count
            )

        balance -= principal_due
        paid_principal += principal_due
        charged_interest += interest
        rows.append((due_date, principal_due, interest, balance))

    if deferred_interest > 0:
        # interest still deferred at the end falls due with the last installment
        due_date, principal_due, interest, balance = rows[-1]
        rows[-1] = (due_date, principal_due, interest + deferred_interest, balance)
    return rows


def _adjust_principal(
    principal: Decimal, paid: Decimal, principal_due: Decimal, number: int, count: int
) -> Decimal:
    """``adjustPrincipalIfLastRepaymentPeriod``: never overpay; the last period takes the rest."""
    remaining = principal - (paid + principal_due)
    if remaining < 0 or number == count:
        return principal_due + remaining
    return principal_due


def _adjust_flat_interest(
    total_due: Decimal, charged: Decimal, interest: Decimal, number: int, count: int
) -> Decimal:
    """``adjustInterestIfLastRepaymentPeriod``: the last period absorbs the rounding residual."""
    remaining = total_due - (charged + interest)
    adjusted = interest + remaining if (remaining < 0 or number == count) else interest
    if adjusted < 0:
        adjusted += adjusted  # sic: Fineract doubles a negative adjustment
    return adjusted


# --- progressive engine -----------------------------------------------------------------------


def _rate_factor(
    rate: Decimal,
    days_multiplier: int,
    every: int,
    days_in_year: int,
    actual_days: int,
    calculated_days: int,
) -> Decimal:
    """``rateFactorByRepaymentPeriod``: rate x (multiplier x every / year) x actual / calculated."""
    context = FINERACT_CONTEXT
    fraction = context.divide(Decimal(days_multiplier * every), Decimal(days_in_year))
    value = context.multiply(context.multiply(rate, fraction), Decimal(actual_days))
    value = context.divide(value, Decimal(calculated_days))
    return value.quantize(_RATE_FACTOR_EXPONENT, rounding=ROUND_HALF_EVEN)


def _year_fractions(start: date, end: date) -> Decimal:
    """``calculatePeriodFractions``: days in each calendar year over that year's length."""
    context = FINERACT_CONTEXT
    total = ZERO
    current = start
    for year in range(start.year, end.year + 1):
        slice_end = end if year == end.year else date(year, 12, 31)
        days = Decimal((slice_end - current).days)
        total = context.add(total, context.divide(days, Decimal(_year_length(year))))
        current = slice_end
    return total


def _progressive_rate_factor(terms: ScheduleTerms, start: date, due_date: date) -> Decimal:
    """``calculateRateFactorPerPeriod`` for a period with a single interest period."""
    days = (due_date - start).days
    if days == 0:
        return ZERO
    rate = FINERACT_CONTEXT.divide(terms.annual_interest_rate, HUNDRED)
    every = terms.repayment_every
    frequency = terms.repayment_frequency
    if terms.interest_calculation == "same_as_repayment_period" and frequency != "days":
        return _rate_factor(rate, 1, every, 12 if frequency == "months" else 52, days, days)
    if terms.days_in_year == "actual":
        if due_date.year > start.year:
            value = FINERACT_CONTEXT.multiply(rate, _year_fractions(start, due_date))
            return value.quantize(_RATE_FACTOR_EXPONENT, rounding=ROUND_HALF_EVEN)
        days_in_year = _year_length(start.year)
    else:
        days_in_year = int(terms.days_in_year)
    if terms.days_in_month == "actual":
        return _rate_factor(rate, days, 1, days_in_year, 1, 1)
    days_multiplier = {"days": 1, "weeks": 7, "months": 30}[frequency]
    return _rate_factor(rate, days_multiplier, every, days_in_year, days, days)


def _progressive_emi(money: _Money, principal: Decimal, rate_factors: Sequence[Decimal]) -> Decimal:
    """EMI = principal x prod(1 + r) / fn, fn folding 1 + fn x (1 + r) over periods 2..n."""
    context = FINERACT_CONTEXT
    product = Decimal(1)
    for factor in rate_factors:
        product = context.multiply(product, 1 + factor)
    fn = Decimal(1)
    for factor in rate_factors[1:]:
        fn = context.add(1, context.multiply(fn, 1 + factor))
    emi = money.of(context.divide(context.multiply(product, principal), fn))
    return money.to_installment_multiple(emi)


def _progressive_period_interest(
    money: _Money, balance: Decimal, factor: Decimal, days: int
) -> Decimal:
    """``InterestPeriod.getCalculatedDueInterest`` for one period, rounded as Money."""
    if days == 0:
        return ZERO
    context = FINERACT_CONTEXT
    per_day = context.divide(context.multiply(balance, factor), Decimal(days))
    return money.of(context.multiply(per_day, Decimal(days)))


def _progressive_pass(
    money: _Money,
    principal: Decimal,
    periods: Sequence[tuple[date, date]],
    rate_factors: Sequence[Decimal],
    emi: Decimal,
) -> tuple[list[_Row], Decimal]:
    """Rows for one EMI; returns them with the last installment's total (principal + interest)."""
    rows: list[_Row] = []
    balance = principal
    last_total = emi
    for index, ((start, due_date), factor) in enumerate(zip(periods, rate_factors, strict=True)):
        interest = _progressive_period_interest(money, balance, factor, (due_date - start).days)
        if index == len(periods) - 1:
            principal_due = balance  # the last installment takes the remaining balance
            last_total = principal_due + interest
        else:
            interest = min(interest, emi)
            principal_due = min(emi - interest, balance)
        balance -= principal_due
        rows.append((due_date, principal_due, interest, balance))
    return rows, last_total


def _progressive_rows(terms: ScheduleTerms) -> list[_Row]:
    money = _Money(terms)
    principal = money.of(terms.principal)
    due_dates = repayment_due_dates(terms)
    starts = [terms.disbursement_date, *due_dates[:-1]]
    periods = list(zip(starts, due_dates, strict=True))
    rate_factors = [_progressive_rate_factor(terms, start, due) for start, due in periods]
    emi = _progressive_emi(money, principal, rate_factors)
    rows, last_total = _progressive_pass(money, principal, periods, rate_factors, emi)

    count = len(periods)
    lower_half = count // 2
    # Fineract's EmiAdjustment compares the difference x 100 with half the number of periods,
    # both as Money of the loan's currency (so "minor units" only for 2-decimal currencies)
    threshold = money.of(Decimal(lower_half))
    for _attempt in range(_MAX_EMI_ADJUSTMENTS):
        # move the EMI by the last installment's difference spread over all periods, and keep
        # the move only when that difference shrinks
        difference = last_total - emi
        if lower_half == 0 or difference == 0:
            break
        if not money.of(abs(difference) * 100) > threshold:
            break
        adjusted = money.to_installment_multiple(emi + money.divided(difference, count))
        if adjusted == emi:
            break
        new_rows, new_last_total = _progressive_pass(
            money, principal, periods, rate_factors, adjusted
        )
        if not abs(new_last_total - adjusted) < abs(difference):
            break
        emi, rows, last_total = adjusted, new_rows, new_last_total
    return rows


# --- assembly ---------------------------------------------------------------------------------


def _build_schedule(terms: ScheduleTerms, rows: Sequence[_Row]) -> Schedule:
    money = _Money(terms)
    fee = money.of(terms.fees)
    unit = money.minor_unit
    installments = []
    total_principal = total_interest = total_repayment = ZERO
    for number, (due_date, principal, interest, balance) in enumerate(rows, start=1):
        # amounts are already at the currency's precision; quantizing only gives zeros
        # their scale (0.00, not 0)
        total = (principal + interest + fee).quantize(unit, ROUND_HALF_EVEN)
        principal = principal.quantize(unit, ROUND_HALF_EVEN)
        interest = interest.quantize(unit, ROUND_HALF_EVEN)
        balance = balance.quantize(unit, ROUND_HALF_EVEN)
        installments.append(Installment(number, due_date, principal, interest, fee, total, balance))
        total_principal += principal
        total_interest += interest
        total_repayment += total
    return Schedule(
        currency=terms.currency,
        installments=tuple(installments),
        total_principal=total_principal,
        total_interest=total_interest,
        total_fees=fee * len(rows) if rows else ZERO,
        total_repayment=total_repayment,
    )


# --- validation -------------------------------------------------------------------------------


def _as_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ScheduleError(f"{name} must be a Decimal, not {type(value).__name__}.")
    try:
        return Decimal(value)
    except ArithmeticError as exc:
        raise ScheduleError(f"{name} is not a number: {value!r}.") from exc


def _check_terms(terms: ScheduleTerms) -> None:
    choices = {
        "repayment_frequency": REPAYMENT_FREQUENCIES,
        "interest_method": INTEREST_METHODS,
        "amortization": AMORTIZATIONS,
        "interest_calculation": INTEREST_CALCULATIONS,
        "schedule_engine": SCHEDULE_ENGINES,
        "days_in_year": DAYS_IN_YEAR,
        "days_in_month": DAYS_IN_MONTH,
    }
    for name, allowed in choices.items():
        if getattr(terms, name) not in allowed:
            raise ScheduleError(f"{name} must be one of {', '.join(allowed)}.")
    if terms.currency not in CURRENCY_DECIMALS:
        raise ScheduleError(f"Unknown currency {terms.currency!r}.")
    if not terms.principal.is_finite() or terms.principal <= 0:
        raise ScheduleError("principal must be greater than zero.")
    if not terms.annual_interest_rate.is_finite() or terms.annual_interest_rate < 0:
        raise ScheduleError("annual_interest_rate must not be negative.")
    if not terms.fees.is_finite() or terms.fees < 0:
        raise ScheduleError("fees must not be negative.")
    for name in ("number_of_repayments", "repayment_every"):
        value = getattr(terms, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ScheduleError(f"{name} must be a whole number of at least 1.")
    for name in ("grace_on_principal", "grace_on_interest_payment", "grace_on_interest_charged"):
        value = getattr(terms, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ScheduleError(f"{name} must be a whole number, zero or more.")
        if value >= terms.number_of_repayments:
            raise ScheduleError(f"{name} must be lower than number_of_repayments.")
    for name in ("installment_multiple", "currency_multiple"):
        value = getattr(terms, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ScheduleError(f"{name} must be a whole number of at least 1.")
    if terms.currency_multiple is not None:
        if CURRENCY_DECIMALS[terms.currency] != 0:
            raise ScheduleError(
                "currency_multiple only applies to currencies without minor unit (e.g. XOF)."
            )
        if terms.principal % terms.currency_multiple:
            raise ScheduleError("principal must be a multiple of currency_multiple.")
    if terms.interest_method == "flat" and terms.amortization == "equal_installments":
        # Fineract spreads flat interest over n - payment grace - interest-free periods
        paying = terms.number_of_repayments - terms.grace_on_interest_payment
        if paying - terms.grace_on_interest_charged < 1:
            raise ScheduleError(
                "grace_on_interest_payment plus grace_on_interest_charged must be lower than "
                "number_of_repayments for flat equal installments."
            )
    first = terms.first_repayment_date
    if first is not None and first <= terms.disbursement_date:
        raise ScheduleError("first_repayment_date must be after disbursement_date.")
    if terms.schedule_engine == "progressive" and (
        terms.interest_method != "declining_balance"
        or terms.amortization != "equal_installments"
        or terms.grace_on_principal
        or terms.grace_on_interest_payment
        or terms.grace_on_interest_charged
    ):
        raise ScheduleError(
            "The progressive engine supports declining balance with equal installments "
            "and no grace only."
        )
