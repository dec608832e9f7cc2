"""Every change to loans: lifecycle transitions, disbursement, repayments, write-off.

Each service is atomic, locks the loan it changes, validates the move against the state machine,
writes an audit event and, where money moves, posts its journal entry in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounting import services as ledger
from accounting.choices import AccountingRule, EntrySource, PostingEvent
from audit.services import audit_record, snapshot
from loans.choices import LOAN_TRANSITIONS, LoanStatus, TransactionKind
from loans.models import (
    Collateral,
    Guarantor,
    Installment,
    Loan,
    LoanDocument,
    LoanProduct,
    LoanProductVersion,
    LoanTransaction,
    RepaymentAllocation,
)
from loans.schedule import ScheduleError, ScheduleTerms, generate_schedule
from mfi.erasure import ERASED_TEXT, delete_files
from mfi.money import ZERO, round_money
from users.roles import Capability

PARTS = ("penalty", "fee", "interest", "principal")
# The loan's kept-in-step balance fields (see loans.models), cleared when a loan leaves the books.
BALANCE_FIELDS = (
    "principal_outstanding",
    "interest_outstanding",
    "fees_outstanding",
    "penalties_outstanding",
    "arrears_amount",
    "days_past_due",
    "delinquency_bucket",
)


def _clear_balances(loan: Loan) -> None:
    for name in BALANCE_FIELDS:
        blank = {"delinquency_bucket": "", "days_past_due": 0}
        setattr(loan, name, blank.get(name, ZERO))


def business_date() -> datetime.date:
    """The institution's business date (today in its time zone)."""
    return timezone.localdate()


def _require(actor, capability: Capability) -> None:
    if actor is None or not actor.has_capability(capability):
        raise PermissionDenied(_("Your role may not do this."))


def _require_scope(actor, loan: Loan) -> None:
    """The loan is one the actor may see (``selectors.loans_visible_to``'s rule): in their
    branches, or, for field agents and coaches, their own or their assigned borrowers' loans."""
    if actor.sees_assigned_only:
        if loan.officer_id == actor.pk or loan.borrower.assigned_to_id == actor.pk:
            return
        raise PermissionDenied(_("This loan is outside your scope."))
    scope = actor.branch_scope_ids()
    if scope is not None and loan.branch_id not in scope:
        raise PermissionDenied(_("This loan is outside your scope."))


def _lock(loan: Loan) -> Loan:
    return (
        Loan.objects.select_for_update(of=("self",))
        .select_related(
            "product_version",
            "product_version__product",
            "product_version__posting_rule_set",
            "branch",
            "borrower",
        )
        .get(pk=loan.pk)
    )


def _transition(
    loan: Loan,
    to_status: str,
    *,
    actor,
    action: str,
    extra: dict | None = None,
    update_fields: Iterable[str] = (),
) -> Loan:
    """Move a loan along its state machine, save the fields that changed, audit the move."""
    if to_status not in LOAN_TRANSITIONS[loan.status]:
        raise ValidationError(
            _("A %(from)s loan cannot become %(to)s.")
            % {"from": loan.get_status_display(), "to": LoanStatus(to_status).label}
        )
    before = loan.status
    loan.status = to_status
    loan.save(update_fields=["status", *update_fields])
    audit_record(
        actor=actor,
        action=f"loan.{action}",
        target=loan,
        before={"status": before},
        after={"status": to_status, **(extra or {})},
    )
    return loan


def _next_loan_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('loans_loan_number')")
        return f"L{cursor.fetchone()[0]:07d}"


# --- products --------------------------------------------------------------------------------


@transaction.atomic
def product_version_create(*, actor, product: LoanProduct, terms: dict) -> LoanProductVersion:
    """A new version of a product's terms; loans already approved keep theirs."""
    order = terms.get("allocation_order")
    if order is not None and sorted(order) != sorted(PARTS):
        raise ValidationError(
            {
                "allocation_order": _(
                    "List each of penalty, fee, interest and principal exactly once."
                )
            }
        )
    latest = product.versions.order_by("-version").first()
    version = LoanProductVersion(
        product=product,
        version=(latest.version + 1) if latest else 1,
        created_by=actor if getattr(actor, "pk", None) else None,
        **terms,
    )
    version.full_clean(exclude=["product", "created_by"])
    version.save()
    audit_record(
        actor=actor,
        action="loan_product.version_created",
        target=version,
        after={"product": product.code, "version": version.version},
    )
    return version


# --- applications ---------------------------------------------------------------------------


def loan_terms_check(
    version: LoanProductVersion, principal: Decimal, rate: Decimal, repayments: int
) -> None:
    errors = {}
    if not version.principal_min <= principal <= version.principal_max:
        errors["principal"] = _("The principal must be between %(min)s and %(max)s.") % {
            "min": round_money(version.principal_min, version.currency),
            "max": round_money(version.principal_max, version.currency),
        }
    elif round_money(principal, version.currency) != principal:
        errors["principal"] = _("The principal has more decimals than %(currency)s allows.") % {
            "currency": version.currency
        }
    if not version.rate_min <= rate <= version.rate_max:
        errors["annual_interest_rate"] = _(
            "The rate must be between %(min)s %% and %(max)s %%."
        ) % {"min": version.rate_min.normalize(), "max": version.rate_max.normalize()}
    if not version.repayments_min <= repayments <= version.repayments_max:
        errors["number_of_repayments"] = _("Between %(min)s and %(max)s repayments.") % {
            "min": version.repayments_min,
            "max": version.repayments_max,
        }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def loan_submit(
    *,
    actor,
    borrower,
    product: LoanProduct,
    principal: Decimal,
    purpose: str,
    expected_disbursement_date: datetime.date,
    annual_interest_rate: Decimal | None = None,
    number_of_repayments: int | None = None,
    first_repayment_date: datetime.date | None = None,
    officer=None,
    previous_loan: Loan | None = None,
    submitted_on: datetime.date | None = None,
) -> Loan:
    """A loan officer submits an application on the product's current terms."""
    _require(actor, Capability.LOAN_APPLY)
    scope = actor.branch_scope_ids()
    if scope is not None and borrower.branch_id not in scope:
        raise PermissionDenied(_("This borrower is outside your scope."))
    version = product.current_version
    if version is None or not product.is_active:
        raise ValidationError({"product": _("This product is not available.")})
    rate = annual_interest_rate if annual_interest_rate is not None else version.rate_default
    repayments = (
        number_of_repayments if number_of_repayments is not None else version.repayments_default
    )
    loan_terms_check(version, principal, rate, repayments)
    if previous_loan is not None and previous_loan.borrower_id != borrower.pk:
        raise ValidationError({"previous_loan": _("A renewal is for the same borrower.")})
    loan = Loan.objects.create(
        number=_next_loan_number(),
        borrower=borrower,
        branch=borrower.branch,
        officer=officer or actor,
        product_version=version,
        status=LoanStatus.SUBMITTED,
        currency=version.currency,
        principal=principal,
        annual_interest_rate=rate,
        number_of_repayments=repayments,
        purpose=purpose,
        expected_disbursement_date=expected_disbursement_date,
        first_repayment_date=first_repayment_date,
        previous_loan=previous_loan,
        submitted_on=submitted_on or business_date(),
        submitted_by=actor,
    )
    _terms_for(loan, expected_disbursement_date)  # the schedule must be computable
    audit_record(
        actor=actor,
        action="loan.submitted",
        target=loan,
        after=snapshot(
            loan,
            [
                "number",
                "principal",
                "annual_interest_rate",
                "number_of_repayments",
                "product_version",
                "borrower",
            ],
        ),
    )
    return loan


def _terms_for(loan: Loan, disbursement_date: datetime.date) -> ScheduleTerms:
    version = loan.product_version
    terms = ScheduleTerms(
        principal=loan.principal,
        currency=loan.currency,
        annual_interest_rate=loan.annual_interest_rate,
        number_of_repayments=loan.number_of_repayments,
        repayment_every=version.repayment_every,
        repayment_frequency=version.repayment_frequency,
        interest_method=version.interest_method,
        amortization=version.amortization,
        interest_calculation=version.interest_calculation,
        days_in_year=version.days_in_year,
        days_in_month=version.days_in_month,
        disbursement_date=disbursement_date,
        schedule_engine=version.schedule_engine,
        first_repayment_date=loan.first_repayment_date
        if loan.first_repayment_date and loan.first_repayment_date > disbursement_date
        else None,
        grace_on_principal=version.grace_on_principal,
        grace_on_interest_payment=version.grace_on_interest_payment,
        grace_on_interest_charged=version.grace_on_interest_charged,
        installment_multiple=version.installment_multiple,
        currency_multiple=version.currency_multiple,
        fees=version.installment_fee,
    )
    try:
        generate_schedule(terms)
    except ScheduleError as exc:
        raise ValidationError(str(exc)) from exc
    return terms


def _installments_create(loan: Loan, disbursed_on: datetime.date) -> None:
    """Write the loan's schedule, computed from its terms, as its installments."""
    schedule = generate_schedule(_terms_for(loan, disbursed_on))
    Installment.objects.bulk_create(
        Installment(
            loan=loan,
            number=row.number,
            due_date=row.due_date,
            principal_due=row.principal,
            interest_due=row.interest,
            fee_due=row.fees,
        )
        for row in schedule.installments
    )


def loan_schedule_preview(loan: Loan, disbursement_date: datetime.date | None = None):
    return generate_schedule(
        _terms_for(loan, disbursement_date or loan.disbursed_on or loan.expected_disbursement_date)
    )


@transaction.atomic
def loan_approve(*, actor, loan: Loan, approved_on: datetime.date | None = None) -> Loan:
    """Four eyes: someone other than the submitter approves, within their approval limit,
    once the offer's required documents are on file."""
    _require(actor, Capability.LOAN_APPROVE)
    loan = _lock(loan)
    _require_scope(actor, loan)
    if loan.submitted_by_id == actor.pk:
        raise PermissionDenied(_("You submitted this application; another person must approve it."))
    if actor.approval_limit is not None and loan.principal > actor.approval_limit:
        raise PermissionDenied(
            _("The principal is above your approval limit (%(limit)s).")
            % {"limit": round_money(actor.approval_limit, loan.currency)}
        )
    required = set(loan.product_version.product.offer.required_documents)
    on_file = set(loan.documents.values_list("kind", flat=True))
    missing = sorted(required - on_file)
    if missing:
        raise ValidationError(
            _("Documents missing before approval: %(kinds)s.") % {"kinds": ", ".join(missing)}
        )
    loan.approved_on = approved_on or business_date()
    if loan.approved_on > business_date() or loan.approved_on < loan.submitted_on:
        raise ValidationError(
            {"approved_on": _("The approval date must fall between the submission and today.")}
        )
    loan.approved_by = actor
    return _transition(
        loan,
        LoanStatus.APPROVED,
        actor=actor,
        action="approved",
        update_fields=["approved_on", "approved_by"],
    )


@transaction.atomic
def loan_reject(*, actor, loan: Loan, reason: str) -> Loan:
    _require(actor, Capability.LOAN_APPROVE)
    loan = _lock(loan)
    _require_scope(actor, loan)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the application is rejected.")})
    return _transition(
        loan, LoanStatus.REJECTED, actor=actor, action="rejected", extra={"reason": reason[:250]}
    )


@transaction.atomic
def loan_withdraw(*, actor, loan: Loan, reason: str) -> Loan:
    """The client withdraws the application (before disbursement)."""
    _require(actor, Capability.LOAN_APPLY)
    loan = _lock(loan)
    _require_scope(actor, loan)
    return _transition(
        loan, LoanStatus.WITHDRAWN, actor=actor, action="withdrawn", extra={"reason": reason[:250]}
    )


@transaction.atomic
def loan_undo_approval(*, actor, loan: Loan) -> Loan:
    _require(actor, Capability.LOAN_APPROVE)
    loan = _lock(loan)
    _require_scope(actor, loan)
    if loan.status != LoanStatus.APPROVED:
        raise ValidationError(_("Only an approved, undisbursed loan can go back to submitted."))
    loan.approved_on = None
    loan.approved_by = None
    return _transition(
        loan,
        LoanStatus.SUBMITTED,
        actor=actor,
        action="approval_undone",
        update_fields=["approved_on", "approved_by"],
    )


def _disbursement_fee(loan: Loan) -> Decimal:
    version = loan.product_version
    return round_money(
        version.disbursement_fee_flat + loan.principal * version.disbursement_fee_percent / 100,
        loan.currency,
    )


@transaction.atomic
def loan_disburse(
    *, actor, loan: Loan, disbursed_on: datetime.date | None = None, channel: str = "cash"
) -> Loan:
    """Pay the loan out: build its schedule and post Dr loan portfolio / Cr cash (less a
    disbursement fee, booked as fee income)."""
    _require(actor, Capability.LOAN_DISBURSE)
    loan = _lock(loan)
    _require_scope(actor, loan)
    if loan.status != LoanStatus.APPROVED:
        raise ValidationError(_("Only an approved loan can be disbursed."))
    day = disbursed_on or business_date()
    if day > business_date():
        raise ValidationError({"disbursed_on": _("A disbursement cannot be dated in the future.")})
    if loan.approved_on and day < loan.approved_on:
        raise ValidationError({"disbursed_on": _("A loan is disbursed after its approval.")})
    _installments_create(loan, day)
    fee = _disbursement_fee(loan)
    txn = LoanTransaction.objects.create(
        loan=loan,
        kind=TransactionKind.DISBURSEMENT,
        value_date=day,
        amount=loan.principal,
        principal_portion=loan.principal,
        fee_portion=fee,
        channel=channel,
        created_by=actor,
    )
    txn.journal_entry = ledger.event_post(
        actor=actor,
        rule_set=loan.product_version.posting_rule_set,
        entry_date=day,
        branch=loan.branch,
        currency=loan.currency,
        amounts={PostingEvent.DISBURSEMENT: loan.principal, PostingEvent.DISBURSEMENT_FEE: fee},
        description=_("Disbursement of loan %(number)s") % {"number": loan.number},
        source=EntrySource.LOAN_TRANSACTION,
        source_reference=f"loan-txn-{txn.pk}",
    )
    txn.save(update_fields=["journal_entry"])
    loan.disbursed_on = day
    _transition(
        loan,
        LoanStatus.ACTIVE,
        actor=actor,
        action="disbursed",
        extra={"disbursed_on": day.isoformat(), "fee": str(fee)},
        update_fields=["disbursed_on"],
    )
    refresh_loan_balances(loan, as_of=business_date())
    return loan


@transaction.atomic
def loan_undo_disbursement(*, actor, loan: Loan, reason: str) -> Loan:
    """Undo a disbursement while nothing depends on it (no repayment recorded)."""
    _require(actor, Capability.LOAN_WRITE_OFF)
    loan = _lock(loan)
    _require_scope(actor, loan)
    if loan.status != LoanStatus.ACTIVE:
        raise ValidationError(_("Only an active loan's disbursement can be undone."))
    if loan.transactions.filter(kind=TransactionKind.REPAYMENT, is_reversed=False).exists():
        raise ValidationError(_("Repayments depend on this disbursement; reverse them first."))
    disbursement = loan.transactions.get(kind=TransactionKind.DISBURSEMENT, is_reversed=False)
    _reverse_transaction(actor, disbursement, reason)
    RepaymentAllocation.objects.filter(transaction__loan=loan).delete()
    loan.installments.all().delete()
    loan.disbursed_on = None
    _clear_balances(loan)
    return _transition(
        loan,
        LoanStatus.APPROVED,
        actor=actor,
        action="disbursement_undone",
        extra={"reason": reason[:250]},
        update_fields=[
            "disbursed_on",
            *BALANCE_FIELDS,
        ],
    )


def _reverse_transaction(actor, txn: LoanTransaction, reason: str) -> None:
    if txn.journal_entry_id:
        txn.reversal_entry = ledger.journal_entry_reverse_for_source(
            actor=actor,
            entry=txn.journal_entry,
            reason=reason or _("Loan transaction reversed"),
            entry_date=max(business_date(), txn.value_date),
        )
    txn.is_reversed = True
    txn.save(update_fields=["is_reversed", "reversal_entry"])


# --- repayments ------------------------------------------------------------------------------


@dataclass
class Allocation:
    """The split of a payment across installments and parts."""

    parts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(PARTS, ZERO))
    overpayment: Decimal = ZERO
    rows: list[tuple[Installment, dict[str, Decimal]]] = field(default_factory=list)


def allocate(installments: list[Installment], amount: Decimal, order: list[str]) -> Allocation:
    """Pure allocation: oldest installment first, within it the product's order of parts.
    Conserves money: allocated parts + overpayment == amount."""
    result = Allocation()
    remaining = amount
    for installment in sorted(installments, key=lambda item: (item.due_date, item.number)):
        if remaining <= 0:
            break
        taken = {}
        for part in order:
            owed = getattr(installment, f"{part}_due") - getattr(installment, f"{part}_paid")
            pay = min(owed, remaining)
            if pay > 0:
                taken[part] = pay
                remaining -= pay
                result.parts[part] += pay
        if taken:
            result.rows.append((installment, taken))
    result.overpayment = remaining
    return result


def _accrual_catch_up(
    loan: Loan, installment: Installment, taken: dict[str, Decimal]
) -> tuple[Decimal, Decimal]:
    """Under accrual accounting, interest or fees paid before the end-of-day job accrued them
    are accrued now, so the receivable never goes negative."""
    if loan.product_version.posting_rule_set.accounting_rule != AccountingRule.ACCRUAL:
        return ZERO, ZERO
    interest = max(
        ZERO, installment.interest_paid + taken.get("interest", ZERO) - installment.interest_accrued
    )
    fee = max(ZERO, installment.fee_paid + taken.get("fee", ZERO) - installment.fee_accrued)
    return interest, fee


@transaction.atomic
def repayment_record(
    *,
    actor,
    loan: Loan,
    amount: Decimal,
    value_date: datetime.date | None = None,
    channel: str = "cash",
    receipt_number: str = "",
) -> LoanTransaction:
    """Record a repayment. The loan row is locked, so two repayments racing on one loan are
    applied one after the other, never to the same unpaid amount twice."""
    _require(actor, Capability.LOAN_REPAY)
    loan = _lock(loan)
    _require_scope(actor, loan)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.OVERPAID):
        raise ValidationError(_("Repayments are recorded on active loans only."))
    day = value_date or business_date()
    if day > business_date():
        raise ValidationError({"value_date": _("A repayment cannot be dated in the future.")})
    if loan.disbursed_on and day < loan.disbursed_on:
        raise ValidationError({"value_date": _("A repayment cannot precede the disbursement.")})
    amount = Decimal(amount)
    if amount <= 0 or round_money(amount, loan.currency) != amount:
        raise ValidationError(
            {"amount": _("Enter a positive amount in %(currency)s.") % {"currency": loan.currency}}
        )
    if receipt_number and LoanTransaction.objects.filter(receipt_number=receipt_number).exists():
        raise ValidationError({"receipt_number": _("This receipt number is already recorded.")})
    installments = list(loan.installments.select_for_update().order_by("number"))
    allocation = allocate(installments, amount, loan.product_version.allocation_order)
    txn = LoanTransaction.objects.create(
        loan=loan,
        kind=TransactionKind.REPAYMENT,
        value_date=day,
        amount=amount,
        principal_portion=allocation.parts["principal"],
        interest_portion=allocation.parts["interest"],
        fee_portion=allocation.parts["fee"],
        penalty_portion=allocation.parts["penalty"],
        overpayment_portion=allocation.overpayment,
        channel=channel,
        receipt_number=receipt_number,
        created_by=actor,
    )
    accrued_interest = accrued_fee = ZERO
    allocations = []
    for installment, taken in allocation.rows:
        interest_now, fee_now = _accrual_catch_up(loan, installment, taken)
        accrued_interest += interest_now
        accrued_fee += fee_now
        allocations.append(
            RepaymentAllocation(
                transaction=txn,
                installment=installment,
                interest_accrued_now=interest_now,
                fee_accrued_now=fee_now,
                **taken,
            )
        )
        Installment.objects.filter(pk=installment.pk).update(
            interest_accrued=F("interest_accrued") + interest_now,
            fee_accrued=F("fee_accrued") + fee_now,
            **{f"{part}_paid": F(f"{part}_paid") + value for part, value in taken.items()},
        )
        # the locked rows in memory follow, so the loan's balances need no second read
        installment.interest_accrued += interest_now
        installment.fee_accrued += fee_now
        for part, value in taken.items():
            setattr(installment, f"{part}_paid", getattr(installment, f"{part}_paid") + value)
    RepaymentAllocation.objects.bulk_create(allocations)
    txn.journal_entry = ledger.event_post(
        actor=actor,
        rule_set=loan.product_version.posting_rule_set,
        entry_date=day,
        branch=loan.branch,
        currency=loan.currency,
        amounts={
            PostingEvent.ACCRUAL_INTEREST: accrued_interest,
            PostingEvent.ACCRUAL_FEE: accrued_fee,
            PostingEvent.REPAYMENT_PRINCIPAL: allocation.parts["principal"],
            PostingEvent.REPAYMENT_INTEREST: allocation.parts["interest"],
            PostingEvent.REPAYMENT_FEE: allocation.parts["fee"],
            PostingEvent.REPAYMENT_PENALTY: allocation.parts["penalty"],
            PostingEvent.OVERPAYMENT: allocation.overpayment,
        },
        description=_("Repayment on loan %(number)s") % {"number": loan.number},
        source=EntrySource.LOAN_TRANSACTION,
        source_reference=f"loan-txn-{txn.pk}",
    )
    txn.save(update_fields=["journal_entry"])
    audit_record(
        actor=actor,
        action="loan.repayment_recorded",
        target=loan,
        after={
            "transaction": txn.pk,
            "amount": str(amount),
            "value_date": day.isoformat(),
            **{part: str(value) for part, value in allocation.parts.items()},
            "overpayment": str(allocation.overpayment),
        },
    )
    loan.overpaid_amount += allocation.overpayment
    _balances_from(loan, installments, as_of=business_date())
    loan.save(update_fields=["overpaid_amount", *_REFRESHED_FIELDS])
    _settle_status(loan, actor=actor, day=day)
    return txn


def _settle_status(loan: Loan, *, actor, day: datetime.date) -> None:
    """Closed when nothing is owed; overpaid when more was paid than owed."""
    owed = loan.total_outstanding
    if owed == 0 and loan.overpaid_amount > 0 and loan.status != LoanStatus.OVERPAID:
        loan.closed_on = None
        _transition(
            loan, LoanStatus.OVERPAID, actor=actor, action="overpaid", update_fields=["closed_on"]
        )
    elif owed == 0 and loan.overpaid_amount == 0 and loan.status != LoanStatus.CLOSED:
        loan.closed_on = day
        _transition(
            loan, LoanStatus.CLOSED, actor=actor, action="closed", update_fields=["closed_on"]
        )
    elif owed > 0 and loan.status in (LoanStatus.CLOSED, LoanStatus.OVERPAID):
        loan.closed_on = None
        _transition(
            loan, LoanStatus.ACTIVE, actor=actor, action="reopened", update_fields=["closed_on"]
        )


@transaction.atomic
def repayment_reverse(*, actor, transaction_id: int, reason: str) -> LoanTransaction:
    """Undo a repayment exactly: its allocations are taken back and its journal entry reversed."""
    _require(actor, Capability.LOAN_WRITE_OFF)
    txn = LoanTransaction.objects.select_related("loan").get(pk=transaction_id)
    loan = _lock(txn.loan)
    _require_scope(actor, loan)
    txn = LoanTransaction.objects.select_for_update().get(pk=transaction_id)
    if txn.kind != TransactionKind.REPAYMENT or txn.is_reversed:
        raise ValidationError(_("Only a repayment not yet reversed can be reversed."))
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.OVERPAID, LoanStatus.CLOSED):
        raise ValidationError(
            _("Repayments of a %(status)s loan cannot be reversed.")
            % {"status": loan.get_status_display()}
        )
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the repayment is reversed.")})
    for row in txn.allocations.all():
        Installment.objects.filter(pk=row.installment_id).update(
            principal_paid=F("principal_paid") - row.principal,
            interest_paid=F("interest_paid") - row.interest,
            fee_paid=F("fee_paid") - row.fee,
            penalty_paid=F("penalty_paid") - row.penalty,
            # the reversing journal entry also reverses the accrual caught up by this payment
            interest_accrued=F("interest_accrued") - row.interest_accrued_now,
            fee_accrued=F("fee_accrued") - row.fee_accrued_now,
        )
    _reverse_transaction(actor, txn, reason)
    loan.overpaid_amount -= txn.overpayment_portion
    loan.save(update_fields=["overpaid_amount"])
    audit_record(
        actor=actor,
        action="loan.repayment_reversed",
        target=loan,
        after={"transaction": txn.pk, "amount": str(txn.amount), "reason": reason[:250]},
    )
    refresh_loan_balances(loan, as_of=business_date())
    _settle_status(loan, actor=actor, day=business_date())
    return txn


@transaction.atomic
def loan_write_off(
    *, actor, loan: Loan, reason: str, written_off_on: datetime.date | None = None
) -> Loan:
    """Write off what is still owed: Dr losses / Cr loan portfolio (and accrued receivables)."""
    _require(actor, Capability.LOAN_WRITE_OFF)
    loan = _lock(loan)
    _require_scope(actor, loan)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the loan is written off.")})
    if loan.status != LoanStatus.ACTIVE:
        raise ValidationError(_("Only an active loan can be written off."))
    day = written_off_on or business_date()
    if day > business_date() or (loan.disbursed_on and day < loan.disbursed_on):
        raise ValidationError(
            {
                "written_off_on": _(
                    "The write-off date must fall between the disbursement and today."
                )
            }
        )
    totals = loan.installments.aggregate(
        principal=Sum(F("principal_due") - F("principal_paid")),
        interest=Sum(F("interest_due") - F("interest_paid")),
        fee=Sum(F("fee_due") - F("fee_paid")),
        penalty=Sum(F("penalty_due") - F("penalty_paid")),
        interest_accrued=Sum(F("interest_accrued") - F("interest_paid")),
        fee_accrued=Sum(F("fee_accrued") - F("fee_paid")),
    )
    owed = {part: max(ZERO, totals[part] or ZERO) for part in PARTS}
    if not any(owed.values()):
        raise ValidationError(_("Nothing is owed on this loan: there is nothing to write off."))
    accrual = loan.product_version.posting_rule_set.accounting_rule == AccountingRule.ACCRUAL
    amounts = {PostingEvent.WRITE_OFF: owed["principal"]}
    if accrual:  # only what was recognised as income sits in a receivable
        amounts.update(
            {
                PostingEvent.WRITE_OFF_INTEREST: max(ZERO, totals["interest_accrued"] or ZERO),
                PostingEvent.WRITE_OFF_FEE: max(ZERO, totals["fee_accrued"] or ZERO),
                PostingEvent.WRITE_OFF_PENALTY: owed["penalty"],
            }
        )
    txn = LoanTransaction.objects.create(
        loan=loan,
        kind=TransactionKind.WRITE_OFF,
        value_date=day,
        amount=sum(owed.values(), ZERO),
        principal_portion=owed["principal"],
        interest_portion=owed["interest"],
        fee_portion=owed["fee"],
        penalty_portion=owed["penalty"],
        created_by=actor,
    )
    txn.journal_entry = ledger.event_post(
        actor=actor,
        rule_set=loan.product_version.posting_rule_set,
        entry_date=day,
        branch=loan.branch,
        currency=loan.currency,
        amounts=amounts,
        description=_("Write-off of loan %(number)s") % {"number": loan.number},
        source=EntrySource.LOAN_TRANSACTION,
        source_reference=f"loan-txn-{txn.pk}",
    )
    txn.save(update_fields=["journal_entry"])
    loan.closed_on = day
    _clear_balances(loan)
    return _transition(
        loan,
        LoanStatus.WRITTEN_OFF,
        actor=actor,
        action="written_off",
        extra={**{part: str(value) for part, value in owed.items()}, "reason": reason[:250]},
        update_fields=[
            "closed_on",
            *BALANCE_FIELDS,
        ],
    )


@transaction.atomic
def loan_document_add(*, actor, loan: Loan, kind: str, file) -> LoanDocument:
    _require(actor, Capability.LOAN_APPLY)
    _require_scope(actor, loan)
    document = LoanDocument.objects.create(loan=loan, kind=kind, file=file, uploaded_by=actor)
    audit_record(
        actor=actor,
        action="loan.document_added",
        target=loan,
        after={"kind": kind, "document": document.pk},
    )
    return document


# --- balances and arrears ----------------------------------------------------------------------


def bucket_label(days_past_due: int, buckets: list[list[int | None]]) -> str:
    for low, high in buckets:
        if days_past_due >= low and (high is None or days_past_due <= high):
            return f"{low}-{high}" if high is not None else f"{low}+"
    return ""


_REFRESHED_FIELDS = (
    "principal_outstanding",
    "interest_outstanding",
    "fees_outstanding",
    "penalties_outstanding",
    "days_past_due",
    "arrears_amount",
    "delinquency_bucket",
)


def refresh_loan_balances(loan: Loan, *, as_of: datetime.date) -> Loan:
    """Recompute a loan's balance, days past due, arrears and bucket from its installments.
    (The end-of-day job does the same for every loan at once, in SQL.)"""
    _balances_from(loan, list(loan.installments.all()), as_of=as_of)
    loan.save(update_fields=list(_REFRESHED_FIELDS))
    return loan


def _balances_from(loan: Loan, rows: list[Installment], *, as_of: datetime.date) -> None:
    """Set the loan's kept-in-step balance fields from its installments ``rows`` (not saved)."""
    loan.principal_outstanding = sum((r.principal_due - r.principal_paid for r in rows), ZERO)
    loan.interest_outstanding = sum((r.interest_due - r.interest_paid for r in rows), ZERO)
    loan.fees_outstanding = sum((r.fee_due - r.fee_paid for r in rows), ZERO)
    loan.penalties_outstanding = sum((r.penalty_due - r.penalty_paid for r in rows), ZERO)
    overdue = [r for r in rows if r.due_date < as_of and r.outstanding > 0]
    arrears = sum((r.outstanding for r in overdue), ZERO)
    tolerance = loan.product_version.arrears_tolerance
    if overdue and arrears > tolerance:
        loan.days_past_due = (as_of - min(r.due_date for r in overdue)).days
        loan.arrears_amount = arrears
    else:
        loan.days_past_due = 0
        loan.arrears_amount = ZERO
    loan.delinquency_bucket = bucket_label(
        loan.days_past_due, loan.product_version.delinquency_buckets
    )


@transaction.atomic
def loan_guarantor_add(*, actor, loan: Loan, party, amount: Decimal) -> Guarantor:
    """A party guarantees the loan for an amount (never the borrower)."""
    _require(actor, Capability.LOAN_APPLY)
    _require_scope(actor, loan)
    if party.pk == loan.borrower_id:
        raise ValidationError({"party": _("The borrower cannot guarantee their own loan.")})
    if amount <= 0:
        raise ValidationError({"amount": _("Enter a positive amount.")})
    guarantor, created = Guarantor.objects.get_or_create(
        loan=loan, party=party, defaults={"amount": round_money(amount, loan.currency)}
    )
    if not created:
        raise ValidationError({"party": _("This party already guarantees the loan.")})
    audit_record(
        actor=actor,
        action="loan.guarantor_added",
        target=loan,
        after={"party": party.pk, "amount": str(guarantor.amount)},
    )
    return guarantor


@transaction.atomic
def loan_collateral_add(*, actor, loan: Loan, description: str, value: Decimal) -> Collateral:
    _require(actor, Capability.LOAN_APPLY)
    _require_scope(actor, loan)
    if value <= 0 or not description.strip():
        raise ValidationError(_("Describe the collateral and give a positive value."))
    collateral = Collateral.objects.create(
        loan=loan, description=description[:250], value=round_money(value, loan.currency)
    )
    audit_record(
        actor=actor,
        action="loan.collateral_added",
        target=loan,
        after={"description": collateral.description, "value": str(collateral.value)},
    )
    return collateral


@transaction.atomic
def loan_reschedule(
    *,
    actor,
    loan: Loan,
    number_of_repayments: int,
    first_repayment_date: datetime.date | None = None,
    annual_interest_rate: Decimal | None = None,
) -> Loan:
    """Reschedule by closure (as Fineract's "closed — rescheduled"): the loan's outstanding
    principal becomes a new loan on new terms, linked to it. Interest, fees and penalties still
    unpaid on the old loan are waived (under accrual accounting their receivables are written
    off). No cash moves: the principal stays in the loan portfolio, now owed on the new loan."""
    _require(actor, Capability.LOAN_APPROVE)
    old = _lock(loan)
    _require_scope(actor, old)
    if old.status != LoanStatus.ACTIVE:
        raise ValidationError(_("Only an active loan can be rescheduled."))
    day = business_date()
    refresh_loan_balances(old, as_of=day)
    principal = old.principal_outstanding
    if principal <= 0:
        raise ValidationError(_("Nothing is left to reschedule."))
    rate = annual_interest_rate if annual_interest_rate is not None else old.annual_interest_rate
    version = old.product_version
    if not version.repayments_min <= number_of_repayments <= version.repayments_max:
        raise ValidationError(
            {
                "number_of_repayments": _("Between %(min)s and %(max)s repayments.")
                % {"min": version.repayments_min, "max": version.repayments_max}
            }
        )
    waived = {
        "interest": old.interest_outstanding,
        "fees": old.fees_outstanding,
        "penalties": old.penalties_outstanding,
    }
    if version.posting_rule_set.accounting_rule == AccountingRule.ACCRUAL:
        accrued = old.installments.aggregate(
            interest=Sum(F("interest_accrued") - F("interest_paid")),
            fee=Sum(F("fee_accrued") - F("fee_paid")),
            penalty=Sum(F("penalty_due") - F("penalty_paid")),
        )
        ledger.event_post(
            actor=actor,
            rule_set=version.posting_rule_set,
            entry_date=day,
            branch=old.branch,
            currency=old.currency,
            amounts={
                PostingEvent.WRITE_OFF_INTEREST: max(ZERO, accrued["interest"] or ZERO),
                PostingEvent.WRITE_OFF_FEE: max(ZERO, accrued["fee"] or ZERO),
                PostingEvent.WRITE_OFF_PENALTY: max(ZERO, accrued["penalty"] or ZERO),
            },
            description=_("Waiver on rescheduling loan %(number)s") % {"number": old.number},
            source=EntrySource.LOAN_TRANSACTION,
            source_reference=f"reschedule-{old.pk}",
        )
    new = Loan.objects.create(
        number=_next_loan_number(),
        borrower=old.borrower,
        branch=old.branch,
        officer=old.officer,
        product_version=version,
        status=LoanStatus.ACTIVE,
        currency=old.currency,
        principal=principal,
        annual_interest_rate=rate,
        number_of_repayments=number_of_repayments,
        purpose=_("Rescheduling of loan %(number)s") % {"number": old.number},
        expected_disbursement_date=day,
        first_repayment_date=first_repayment_date,
        previous_loan=old,
        submitted_on=day,
        submitted_by=old.submitted_by,
        approved_on=day,
        approved_by=actor if actor.pk != old.submitted_by_id else None,
        disbursed_on=day,
    )
    _installments_create(new, day)
    LoanTransaction.objects.create(
        loan=new,
        kind=TransactionKind.RESCHEDULE,
        value_date=day,
        amount=principal,
        principal_portion=principal,
        created_by=actor,
    )
    refresh_loan_balances(new, as_of=day)
    old.closed_on = day
    _clear_balances(old)
    _transition(
        old,
        LoanStatus.RESCHEDULED,
        actor=actor,
        action="rescheduled",
        extra={
            "new_loan": new.number,
            "principal": str(principal),
            **{key: str(value) for key, value in waived.items()},
        },
        update_fields=[
            "closed_on",
            *BALANCE_FIELDS,
        ],
    )
    audit_record(
        actor=actor,
        action="loan.created_by_rescheduling",
        target=new,
        after={"previous_loan": old.number, "principal": str(principal)},
    )
    return new


def borrower_personal_data_erase(party) -> None:
    """An erased borrower's loans keep their amounts, schedule, transactions and ledger (the
    law keeps them); their personal text and files go."""
    loans = Loan.objects.filter(borrower=party)
    loans.update(purpose="")
    Collateral.objects.filter(loan__in=loans).update(description=ERASED_TEXT)
    documents = LoanDocument.objects.filter(loan__in=loans)
    delete_files(documents, "file")
    documents.update(file="")
