"""Choices of the loans app and the loan state machine."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OfferKind(models.TextChoices):
    LOAN = "loan", _("Loan")
    GUARANTEE = "guarantee", _("Guarantee")
    GRANT = "grant", _("Grant")
    TA_VOUCHER = "ta_voucher", _("Technical-assistance voucher")


class InterestMethod(models.TextChoices):
    FLAT = "flat", _("Flat")
    DECLINING_BALANCE = "declining_balance", _("Declining balance")


class Amortization(models.TextChoices):
    EQUAL_INSTALLMENTS = "equal_installments", _("Equal installments")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")


class InterestCalculation(models.TextChoices):
    SAME_AS_REPAYMENT_PERIOD = "same_as_repayment_period", _("Same as repayment period")
    DAILY = "daily", _("Daily")


class ScheduleEngine(models.TextChoices):
    CUMULATIVE = "cumulative", _("Cumulative (Fineract classic)")
    PROGRESSIVE = "progressive", _("Progressive")


class DaysInYear(models.TextChoices):
    ACTUAL = "actual", _("Actual")
    D360 = "360", "360"
    D364 = "364", "364"
    D365 = "365", "365"


class DaysInMonth(models.TextChoices):
    ACTUAL = "actual", _("Actual")
    D30 = "30", "30"


class Frequency(models.TextChoices):
    DAYS = "days", _("Days")
    WEEKS = "weeks", _("Weeks")
    MONTHS = "months", _("Months")


class LoanStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", pgettext_lazy("loan status", "Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ACTIVE = "active", _("Active")
    OVERPAID = "overpaid", _("Overpaid")
    CLOSED = "closed", _("Closed (obligations met)")
    WRITTEN_OFF = "written_off", _("Written off")
    RESCHEDULED = "rescheduled", _("Rescheduled")


LOAN_TRANSITIONS: dict[str, frozenset[str]] = {
    LoanStatus.SUBMITTED: frozenset(
        {LoanStatus.APPROVED, LoanStatus.REJECTED, LoanStatus.WITHDRAWN}
    ),
    LoanStatus.APPROVED: frozenset({LoanStatus.ACTIVE, LoanStatus.SUBMITTED, LoanStatus.WITHDRAWN}),
    LoanStatus.ACTIVE: frozenset(
        {
            LoanStatus.CLOSED,
            LoanStatus.OVERPAID,
            LoanStatus.WRITTEN_OFF,
            LoanStatus.RESCHEDULED,
            LoanStatus.APPROVED,
        }
    ),
    LoanStatus.OVERPAID: frozenset({LoanStatus.CLOSED, LoanStatus.ACTIVE}),
    LoanStatus.CLOSED: frozenset({LoanStatus.ACTIVE, LoanStatus.OVERPAID}),
    LoanStatus.REJECTED: frozenset(),
    LoanStatus.WITHDRAWN: frozenset(),
    LoanStatus.WRITTEN_OFF: frozenset(),
    LoanStatus.RESCHEDULED: frozenset(),
}
# Statuses with money out on the street (a portfolio balance).
PORTFOLIO_STATUSES = (LoanStatus.ACTIVE, LoanStatus.OVERPAID)


class AllocationPart(models.TextChoices):
    PENALTY = "penalty", _("Penalties")
    FEE = "fee", _("Fees")
    INTEREST = "interest", _("Interest")
    PRINCIPAL = "principal", _("Principal")


DEFAULT_ALLOCATION_ORDER = ["penalty", "fee", "interest", "principal"]
DEFAULT_DELINQUENCY_BUCKETS = [[1, 30], [31, 60], [61, 90], [91, None]]


class Channel(models.TextChoices):
    CASH = "cash", pgettext_lazy("payment channel", "Cash")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    MOBILE_MONEY = "mobile_money", _("Mobile money")


class TransactionKind(models.TextChoices):
    DISBURSEMENT = "disbursement", _("Disbursement")
    REPAYMENT = "repayment", _("Repayment")
    WRITE_OFF = "write_off", _("Write-off")
    RESCHEDULE = "reschedule", _("Rescheduled into a new loan")


class DocumentKind(models.TextChoices):
    ID_CARD = "id_card", _("Identity card")
    BUSINESS_PLAN = "business_plan", _("Business plan")
    TAX_CERTIFICATE = "tax_certificate", _("Tax certificate")
    SOCIAL_SECURITY_CERTIFICATE = "social_security_certificate", _("Social security certificate")
    PROOF_OF_ADDRESS = "proof_of_address", _("Proof of address")
    SIGNED_CONTRACT = "signed_contract", _("Signed contract")
    PERIODIC_REPORT = "periodic_report", _("Periodic report")
    OTHER = "other", _("Other")
