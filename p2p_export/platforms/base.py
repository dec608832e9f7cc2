"""The one interface every platform adapter implements, and what adapters return.

Adapters speak to the platform only; they never touch our database. Services decide what to send
and record what came back.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from decimal import Decimal

from p2p_export.choices import PublicationState

S = PublicationState


class PlatformValidationError(Exception):
    """The platform refused what we sent (HTTP 400): ``errors`` maps each of our profile fields
    (or ``__all__``) to the platform's messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {' '.join(value)}" for key, value in errors.items()))


class PlatformRefused(Exception):
    """The platform answered with an error that retrying will not fix (bad credentials, 404)."""


@dataclass(frozen=True)
class LookupEntry:
    kind: str
    external_id: str
    name: str


@dataclass(frozen=True)
class RemoteLoan:
    """A loan as the platform knows it: its draft id, loan id (once published) and status,
    already translated to our publication state (empty when unknown)."""

    draft_id: str = ""
    loan_id: str = ""
    status: str = ""
    state: str = ""
    funded_amount: Decimal | None = None
    internal_loan_id: str = ""


@dataclass(frozen=True)
class PushResult:
    remote: RemoteLoan
    found_existing: bool = False
    queued: bool = False  # file platforms: goes out with the next package


@dataclass
class RepaymentLine:
    loan_id: str
    client_id: str
    amount: Decimal


@dataclass
class SendResult:
    """What a send gave back: the platform's reference(s), or ``queued`` for the next package."""

    references: list[str] = field(default_factory=list)
    queued: bool = False


# A platform status word → our publication state (shared by both adapters; each platform spells
# a few differently).
STATUS_TO_STATE: dict[str, str] = {
    "draft": S.AWAITING_CONFIRMATION,
    "pending": S.AWAITING_CONFIRMATION,
    "received": S.AWAITING_CONFIRMATION,
    "fundraising": S.FUNDRAISING,
    "online": S.FUNDRAISING,
    "raised": S.FUNDED,
    "funded": S.FUNDED,
    "payingback": S.REPAYING,
    "repaying": S.REPAYING,
    "ended": S.ENDED,
    "repaid": S.ENDED,
    "defaulted": S.DEFAULTED,
    "refunded": S.REFUNDED,
    "expired": S.REFUNDED,
    "deleted": S.WITHDRAWN,
    "withdrawn": S.WITHDRAWN,
}


def state_for(status: str) -> str:
    return STATUS_TO_STATE.get(status.replace("_", "").lower(), "")


class PlatformAdapter(abc.ABC):
    """What the services ask of a platform. ``delivers_by_package`` platforms queue drafts,
    repayments, journals and takedowns for the next monthly package instead of calling out."""

    delivers_by_package = False

    def __init__(self, platform):
        self.platform = platform

    @abc.abstractmethod
    def lookups(self) -> list[LookupEntry]:
        """The platform's lookup lists (activities, themes, locations, locales)."""

    @abc.abstractmethod
    def push_draft(self, *, internal_loan_id: str, payload: dict) -> PushResult:
        """Create the loan draft, unless the platform already has ``internal_loan_id``."""

    @abc.abstractmethod
    def loan_statuses(self, internal_loan_ids: list[str]) -> dict[str, RemoteLoan]:
        """The platform's current view of these loans, keyed by our internal loan id."""

    @abc.abstractmethod
    def send_repayments(self, lines: list[RepaymentLine], *, key: str) -> SendResult:
        """Report repayments (``key`` makes a repeat harmless)."""

    @abc.abstractmethod
    def send_journal(self, payload: dict, *, key: str) -> SendResult:
        """Publish one follow-up news item."""

    @abc.abstractmethod
    def request_takedown(self, remote: RemoteLoan, *, key: str) -> SendResult:
        """Ask the platform to take a profile down (consent withdrawn, or our decision)."""

    @abc.abstractmethod
    def request_anonymisation(self, remote: RemoteLoan, *, key: str) -> SendResult:
        """Ask the platform to anonymise a borrower (defaulted, consent withdrawn)."""
