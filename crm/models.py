"""Parties: the persons and enterprises (MSMEs) the institution serves, their links and consents."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.choices import (
    ConsentPurpose,
    ConsentStatus,
    Gender,
    InteractionKind,
    InteractionOutcome,
    Island,
    LeadSource,
    LeadStage,
    LinkKind,
    PartyKind,
    Relationship,
    Sector,
    TaskStatus,
)

# Fields shared by persons and enterprises that staff fill in (forms and the API use this list).
PARTY_CONTACT_FIELDS = [
    "nif",
    "social_security_number",
    "phone",
    "email",
    "island",
    "municipality",
    "address",
    "relationship",
    "branch",
    "assigned_to",
]


class Party(models.Model):
    """Anyone the institution deals with: a person or an enterprise.

    Identifiers are stored normalised (see ``crm.identifiers``) and are unique per type across all
    parties, so a registry answer keyed by NIF matches exactly one party. An empty string means
    "not known".
    """

    kind = models.CharField(_("kind"), max_length=16, choices=PartyKind.choices, editable=False)
    display_name = models.CharField(_("name"), max_length=200, db_index=True, editable=False)
    relationship = models.CharField(
        _("relationship"),
        max_length=24,
        choices=Relationship.choices,
        default=Relationship.PROSPECT,
    )
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="parties", verbose_name=_("branch")
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_parties",
        verbose_name=_("assigned to"),
        help_text=_("Loan officer, field agent or coach who follows this party."),
    )
    nif = models.CharField(_("NIF (tax number)"), max_length=9, blank=True, db_index=True)
    social_security_number = models.CharField(
        _("social security (INPS) number"), max_length=12, blank=True
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True)
    island = models.CharField(_("island"), max_length=16, choices=Island.choices, blank=True)
    municipality = models.CharField(_("municipality"), max_length=80, blank=True)
    address = models.CharField(_("address"), max_length=250, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["display_name", "pk"]
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        constraints = [
            models.UniqueConstraint(
                fields=["nif"], condition=~Q(nif=""), name="%(app_label)s_%(class)s_unique_nif"
            ),
            models.UniqueConstraint(
                fields=["social_security_number"],
                condition=~Q(social_security_number=""),
                name="%(app_label)s_%(class)s_unique_social_security_number",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "display_name"], name="crm_party_branch_name_idx")
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("crm:party_detail", args=[self.pk])

    @property
    def specific(self) -> Person | Enterprise:
        """The Person or Enterprise row behind this party."""
        return self.person if self.kind == PartyKind.PERSON else self.enterprise


class Person(Party):
    """A natural person: borrower, owner of an enterprise, guarantor, household member, coachee."""

    first_name = models.CharField(_("first name"), max_length=80)
    last_name = models.CharField(_("last name"), max_length=80)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    civil_id = models.CharField(_("civil ID number"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(
                fields=["civil_id"],
                condition=~Q(civil_id=""),
                name="%(app_label)s_%(class)s_unique_civil_id",
            ),
        ]


class Enterprise(Party):
    """A micro, small or medium enterprise (MSME), formal or informal."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    is_formal = models.BooleanField(
        _("formally registered"),
        default=False,
        help_text=_("Registered with the tax authority and the commercial registry."),
    )
    employees = models.PositiveIntegerField(_("employees"), default=0)

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")


class PartyLink(models.Model):
    """A relation between two parties, read "``from_party`` is <kind> of ``to_party``"."""

    from_party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="links_from")
    to_party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="links_to")
    kind = models.CharField(_("relation"), max_length=20, choices=LinkKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("party link")
        constraints = [
            models.UniqueConstraint(
                fields=["from_party", "to_party", "kind"], name="%(app_label)s_%(class)s_unique"
            ),
            models.CheckConstraint(
                condition=~Q(from_party=models.F("to_party")),
                name="%(app_label)s_%(class)s_not_self",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_party} — {self.get_kind_display()} — {self.to_party}"


def consent_evidence_path(instance: Consent, filename: str) -> str:
    return f"consents/{instance.party_id}/{filename}"


class Consent(models.Model):
    """A party's consent for one purpose: given on a date, possibly withdrawn later.

    Consent is never a condition of getting a loan; withdrawing it stops the processing it allowed.
    """

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=24, choices=ConsentPurpose.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=ConsentStatus.choices, default=ConsentStatus.GIVEN
    )
    given_on = models.DateField(_("given on"))
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    evidence = models.FileField(
        _("evidence (signed form)"), upload_to=consent_evidence_path, blank=True
    )
    notes = models.CharField(_("notes"), max_length=250, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-given_on", "-pk"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("given_on")),
                name="%(app_label)s_%(class)s_withdrawn_after_given",
            ),
            models.UniqueConstraint(
                fields=["party", "purpose"],
                condition=Q(status="given"),
                name="%(app_label)s_%(class)s_one_active_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.get_status_display()})"

    @property
    def branch_id(self) -> int:
        return self.party.branch_id

    @property
    def is_active(self) -> bool:
        return self.status == ConsentStatus.GIVEN


class Interaction(models.Model):
    """One contact with a party: a call, a visit, a desk visit, a message or a note.

    ``occurred_at`` is when it happened (aware, may be earlier than when it was typed in);
    ``next_action_date`` is the follow-up the author set, which also created a ``Task``.
    Interactions are a record of what happened and are not edited afterwards.
    """

    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="interactions", verbose_name=_("party")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    summary = models.CharField(_("summary"), max_length=200)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=InteractionOutcome.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    loan = models.ForeignKey(
        "loans.Loan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
        verbose_name=_("loan"),
    )
    next_action_date = models.DateField(_("next action on"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["party", "-occurred_at"], name="crm_interaction_party_time_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"

    @property
    def branch_id(self) -> int:
        return self.party.branch_id


class Task(models.Model):
    """Something a member of staff has to do by a date, usually a follow-up of an interaction.

    A task is open until it is done or cancelled; both are final. ``completed_at`` is set exactly
    when the task is done.
    """

    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due on"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("assigned to"),
    )
    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("party"),
    )
    loan = models.ForeignKey(
        "loans.Loan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("loan"),
    )
    source_interaction = models.ForeignKey(
        Interaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_up_tasks",
        verbose_name=_("follow-up of"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.CheckConstraint(
                condition=(Q(status=TaskStatus.DONE) & Q(completed_at__isnull=False))
                | (~Q(status=TaskStatus.DONE) & Q(completed_at__isnull=True)),
                name="%(app_label)s_%(class)s_completed_at_when_done",
            ),
        ]
        indexes = [
            models.Index(
                fields=["assigned_to", "status", "due_date"], name="crm_task_assignee_due_idx"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


class TaskReminder(models.Model):
    """The daily reminder e-mail of one user's overdue and due-today tasks (an outbox row).

    One row per user and day (``sent_on`` is the business day the reminder is for), so the
    reminder job can run any number of times a day and each user gets at most one e-mail.
    ``delivered_at`` stays empty until the e-mail has been handed to the mail server.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_on = models.DateField(_("day"))
    task_count = models.PositiveIntegerField(_("tasks"))
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("task reminder")
        verbose_name_plural = _("task reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "sent_on"], name="%(app_label)s_%(class)s_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.sent_on}"


class Lead(models.Model):
    """A prospect in the sales pipeline: one per party, moved only by ``crm.leads.lead_move``.

    ``applied_at`` and ``converted_at`` record when the lead first reached "applied" and "client";
    they stay set if the lead is lost later, so conversion figures count every lead that got there.
    """

    party = models.OneToOneField(
        Party, on_delete=models.CASCADE, related_name="lead", verbose_name=_("party")
    )
    stage = models.CharField(
        _("stage"), max_length=12, choices=LeadStage.choices, default=LeadStage.PROSPECT
    )
    source = models.CharField(_("source"), max_length=16, choices=LeadSource.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        verbose_name=_("owner"),
    )
    lost_reason = models.CharField(_("reason lost"), max_length=250, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    stage_changed_at = models.DateTimeField(_("stage changed"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    converted_at = models.DateTimeField(_("became client at"), null=True, blank=True)

    class Meta:
        ordering = ["-stage_changed_at", "-pk"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage=LeadStage.LOST) | ~Q(lost_reason=""),
                name="%(app_label)s_%(class)s_lost_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party} ({self.get_stage_display()})"

    @property
    def branch_id(self) -> int:
        return self.party.branch_id


class Segment(models.Model):
    """A saved party-list filter: the query string understood by ``crm.filters.PartyFilter``.

    Opening a segment runs the filter again on the viewer's own scope, so sharing a segment never
    shows anyone parties outside their branches.
    """

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="party_segments",
        verbose_name=_("owner"),
    )
    is_shared = models.BooleanField(_("shared with colleagues"), default=False)
    query = models.CharField(_("filter"), max_length=500)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="%(app_label)s_%(class)s_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ErasureStatus(models.TextChoices):
    """Where an erasure request stands; rejected and executed are final."""

    PENDING = "pending", _("Awaiting review")
    REJECTED = "rejected", _("Rejected")
    EXECUTED = "executed", _("Executed")


class ErasureOutcome(models.TextChoices):
    ANONYMISED = "anonymised", _("Anonymised (records kept by law)")
    DELETED = "deleted", _("Deleted")


class ErasureRequest(models.Model):
    """A person's request to have their personal data erased (right to erasure), reviewed by a
    second person (four-eyes: the reviewer is never the requester) and executed by
    ``crm.privacy.party_erasure_request_approve``.

    ``party_number`` keeps the party's id once the party itself is deleted; the request never
    copies the person's name, so it does not undo the erasure it records.
    """

    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="erasure_requests",
        verbose_name=_("party"),
    )
    party_number = models.PositiveBigIntegerField(_("party number"))
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ErasureStatus.choices, default=ErasureStatus.PENDING
    )
    reason = models.TextField(_("reason given by the person"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=250, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=ErasureOutcome.choices, blank=True
    )
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")
        constraints = [
            models.UniqueConstraint(
                fields=["party_number"],
                condition=Q(status="pending"),
                name="%(app_label)s_%(class)s_one_pending_per_party",
            ),
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=models.F("requested_by")),
                name="%(app_label)s_%(class)s_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status="executed") | (Q(executed_at__isnull=False) & ~Q(outcome="")),
                name="%(app_label)s_%(class)s_executed_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return _("Erasure request #%(number)s (party #%(party)s)") % {
            "number": self.pk,
            "party": self.party_number,
        }

    @property
    def is_pending(self) -> bool:
        return self.status == ErasureStatus.PENDING
