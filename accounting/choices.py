"""Account types, system roles, journal sources and statuses, posting events."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountType(models.TextChoices):
    ASSET = "asset", _("Asset")
    LIABILITY = "liability", _("Liability")
    EQUITY = "equity", _("Equity")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


# Accounts whose balance normally sits on the debit side.
DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})


class AccountRole(models.TextChoices):
    """Stable names the other apps post to, whatever code an accountant gives the account."""

    CASH = "CASH", _("Cash (per branch)")
    BANK = "BANK", _("Bank")
    LOAN_PORTFOLIO = "LOAN_PORTFOLIO", _("Loan portfolio")
    INTEREST_RECEIVABLE = "INTEREST_RECEIVABLE", _("Interest receivable")
    FEE_RECEIVABLE = "FEE_RECEIVABLE", _("Fee receivable")
    PENALTY_RECEIVABLE = "PENALTY_RECEIVABLE", _("Penalty receivable")
    LOAN_LOSS_PROVISION = "LOAN_LOSS_PROVISION", _("Loan-loss provision")
    COACHING_RECEIVABLE = "COACHING_RECEIVABLE", _("Coaching receivables")
    OVERPAYMENT = "OVERPAYMENT", _("Overpayments (owed to clients)")
    VAT_PAYABLE = "VAT_PAYABLE", _("VAT payable")
    P2P_REFINANCING = "P2P_REFINANCING", _("Refinancing from P2P platforms")
    BORROWINGS = "BORROWINGS", _("Borrowings")
    SHARE_CAPITAL = "SHARE_CAPITAL", _("Share capital")
    RETAINED_EARNINGS = "RETAINED_EARNINGS", _("Retained earnings")
    INTEREST_INCOME = "INTEREST_INCOME", _("Interest income")
    FEE_INCOME = "FEE_INCOME", _("Fee income")
    PENALTY_INCOME = "PENALTY_INCOME", _("Penalty income")
    RECOVERIES = "RECOVERIES", _("Recoveries of written-off loans")
    COACHING_REVENUE = "COACHING_REVENUE", _("Coaching revenue")
    PROVISION_EXPENSE = "PROVISION_EXPENSE", _("Loan-loss provision expense")
    WRITE_OFF_EXPENSE = "WRITE_OFF_EXPENSE", _("Losses written off")


class EntrySource(models.TextChoices):
    MANUAL = "manual", _("Manual entry")
    LOAN_TRANSACTION = "loan_transaction", _("Loan transaction")
    COACHING_INVOICE = "coaching_invoice", _("Coaching invoice")
    P2P_FUNDING = "p2p_funding", _("P2P funding")
    END_OF_DAY = "end_of_day", _("End of day")
    YEAR_END = "year_end", _("Year-end closing")
    REVERSAL = "reversal", _("Reversal")


class EntryStatus(models.TextChoices):
    DRAFT = "draft", _("Awaiting approval")
    POSTED = "posted", _("Posted")
    REJECTED = "rejected", _("Rejected")


# Allowed status moves of a journal entry (maker-checker for manual entries).
ENTRY_TRANSITIONS: dict[str, frozenset[str]] = {
    EntryStatus.DRAFT: frozenset({EntryStatus.POSTED, EntryStatus.REJECTED}),
    EntryStatus.POSTED: frozenset(),
    EntryStatus.REJECTED: frozenset(),
}


class AccountingRule(models.TextChoices):
    NONE = "none", _("None")
    CASH = "cash", _("Cash")
    ACCRUAL = "accrual", _("Accrual")


class PostingEvent(models.TextChoices):
    """Business events other apps report; posting rules turn them into debits and credits."""

    DISBURSEMENT = "disbursement", _("Disbursement")
    DISBURSEMENT_FEE = "disbursement_fee", _("Disbursement fee")
    REPAYMENT_PRINCIPAL = "repayment_principal", _("Repayment of principal")
    REPAYMENT_INTEREST = "repayment_interest", _("Repayment of interest")
    REPAYMENT_FEE = "repayment_fee", _("Repayment of fees")
    REPAYMENT_PENALTY = "repayment_penalty", _("Repayment of penalties")
    ACCRUAL_INTEREST = "accrual_interest", _("Interest accrual")
    ACCRUAL_FEE = "accrual_fee", _("Fee accrual")
    ACCRUAL_PENALTY = "accrual_penalty", _("Penalty accrual")
    WRITE_OFF = "write_off", _("Write-off")
    WRITE_OFF_INTEREST = "write_off_interest", _("Write-off of accrued interest")
    WRITE_OFF_FEE = "write_off_fee", _("Write-off of accrued fees")
    WRITE_OFF_PENALTY = "write_off_penalty", _("Write-off of accrued penalties")
    RECOVERY = "recovery", _("Recovery of a written-off loan")
    OVERPAYMENT = "overpayment", _("Overpayment")
    P2P_FUNDING_RECEIVED = "p2p_funding_received", _("P2P funding received")
    P2P_REPAYMENT_TO_PLATFORM = "p2p_repayment_to_platform", _("Repayment to a P2P platform")
    COACHING_INVOICE = "coaching_invoice", _("Coaching invoice")
    COACHING_PAYMENT = "coaching_payment", _("Coaching payment")
    COACHING_VAT = "coaching_vat", _("VAT on a coaching invoice")
