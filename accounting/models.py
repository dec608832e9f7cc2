"""The double-entry ledger: chart of accounts, journal entries and lines, periods, posting rules.

Balance is enforced by PostgreSQL itself (migration ``0002_ledger_integrity``): a deferred
constraint trigger refuses to commit any posted entry whose debits and credits differ, posted
entries and their lines cannot be updated or deleted, and no entry can be posted into a closed
period. Python validates first so users get a clear message; the database is the last word.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounting.choices import (
    DEBIT_NORMAL,
    AccountingRule,
    AccountRole,
    AccountType,
    EntrySource,
    EntryStatus,
    PostingEvent,
)
from mfi.money import Currency

AMOUNT = {"max_digits": 20, "decimal_places": 4}


class Account(models.Model):
    """A general-ledger account. Header accounts group others and take no postings."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    type = models.CharField(_("type"), max_length=10, choices=AccountType.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("header account"),
    )
    is_header = models.BooleanField(_("header"), default=False)
    role = models.CharField(
        _("system role"),
        max_length=32,
        choices=AccountRole.choices,
        blank=True,
        help_text=_("Stable name other apps post to; never depends on the code."),
    )
    branch = models.ForeignKey(
        "users.Branch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For per-branch accounts such as the branch cash box."),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        choices=Currency.choices,
        blank=True,
        help_text=_("Only postings in this currency, when set."),
    )
    allows_manual_entries = models.BooleanField(_("allows manual entries"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("account")
        verbose_name_plural = _("chart of accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["role", "branch"],
                condition=~Q(role=""),
                nulls_distinct=False,
                name="%(app_label)s_%(class)s_one_role_per_branch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("accounting:report", args=["general-ledger"]) + f"?account={self.pk}"

    @property
    def is_debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL


class JournalEntry(models.Model):
    """A balanced set of debits and credits on one date, in one currency, for one branch.

    Once posted it never changes; a correction is a reversal entry pointing at it.
    """

    number = models.PositiveBigIntegerField(
        _("number"),
        unique=True,
        null=True,
        blank=True,
        help_text=_("Given when posted, in posting order."),
    )
    entry_date = models.DateField(_("date"), db_index=True)
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    description = models.CharField(_("description"), max_length=250)
    source = models.CharField(_("source"), max_length=20, choices=EntrySource.choices)
    source_reference = models.CharField(_("source reference"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=EntryStatus.choices)
    reversal_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("made by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("checked by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-entry_date", "-pk"]
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="posted", number__isnull=False, posted_at__isnull=False)
                | (~Q(status="posted") & Q(number__isnull=True)),
                name="%(app_label)s_%(class)s_number_iff_posted",
            ),
            models.CheckConstraint(
                condition=~Q(source="manual")
                | Q(approved_by__isnull=True)
                | ~Q(approved_by=models.F("created_by")),
                name="%(app_label)s_%(class)s_maker_is_not_checker",
            ),
            models.UniqueConstraint(
                fields=["source", "source_reference"],
                condition=~Q(source_reference="") & ~Q(source__in=["manual", "reversal"]),
                name="%(app_label)s_%(class)s_one_entry_per_source_event",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "entry_date"], name="acct_entry_branch_date"),
            # the general ledger pages through an account's postings in date and number order
            models.Index(fields=["entry_date", "number"], name="acct_entry_date_number"),
        ]

    def __str__(self) -> str:
        label = f"#{self.number}" if self.number else _("draft %(pk)s") % {"pk": self.pk}
        return f"{label} {self.entry_date} {self.description}"

    def get_absolute_url(self) -> str:
        return reverse("accounting:entry_detail", args=[self.pk])


class JournalLine(models.Model):
    """One debit or one credit (never both, never zero) to one account."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit = models.DecimalField(_("debit"), default=Decimal(0), **AMOUNT)
    credit = models.DecimalField(_("credit"), default=Decimal(0), **AMOUNT)
    description = models.CharField(_("description"), max_length=250, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("journal line")
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(debit=0) & Q(credit__gt=0)),
                name="%(app_label)s_%(class)s_one_positive_side",
            ),
        ]
        indexes = [models.Index(fields=["account", "entry"], name="acct_line_account_entry")]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.account.code} {side}"


class AccountingPeriod(models.Model):
    """A closed month of one branch. A month with no row is open."""

    branch = models.ForeignKey("users.Branch", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-month", "branch__name"]
        verbose_name = _("closed period")
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "year", "month"], name="%(app_label)s_%(class)s_unique_month"
            ),
            models.CheckConstraint(
                condition=Q(month__gte=1) & Q(month__lte=12),
                name="%(app_label)s_%(class)s_valid_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch} {self.year}-{self.month:02d}"


class PostingRuleSet(models.Model):
    """The accounts each business event posts to, chosen per loan product (cash or accrual)."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    accounting_rule = models.CharField(
        _("accounting rule"), max_length=10, choices=AccountingRule.choices
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("posting rule set")

    def __str__(self) -> str:
        return self.name


class PostingRule(models.Model):
    """Event → debit role / credit role, within a rule set."""

    rule_set = models.ForeignKey(PostingRuleSet, on_delete=models.CASCADE, related_name="rules")
    event = models.CharField(_("event"), max_length=32, choices=PostingEvent.choices)
    debit_role = models.CharField(_("debit"), max_length=32, choices=AccountRole.choices)
    credit_role = models.CharField(_("credit"), max_length=32, choices=AccountRole.choices)

    class Meta:
        ordering = ["rule_set", "event"]
        verbose_name = _("posting rule")
        constraints = [
            models.UniqueConstraint(
                fields=["rule_set", "event"], name="%(app_label)s_%(class)s_one_rule_per_event"
            ),
            models.CheckConstraint(
                condition=~Q(debit_role=models.F("credit_role")),
                name="%(app_label)s_%(class)s_two_sides",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_set}: {self.event} Dr {self.debit_role} / Cr {self.credit_role}"


class AccountDayMovement(models.Model):
    """Posted debits and credits of one account on one day, for one branch and currency.

    Maintained by PostgreSQL itself (migration ``0005_account_day_movements``): when journal
    entries become posted, one statement-level trigger adds their lines here, so reports read a
    few rows per account and day instead of summing every journal line. A balance at the end of a
    day is the sum of the movements up to that day. Posted lines never change, so neither do these
    sums except by new postings; nothing else may write the table (a guard trigger refuses).
    ``is_closing`` marks the year-end closing entries, which an income statement leaves out.
    """

    # the unique constraint's index serves lookups by account; none is wanted by branch
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    day = models.DateField(_("day"))
    is_closing = models.BooleanField(_("year-end closing"), default=False)
    debit = models.DecimalField(_("debit"), default=Decimal(0), **AMOUNT)
    credit = models.DecimalField(_("credit"), default=Decimal(0), **AMOUNT)

    class Meta:
        verbose_name = _("account movement of a day")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "branch", "currency", "day", "is_closing"],
                name="%(app_label)s_%(class)s_one_row_per_day",
            ),
        ]
        indexes = [
            models.Index(
                fields=["currency", "day"],
                include=["account", "branch", "is_closing", "debit", "credit"],
                name="acct_movement_currency_day",
            ),
            # the days since a branch's carried balance (``CarriedBalance``)
            models.Index(
                fields=["branch", "day"],
                include=["account", "currency", "is_closing", "debit", "credit"],
                name="acct_movement_branch_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.account_id}/{self.branch_id} Dr {self.debit} Cr {self.credit}"


class CarriedBalance(models.Model):
    """A branch's posted debits and credits per account up to the end of its latest closed month
    (``through``): what balances "as of" a later day start from, so a trial balance adds up one
    row per account and the days since, whatever the length of the ledger's history.

    Maintained by PostgreSQL itself (migration ``0006_carried_balances``): counted again for the
    branch whenever one of its months is closed or reopened, and dropped by any posting dated on
    or before ``through`` (a back-dated entry in an earlier month still open), so it always equals
    the sum of the branch's day movements up to ``through``. Nothing else may write the table.
    """

    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    through = models.DateField(_("up to and including"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    is_closing = models.BooleanField(_("year-end closing"), default=False)
    debit = models.DecimalField(_("debit"), default=Decimal(0), **AMOUNT)
    credit = models.DecimalField(_("credit"), default=Decimal(0), **AMOUNT)

    class Meta:
        verbose_name = _("balance carried from closed months")
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "through", "account", "currency", "is_closing"],
                name="%(app_label)s_%(class)s_one_row_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.through} {self.account_id}/{self.branch_id} Dr {self.debit} Cr {self.credit}"
