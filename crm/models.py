"""Parties: the persons and enterprises (MSMEs) the institution serves, their links and consents."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.choices import (
    ConsentPurpose,
    ConsentStatus,
    Gender,
    Island,
    LinkKind,
    PartyKind,
    Relationship,
    Sector,
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
