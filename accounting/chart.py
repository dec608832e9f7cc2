"""The default chart of accounts of an MFI and the standard posting rules (cash and accrual)."""

from __future__ import annotations

from django.db import transaction

from accounting.choices import AccountingRule, AccountRole, AccountType, PostingEvent
from accounting.models import Account, PostingRuleSet
from accounting.services import posting_rule_set_ensure
from users.models import Branch

A, L, E, INC, EXP = (
    AccountType.ASSET,
    AccountType.LIABILITY,
    AccountType.EQUITY,
    AccountType.INCOME,
    AccountType.EXPENSE,
)
R = AccountRole

# code, name, type, parent code, role, allows manual entries. Headers have no role.
HEADERS = [
    ("1", "Assets", A, None),
    ("11", "Cash and banks", A, "1"),
    ("12", "Loans to clients", A, "1"),
    ("13", "Receivables", A, "1"),
    ("2", "Liabilities", L, None),
    ("3", "Equity", E, None),
    ("4", "Income", INC, None),
    ("5", "Expenses", EXP, None),
]
DETAILS = [
    ("1150", "Bank — head office", A, "11", R.BANK, True),
    ("1200", "Loan portfolio", A, "12", R.LOAN_PORTFOLIO, False),
    ("1290", "Loan-loss provision", A, "12", R.LOAN_LOSS_PROVISION, True),
    ("1310", "Interest receivable", A, "13", R.INTEREST_RECEIVABLE, False),
    ("1320", "Fee receivable", A, "13", R.FEE_RECEIVABLE, False),
    ("1330", "Penalty receivable", A, "13", R.PENALTY_RECEIVABLE, False),
    ("1340", "Coaching receivables", A, "13", R.COACHING_RECEIVABLE, False),
    ("2100", "Overpayments owed to clients", L, "2", R.OVERPAYMENT, False),
    ("2200", "Refinancing from P2P platforms", L, "2", R.P2P_REFINANCING, False),
    ("2300", "Borrowings from funders", L, "2", R.BORROWINGS, True),
    ("2400", "VAT payable", L, "2", R.VAT_PAYABLE, False),
    ("2900", "Other payables", L, "2", "", True),
    ("3100", "Share capital", E, "3", R.SHARE_CAPITAL, True),
    ("3200", "Retained earnings", E, "3", R.RETAINED_EARNINGS, True),
    ("4100", "Interest income on loans", INC, "4", R.INTEREST_INCOME, False),
    ("4200", "Fee income", INC, "4", R.FEE_INCOME, False),
    ("4300", "Penalty income", INC, "4", R.PENALTY_INCOME, False),
    ("4400", "Recoveries of written-off loans", INC, "4", R.RECOVERIES, False),
    ("4500", "Coaching revenue", INC, "4", R.COACHING_REVENUE, False),
    ("4900", "Other income", INC, "4", "", True),
    ("5100", "Salaries", EXP, "5", "", True),
    ("5200", "Rent", EXP, "5", "", True),
    ("5300", "Loan-loss provision expense", EXP, "5", R.PROVISION_EXPENSE, True),
    ("5400", "Losses on loans written off", EXP, "5", R.WRITE_OFF_EXPENSE, False),
    ("5500", "Interest on borrowings", EXP, "5", "", True),
    ("5900", "Other operating expenses", EXP, "5", "", True),
]
CASH_PARENT = "11"

_SHARED_RULES = {
    PostingEvent.DISBURSEMENT: (R.LOAN_PORTFOLIO, R.CASH),
    PostingEvent.DISBURSEMENT_FEE: (R.CASH, R.FEE_INCOME),
    PostingEvent.REPAYMENT_PRINCIPAL: (R.CASH, R.LOAN_PORTFOLIO),
    PostingEvent.WRITE_OFF: (R.WRITE_OFF_EXPENSE, R.LOAN_PORTFOLIO),
    PostingEvent.RECOVERY: (R.CASH, R.RECOVERIES),
    PostingEvent.OVERPAYMENT: (R.CASH, R.OVERPAYMENT),
    PostingEvent.P2P_FUNDING_RECEIVED: (R.BANK, R.P2P_REFINANCING),
    PostingEvent.P2P_REPAYMENT_TO_PLATFORM: (R.P2P_REFINANCING, R.BANK),
    PostingEvent.COACHING_INVOICE: (R.COACHING_RECEIVABLE, R.COACHING_REVENUE),
    PostingEvent.COACHING_PAYMENT: (R.CASH, R.COACHING_RECEIVABLE),
    PostingEvent.COACHING_VAT: (R.COACHING_RECEIVABLE, R.VAT_PAYABLE),
}
CASH_RULES = {
    **_SHARED_RULES,
    PostingEvent.REPAYMENT_INTEREST: (R.CASH, R.INTEREST_INCOME),
    PostingEvent.REPAYMENT_FEE: (R.CASH, R.FEE_INCOME),
    PostingEvent.REPAYMENT_PENALTY: (R.CASH, R.PENALTY_INCOME),
}
ACCRUAL_RULES = {
    **_SHARED_RULES,
    PostingEvent.ACCRUAL_INTEREST: (R.INTEREST_RECEIVABLE, R.INTEREST_INCOME),
    PostingEvent.ACCRUAL_FEE: (R.FEE_RECEIVABLE, R.FEE_INCOME),
    PostingEvent.ACCRUAL_PENALTY: (R.PENALTY_RECEIVABLE, R.PENALTY_INCOME),
    PostingEvent.REPAYMENT_INTEREST: (R.CASH, R.INTEREST_RECEIVABLE),
    PostingEvent.REPAYMENT_FEE: (R.CASH, R.FEE_RECEIVABLE),
    PostingEvent.REPAYMENT_PENALTY: (R.CASH, R.PENALTY_RECEIVABLE),
    PostingEvent.WRITE_OFF_INTEREST: (R.WRITE_OFF_EXPENSE, R.INTEREST_RECEIVABLE),
    PostingEvent.WRITE_OFF_FEE: (R.WRITE_OFF_EXPENSE, R.FEE_RECEIVABLE),
    PostingEvent.WRITE_OFF_PENALTY: (R.WRITE_OFF_EXPENSE, R.PENALTY_RECEIVABLE),
}
STANDARD_CASH = "Standard — cash accounting"
STANDARD_ACCRUAL = "Standard — accrual accounting"


@transaction.atomic
def chart_install() -> dict[str, PostingRuleSet]:
    """Install the default chart, a cash account per branch and the two standard rule sets.

    Idempotent: existing accounts (perhaps renamed or renumbered by an accountant, matched by
    role or code) are left as they are.
    """
    by_code = {account.code: account for account in Account.objects.all()}
    for code, name, kind, parent in HEADERS:
        if code not in by_code:
            by_code[code] = Account.objects.create(
                code=code,
                name=name,
                type=kind,
                is_header=True,
                parent=by_code.get(parent or ""),
                allows_manual_entries=False,
            )
    for code, name, kind, parent, role, manual in DETAILS:
        if code in by_code or (
            role and Account.objects.filter(role=role, branch__isnull=True).exists()
        ):
            continue
        by_code[code] = Account.objects.create(
            code=code,
            name=name,
            type=kind,
            role=role,
            parent=by_code[parent],
            allows_manual_entries=manual,
        )
    for number, branch in enumerate(Branch.objects.order_by("pk"), start=1):
        if Account.objects.filter(role=R.CASH, branch=branch).exists():
            continue
        code = f"11{number:02d}"
        while Account.objects.filter(code=code).exists():
            number += 10
            code = f"11{number:02d}"
        Account.objects.create(
            code=code,
            name=f"Cash — {branch.name}",
            type=A,
            role=R.CASH,
            branch=branch,
            parent=by_code[CASH_PARENT],
        )
    return {
        "cash": posting_rule_set_ensure(
            name=STANDARD_CASH, accounting_rule=AccountingRule.CASH, rules=CASH_RULES
        ),
        "accrual": posting_rule_set_ensure(
            name=STANDARD_ACCRUAL, accounting_rule=AccountingRule.ACCRUAL, rules=ACCRUAL_RULES
        ),
    }
