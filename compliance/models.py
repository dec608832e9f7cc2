"""Compliance monitoring of MSME loans against external registries.

Sources (social security, revenue authority, banks) deliver ``RegistryRecord``s, kept as history
with their as-of date, retrieval time, validity and payload hash. Each loan's borrower is evaluated
against its offer's ``OfferRequirement``s into ``ComplianceCheck``s (unknown and stale are never
compliant); a non-compliant check opens one ``Case`` per party and requirement, worked by staff with
``FollowUp`` calls and visits. Walk-ins at the service desk are ``DeskVisit``s.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from compliance.choices import (
    CaseOutcome,
    CaseStatus,
    CheckStatus,
    DeskReason,
    DeskVisitStatus,
    FollowUpKind,
    FollowUpOutcome,
    HandOff,
    ReconciliationReason,
    ReconciliationStatus,
    RequirementKind,
    RunStatus,
    RunTrigger,
    Severity,
    Solution,
    SourceKind,
    Transport,
)

THRESHOLD = {"max_digits": 20, "decimal_places": 4}


class Source(models.Model):
    """One external system we pull from: a registry over HTTP or a feed of CSV files.

    Credentials are never stored here: ``token_env`` names the environment variable that holds
    the API token. ``freshness_days`` is how long a record counts as current evidence.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    transport = models.CharField(_("transport"), max_length=8, choices=Transport.choices)
    base_url = models.URLField(_("base URL"), blank=True)
    token_env = models.CharField(
        _("environment variable holding the token"), max_length=60, blank=True
    )
    bank_code = models.CharField(_("bank code"), max_length=20, blank=True)
    inbound_folder = models.CharField(_("inbound folder"), max_length=255, blank=True)
    pull_every_minutes = models.PositiveIntegerField(_("pull every (minutes)"), default=1440)
    freshness_days = models.PositiveIntegerField(_("data is fresh for (days)"), default=35)
    is_active = models.BooleanField(_("active"), default=True)
    last_pull_at = models.DateTimeField(_("last pull"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    unavailable_since = models.DateTimeField(_("unavailable since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("compliance:source_detail", args=[self.pk])

    @property
    def is_available(self) -> bool:
        return self.unavailable_since is None


class OfferRequirement(models.Model):
    """What borrowers of an offer must keep up, how serious a breach is and how often to check.

    ``threshold`` depends on the kind: the most days past due allowed at a bank
    (``no_bank_arrears``), the fewest declared employees (``jobs_kept``); unused otherwise.
    """

    offer = models.ForeignKey(
        "loans.Offer",
        on_delete=models.CASCADE,
        related_name="requirements",
        verbose_name=_("offer"),
    )
    kind = models.CharField(_("requirement"), max_length=24, choices=RequirementKind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    check_every_days = models.PositiveIntegerField(_("check every (days)"), default=30)
    threshold = models.DecimalField(_("threshold"), null=True, blank=True, **THRESHOLD)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["offer", "kind"]
        verbose_name = _("offer requirement")
        verbose_name_plural = _("offer requirements")
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "kind"], name="%(app_label)s_%(class)s_unique_kind"
            ),
            models.CheckConstraint(
                condition=Q(check_every_days__gte=1),
                name="%(app_label)s_%(class)s_check_every_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer}: {self.get_kind_display()}"


class SourceRun(models.Model):
    """One pull from a source or one ingested file, with its counts and outcome."""

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="runs", verbose_name=_("source")
    )
    trigger = models.CharField(_("trigger"), max_length=12, choices=RunTrigger.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    party = models.ForeignKey(
        "crm.Party",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("refreshed party"),
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("HTTP attempts"), default=0)
    records_received = models.PositiveIntegerField(_("records received"), default=0)
    records_stored = models.PositiveIntegerField(_("new records stored"), default=0)
    rows_quarantined = models.PositiveIntegerField(_("rows quarantined"), default=0)
    unmatched_skipped = models.PositiveIntegerField(
        _("records of unknown subjects not kept"),
        default=0,
        help_text=_(
            "Valid records of subjects who are none of our parties, not kept because there were "
            "too many to queue for reconciliation (a registry-wide file, not our portfolio)."
        ),
    )
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("triggered by"),
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("source run")
        verbose_name_plural = _("source runs")
        indexes = [models.Index(fields=["source", "-started_at"], name="compl_run_source_time_idx")]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M}"


class RegistryRecord(models.Model):
    """What a registry said about one party on one date (append-only history).

    ``status`` is the registry's verdict in our vocabulary (``regular`` / ``irregular`` for tax and
    social security, ``current`` / ``arrears`` for banks); ``data`` keeps the normalised fields
    (e.g. ``employees``, ``amount_due``, ``days_past_due``, ``outstanding``, ``certificate``).
    The same payload for the same subject and date is stored once (``payload_sha256``).
    """

    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="records", verbose_name=_("source")
    )
    run = models.ForeignKey(
        SourceRun, on_delete=models.PROTECT, related_name="records", verbose_name=_("run")
    )
    party = models.ForeignKey(
        "crm.Party",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registry_records",
        verbose_name=_("party"),
    )
    nif = models.CharField(_("NIF"), max_length=9, blank=True, db_index=True)
    registry_number = models.CharField(_("registry number"), max_length=30, blank=True)
    as_of = models.DateField(_("as of"))
    retrieved_at = models.DateTimeField(_("retrieved at"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(_("registry status"), max_length=20)
    data = models.JSONField(_("data"), default=dict)
    payload_sha256 = models.CharField(_("payload SHA-256"), max_length=64)

    class Meta:
        ordering = ["-as_of", "-pk"]
        verbose_name = _("registry record")
        verbose_name_plural = _("registry records")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "nif", "registry_number", "as_of", "payload_sha256"],
                name="%(app_label)s_%(class)s_unique_payload",
            )
        ]
        indexes = [
            models.Index(fields=["party", "source", "-as_of"], name="compl_record_party_src_idx")
        ]

    def __str__(self) -> str:
        return f"{self.source.code} {self.nif or self.registry_number} {self.as_of}: {self.status}"


class PartyCoverage(models.Model):
    """Until when a party's registry data of one source kind counts as fresh: the latest
    ``as_of + freshness_days`` over the party's records of that kind.

    Maintained by PostgreSQL itself (migration ``0003_party_coverage``): statement-level
    triggers on registry records (added, re-matched, deleted) and on a source's freshness or kind
    keep it equal to that maximum, so the dashboard's coverage reads one row per borrower and kind
    instead of searching every borrower's records. Nothing in Python writes it.
    """

    party = models.ForeignKey(
        "crm.Party", on_delete=models.CASCADE, related_name="registry_coverage", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SourceKind.choices)
    fresh_until = models.DateField(_("fresh until"))

    class Meta:
        verbose_name = _("registry coverage of a party")
        constraints = [
            models.UniqueConstraint(
                fields=["party", "kind"], name="%(app_label)s_%(class)s_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.party_id} {self.kind} {self.fresh_until}"


class QuarantinedRow(models.Model):
    """A file row (or API record) that failed validation: kept with its number and reason."""

    run = models.ForeignKey(
        SourceRun, on_delete=models.CASCADE, related_name="quarantined", verbose_name=_("run")
    )
    row_number = models.PositiveIntegerField(_("row"))
    raw = models.TextField(_("raw content"))
    reason = models.CharField(_("reason"), max_length=300)
    is_resolved = models.BooleanField(_("resolved"), default=False)

    class Meta:
        ordering = ["run", "row_number"]
        verbose_name = _("quarantined row")
        verbose_name_plural = _("quarantined rows")

    def __str__(self) -> str:
        return f"{self.run} row {self.row_number}: {self.reason}"


class ReconciliationItem(models.Model):
    """A registry record we could not attach to exactly one party, waiting for a person to decide."""

    record = models.OneToOneField(
        RegistryRecord,
        on_delete=models.CASCADE,
        related_name="reconciliation",
        verbose_name=_("record"),
    )
    reason = models.CharField(_("reason"), max_length=24, choices=ReconciliationReason.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ReconciliationStatus.choices,
        default=ReconciliationStatus.OPEN,
        db_index=True,
    )
    candidates = models.JSONField(_("candidate party ids"), default=list, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("reconciliation item")
        verbose_name_plural = _("reconciliation items")

    def __str__(self) -> str:
        return f"{self.record}: {self.get_reason_display()}"


class ComplianceCheck(models.Model):
    """The evaluation of one requirement for one loan at one moment, with its reason and evidence.

    Evaluations are history; ``is_latest`` marks the current one per loan and requirement (one at
    most, by constraint), which dashboards and the worklist read.
    """

    loan = models.ForeignKey(
        "loans.Loan", on_delete=models.CASCADE, related_name="compliance_checks"
    )
    party = models.ForeignKey("crm.Party", on_delete=models.PROTECT, related_name="+")
    requirement = models.ForeignKey(
        OfferRequirement, on_delete=models.CASCADE, related_name="checks"
    )
    status = models.CharField(_("result"), max_length=16, choices=CheckStatus.choices)
    reason = models.CharField(_("reason"), max_length=300)
    evidence = models.ForeignKey(
        RegistryRecord,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="checks",
        verbose_name=_("evidence"),
    )
    evaluated_at = models.DateTimeField(_("evaluated at"))
    is_latest = models.BooleanField(default=True)

    class Meta:
        ordering = ["-evaluated_at", "-pk"]
        verbose_name = _("compliance check")
        verbose_name_plural = _("compliance checks")
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "requirement"],
                condition=Q(is_latest=True),
                name="%(app_label)s_%(class)s_one_latest",
            )
        ]
        indexes = [
            models.Index(
                fields=["status"], condition=Q(is_latest=True), name="compl_check_latest_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.requirement.kind}: {self.status}"


class Case(models.Model):
    """A non-compliance being worked: one open case per party and requirement kind.

    Opened automatically by a non-compliant check, owned by a member of staff, due by
    ``deadline`` (SLA per severity), closed when a later check is compliant or by hand with an
    outcome. ``first_contact_at`` is the first call or visit logged on it.
    """

    number = models.CharField(_("case number"), max_length=20, unique=True)
    party = models.ForeignKey(
        "crm.Party", on_delete=models.PROTECT, related_name="compliance_cases"
    )
    loan = models.ForeignKey(
        "loans.Loan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="compliance_cases",
        verbose_name=_("loan"),
    )
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    kind = models.CharField(_("issue"), max_length=24, choices=RequirementKind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="compliance_cases",
        verbose_name=_("owner"),
    )
    opened_at = models.DateTimeField(_("opened"))
    deadline = models.DateField(_("deadline"))
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    proposed_solution = models.CharField(
        _("proposed solution"), max_length=24, choices=Solution.choices
    )
    solution_notes = models.TextField(_("solution notes"), blank=True)
    watch_until = models.DateField(_("watch until"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=CaseOutcome.choices, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    opening_check = models.ForeignKey(
        ComplianceCheck, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    closing_check = models.ForeignKey(
        ComplianceCheck, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("compliance case")
        verbose_name_plural = _("compliance cases")
        constraints = [
            models.UniqueConstraint(
                fields=["party", "kind"],
                condition=~Q(status=CaseStatus.CLOSED),
                name="%(app_label)s_%(class)s_one_open_per_issue",
            ),
            models.CheckConstraint(
                condition=(Q(status=CaseStatus.CLOSED) & Q(closed_at__isnull=False))
                | (~Q(status=CaseStatus.CLOSED) & Q(closed_at__isnull=True)),
                name="%(app_label)s_%(class)s_closed_at_when_closed",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "branch"], name="compl_case_status_branch_idx"),
            models.Index(fields=["owner", "status", "deadline"], name="compl_case_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    def get_absolute_url(self) -> str:
        return reverse("compliance:case_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status != CaseStatus.CLOSED


def follow_up_photo_path(instance: FollowUp, filename: str) -> str:
    return f"compliance/follow-ups/{instance.client_uuid}/{filename}"


class FollowUp(models.Model):
    """A field call or visit about a case (or a party), also recorded as a CRM interaction.

    ``client_uuid`` is generated by the phone when the form is opened, so a form kept offline and
    sent twice is stored once. Location is optional and carries the phone's accuracy in metres.
    """

    client_uuid = models.UUIDField(_("submission id"), unique=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    party = models.ForeignKey("crm.Party", on_delete=models.PROTECT, related_name="+")
    interaction = models.OneToOneField(
        "crm.Interaction", on_delete=models.PROTECT, related_name="compliance_follow_up"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=FollowUpKind.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=FollowUpOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    next_action_date = models.DateField(_("next action on"), null=True, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    accuracy_m = models.PositiveIntegerField(_("accuracy (m)"), null=True, blank=True)
    photo = models.FileField(_("document photo"), upload_to=follow_up_photo_path, blank=True)
    occurred_at = models.DateTimeField(_("when"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        constraints = [
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | (
                    Q(latitude__gte=-90)
                    & Q(latitude__lte=90)
                    & Q(longitude__gte=-180)
                    & Q(longitude__lte=180)
                ),
                name="%(app_label)s_%(class)s_location_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.party_id} {self.get_outcome_display()}"


class DeskVisit(models.Model):
    """A walk-in at a service desk: check-in, queue, service, and what it was handed off to.

    ``ticket`` numbers restart each day per branch. Wait time runs from ``checked_in_at`` to
    ``service_started_at``; service time from there to ``served_at``.
    """

    branch = models.ForeignKey("users.Branch", on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField(_("date"))
    ticket = models.PositiveIntegerField(_("ticket"))
    party = models.ForeignKey(
        "crm.Party",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="desk_visits",
        verbose_name=_("visitor"),
    )
    visitor_name = models.CharField(_("visitor name"), max_length=160, blank=True)
    visitor_phone = models.CharField(_("visitor phone"), max_length=20, blank=True)
    reason = models.CharField(_("reason"), max_length=24, choices=DeskReason.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=DeskVisitStatus.choices, default=DeskVisitStatus.WAITING
    )
    checked_in_at = models.DateTimeField(_("checked in"))
    service_started_at = models.DateTimeField(_("service started"), null=True, blank=True)
    served_at = models.DateTimeField(_("served"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(_("notes"), blank=True)
    hand_off = models.CharField(
        _("handed off to"), max_length=12, choices=HandOff.choices, default=HandOff.NONE
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="desk_visits"
    )
    task = models.ForeignKey(
        "crm.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    interaction = models.OneToOneField(
        "crm.Interaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["business_date", "ticket"]
        verbose_name = _("desk visit")
        verbose_name_plural = _("desk visits")
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "business_date", "ticket"],
                name="%(app_label)s_%(class)s_unique_ticket",
            ),
            models.CheckConstraint(
                condition=Q(party__isnull=False) | ~Q(visitor_name=""),
                name="%(app_label)s_%(class)s_visitor_known",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "business_date", "status"], name="compl_desk_day_idx")
        ]

    def __str__(self) -> str:
        return f"#{self.ticket} {self.business_date}"

    @property
    def visitor_label(self) -> str:
        return self.party.display_name if self.party_id else self.visitor_name


class PositionSnapshot(models.Model):
    """The dashboard's position figures (coverage, non-compliance, PAR) counted for the whole
    institution at one moment, split by branch and offer so any user's scope and filters add
    them up from a few hundred rows (``compliance.position``). Refreshed every few minutes, after
    the nightly evaluation and on request; the drill-down lists stay live."""

    taken_at = models.DateTimeField(_("taken at"), db_index=True)
    as_of = models.DateField(_("coverage as of"))  # the day fresh / stale was judged against
    seconds = models.DecimalField(_("seconds to count"), max_digits=8, decimal_places=3)

    class Meta:
        verbose_name = _("compliance position snapshot")
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M:%S}"


class PositionFigure(models.Model):
    """One count (and amount) of a dashboard metric's group within one branch and offer."""

    snapshot = models.ForeignKey(PositionSnapshot, on_delete=models.CASCADE, related_name="figures")
    branch = models.ForeignKey("users.Branch", on_delete=models.CASCADE, related_name="+")
    offer = models.ForeignKey(
        "loans.Offer", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    metric = models.CharField(max_length=40)
    dimension = models.CharField(max_length=20)
    key = models.CharField(max_length=80)
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=20, decimal_places=4, default=0)

    class Meta:
        verbose_name = _("compliance position figure")
        indexes = [models.Index(fields=["snapshot", "branch"], name="compliance_position_slice")]

    def __str__(self) -> str:
        return f"{self.metric} {self.dimension}:{self.key} = {self.count}"
