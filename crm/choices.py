"""Choices for parties (persons and enterprises), their links and consents."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PartyKind(models.TextChoices):
    PERSON = "person", _("Person")
    ENTERPRISE = "enterprise", _("Enterprise")


class Relationship(models.TextChoices):
    """What the institution is to this party today (a borrower, a coaching customer, a prospect)."""

    PROSPECT = "prospect", _("Prospect")
    CLIENT = "client", _("Client (borrower)")
    COACHING_CUSTOMER = "coaching_customer", _("Coaching customer (no loan)")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other / not stated")


class Island(models.TextChoices):
    SANTO_ANTAO = "santo_antao", "Santo Antão"
    SAO_VICENTE = "sao_vicente", "São Vicente"
    SAO_NICOLAU = "sao_nicolau", "São Nicolau"
    SAL = "sal", "Sal"
    BOA_VISTA = "boa_vista", "Boa Vista"
    MAIO = "maio", "Maio"
    SANTIAGO = "santiago", "Santiago"
    FOGO = "fogo", "Fogo"
    BRAVA = "brava", "Brava"


class Sector(models.TextChoices):
    AGRICULTURE = "agriculture", _("Agriculture")
    FISHING = "fishing", _("Fishing")
    FOOD = "food", _("Food and catering")
    RETAIL = "retail", _("Retail trade")
    CRAFTS = "crafts", _("Crafts and manufacturing")
    CONSTRUCTION = "construction", _("Construction")
    TOURISM = "tourism", _("Tourism and hospitality")
    TRANSPORT = "transport", _("Transport")
    SERVICES = "services", _("Personal and business services")
    OTHER = "other", _("Other")


class LinkKind(models.TextChoices):
    OWNER = "owner", _("Owner")
    GUARANTOR = "guarantor", _("Guarantor")
    HOUSEHOLD_MEMBER = "household_member", _("Household member")
    EMPLOYEE = "employee", _("Employee")


class ConsentPurpose(models.TextChoices):
    DATA_PROCESSING = "data_processing", _("Processing of personal data")
    REGISTRY_CHECKS = "registry_checks", _("Checks with social security, tax and bank registries")
    CREDIT_BUREAU = "credit_bureau", _("Credit bureau enquiry")
    P2P_PUBLICATION = "p2p_publication", _("Publication of profile on P2P lending platforms")
    PHOTO_PUBLICATION = "photo_publication", _("Publication of photo")
    MARKETING = "marketing", _("Marketing messages")


class ConsentStatus(models.TextChoices):
    GIVEN = "given", _("Given")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class InteractionKind(models.TextChoices):
    """How staff were in touch with a party (a message covers SMS, WhatsApp and e-mail)."""

    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    DESK_VISIT = "desk_visit", _("Desk visit")
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Note")


class InteractionOutcome(models.TextChoices):
    """Short outcome codes of a call or visit, for day lists and follow-up statistics."""

    REACHED = "reached", _("Reached")
    NOT_REACHED = "not_reached", _("Not reached")
    PROMISED_TO_PAY = "promised_to_pay", _("Promised to pay")
    NEEDS_HELP = "needs_help", _("Needs help")
    OTHER = "other", _("Other")


class TimelineKind(models.TextChoices):
    """What a timeline entry is: an interaction kind, a loan event or a change of the record."""

    CALL = "call", _("Calls")
    VISIT = "visit", _("Visits")
    DESK_VISIT = "desk_visit", _("Desk visits")
    MESSAGE = "message", _("Messages")
    NOTE = "note", _("Notes")
    LOAN = "loan", _("Loans")
    CHANGE = "change", _("Changes")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# The allowed moves of a task's status; a done or cancelled task is final.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


class LeadStage(models.TextChoices):
    """Where a prospect is in the sales pipeline; ``client`` and ``lost`` end it."""

    PROSPECT = "prospect", _("Prospect")
    CONTACTED = "contacted", _("Contacted")
    APPLIED = "applied", _("Applied")
    CLIENT = "client", _("Client")
    LOST = "lost", _("Lost")


class LeadSource(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")
    REFERRAL = "referral", _("Referral")
    FIELD_VISIT = "field_visit", _("Field visit")
    MEDIA = "media", _("Radio / social media")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


# The allowed moves of a lead; a lost lead may be reopened as a prospect, a client is final.
LEAD_TRANSITIONS: dict[str, frozenset[str]] = {
    LeadStage.PROSPECT: frozenset({LeadStage.CONTACTED, LeadStage.APPLIED, LeadStage.LOST}),
    LeadStage.CONTACTED: frozenset({LeadStage.APPLIED, LeadStage.LOST}),
    LeadStage.APPLIED: frozenset({LeadStage.CLIENT, LeadStage.LOST}),
    LeadStage.CLIENT: frozenset(),
    LeadStage.LOST: frozenset({LeadStage.PROSPECT}),
}


class DuplicateReason(models.TextChoices):
    """Why two parties look like the same person or enterprise."""

    CIVIL_ID = "civil_id", _("Same civil ID")
    NIF = "nif", _("Same NIF")
    PHONE = "phone", _("Same phone")
    NAME_BIRTH_DATE = "name_birth_date", _("Similar name and same date of birth")
