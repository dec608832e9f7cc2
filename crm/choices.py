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
