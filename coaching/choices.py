"""Choices of the coaching app and the state machines of engagements and sessions."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EngagementStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", pgettext_lazy("coaching engagement", "Accepted")
    ACTIVE = "active", pgettext_lazy("coaching engagement", "Active")
    COMPLETED = "completed", pgettext_lazy("coaching engagement", "Completed")
    CANCELLED = "cancelled", pgettext_lazy("coaching engagement", "Cancelled")


# requested → accepted → active → completed, and cancelled from any open status.
ENGAGEMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    EngagementStatus.REQUESTED: frozenset({EngagementStatus.ACCEPTED, EngagementStatus.CANCELLED}),
    EngagementStatus.ACCEPTED: frozenset({EngagementStatus.ACTIVE, EngagementStatus.CANCELLED}),
    EngagementStatus.ACTIVE: frozenset({EngagementStatus.COMPLETED, EngagementStatus.CANCELLED}),
    EngagementStatus.COMPLETED: frozenset(),
    EngagementStatus.CANCELLED: frozenset(),
}
# Engagements still running or about to: they take a coach's time.
OPEN_ENGAGEMENT_STATUSES = (
    EngagementStatus.REQUESTED,
    EngagementStatus.ACCEPTED,
    EngagementStatus.ACTIVE,
)
# The audit action of each move ("coaching_engagement.<verb>").
ENGAGEMENT_TRANSITION_ACTIONS: dict[str, str] = {
    EngagementStatus.ACCEPTED: "accepted",
    EngagementStatus.ACTIVE: "started",
    EngagementStatus.COMPLETED: "completed",
    EngagementStatus.CANCELLED: "cancelled",
}


class SessionStatus(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("coaching session", "Planned")
    HELD = "held", pgettext_lazy("coaching session", "Held")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", pgettext_lazy("coaching session", "Cancelled")


# A planned session is held, missed or called off; the outcome is final.
SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SessionStatus.PLANNED: frozenset(
        {SessionStatus.HELD, SessionStatus.NO_SHOW, SessionStatus.CANCELLED}
    ),
    SessionStatus.HELD: frozenset(),
    SessionStatus.NO_SHOW: frozenset(),
    SessionStatus.CANCELLED: frozenset(),
}
# Sessions that take a coach's time this month (the capacity rule).
LOAD_SESSION_STATUSES = (SessionStatus.PLANNED, SessionStatus.HELD)


class SessionMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("Phone")
    VIDEO = "video", _("Video call")


class ConfirmationChannel(models.TextChoices):
    SIGNED_LINK = "signed_link", _("Customer, through the signed link")
    STAFF = "staff", _("Recorded by staff")


class CoachLanguage(models.TextChoices):
    """Languages a coach works in (ISO 639 codes; Cabo Verdean Creole is ``kea``)."""

    KRIOLU = "kea", "Kriolu (Kabuverdianu)"
    PORTUGUESE = "pt", "Português"
    ENGLISH = "en", "English"
    FRENCH = "fr", "Français"
    SPANISH = "es", "Español"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("coaching invoice", "Draft")
    ISSUED = "issued", pgettext_lazy("coaching invoice", "Issued")
    PAID = "paid", pgettext_lazy("coaching invoice", "Paid")
    CANCELLED = "cancelled", pgettext_lazy("coaching invoice", "Cancelled")


# draft → issued → paid; an unpaid invoice (draft or issued, nothing received) may be cancelled.
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.ISSUED, InvoiceStatus.CANCELLED}),
    InvoiceStatus.ISSUED: frozenset({InvoiceStatus.PAID, InvoiceStatus.CANCELLED}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.CANCELLED: frozenset(),
}


class PaymentChannel(models.TextChoices):
    """How a coaching invoice was paid. Every channel is posted to the branch's cash account
    (the COACHING_PAYMENT posting rule); the channel is kept for the receipt and reports."""

    CASH = "cash", _("Cash")
    MOBILE_MONEY = "mobile_money", _("Mobile money")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    PROGRAMME = "programme", _("Paid by the subsidising programme")
