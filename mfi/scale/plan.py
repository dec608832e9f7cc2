"""What happens to every loan of the scale data, decided up front (no database access): its
status, product, amounts, dates, how its borrower repays, and for each repayment which parts of
which installment it pays, exactly as ``loans.services`` would allocate it.

Deterministic: one seeded ``random.Random``. Schedules come from the real engine, computed once
per distinct (product terms, principal, rate, repayments, disbursement date) and reused.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from random import Random

from loans.choices import Channel, Frequency, LoanStatus
from loans.schedule import Schedule, ScheduleTerms, generate_schedule
from mfi.money import CURRENCY_DECIMALS
from mfi.scale.setup import ProductTerms

ZERO = Decimal(0)
DAY = datetime.timedelta(days=1)

# Share of the loans in each status; the rest are active. Rescheduled loans each add one more
# active loan (the new loan the outstanding principal moved to), taken from the active share.
STATUS_SHARES = {
    LoanStatus.SUBMITTED: 0.02,
    LoanStatus.APPROVED: 0.015,
    LoanStatus.REJECTED: 0.025,
    LoanStatus.WITHDRAWN: 0.01,
    LoanStatus.CLOSED: 0.27,
    LoanStatus.OVERPAID: 0.005,
    LoanStatus.WRITTEN_OFF: 0.03,
    LoanStatus.RESCHEDULED: 0.005,
}
PRODUCT_SHARES = {"mp-mensal": 0.55, "mp-mercado": 0.2, "cje-arranque": 0.1, "crc-xof": 0.15}
# How running loans are repaid.
BEHAVIOUR_SHARES = {"on_time": 0.72, "late": 0.14, "stopped": 0.06, "advance": 0.04, "split": 0.04}
RENEWAL_SHARE = 0.5  # of the closed loans' borrowers come back for another loan
CHANNELS = (Channel.CASH, Channel.MOBILE_MONEY, Channel.BANK_TRANSFER)
CHANNEL_WEIGHTS = (0.5, 0.3, 0.2)
WRITE_OFF_AFTER_DAYS = (181, 200)
OVERPAYMENT = (Decimal(50), Decimal(2000))


@dataclass(eq=False, slots=True)
class Payment:
    """One repayment: its day, amount, the parts it paid, and per installment what it took."""

    day: datetime.date
    amount: Decimal
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    fee: Decimal = ZERO
    penalty: Decimal = ZERO
    overpayment: Decimal = ZERO
    accrued_interest_now: Decimal = ZERO  # accrual products paid before the end of day accrued
    accrued_fee_now: Decimal = ZERO
    # (installment index, principal, interest, fee, penalty, interest accrued now, fee accrued now)
    allocations: list[tuple] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class InstallmentState:
    """One installment of a disbursed loan as it stands at the end of the history."""

    number: int
    due_date: datetime.date
    principal_due: Decimal
    interest_due: Decimal
    fee_due: Decimal
    penalty_due: Decimal = ZERO
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    fee_paid: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    interest_accrued: Decimal = ZERO
    fee_accrued: Decimal = ZERO
    penalty_charged_on: datetime.date | None = None
    paid_on: datetime.date | None = None  # the day it was paid in full


@dataclass(eq=False, slots=True)
class LoanPlan:
    """One loan and everything that happened to it up to the end of the history."""

    status: str
    product: ProductTerms
    branch_id: int = 0
    officer_id: int = 0
    approver_id: int = 0
    borrower_index: int = -1  # into the generated parties
    previous: LoanPlan | None = None
    principal: Decimal = ZERO
    rate: Decimal = ZERO
    repayments: int = 0
    purpose: str = ""
    channel: str = Channel.CASH
    behaviour: str = ""
    submitted_on: datetime.date | None = None
    approved_on: datetime.date | None = None
    expected_disbursement: datetime.date | None = None
    disbursed_on: datetime.date | None = None
    closed_on: datetime.date | None = None
    ended_on: datetime.date | None = None  # written off or rescheduled on
    installments: list[InstallmentState] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    overpaid: Decimal = ZERO
    renewal_of: LoanPlan | None = None  # the rescheduled loan this one continues
    loan_id: int = 0
    number: str = ""

    @property
    def is_disbursed(self) -> bool:
        return self.disbursed_on is not None


class ScheduleCache:
    """Schedules from the real engine, once per distinct terms."""

    def __init__(self):
        self.schedules: dict[tuple, Schedule] = {}
        self.computed = 0
        self.reused = 0

    def get(self, product: ProductTerms, principal, rate, repayments, disbursed_on) -> Schedule:
        key = (product.version.pk, principal, rate, repayments, disbursed_on)
        schedule = self.schedules.get(key)
        if schedule is not None:
            self.reused += 1
            return schedule
        version = product.version
        schedule = generate_schedule(
            ScheduleTerms(
                principal=principal,
                currency=version.currency,
                annual_interest_rate=rate,
                number_of_repayments=repayments,
                repayment_every=version.repayment_every,
                repayment_frequency=version.repayment_frequency,
                interest_method=version.interest_method,
                amortization=version.amortization,
                interest_calculation=version.interest_calculation,
                days_in_year=version.days_in_year,
                days_in_month=version.days_in_month,
                disbursement_date=disbursed_on,
                schedule_engine=version.schedule_engine,
                grace_on_principal=version.grace_on_principal,
                grace_on_interest_payment=version.grace_on_interest_payment,
                grace_on_interest_charged=version.grace_on_interest_charged,
                installment_multiple=version.installment_multiple,
                currency_multiple=version.currency_multiple,
                fees=version.installment_fee,
            )
        )
        self.schedules[key] = schedule
        self.computed += 1
        return schedule


def period_days(product: ProductTerms) -> int:
    version = product.version
    unit = {Frequency.DAYS: 1, Frequency.WEEKS: 7, Frequency.MONTHS: 30}
    return unit[version.repayment_frequency] * version.repayment_every


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-CURRENCY_DECIMALS[currency]), ROUND_HALF_EVEN)


class Planner:
    """Plans every loan: ``plan(count)`` returns them in submission order."""

    def __init__(self, *, rng: Random, products: dict[str, ProductTerms], as_of, first_day):
        self.rng = rng
        self.products = products
        self.as_of = as_of
        self.first_day = first_day
        self.schedules = ScheduleCache()

    # --- choosing ----------------------------------------------------------------------------

    def _day(self, low: datetime.date, high: datetime.date, skew: float = 1.0) -> datetime.date:
        """A day in [low, high]; skew < 1 favours recent days (a growing portfolio)."""
        span = max(0, (high - low).days)
        return low + datetime.timedelta(days=round(span * self.rng.random() ** skew))

    def _amounts(self, plan: LoanPlan) -> None:
        product = plan.product
        low, high = product.principal_range
        raw = low * (high / low) ** self.rng.random()
        step = product.principal_step * 2
        plan.principal = Decimal(max(low, round(raw / step) * step))
        plan.rate = Decimal(self.rng.choice(product.rates))
        plan.purpose = self.rng.choice(product.purposes)
        plan.channel = self.rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]

    def _term_days(self, plan: LoanPlan, repayments: int) -> int:
        return period_days(plan.product) * repayments

    def _pick(self, plan: LoanPlan, fits) -> bool:
        """Terms (number of repayments) and a disbursement day satisfying ``fits(days, low,
        high)`` -> (low, high) window of disbursement days, or None."""
        options = list(plan.product.terms_offered)
        self.rng.shuffle(options)
        for repayments in options:
            window = fits(self._term_days(plan, repayments))
            if window is None:
                continue
            low, high, skew = window
            plan.repayments = repayments
            plan.disbursed_on = self._day(low, high, skew)
            return True
        return False

    # --- planning ----------------------------------------------------------------------------

    def plan(self, count: int) -> list[LoanPlan]:
        statuses = []
        for status, share in STATUS_SHARES.items():
            statuses += [status] * round(count * share)
        rescheduled = statuses.count(LoanStatus.RESCHEDULED)
        statuses += [LoanStatus.ACTIVE] * max(0, count - len(statuses) - rescheduled)
        self.rng.shuffle(statuses)
        product_codes = list(PRODUCT_SHARES)
        product_weights = list(PRODUCT_SHARES.values())
        plans = []
        for status in statuses:
            code = self.rng.choices(product_codes, weights=product_weights)[0]
            if status in (LoanStatus.WRITTEN_OFF, LoanStatus.RESCHEDULED):
                code = "mp-mensal"
            plan = LoanPlan(status=status, product=self.products[code])
            self._amounts(plan)
            self._dates(plan)
            plans.append(plan)
            if status == LoanStatus.RESCHEDULED:
                plans.append(self._continuation(plan))
        plans.sort(key=lambda item: (item.submitted_on, item.disbursed_on or item.submitted_on))
        return plans

    def _dates(self, plan: LoanPlan) -> None:
        as_of, first = self.as_of, self.first_day
        status = plan.status
        if status in (LoanStatus.SUBMITTED, LoanStatus.APPROVED):
            plan.submitted_on = as_of - datetime.timedelta(days=self.rng.randint(0, 25))
            if status == LoanStatus.APPROVED:
                plan.approved_on = min(
                    as_of, plan.submitted_on + datetime.timedelta(days=self.rng.randint(1, 5))
                )
            plan.expected_disbursement = as_of + datetime.timedelta(days=self.rng.randint(2, 20))
            plan.repayments = self.rng.choice(plan.product.terms_offered)
            return
        if status in (LoanStatus.REJECTED, LoanStatus.WITHDRAWN):
            plan.submitted_on = self._day(first, as_of - 5 * DAY, 0.8)
            plan.expected_disbursement = plan.submitted_on + datetime.timedelta(days=14)
            plan.repayments = self.rng.choice(plan.product.terms_offered)
            return
        if status == LoanStatus.ACTIVE:
            plan.behaviour = self.rng.choices(
                list(BEHAVIOUR_SHARES), weights=list(BEHAVIOUR_SHARES.values())
            )[0]
            if plan.behaviour == "split" and plan.product.code != "mp-mercado":
                plan.behaviour = "late"
            if plan.behaviour == "split":
                plan.repayments = 52
                plan.disbursed_on = self._day(as_of - 360 * DAY, as_of - 300 * DAY)
            elif plan.behaviour == "stopped":
                ok = self._pick(
                    plan,
                    lambda days: (
                        (max(first, as_of - days * DAY), as_of - 70 * DAY, 0.7)
                        if as_of - days * DAY < as_of - 70 * DAY
                        else None
                    ),
                )
                if not ok:
                    plan.behaviour = "on_time"
            if plan.behaviour not in ("split", "stopped"):
                self._pick(
                    plan,
                    lambda days: (max(first, as_of - days * DAY + 12 * DAY), as_of - 3 * DAY, 0.55),
                )
        elif status in (LoanStatus.CLOSED, LoanStatus.OVERPAID):
            plan.behaviour = self.rng.choice(("on_time", "on_time", "late", "advance"))
            if not self._pick(
                plan,
                lambda days: (
                    (first, as_of - days * DAY - 60 * DAY, 0.8)
                    if first < as_of - days * DAY - 60 * DAY
                    else None
                ),
            ):
                plan.product = self.products["mp-mensal"]
                plan.repayments = 6
                plan.disbursed_on = self._day(first, as_of - 250 * DAY)
        elif status == LoanStatus.WRITTEN_OFF:
            plan.behaviour = "written_off"
            plan.repayments = self.rng.choice((12, 18))
            plan.disbursed_on = self._day(first, as_of - 300 * DAY)
        elif status == LoanStatus.RESCHEDULED:
            plan.behaviour = "rescheduled"
            plan.repayments = self.rng.choice((12, 18, 24))
            plan.disbursed_on = self._day(first, as_of - 260 * DAY)
        plan.approved_on = plan.disbursed_on - datetime.timedelta(days=self.rng.randint(0, 4))
        plan.submitted_on = plan.approved_on - datetime.timedelta(days=self.rng.randint(2, 12))
        plan.submitted_on = max(plan.submitted_on, first - 30 * DAY)
        plan.expected_disbursement = plan.disbursed_on

    def _continuation(self, old: LoanPlan) -> LoanPlan:
        """The new loan a rescheduled one continues as (its terms are set once the old loan's
        outstanding principal is known)."""
        new = LoanPlan(status=LoanStatus.ACTIVE, product=old.product, renewal_of=old)
        new.rate, new.purpose, new.channel = old.rate, old.purpose, old.channel
        new.behaviour = "on_time"
        new.repayments = self.rng.choice((12, 18))
        # the rescheduling day: a month or more after an installment went unpaid
        first_unpaid = self.rng.randint(3, 6)
        due = old.disbursed_on + datetime.timedelta(days=30 * first_unpaid)
        day = min(self.as_of - 60 * DAY, due + datetime.timedelta(days=self.rng.randint(10, 40)))
        old.ended_on = day
        old.closed_on = day
        new.submitted_on = new.approved_on = new.disbursed_on = day
        new.expected_disbursement = day
        return new

    # --- what happened: installments, penalties, accruals, repayments -------------------------

    def simulate(self, plan: LoanPlan, accruals: dict) -> None:
        """Fill in the loan's installments and repayments up to the end of the history.
        ``accruals`` collects what the end-of-day job accrued, per (day, branch, rule set,
        currency): [interest, fee]."""
        if plan.renewal_of is not None:
            old = plan.renewal_of
            plan.principal = sum(
                (row.principal_due - row.principal_paid for row in old.installments), ZERO
            )
        product = plan.product
        version = product.version
        schedule = self.schedules.get(
            product, plan.principal, plan.rate, plan.repayments, plan.disbursed_on
        )
        plan.installments = [
            InstallmentState(row.number, row.due_date, row.principal, row.interest, row.fees)
            for row in schedule.installments
        ]
        days = self._pay_days(plan)
        currency = version.currency
        if version.penalty_percent:
            self._penalties(plan, days, currency)
        last_day = self.as_of if plan.ended_on is None else plan.ended_on - DAY
        for index, parts in enumerate(days):
            for part_number, (day, share) in enumerate(parts):
                if day > last_day:
                    break
                final = part_number == len(parts) - 1
                self._pay(plan, index, day, None if final else share, currency)
        if product.is_accrual:
            self._accruals(plan, accruals)
        if plan.status in (LoanStatus.CLOSED, LoanStatus.OVERPAID):
            plan.closed_on = plan.payments[-1].day
            if plan.status == LoanStatus.OVERPAID:
                plan.closed_on = None
                extra = Decimal(self.rng.randint(*(int(value) for value in OVERPAYMENT)))
                payment = plan.payments[-1]
                payment.amount += extra
                payment.overpayment = extra
                plan.overpaid = extra
        elif plan.status == LoanStatus.WRITTEN_OFF:
            first_unpaid = next(row for row in plan.installments if row.paid_on is None)
            low, high = WRITE_OFF_AFTER_DAYS
            day = first_unpaid.due_date + datetime.timedelta(days=self.rng.randint(low, high))
            plan.ended_on = plan.closed_on = min(day, self.as_of - DAY)

    def _pay_days(self, plan: LoanPlan) -> list[list[tuple[datetime.date, Decimal]]]:
        """For each installment, the days it is paid on and the share of it each pays (one
        full payment, or two or three parts for the "split" payers); [] when never paid."""
        rng = self.rng
        behaviour = plan.behaviour
        installments = plan.installments
        result = []
        previous = plan.disbursed_on
        stop = None
        if behaviour == "stopped":
            span = (self.as_of - plan.disbursed_on).days
            stop = plan.disbursed_on + datetime.timedelta(days=round(span * rng.uniform(0.3, 0.7)))
        elif behaviour == "written_off":
            stop = installments[rng.randint(1, 3) - 1].due_date
        elif behaviour == "rescheduled":
            stop = plan.ended_on - DAY
        for row in installments:
            due = row.due_date
            if stop is not None and due > stop:
                result.append([])
                continue
            if behaviour == "split":
                parts = rng.choice((2, 3))
                offsets = (-1, 2) if parts == 2 else (-2, 0, 3)
                shares = (Decimal("0.5"),) if parts == 2 else (Decimal("0.3"), Decimal("0.35"))
                days = [max(previous, due + datetime.timedelta(days=offset)) for offset in offsets]
                result.append(list(zip(days, (*shares, Decimal(1)), strict=True)))
                previous = days[-1]
                continue
            if behaviour == "advance":
                day = due - datetime.timedelta(days=rng.randint(1, 5))
            elif behaviour == "late":
                draw = rng.random()
                if plan.status != LoanStatus.ACTIVE:
                    delay = rng.randint(0, 10)
                elif draw < 0.4:
                    delay = 0
                elif draw < 0.75:
                    delay = rng.randint(1, 10)
                elif draw < 0.95:
                    delay = rng.randint(11, 35)
                else:
                    delay = rng.randint(36, 70)
                day = due + datetime.timedelta(days=delay)
            else:
                day = due
            day = max(day, previous, plan.disbursed_on + DAY)
            result.append([(day, Decimal(1))])
            previous = day
        return result

    def _penalties(self, plan: LoanPlan, days, currency: str) -> None:
        """The end of day's one-off late penalty: charged on the first day an installment is
        overdue beyond the tolerance, if it is still unpaid at that day's end."""
        version = plan.product.version
        percent = version.penalty_percent
        tolerance = datetime.timedelta(days=version.penalty_tolerance_days)
        for row, parts in zip(plan.installments, days, strict=True):
            charged_on = row.due_date + tolerance + DAY
            if charged_on > self.as_of - DAY:
                break
            paid_on = parts[-1][0] if parts else None
            if paid_on is not None and paid_on <= charged_on:
                continue
            owed = row.principal_due + row.interest_due + row.fee_due
            row.penalty_due = round_money(owed * percent / 100, currency)
            row.penalty_charged_on = charged_on

    def _pay(self, plan: LoanPlan, index: int, day, share, currency: str) -> None:
        """A repayment of installment ``index`` (all that is left of it, or ``share`` of its
        total), allocated part by part in the product's order."""
        row = plan.installments[index]
        order = plan.product.version.allocation_order
        if share is None:
            amount = None
        else:
            total = row.principal_due + row.interest_due + row.fee_due + row.penalty_due
            amount = round_money(total * share, currency)
        payment = Payment(day=day, amount=ZERO)
        if amount is None and not (
            row.principal_paid or row.interest_paid or row.fee_paid or row.penalty_paid
        ):
            # the usual repayment: a whole installment nothing was paid of yet
            taken = {
                "penalty": row.penalty_due,
                "fee": row.fee_due,
                "interest": row.interest_due,
                "principal": row.principal_due,
            }
            row.principal_paid, row.interest_paid = row.principal_due, row.interest_due
            row.fee_paid, row.penalty_paid = row.fee_due, row.penalty_due
        else:
            taken = {"penalty": ZERO, "fee": ZERO, "interest": ZERO, "principal": ZERO}
            remaining = amount
            for part in order:
                owed = getattr(row, f"{part}_due") - getattr(row, f"{part}_paid")
                pay = owed if remaining is None else min(owed, remaining)
                if pay <= 0:
                    continue
                taken[part] = pay
                setattr(row, f"{part}_paid", getattr(row, f"{part}_paid") + pay)
                if remaining is not None:
                    remaining -= pay
        interest_now = fee_now = ZERO
        if plan.product.is_accrual:
            interest_now = max(ZERO, row.interest_paid - row.interest_accrued)
            fee_now = max(ZERO, row.fee_paid - row.fee_accrued)
            if day <= row.due_date:  # paid before that day's end of day accrued it
                row.interest_accrued += interest_now
                row.fee_accrued += fee_now
            else:
                interest_now = fee_now = ZERO
        payment.principal, payment.interest = taken["principal"], taken["interest"]
        payment.fee, payment.penalty = taken["fee"], taken["penalty"]
        payment.amount = sum(taken.values(), ZERO)
        payment.accrued_interest_now, payment.accrued_fee_now = interest_now, fee_now
        payment.allocations.append(
            (
                index,
                taken["principal"],
                taken["interest"],
                taken["fee"],
                taken["penalty"],
                interest_now,
                fee_now,
            )
        )
        if (
            row.principal_paid == row.principal_due
            and row.interest_paid == row.interest_due
            and row.fee_paid == row.fee_due
            and row.penalty_paid == row.penalty_due
        ):
            row.paid_on = day
        plan.payments.append(payment)

    def _accruals(self, plan: LoanPlan, accruals: dict) -> None:
        """Installments the end-of-day job accrued (due and not paid by their due day's end),
        for the days before the last one (whose end of day the seed runs for real)."""
        product = plan.product
        for row in plan.installments:
            if row.due_date > self.as_of - DAY:
                break
            if row.interest_accrued >= row.interest_due and row.fee_accrued >= row.fee_due:
                continue
            key = (row.due_date, plan.branch_id, product.rule_set_id, product.version.currency)
            amounts = accruals.setdefault(key, [ZERO, ZERO])
            amounts[0] += row.interest_due - row.interest_accrued
            amounts[1] += row.fee_due - row.fee_accrued
            row.interest_accrued, row.fee_accrued = row.interest_due, row.fee_due
