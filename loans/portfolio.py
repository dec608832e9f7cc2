"""Portfolio quality (PAR): figures, the PAR dashboard's breakdowns and trend, all read from
the end-of-day snapshots (a few hundred rows a day, whatever the number of loans); and the
loans ↔ ledger reconciliation."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from accounting.choices import AccountRole
from accounting.models import Account
from accounting.selectors import account_net_debit
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
    """General-ledger balance of the loan portfolio account(s) (from the ledger's maintained
    movements) against the loans' outstanding principal. The sub-ledger side is the end-of-day snapshot of ``as_of`` when there is one,
    else the loans' current balances."""
    portfolio_accounts = Account.objects.filter(role=AccountRole.LOAN_PORTFOLIO)
    gl_balance = account_net_debit(accounts=portfolio_accounts, date_to=as_of, currency=currency)
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


# --- the PAR dashboard ------------------------------------------------------------------------

PAR_GROUPS = {
    "branch": ("branch_id", "branch__name"),
    "officer": ("officer_id", "officer__first_name", "officer__last_name"),
    "product": ("product_id", "product__name"),
}


@dataclass(frozen=True)
class ParRow:
    """Portfolio quality of one branch, officer, product or month end (from the snapshots)."""

    key: object
    label: str
    loans_active: int
    loans_in_arrears: int
    outstanding: Decimal
    par1: Decimal
    par30: Decimal
    par90: Decimal


def _snapshots(*, branch_ids, currency: str):
    snapshots = PortfolioSnapshot.objects.filter(currency=currency)
    if branch_ids is not None:
        snapshots = snapshots.filter(branch_id__in=branch_ids)
    return snapshots


_PAR_SUMS = {
    "active": Sum("loans_active"),
    "arrears": Sum("loans_in_arrears"),
    "outstanding": Sum("outstanding_principal"),
    "par1_total": Sum("par1_principal"),
    "par30_total": Sum("par30_principal"),
    "par90_total": Sum("par90_principal"),
}


def _par_row(key, label: str, totals: dict, currency: str) -> ParRow:
    outstanding = totals["outstanding"] or ZERO
    return ParRow(
        key=key,
        label=label,
        loans_active=totals["active"] or 0,
        loans_in_arrears=totals["arrears"] or 0,
        outstanding=round_money(outstanding, currency),
        par1=_ratio(totals["par1_total"] or ZERO, outstanding),
        par30=_ratio(totals["par30_total"] or ZERO, outstanding),
        par90=_ratio(totals["par90_total"] or ZERO, outstanding),
    )


def par_snapshot_date(*, on_or_before: datetime.date, currency: str) -> datetime.date | None:
    """The last end-of-day snapshot date up to ``on_or_before`` (None before the first run)."""
    return (
        PortfolioSnapshot.objects.filter(business_date__lte=on_or_before, currency=currency)
        .order_by("-business_date")
        .values_list("business_date", flat=True)
        .first()
    )


def par_breakdown(
    *, as_of: datetime.date, group: str, branch_ids=None, currency: str = "CVE"
) -> list[ParRow]:
    """PAR per branch, loan officer or product on ``as_of`` (one query, from the snapshot)."""
    fields = PAR_GROUPS[group]
    rows = (
        _snapshots(branch_ids=branch_ids, currency=currency)
        .filter(business_date=as_of)
        .values(*fields)
        .annotate(**_PAR_SUMS)
        .order_by(*fields[1:])
    )
    return [
        _par_row(row[fields[0]], " ".join(str(row[name]) for name in fields[1:]), row, currency)
        for row in rows
    ]


def month_ends(as_of: datetime.date, count: int) -> list[datetime.date]:
    """The last ``count`` month ends before ``as_of``, oldest first."""
    ends = []
    day = as_of.replace(day=1) - datetime.timedelta(days=1)
    while len(ends) < count:
        ends.append(day)
        day = day.replace(day=1) - datetime.timedelta(days=1)
    return ends[::-1]


def par_trend(
    *, as_of: datetime.date, branch_ids=None, currency: str = "CVE", months: int = 12
) -> list[ParRow]:
    """PAR at each of the last ``months`` month ends and on ``as_of`` (one query)."""
    days = [*month_ends(as_of, months), as_of]
    rows = (
        _snapshots(branch_ids=branch_ids, currency=currency)
        .filter(business_date__in=days)
        .values("business_date")
        .annotate(**_PAR_SUMS)
        .order_by("business_date")
    )
    return [
        _par_row(row["business_date"], row["business_date"].isoformat(), row, currency)
        for row in rows
    ]
