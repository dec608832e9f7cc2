"""Coaching as a business line: products (packages of hours), coaches, engagements with their
goals and milestones, sessions with notes and action items, and the customer's feedback.

Hours: a product sells a package of hours; an engagement's hours used are the minutes of its
*held* sessions divided by 60. Money: Decimal in the product's currency (CVE by default), rounded
to the currency's minor unit where shown. Every change goes through ``coaching.services``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coaching.choices import (
    ConfirmationChannel,
    EngagementStatus,
    InvoiceStatus,
    PaymentChannel,
    SessionMode,
    SessionStatus,
)
from mfi.money import DEFAULT_CURRENCY, Currency, round_money

AMOUNT = {"max_digits": 20, "decimal_places": 4}
HOURS = {"max_digits": 7, "decimal_places": 2}
PERCENT = {"max_digits": 7, "decimal_places": 4}
HUNDRED = Decimal(100)


class CoachingProduct(models.Model):
    """A coaching package sold to anyone (client or not): so many hours for a price.

    A programme (an ``Offer``) may pay ``subsidy_percent`` of the price; the customer pays the
    rest. An engagement copies the hours, price and subsidy it was sold with, so a later change
    of the product never changes what a customer bought.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    package_hours = models.DecimalField(_("package hours"), **HOURS)
    price = models.DecimalField(_("price"), **AMOUNT)
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=DEFAULT_CURRENCY
    )
    subsidy_percent = models.DecimalField(
        _("subsidy (% of the price)"),
        default=Decimal(0),
        help_text=_("Share of the price a programme pays; 0 when the customer pays it all."),
        **PERCENT,
    )
    vat_rate = models.DecimalField(
        _("VAT rate (%)"),
        default=Decimal(0),
        help_text=_("VAT added to invoices of this product (booked to the VAT payable account)."),
        **PERCENT,
    )
    programme = models.ForeignKey(
        "loans.Offer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="coaching_products",
        verbose_name=_("subsidising programme"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("coaching product")
        verbose_name_plural = _("coaching products")
        constraints = [
            models.CheckConstraint(
                condition=Q(package_hours__gt=0), name="%(app_label)s_%(class)s_hours_positive"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="%(app_label)s_%(class)s_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(subsidy_percent__gte=0, subsidy_percent__lte=100),
                name="%(app_label)s_%(class)s_subsidy_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(subsidy_percent=0) | Q(programme__isnull=False),
                name="%(app_label)s_%(class)s_subsidy_has_programme",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def subsidy_amount(self) -> Decimal:
        """What the programme pays, rounded to the currency's minor unit."""
        return round_money(self.price * self.subsidy_percent / HUNDRED, self.currency)

    @property
    def customer_amount(self) -> Decimal:
        """What the customer pays: the price less the subsidy."""
        return round_money(self.price, self.currency) - self.subsidy_amount


class Coach(models.Model):
    """A coach's profile: a staff member or a volunteer acting as a professional coach.

    ``skills`` are free words (stored lower-case), ``sectors`` values of ``crm.choices.Sector``,
    ``languages`` of ``CoachLanguage``, ``islands`` of ``crm.choices.Island``. Capacity is in
    hours per calendar month. The hourly rate values volunteer hours (in ``currency``).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="coach_profile",
        verbose_name=_("user"),
    )
    is_volunteer = models.BooleanField(_("volunteer"), default=False)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    sectors = models.JSONField(_("sectors"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    islands = models.JSONField(_("islands"), default=list, blank=True)
    capacity_hours_per_month = models.DecimalField(_("capacity (hours per month)"), **HOURS)
    accreditation_name = models.CharField(_("accreditation"), max_length=120, blank=True)
    accreditation_expires_on = models.DateField(
        _("accreditation expires on"), null=True, blank=True
    )
    hourly_rate = models.DecimalField(
        _("hourly rate"),
        default=Decimal(0),
        help_text=_("Value of one hour of coaching, used to value volunteer hours."),
        **AMOUNT,
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=DEFAULT_CURRENCY
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["user__first_name", "user__last_name", "pk"]
        verbose_name = _("coach")
        verbose_name_plural = _("coaches")
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity_hours_per_month__gte=0),
                name="%(app_label)s_%(class)s_capacity_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=0),
                name="%(app_label)s_%(class)s_hourly_rate_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.user.display_name

    @property
    def display_name(self) -> str:
        return self.user.display_name

    def accreditation_valid_on(self, day) -> bool:
        """False only when an accreditation expiry date is on file and has passed."""
        return self.accreditation_expires_on is None or self.accreditation_expires_on >= day


class Engagement(models.Model):
    """One party coached by one coach on one product: requested → accepted → active →
    completed (or cancelled). Hours, price and subsidy are copied from the product when requested.
    """

    party = models.ForeignKey(
        "crm.Party",
        on_delete=models.PROTECT,
        related_name="coaching_engagements",
        verbose_name=_("customer"),
    )
    product = models.ForeignKey(
        CoachingProduct,
        on_delete=models.PROTECT,
        related_name="engagements",
        verbose_name=_("product"),
    )
    coach = models.ForeignKey(
        Coach, on_delete=models.PROTECT, related_name="engagements", verbose_name=_("coach")
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=EngagementStatus.choices,
        default=EngagementStatus.REQUESTED,
    )
    needs = models.TextField(_("what the customer asks for"), blank=True)
    requested_skills = models.JSONField(_("skills asked for"), default=list, blank=True)
    requested_sector = models.CharField(_("sector"), max_length=20, blank=True)
    requested_island = models.CharField(_("island"), max_length=16, blank=True)
    requested_language = models.CharField(_("language"), max_length=8, blank=True)
    package_hours = models.DecimalField(_("package hours"), **HOURS)
    price = models.DecimalField(_("price"), **AMOUNT)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    subsidy_percent = models.DecimalField(_("subsidy (% of the price)"), **PERCENT)
    requested_on = models.DateField(_("requested on"))
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=250, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-requested_on", "-pk"]
        verbose_name = _("coaching engagement")
        verbose_name_plural = _("coaching engagements")
        indexes = [
            models.Index(fields=["coach", "status"], name="coaching_engagement_coach_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.party} · {self.product}"

    def get_absolute_url(self) -> str:
        return reverse("coaching:engagement_detail", args=[self.pk])

    @property
    def branch_id(self) -> int:
        """The customer's branch: scopes the engagement and its audit events."""
        return self.party.branch_id


class Goal(models.Model):
    """A measurable goal of an engagement, e.g. "keep a cash book" → 12 weeks by 30 June."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="goals")
    description = models.CharField(_("goal"), max_length=250)
    target_value = models.DecimalField(
        _("target value"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    target_unit = models.CharField(_("unit"), max_length=40, blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    is_achieved = models.BooleanField(_("achieved"), default=False)
    achieved_on = models.DateField(_("achieved on"), null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")

    def __str__(self) -> str:
        return self.description


class Milestone(models.Model):
    """A step on the way, with a due date, optionally towards one goal."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="milestones")
    goal = models.ForeignKey(
        Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="milestones"
    )
    title = models.CharField(_("milestone"), max_length=200)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    is_reached = models.BooleanField(_("reached"), default=False)
    reached_on = models.DateField(_("reached on"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")

    def __str__(self) -> str:
        return self.title


class Session(models.Model):
    """One coaching session: planned, then held, a no-show or cancelled.

    Only held sessions count as hours used. ``confirmed_by_customer_at`` is set when the
    customer confirms they attended (through the signed link or to a member of staff).
    """

    engagement = models.ForeignKey(Engagement, on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(
        _("status"), max_length=12, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    scheduled_at = models.DateTimeField(_("date and time"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=60)
    mode = models.CharField(
        _("mode"), max_length=12, choices=SessionMode.choices, default=SessionMode.IN_PERSON
    )
    situation = models.TextField(_("situation"), blank=True)
    advice = models.TextField(_("advice given"), blank=True)
    agreed_actions = models.TextField(_("agreed actions"), blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_at = models.DateTimeField(auto_now_add=True)
    confirmed_by_customer_at = models.DateTimeField(
        _("confirmed by the customer at"), null=True, blank=True
    )
    confirmation_channel = models.CharField(
        _("confirmed through"), max_length=12, choices=ConfirmationChannel.choices, blank=True
    )
    confirmation_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-scheduled_at", "-pk"]
        verbose_name = _("coaching session")
        verbose_name_plural = _("coaching sessions")
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=600),
                name="%(app_label)s_%(class)s_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_by_customer_at__isnull=True) | Q(status=SessionStatus.HELD),
                name="%(app_label)s_%(class)s_only_held_is_confirmed",
            ),
        ]
        indexes = [
            models.Index(fields=["engagement", "status"], name="coaching_session_status_idx"),
            models.Index(fields=["scheduled_at"], name="coaching_session_when_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.engagement.party} · {self.scheduled_at:%Y-%m-%d %H:%M}"

    @property
    def hours(self) -> Decimal:
        return Decimal(self.duration_minutes) / Decimal(60)


class ActionItem(models.Model):
    """Something the customer (or the coach) agreed to do after a session, with a due date.

    ``task_id`` holds the CRM task created for it, when the CRM has tasks.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(_("action"), max_length=250)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    task_id = models.PositiveBigIntegerField(_("CRM task"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("action item")
        verbose_name_plural = _("action items")

    def __str__(self) -> str:
        return self.text


class Feedback(models.Model):
    """The customer's rating (1–5) and comment on a completed engagement; one per engagement."""

    engagement = models.OneToOneField(Engagement, on_delete=models.PROTECT, related_name="feedback")
    rating = models.PositiveSmallIntegerField(_("rating (1–5)"))
    comment = models.TextField(_("comment"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5),
                name="%(app_label)s_%(class)s_rating_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.engagement} · {self.rating}/5"


# --- billing -----------------------------------------------------------------------------------


class CoachingInvoice(models.Model):
    """An invoice for the held sessions of one engagement, billed by the hour.

    Amounts are in ``currency`` at its minor unit: ``net`` is the sum of the lines, ``vat_amount``
    ``net × vat_rate / 100``, ``total`` net + VAT. ``subsidy_amount`` (the engagement's subsidy
    share of the net) is billed to the programme and shown on the invoice; the customer owes
    ``customer_amount`` = total − subsidy. The whole total is posted to coaching receivables
    (``journal_entry``); ``amount_paid`` grows with each ``CoachingPayment``. Never edited once
    issued: a mistake is corrected by cancelling (which reverses the entry) and invoicing again.
    """

    number = models.CharField(_("number"), max_length=20, unique=True)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("engagement")
    )
    party = models.ForeignKey(
        "crm.Party", on_delete=models.PROTECT, related_name="+", verbose_name=_("customer")
    )
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    net = models.DecimalField(_("net"), **AMOUNT)
    vat_rate = models.DecimalField(_("VAT rate (%)"), **PERCENT)
    vat_amount = models.DecimalField(_("VAT"), **AMOUNT)
    total = models.DecimalField(_("total"), **AMOUNT)
    subsidy_amount = models.DecimalField(_("billed to the programme"), **AMOUNT)
    customer_amount = models.DecimalField(_("due from the customer"), **AMOUNT)
    amount_paid = models.DecimalField(_("paid"), default=Decimal(0), **AMOUNT)
    status = models.CharField(
        _("status"), max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    journal_entry = models.ForeignKey(
        "accounting.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("journal entry"),
    )
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=250, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-pk"]
        verbose_name = _("coaching invoice")
        verbose_name_plural = _("coaching invoices")
        constraints = [
            models.CheckConstraint(
                condition=Q(total=models.F("net") + models.F("vat_amount")),
                name="%(app_label)s_%(class)s_total_is_net_plus_vat",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=models.F("total")),
                name="%(app_label)s_%(class)s_paid_within_total",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("issue_date")),
                name="%(app_label)s_%(class)s_due_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("coaching:invoice_detail", args=[self.pk])

    @property
    def balance(self) -> Decimal:
        """What is still to be received (customer and programme together)."""
        return self.total - self.amount_paid


class CoachingInvoiceLine(models.Model):
    """One billed session: its hours (to the hundredth) × the hourly price of the engagement
    (price ÷ package hours). ``amount`` is computed from the minutes at full precision and
    rounded once. ``is_active`` is cleared when the invoice is cancelled, so the session can be
    billed again; a session is on at most one active line (a database constraint).
    """

    invoice = models.ForeignKey(CoachingInvoice, on_delete=models.PROTECT, related_name="lines")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    description = models.CharField(_("description"), max_length=250)
    hours = models.DecimalField(_("hours"), **HOURS)
    unit_price = models.DecimalField(_("price per hour"), **AMOUNT)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(is_active=True, session__isnull=False),
                name="%(app_label)s_%(class)s_session_billed_once",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class CoachingPayment(models.Model):
    """Money received against a coaching invoice (from the customer or the programme), posted
    Dr branch cash / Cr coaching receivables in ``journal_entry``."""

    invoice = models.ForeignKey(CoachingInvoice, on_delete=models.PROTECT, related_name="payments")
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), **AMOUNT)
    channel = models.CharField(_("channel"), max_length=16, choices=PaymentChannel.choices)
    journal_entry = models.ForeignKey(
        "accounting.JournalEntry",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("journal entry"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "pk"]
        verbose_name = _("coaching payment")
        verbose_name_plural = _("coaching payments")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} · {self.amount}"

    @property
    def branch_id(self) -> int:
        return self.invoice.branch_id


# --- automation --------------------------------------------------------------------------------


class CoachingReferralRule(models.Model):
    """One branch's rule: when a loan of the branch enters ``delinquency_bucket`` (a label of the
    product's buckets such as "31-60"), the ``coordinator`` gets a CRM task to offer coaching to
    the borrower. At most one rule per branch."""

    branch = models.OneToOneField(
        "users.Branch",
        on_delete=models.PROTECT,
        related_name="coaching_referral_rule",
        verbose_name=_("branch"),
    )
    delinquency_bucket = models.CharField(
        _("delinquency bucket"), max_length=12, help_text=_('A bucket label, e.g. "31-60".')
    )
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("coaching coordinator"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["branch__name"]
        verbose_name = _("coaching referral rule")
        verbose_name_plural = _("coaching referral rules")

    def __str__(self) -> str:
        return f"{self.branch} · {self.delinquency_bucket}"


class CoachingReferral(models.Model):
    """A referral made by a rule: the CRM task offering coaching for one loan in one delinquency
    bucket. Unique per loan and bucket, so the nightly run refers a loan once per bucket."""

    loan = models.ForeignKey(
        "loans.Loan", on_delete=models.PROTECT, related_name="coaching_referrals"
    )
    rule = models.ForeignKey(
        CoachingReferralRule, on_delete=models.PROTECT, related_name="referrals"
    )
    delinquency_bucket = models.CharField(_("delinquency bucket"), max_length=12)
    days_past_due = models.PositiveIntegerField(_("days past due when referred"))
    task_id = models.PositiveBigIntegerField(_("CRM task"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("coaching referral")
        verbose_name_plural = _("coaching referrals")
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "delinquency_bucket"],
                name="%(app_label)s_%(class)s_once_per_loan_bucket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} · {self.delinquency_bucket}"
