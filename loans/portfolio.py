"""Portfolio quality (PAR) and the loans ↔ ledger reconciliation."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum

from accounting.choices import AccountRole
from accounting.models import Account
from accounting.selectors import posted_lines
from loans.choices import PORTFOLIO_STATUSES
from loans.models import Loan, PortfolioSnapshot
from mfi.money import ZERO, round_money

PAR_PLACES = Decimal("0.0001")


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(PAR_PLACES) if whole else Decimal("0.0000")


def portfolio_quality(*, as_of: datetime.date, branch_ids=None, currency: str = "CVE") -> dict:
    """PAR1/30/90 = outstanding principal of loans more than 1/30/90 days past due, divided by
    all outstanding principal. From the end-of-day snapshot of ``as_of`` when there is one, else
    from the loans' current balances (as of their last update)."""
    snapshots = PortfolioSnapshot.objects.filter(business_date=as_of, currency=currency)
    if branch_ids is not None:
        snapshots = snapshots.filter(branch_id__in=branch_ids)
    if snapshots.exists():
        totals = snapshots.aggregate(
            outstanding=Sum("outstanding_principal"),
            par1=Sum("par1_principal"),
            par30=Sum("par30_principal"),
            par90=Sum("par90_principal"),
            active=Sum("loans_active"),
            arrears=Sum("loans_in_arrears"),
        )
    else:
        loans = Loan.objects.filter(status__in=PORTFOLIO_STATUSES, currency=currency)
        if branch_ids is not None:
            loans = loans.filter(branch_id__in=branch_ids)
        totals = loans.aggregate(
            outstanding=Sum("principal_outstanding"),
            par1=Sum("principal_outstanding", filter=Q(days_past_due__gt=1)),
            par30=Sum("principal_outstanding", filter=Q(days_past_due__gt=30)),
            par90=Sum("principal_outstanding", filter=Q(days_past_due__gt=90)),
            active=Count("pk"),
            arrears=Count("pk", filter=Q(days_past_due__gt=0)),
        )
    outstanding = totals["outstanding"] or ZERO
    return {
        "date": as_of.isoformat(),
        "currency": currency,
        "outstanding_principal": round_money(outstanding, currency),
        "par1": _ratio(totals["par1"] or ZERO, outstanding),
        "par30": _ratio(totals["par30"] or ZERO, outstanding),
        "par90": _ratio(totals["par90"] or ZERO, outstanding),
        "loans_active": totals["active"] or 0,
        "loans_in_arrears": totals["arrears"] or 0,
    }


def loans_reconciliation(*, as_of: datetime.date, currency: str = "CVE") -> dict:
    """General-ledger balance of the loan portfolio account(s) against the loans' outstanding
    principal. The sub-ledger side is the end-of-day snapshot of ``as_of`` when there is one,
    else the loans' current balances."""
    portfolio_accounts = Account.objects.filter(role=AccountRole.LOAN_PORTFOLIO)
    gl = (
        posted_lines(date_to=as_of, currency=currency)
        .filter(account__in=portfolio_accounts)
        .aggregate(debit=Sum("debit"), credit=Sum("credit"))
    )
    gl_balance = (gl["debit"] or ZERO) - (gl["credit"] or ZERO)
    snapshots = PortfolioSnapshot.objects.filter(business_date=as_of, currency=currency)
    if snapshots.exists():
        subledger = snapshots.aggregate(total=Sum("outstanding_principal"))["total"] or ZERO
    else:
        subledger = (
            Loan.objects.filter(
                status__in=PORTFOLIO_STATUSES, currency=currency, disbursed_on__lte=as_of
            ).aggregate(total=Sum("principal_outstanding"))["total"]
            or ZERO
        )
    gl_balance = round_money(gl_balance, currency)
    subledger = round_money(subledger, currency)
    return {
        "date": as_of.isoformat(),
        "currency": currency,
        "gl_balance": gl_balance,
        "subledger_balance": subledger,
        "difference": gl_balance - subledger,
    }
