"""Choices of the P2P export and the publication state machine.

A publication moves selected → prepared → validated → pushed → awaiting confirmation →
fundraising → funded → repaying → ended, or leaves the road as refunded, defaulted or withdrawn.
``PUBLICATION_TRANSITIONS`` is the only map of allowed moves; ``publication_transition`` in
``p2p_export.services`` is the only function that applies one.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PlatformKind(models.TextChoices):
    """How a platform is reached: a Kiva-compatible partner API or monthly file packages."""

    KIVA = "kiva", _("Kiva-compatible partner API")
    FILES = "files", _("File packages (no API)")


class PublicationState(models.TextChoices):
    SELECTED = "selected", pgettext_lazy("p2p publication", "Selected")
    PREPARED = "prepared", pgettext_lazy("p2p publication", "Prepared")
    VALIDATED = "validated", pgettext_lazy("p2p publication", "Validated")
    PUSHED = "pushed", pgettext_lazy("p2p publication", "Pushed")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation by the platform")
    FUNDRAISING = "fundraising", _("Fundraising")
    FUNDED = "funded", pgettext_lazy("p2p publication", "Funded")
    REPAYING = "repaying", _("Repaying")
    ENDED = "ended", pgettext_lazy("p2p publication", "Ended")
    REFUNDED = "refunded", pgettext_lazy("p2p publication", "Refunded")
    DEFAULTED = "defaulted", pgettext_lazy("p2p publication", "Defaulted")
    WITHDRAWN = "withdrawn", pgettext_lazy("p2p publication", "Withdrawn")


S = PublicationState
# Allowed moves. A profile edited after validation goes back to "prepared"; a draft the platform
# refuses goes back to "prepared" with the platform's errors; withdrawal (takedown) is possible
# from every non-final state; ended, refunded, defaulted and withdrawn are final.
PUBLICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    S.SELECTED: frozenset({S.PREPARED, S.WITHDRAWN}),
    S.PREPARED: frozenset({S.VALIDATED, S.WITHDRAWN}),
    S.VALIDATED: frozenset({S.PREPARED, S.PUSHED, S.WITHDRAWN}),
    S.PUSHED: frozenset({S.AWAITING_CONFIRMATION, S.PREPARED, S.WITHDRAWN}),
    S.AWAITING_CONFIRMATION: frozenset({S.FUNDRAISING, S.PREPARED, S.REFUNDED, S.WITHDRAWN}),
    S.FUNDRAISING: frozenset({S.FUNDED, S.REFUNDED, S.WITHDRAWN}),
    S.FUNDED: frozenset({S.REPAYING, S.ENDED, S.DEFAULTED, S.REFUNDED, S.WITHDRAWN}),
    S.REPAYING: frozenset({S.ENDED, S.DEFAULTED, S.REFUNDED, S.WITHDRAWN}),
    S.ENDED: frozenset(),
    S.REFUNDED: frozenset(),
    S.DEFAULTED: frozenset(),
    S.WITHDRAWN: frozenset(),
}
# The road a platform's status reports walk along (a status sync may advance several steps,
# each recorded in the history).
PUBLICATION_ROAD: tuple[str, ...] = (
    S.PUSHED,
    S.AWAITING_CONFIRMATION,
    S.FUNDRAISING,
    S.FUNDED,
    S.REPAYING,
    S.ENDED,
)
FINAL_STATES = frozenset({S.ENDED, S.REFUNDED, S.DEFAULTED, S.WITHDRAWN})
# The profile may be edited only before anything left for the platform.
EDITABLE_STATES = frozenset({S.SELECTED, S.PREPARED, S.VALIDATED})
# States in which the platform holds a copy of the profile (a takedown must be requested).
ON_PLATFORM_STATES = frozenset(
    {S.PUSHED, S.AWAITING_CONFIRMATION, S.FUNDRAISING, S.FUNDED, S.REPAYING}
)
# States in which repayments are reported to the platform.
REPAYMENT_STATES = frozenset({S.FUNDED, S.REPAYING})


class LookupKind(models.TextChoices):
    """Lookup lists a platform publishes (Kiva's activities, themes, locations, locales)."""

    ACTIVITY = "activity", _("Activity (sector)")
    THEME = "theme", _("Theme")
    LOCATION = "location", _("Location")
    LOCALE = "locale", _("Description language")


class JournalStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("p2p journal", "Draft")
    APPROVED = "approved", pgettext_lazy("p2p journal", "Approved")
    SENT = "sent", pgettext_lazy("p2p journal", "Sent")
    DISCARDED = "discarded", pgettext_lazy("p2p journal", "Discarded")


JOURNAL_TRANSITIONS: dict[str, frozenset[str]] = {
    JournalStatus.DRAFT: frozenset({JournalStatus.APPROVED, JournalStatus.DISCARDED}),
    JournalStatus.APPROVED: frozenset({JournalStatus.SENT, JournalStatus.DRAFT}),
    JournalStatus.SENT: frozenset(),
    JournalStatus.DISCARDED: frozenset(),
}


class JournalSource(models.TextChoices):
    """The real event a follow-up news item was drafted from."""

    REPAYMENT_MILESTONE = "repayment_milestone", _("Repayment milestone")
    RENEWAL = "renewal", _("Renewal")
    COACHING = "coaching", _("Coaching progress")
    FOLLOW_UP = "follow_up", _("Field follow-up")
    MANUAL = "manual", _("Written by staff")


class ReportStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("repayment report", "Open")
    FINALISED = "finalised", _("Finalised (locked)")
    SENT = "sent", pgettext_lazy("repayment report", "Sent")


REPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ReportStatus.OPEN: frozenset({ReportStatus.FINALISED}),
    ReportStatus.FINALISED: frozenset({ReportStatus.SENT}),
    ReportStatus.SENT: frozenset(),
}


class OutboxKind(models.TextChoices):
    """What an outbound message to a platform carries."""

    DRAFT = "draft", _("Loan draft")
    REPAYMENTS = "repayments", _("Repayments")
    JOURNAL = "journal", _("Journal (news)")
    TAKEDOWN = "takedown", _("Takedown request")
    ANONYMISE = "anonymise", _("Anonymisation request")
    PACKAGE = "package", _("File package delivery")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("outbox", "Pending")
    SENT = "sent", pgettext_lazy("outbox", "Sent")
    FAILED = "failed", pgettext_lazy("outbox", "Failed")


class PackageStatus(models.TextChoices):
    BUILT = "built", _("Built (ready to download)")
    DELIVERED = "delivered", _("Delivered")
