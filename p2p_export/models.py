"""P2P export: platforms, one publication per loan and platform, the profile shown to lenders,
photos, waivers, follow-up news, repayment reports, funding received and the outbox.

Nothing secret is stored here: a platform's credentials come from the environment (settings).
Uploaded originals (photos, waiver scans) live under MEDIA_ROOT, which no URL serves; only the
processed photo copies are ever sent to a platform.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from crm.choices import Island, Sector
from mfi.money import Currency
from p2p_export.choices import (
    JournalSource,
    JournalStatus,
    LookupKind,
    OutboxKind,
    OutboxStatus,
    PackageStatus,
    PlatformKind,
    PublicationState,
    ReportStatus,
)

AMOUNT = {"max_digits": 20, "decimal_places": 4}
RATE = {"max_digits": 20, "decimal_places": 8}
ZERO = Decimal(0)


def _default_currencies() -> list[str]:
    return ["CVE"]


class Platform(models.Model):
    """A peer-to-peer lending site loans are published on, configured per installation.

    ``allowed_products`` empty means every product may be published. ``max_days_past_due`` is the
    arrears threshold of the eligibility rule. Credentials are not here: see ``docs/p2p.md``.
    """

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=PlatformKind.choices)
    language = models.CharField(
        _("language"), max_length=8, default="en", help_text=_("Language profiles are shown in.")
    )
    allowed_currencies = models.JSONField(
        _("allowed currencies"), default=_default_currencies, blank=True
    )
    payout_currency = models.CharField(
        _("payout currency"),
        max_length=3,
        choices=Currency.choices,
        blank=True,
        help_text=_("The currency the platform pays funds in, when not the loan's."),
    )
    photo_width = models.PositiveIntegerField(_("photo width (px)"), default=800)
    photo_height = models.PositiveIntegerField(_("photo height (px)"), default=600)
    story_min_length = models.PositiveIntegerField(_("minimum story length"), default=150)
    max_days_past_due = models.PositiveIntegerField(
        _("arrears threshold (days past due)"),
        default=30,
        help_text=_("Loans later than this are not eligible."),
    )
    allowed_products = models.ManyToManyField(
        "loans.LoanProduct",
        blank=True,
        related_name="+",
        verbose_name=_("products allowed"),
        help_text=_("Leave empty to allow every product."),
    )
    anonymises_defaulted = models.BooleanField(
        _("anonymises defaulted borrowers"),
        default=True,
        help_text=_("The platform accepts a request to anonymise a defaulted borrower."),
    )
    exchange_difference_account = models.ForeignKey(
        "accounting.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("exchange differences account"),
        help_text=_("Where gains and losses on funds paid in another currency are posted."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_synced_at = models.DateTimeField(_("last synchronised"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("P2P platform")
        verbose_name_plural = _("P2P platforms")

    def __str__(self) -> str:
        return self.name


class PlatformLookup(models.Model):
    """One entry of a platform's lookup list (cached), optionally mapped to our sector or island
    so profiles are pre-filled from the borrower's record."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="lookups")
    kind = models.CharField(_("list"), max_length=10, choices=LookupKind.choices)
    external_id = models.CharField(_("platform id"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    sector = models.CharField(_("our sector"), max_length=20, choices=Sector.choices, blank=True)
    island = models.CharField(_("our island"), max_length=16, choices=Island.choices, blank=True)
    fetched_at = models.DateTimeField(_("fetched"), auto_now=True)

    class Meta:
        ordering = ["platform", "kind", "name"]
        verbose_name = _("platform lookup")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "kind", "external_id"],
                name="%(app_label)s_%(class)s_unique_entry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class Publication(models.Model):
    """A loan published (or being prepared) on one platform; at most one per loan and platform.

    ``payload_version`` rises each time the profile changes, so the idempotency key of a push
    (loan + platform + version) is stable across retries and new after an edit.
    ``last_pushed_hash`` is the SHA-256 of the payload last sent.
    """

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="publications")
    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="publications")
    state = models.CharField(
        _("state"),
        max_length=24,
        choices=PublicationState.choices,
        default=PublicationState.SELECTED,
        db_index=True,
    )
    selected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("selected by"),
    )
    selected_at = models.DateTimeField(_("selected"), auto_now_add=True)
    platform_draft_id = models.CharField(_("platform draft id"), max_length=60, blank=True)
    platform_loan_id = models.CharField(_("platform loan id"), max_length=60, blank=True)
    platform_status = models.CharField(_("platform status"), max_length=40, blank=True)
    payload_version = models.PositiveIntegerField(_("payload version"), default=1)
    last_pushed_hash = models.CharField(_("last pushed payload hash"), max_length=64, blank=True)
    pushed_at = models.DateTimeField(_("pushed"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    field_errors = models.JSONField(
        _("errors by field"),
        default=dict,
        blank=True,
        help_text=_("The last validation or platform errors, keyed by profile field."),
    )
    is_not_pictured = models.BooleanField(
        _("not pictured"),
        default=False,
        help_text=_("Published without a photo (the borrower chose not to be pictured)."),
    )
    funded_amount = models.DecimalField(_("funded amount"), default=ZERO, **AMOUNT)
    last_synced_at = models.DateTimeField(_("last synchronised"), null=True, blank=True)
    is_anonymised = models.BooleanField(_("anonymised"), default=False)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-selected_at", "-pk"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "platform"], name="%(app_label)s_%(class)s_one_per_loan_platform"
            ),
            models.CheckConstraint(
                condition=Q(funded_amount__gte=0),
                name="%(app_label)s_%(class)s_funded_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["platform", "state"], name="p2p_publication_platform_state")
        ]

    def __str__(self) -> str:
        return f"{self.loan.number} @ {self.platform.code}"

    def get_absolute_url(self) -> str:
        try:
            return reverse("p2p_export:publication_detail", args=[self.pk])
        except NoReverseMatch:  # the screens are wired in by their own module
            return ""

    @property
    def branch_id(self) -> int:
        return self.loan.branch_id

    @property
    def idempotency_key(self) -> str:
        """Stable for one loan, platform and payload version (the push's outbox key)."""
        return f"draft:{self.platform.code}:{self.loan_id}:v{self.payload_version}"

    @property
    def internal_loan_id(self) -> str:
        """Our loan id as the platform knows it (the loan number)."""
        return self.loan.number


class PublicationEvent(models.Model):
    """One step of a publication's history: a state change or a notable action (validated,
    pushed, sync, takedown), who did it and why. Written only by the services."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(
        _("from"), max_length=24, choices=PublicationState.choices, blank=True
    )
    to_state = models.CharField(_("to"), max_length=24, choices=PublicationState.choices)
    action = models.CharField(_("action"), max_length=40)
    note = models.CharField(_("note"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("publication event")

    def __str__(self) -> str:
        return f"{self.publication_id} {self.from_state} → {self.to_state} ({self.action})"


class Profile(models.Model):
    """The editable copy of what lenders see for one publication: first name only, a story in
    the third person, what the loan is for, platform activity/theme/location and the family and
    living situation. Filled from the borrower's record at selection, then edited by staff."""

    publication = models.OneToOneField(
        Publication, on_delete=models.CASCADE, related_name="profile"
    )
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    story = models.TextField(
        _("story"), blank=True, help_text=_("In the third person; no last name, phone or IDs.")
    )
    loan_use = models.CharField(_("loan use"), max_length=250, blank=True)
    activity = models.ForeignKey(
        PlatformLookup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("activity"),
        limit_choices_to={"kind": LookupKind.ACTIVITY},
    )
    theme = models.ForeignKey(
        PlatformLookup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("theme"),
        limit_choices_to={"kind": LookupKind.THEME},
    )
    location = models.ForeignKey(
        PlatformLookup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("location"),
        limit_choices_to={"kind": LookupKind.LOCATION},
    )
    coarse_location = models.CharField(
        _("place (coarse)"), max_length=120, blank=True, help_text=_("Town and island only.")
    )
    family_situation = models.CharField(_("family situation"), max_length=250, blank=True)
    standard_of_living = models.CharField(_("standard of living"), max_length=250, blank=True)
    description_language = models.CharField(_("description language"), max_length=8, blank=True)
    group_name = models.CharField(
        _("group name"), max_length=120, blank=True, help_text=_("Group loans only.")
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("profile")

    def __str__(self) -> str:
        return f"{self.first_name} ({self.publication_id})"


class PublicationBorrower(models.Model):
    """A borrower as the platform lists them, with their share of the loan. One row for an
    individual loan; several for a group loan (the enterprise's owners)."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="borrowers")
    person = models.ForeignKey("crm.Person", on_delete=models.PROTECT, related_name="+")
    first_name = models.CharField(_("first name"), max_length=80)
    last_name = models.CharField(_("last name"), max_length=80)
    gender = models.CharField(_("gender"), max_length=8)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    is_pictured = models.BooleanField(_("pictured"), default=True)

    class Meta:
        ordering = ["publication", "pk"]
        verbose_name = _("publication borrower")
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "person"], name="%(app_label)s_%(class)s_unique_person"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="%(app_label)s_%(class)s_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} ({self.amount})"


def photo_original_path(instance: PublicationPhoto, filename: str) -> str:
    return f"p2p/photos/{instance.publication_id}/original/{filename}"


def photo_processed_path(instance: PublicationPhoto, filename: str) -> str:
    return f"p2p/photos/{instance.publication_id}/processed/{filename}"


class PublicationPhoto(models.Model):
    """A photo of a profile: the original is kept private; only the processed copy (no EXIF or
    GPS, orientation fixed, resized, re-encoded as JPEG) ever leaves for a platform."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="photos")
    person = models.ForeignKey(
        "crm.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("pictured person"),
    )
    original = models.FileField(_("original"), upload_to=photo_original_path, blank=True)
    processed = models.FileField(_("processed copy"), upload_to=photo_processed_path, blank=True)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    is_primary = models.BooleanField(_("main photo"), default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "pk"]
        verbose_name = _("profile photo")

    def __str__(self) -> str:
        return f"{self.publication_id} photo {self.pk}"


def waiver_scan_path(instance: Waiver, filename: str) -> str:
    return f"p2p/waivers/{instance.loan_id}/{filename}"


class Waiver(models.Model):
    """The signed publication waiver of one person for one loan (scan on file). At most one
    active waiver per loan and person; a withdrawn waiver stops every publication of the loan."""

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="p2p_waivers")
    person = models.ForeignKey("crm.Person", on_delete=models.PROTECT, related_name="p2p_waivers")
    signed_on = models.DateField(_("signed on"))
    scan = models.FileField(_("signed waiver (scan)"), upload_to=waiver_scan_path)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on", "-pk"]
        verbose_name = _("publication waiver")
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "person"],
                condition=Q(withdrawn_on__isnull=True),
                name="%(app_label)s_%(class)s_one_active_per_person",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("signed_on")),
                name="%(app_label)s_%(class)s_withdrawn_after_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id}/{self.person_id} {self.signed_on}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None

    @property
    def branch_id(self) -> int:
        return self.loan.branch_id


def journal_image_path(instance: JournalDraft, filename: str) -> str:
    return f"p2p/journals/{instance.publication_id}/{filename}"


class JournalDraft(models.Model):
    """A follow-up news item for lenders, drafted from a real event, edited and approved by staff
    before it is sent. ``source_reference`` identifies the event so it is drafted once."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="journals")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    image = models.FileField(
        _("image (processed)"), upload_to=journal_image_path, blank=True, max_length=200
    )
    source = models.CharField(_("drafted from"), max_length=24, choices=JournalSource.choices)
    source_reference = models.CharField(_("source event"), max_length=80, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=JournalStatus.choices, default=JournalStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    platform_journal_id = models.CharField(_("platform journal id"), max_length=60, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("journal")
        verbose_name_plural = _("journals")
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "source_reference"],
                condition=~Q(source_reference=""),
                name="%(app_label)s_%(class)s_once_per_event",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "discarded"]) | Q(approved_by__isnull=False),
                name="%(app_label)s_%(class)s_approved_has_approver",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def branch_id(self) -> int:
        return self.publication.loan.branch_id


class RepaymentReport(models.Model):
    """What borrowers repaid in one month on a platform's loans, per currency, built from the
    actual repayments. Locked once finalised: lines and total never change afterwards."""

    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="repayment_reports"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN
    )
    total = models.DecimalField(_("total"), default=ZERO, **AMOUNT)
    created_at = models.DateTimeField(auto_now_add=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finalised_at = models.DateTimeField(_("finalised"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-year", "-month", "platform"]
        verbose_name = _("repayment report")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "year", "month", "currency"],
                name="%(app_label)s_%(class)s_one_per_month",
            ),
            models.CheckConstraint(
                condition=Q(month__gte=1) & Q(month__lte=12),
                name="%(app_label)s_%(class)s_valid_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform.code} {self.year}-{self.month:02d} {self.currency}"

    @property
    def is_locked(self) -> bool:
        return self.status != ReportStatus.OPEN


class RepaymentReportLine(models.Model):
    """One repayment of a published loan, reported to the platform: the principal repaid (the
    part that refinances lenders), with the loan transaction it comes from."""

    report = models.ForeignKey(RepaymentReport, on_delete=models.CASCADE, related_name="lines")
    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="+")
    loan_transaction = models.ForeignKey(
        "loans.LoanTransaction", on_delete=models.PROTECT, related_name="+"
    )
    value_date = models.DateField(_("value date"))
    amount = models.DecimalField(_("amount"), **AMOUNT)

    class Meta:
        ordering = ["report", "value_date", "pk"]
        verbose_name = _("repayment report line")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "loan_transaction"],
                name="%(app_label)s_%(class)s_once_per_transaction",
            )
        ]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.amount}"


class FundingReceipt(models.Model):
    """Funds a platform paid for one loan it refinances, posted to the ledger as a refinancing
    liability. When the platform pays in another currency, ``received_amount`` ×
    ``exchange_rate`` is what reached the bank and the gap to ``amount`` is an exchange
    difference (gain when positive)."""

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="fundings")
    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="fundings")
    received_on = models.DateField(_("received on"))
    reference = models.CharField(_("transfer reference"), max_length=80)
    currency = models.CharField(_("booking currency"), max_length=3, choices=Currency.choices)
    amount = models.DecimalField(_("amount refinanced"), **AMOUNT)
    received_currency = models.CharField(_("currency paid"), max_length=3, choices=Currency.choices)
    received_amount = models.DecimalField(_("amount paid"), **AMOUNT)
    exchange_rate = models.DecimalField(_("exchange rate"), default=Decimal(1), **RATE)
    exchange_difference = models.DecimalField(_("exchange difference"), default=ZERO, **AMOUNT)
    journal_entry = models.OneToOneField(
        "accounting.JournalEntry", on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-pk"]
        verbose_name = _("funding received")
        verbose_name_plural = _("funding received")
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "reference"], name="%(app_label)s_%(class)s_once"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(received_amount__gt=0) & Q(exchange_rate__gt=0),
                name="%(app_label)s_%(class)s_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform.code} {self.reference} {self.amount} {self.currency}"

    @property
    def branch_id(self) -> int:
        return self.publication.loan.branch_id


class PlatformRepayment(models.Model):
    """Money paid back to a platform for one loan out of a finalised repayment report, posted to
    the ledger (the refinancing liability goes down)."""

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="repayments")
    publication = models.ForeignKey(
        Publication, on_delete=models.PROTECT, related_name="platform_repayments"
    )
    report = models.ForeignKey(
        RepaymentReport, on_delete=models.PROTECT, related_name="platform_repayments"
    )
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("transfer reference"), max_length=80, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    journal_entry = models.OneToOneField(
        "accounting.JournalEntry", on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-pk"]
        verbose_name = _("repayment to a platform")
        constraints = [
            models.UniqueConstraint(
                fields=["report", "publication"], name="%(app_label)s_%(class)s_once_per_report"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform.code} {self.publication_id} {self.amount}"

    @property
    def branch_id(self) -> int:
        return self.publication.loan.branch_id


class OutboxMessage(models.Model):
    """One message to a platform, keyed by a stable idempotency key (a draft: loan + platform +
    payload version). A repeat with the same key sends nothing twice; ``attempts`` counts tries.
    """

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="outbox")
    publication = models.ForeignKey(
        Publication, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=OutboxKind.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    payload_hash = models.CharField(_("payload hash"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    response = models.JSONField(_("platform response"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("outbound message")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="%(app_label)s_%(class)s_sent_has_time",
            )
        ]
        indexes = [models.Index(fields=["status", "kind"], name="p2p_outbox_status_kind")]

    def __str__(self) -> str:
        return self.idempotency_key


def package_path(instance: FilePackage, filename: str) -> str:
    return f"p2p/packages/{instance.platform_id}/{filename}"


class FilePackage(models.Model):
    """A monthly zip for a file-based platform: CSV and JSON of new profiles, updates and
    repayments, plus processed photos. Downloadable by staff, optionally delivered over HTTP."""

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="packages")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    sequence = models.PositiveSmallIntegerField(_("number in the month"), default=1)
    file = models.FileField(_("package"), upload_to=package_path)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    profiles = models.PositiveIntegerField(_("new profiles"), default=0)
    updates = models.PositiveIntegerField(_("updates"), default=0)
    repayments = models.PositiveIntegerField(_("repayments"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=PackageStatus.choices, default=PackageStatus.BUILT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-year", "-month", "-sequence"]
        verbose_name = _("file package")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "year", "month", "sequence"],
                name="%(app_label)s_%(class)s_unique_number",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform.code} {self.year}-{self.month:02d} #{self.sequence}"

    @property
    def filename(self) -> str:
        return f"{self.platform.code}-{self.year}-{self.month:02d}-{self.sequence}.zip"
