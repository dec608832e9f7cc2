"""Offers (programmes), loan products with versioned terms, loans, schedules and transactions.

Money: Decimal amounts in the loan's currency, rounded to its minor unit where they fall due or
are paid. The installments are the source of truth for what is owed; the loan's balance fields are
kept in step by the services (and the end-of-day job) so lists and PAR need no per-loan work.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from loans.choices import (
    DEFAULT_ALLOCATION_ORDER,
    DEFAULT_DELINQUENCY_BUCKETS,
    Amortization,
    Channel,
    DaysInMonth,
    DaysInYear,
    DocumentKind,
    Frequency,
    InterestCalculation,
    InterestMethod,
    LoanStatus,
    OfferKind,
    ScheduleEngine,
    TransactionKind,
)
from mfi.money import Currency

AMOUNT = {"max_digits": 20, "decimal_places": 4}
RATE = {"max_digits": 9, "decimal_places": 4}
ZERO = Decimal(0)


def _default_allocation_order():
    return list(DEFAULT_ALLOCATION_ORDER)


def _default_buckets():
    return [list(bucket) for bucket in DEFAULT_DELINQUENCY_BUCKETS]


class Offer(models.Model):
    """A public programme the institution runs: loans and other support instruments, each with
    its eligibility rules, required documents, procedure and the metrics compliance monitors."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=OfferKind.choices)
    description = models.TextField(_("description"), blank=True)
    eligibility_rules = models.JSONField(_("eligibility rules"), default=list, blank=True)
    required_documents = models.JSONField(
        _("required documents"),
        default=list,
        blank=True,
        help_text=_("Document kinds that must be on file before a loan is approved."),
    )
    procedure_steps = models.JSONField(_("procedure steps"), default=list, blank=True)
    monitoring_metrics = models.JSONField(_("monitoring metrics"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("offer")

    def __str__(self) -> str:
        return self.name


class LoanProduct(models.Model):
    """A loan product of an offer. Its terms live in versions; a loan keeps its version."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="products")
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("loan product")

    def __str__(self) -> str:
        return self.name

    @property
    def current_version(self) -> LoanProductVersion:
        return self.versions.order_by("-version").first()


class LoanProductVersion(models.Model):
    """The terms of a product from a point in time. Never edited: a change is a new version."""

    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    principal_min = models.DecimalField(_("minimum principal"), **AMOUNT)
    principal_default = models.DecimalField(_("default principal"), **AMOUNT)
    principal_max = models.DecimalField(_("maximum principal"), **AMOUNT)
    rate_min = models.DecimalField(_("minimum rate (% per year)"), **RATE)
    rate_default = models.DecimalField(_("default rate (% per year)"), **RATE)
    rate_max = models.DecimalField(_("maximum rate (% per year)"), **RATE)
    repayments_min = models.PositiveIntegerField(_("minimum number of repayments"), default=1)
    repayments_default = models.PositiveIntegerField(_("default number of repayments"))
    repayments_max = models.PositiveIntegerField(_("maximum number of repayments"))
    repayment_every = models.PositiveIntegerField(_("repayment every"), default=1)
    repayment_frequency = models.CharField(_("frequency"), max_length=8, choices=Frequency.choices)
    interest_method = models.CharField(
        _("interest method"), max_length=20, choices=InterestMethod.choices
    )
    amortization = models.CharField(_("amortization"), max_length=20, choices=Amortization.choices)
    interest_calculation = models.CharField(
        _("interest calculation period"), max_length=30, choices=InterestCalculation.choices
    )
    schedule_engine = models.CharField(
        _("schedule engine"),
        max_length=12,
        choices=ScheduleEngine.choices,
        default=ScheduleEngine.CUMULATIVE,
    )
    days_in_year = models.CharField(
        _("days in year"), max_length=6, choices=DaysInYear.choices, default=DaysInYear.ACTUAL
    )
    days_in_month = models.CharField(
        _("days in month"), max_length=6, choices=DaysInMonth.choices, default=DaysInMonth.ACTUAL
    )
    grace_on_principal = models.PositiveIntegerField(_("grace on principal"), default=0)
    grace_on_interest_payment = models.PositiveIntegerField(
        _("grace on interest payment"), default=0
    )
    grace_on_interest_charged = models.PositiveIntegerField(
        _("grace on interest charged"), default=0
    )
    installment_multiple = models.PositiveIntegerField(
        _("installment in multiples of"), null=True, blank=True
    )
    currency_multiple = models.PositiveIntegerField(
        _("currency in multiples of"), null=True, blank=True
    )
    disbursement_fee_flat = models.DecimalField(
        _("disbursement fee (flat)"), default=ZERO, **AMOUNT
    )
    disbursement_fee_percent = models.DecimalField(
        _("disbursement fee (% of principal)"), default=ZERO, **RATE
    )
    installment_fee = models.DecimalField(_("fee per installment"), default=ZERO, **AMOUNT)
    penalty_percent = models.DecimalField(
        _("late penalty (% of the overdue installment)"), default=ZERO, **RATE
    )
    penalty_tolerance_days = models.PositiveIntegerField(_("penalty after days late"), default=0)
    arrears_tolerance = models.DecimalField(
        _("arrears tolerance (amount)"),
        default=ZERO,
        **AMOUNT,
        help_text=_("Overdue amounts up to this are not counted as arrears."),
    )
    allocation_order = models.JSONField(
        _("repayment allocation order"), default=_default_allocation_order
    )
    delinquency_buckets = models.JSONField(
        _("delinquency buckets (days)"), default=_default_buckets
    )
    posting_rule_set = models.ForeignKey(
        "accounting.PostingRuleSet",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("posting rules"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product", "-version"]
        verbose_name = _("loan product version")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "version"], name="%(app_label)s_%(class)s_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(principal_min__lte=models.F("principal_default"))
                & Q(principal_default__lte=models.F("principal_max"))
                & Q(principal_min__gt=0),
                name="%(app_label)s_%(class)s_principal_range",
            ),
            models.CheckConstraint(
                condition=Q(rate_min__lte=models.F("rate_default"))
                & Q(rate_default__lte=models.F("rate_max"))
                & Q(rate_min__gte=0),
                name="%(app_label)s_%(class)s_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} v{self.version}"


class Loan(models.Model):
    """A loan to a party, on the terms of one product version."""

    number = models.CharField(_("loan number"), max_length=20, unique=True)
    borrower = models.ForeignKey(
        "crm.Party", on_delete=models.PROTECT, related_name="loans", verbose_name=_("borrower")
    )
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="loans",
        verbose_name=_("loan officer"),
    )
    product_version = models.ForeignKey(
        LoanProductVersion,
        on_delete=models.PROTECT,
        related_name="loans",
        verbose_name=_("product terms"),
    )
    status = models.CharField(_("status"), max_length=12, choices=LoanStatus.choices, db_index=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    principal = models.DecimalField(_("principal"), **AMOUNT)
    annual_interest_rate = models.DecimalField(_("interest rate (% per year)"), **RATE)
    number_of_repayments = models.PositiveIntegerField(_("number of repayments"))
    purpose = models.CharField(_("purpose"), max_length=250)
    expected_disbursement_date = models.DateField(_("expected disbursement"))
    first_repayment_date = models.DateField(_("first repayment"), null=True, blank=True)
    previous_loan = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
        verbose_name=_("renews"),
    )
    submitted_on = models.DateField(_("submitted on"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True, db_index=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # Balances kept in step with the installments (see the module docstring).
    principal_outstanding = models.DecimalField(_("principal outstanding"), default=ZERO, **AMOUNT)
    interest_outstanding = models.DecimalField(_("interest outstanding"), default=ZERO, **AMOUNT)
    fees_outstanding = models.DecimalField(_("fees outstanding"), default=ZERO, **AMOUNT)
    penalties_outstanding = models.DecimalField(_("penalties outstanding"), default=ZERO, **AMOUNT)
    overpaid_amount = models.DecimalField(_("overpaid"), default=ZERO, **AMOUNT)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0, db_index=True)
    arrears_amount = models.DecimalField(_("arrears"), default=ZERO, **AMOUNT)
    delinquency_bucket = models.CharField(_("delinquency bucket"), max_length=12, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_on", "-pk"]
        verbose_name = _("loan")
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__gt=0), name="%(app_label)s_%(class)s_positive_principal"
            ),
            models.CheckConstraint(
                condition=Q(principal_outstanding__gte=0)
                & Q(interest_outstanding__gte=0)
                & Q(fees_outstanding__gte=0)
                & Q(penalties_outstanding__gte=0)
                & Q(overpaid_amount__gte=0),
                name="%(app_label)s_%(class)s_balances_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("submitted_by")),
                name="%(app_label)s_%(class)s_four_eyes",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "status"], name="loans_loan_branch_status"),
            models.Index(fields=["officer", "status"], name="loans_loan_officer_status"),
            # The portfolio's default sort (newest first), for everyone and per officer.
            models.Index(fields=["-submitted_on", "-id"], name="loans_loan_submitted"),
            models.Index(
                fields=["officer", "-submitted_on", "-id"], name="loans_loan_officer_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.borrower}"

    def get_absolute_url(self) -> str:
        return reverse("loans:loan_detail", args=[self.pk])

    @property
    def total_outstanding(self) -> Decimal:
        return (
            self.principal_outstanding
            + self.interest_outstanding
            + self.fees_outstanding
            + self.penalties_outstanding
        )


class Installment(models.Model):
    """One due date of a loan's schedule: what falls due and what has been paid of it."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    principal_due = models.DecimalField(default=ZERO, **AMOUNT)
    interest_due = models.DecimalField(default=ZERO, **AMOUNT)
    fee_due = models.DecimalField(default=ZERO, **AMOUNT)
    penalty_due = models.DecimalField(default=ZERO, **AMOUNT)
    principal_paid = models.DecimalField(default=ZERO, **AMOUNT)
    interest_paid = models.DecimalField(default=ZERO, **AMOUNT)
    fee_paid = models.DecimalField(default=ZERO, **AMOUNT)
    penalty_paid = models.DecimalField(default=ZERO, **AMOUNT)
    interest_accrued = models.DecimalField(
        default=ZERO, **AMOUNT, help_text=_("Interest recognised as income (accrual products).")
    )
    fee_accrued = models.DecimalField(
        default=ZERO, **AMOUNT, help_text=_("Fees recognised as income (accrual products).")
    )
    penalty_charged_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["loan", "number"]
        verbose_name = _("installment")
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "number"], name="%(app_label)s_%(class)s_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(principal_paid__lte=models.F("principal_due"))
                & Q(interest_paid__lte=models.F("interest_due"))
                & Q(fee_paid__lte=models.F("fee_due"))
                & Q(penalty_paid__lte=models.F("penalty_due"))
                & Q(principal_paid__gte=0)
                & Q(interest_paid__gte=0)
                & Q(fee_paid__gte=0)
                & Q(penalty_paid__gte=0),
                name="%(app_label)s_%(class)s_paid_within_due",
            ),
        ]
        indexes = [models.Index(fields=["due_date"], name="loans_installment_due")]

    def __str__(self) -> str:
        return f"{self.loan.number} #{self.number} {self.due_date}"

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.interest_due + self.fee_due + self.penalty_due

    @property
    def total_paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.fee_paid + self.penalty_paid

    @property
    def outstanding(self) -> Decimal:
        return self.total_due - self.total_paid


class LoanTransaction(models.Model):
    """Money that moved on a loan, with its split and the journal entry that booked it."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(_("kind"), max_length=16, choices=TransactionKind.choices)
    value_date = models.DateField(_("value date"))
    amount = models.DecimalField(_("amount"), **AMOUNT)
    principal_portion = models.DecimalField(default=ZERO, **AMOUNT)
    interest_portion = models.DecimalField(default=ZERO, **AMOUNT)
    fee_portion = models.DecimalField(default=ZERO, **AMOUNT)
    penalty_portion = models.DecimalField(default=ZERO, **AMOUNT)
    overpayment_portion = models.DecimalField(default=ZERO, **AMOUNT)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=40, blank=True)
    journal_entry = models.OneToOneField(
        "accounting.JournalEntry", null=True, on_delete=models.PROTECT, related_name="+"
    )
    is_reversed = models.BooleanField(_("reversed"), default=False)
    reversal_entry = models.OneToOneField(
        "accounting.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["value_date", "pk"]
        verbose_name = _("loan transaction")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_positive_amount"
            ),
            models.UniqueConstraint(
                fields=["receipt_number"],
                condition=~Q(receipt_number=""),
                name="%(app_label)s_%(class)s_unique_receipt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan.number} {self.get_kind_display()} {self.amount} {self.value_date}"


class RepaymentAllocation(models.Model):
    """How much of one repayment went to which installment, part by part (so a reversal
    undoes exactly what it did)."""

    transaction = models.ForeignKey(
        LoanTransaction, on_delete=models.CASCADE, related_name="allocations"
    )
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="+")
    principal = models.DecimalField(default=ZERO, **AMOUNT)
    interest = models.DecimalField(default=ZERO, **AMOUNT)
    fee = models.DecimalField(default=ZERO, **AMOUNT)
    penalty = models.DecimalField(default=ZERO, **AMOUNT)
    interest_accrued_now = models.DecimalField(default=ZERO, **AMOUNT)
    fee_accrued_now = models.DecimalField(default=ZERO, **AMOUNT)

    def __str__(self) -> str:
        return f"{self.transaction_id} → {self.installment_id}"


class Guarantor(models.Model):
    """A party who guarantees a loan, for an amount."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="guarantors")
    party = models.ForeignKey("crm.Party", on_delete=models.PROTECT, related_name="guarantees")
    amount = models.DecimalField(_("guaranteed amount"), **AMOUNT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["loan", "party"], name="%(app_label)s_%(class)s_unique")
        ]

    def __str__(self) -> str:
        return f"{self.party} ({self.amount})"


class Collateral(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="collaterals")
    description = models.CharField(_("description"), max_length=250)
    value = models.DecimalField(_("value"), **AMOUNT)

    def __str__(self) -> str:
        return self.description


def loan_document_path(instance: LoanDocument, filename: str) -> str:
    return f"loans/{instance.loan_id}/{filename}"


class LoanDocument(models.Model):
    """A document on file for a loan (stored outside the web root)."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    file = models.FileField(_("file"), upload_to=loan_document_path)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.loan_id} {self.kind}"


class EndOfDayRun(models.Model):
    """One business date processed by the end-of-day job (accrual, penalties, arrears,
    classification, snapshot). A date is processed once."""

    business_date = models.DateField(unique=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)
    stats = models.JSONField(default=dict)

    class Meta:
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return f"End of day {self.business_date}"


class PortfolioSnapshot(models.Model):
    """Portfolio figures at the end of a business date, per branch, officer and product."""

    business_date = models.DateField(db_index=True)
    branch = models.ForeignKey("users.Branch", on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    loans_active = models.PositiveIntegerField()
    loans_in_arrears = models.PositiveIntegerField()
    outstanding_principal = models.DecimalField(**AMOUNT)
    par1_principal = models.DecimalField(**AMOUNT)
    par30_principal = models.DecimalField(**AMOUNT)
    par90_principal = models.DecimalField(**AMOUNT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business_date", "branch", "officer", "product", "currency"],
                name="%(app_label)s_%(class)s_unique_slice",
            )
        ]

    def __str__(self) -> str:
        return f"{self.business_date} {self.branch_id}/{self.officer_id}/{self.product_id}"
