"""The loan PDFs, rendered with WeasyPrint from templates: the contract with its repayment
schedule, a repayment receipt, the client statement (every transaction, running balance) and
the portfolio report (a list of loans with its totals).

Amounts are in the loan's currency, printed at its minor unit. Nothing here changes data.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from loans import services
from loans.choices import AllocationPart, Frequency, LoanStatus, TransactionKind
from loans.models import Loan, LoanProductVersion, LoanTransaction
from loans.selectors import (
    loan_collaterals,
    loan_guarantors,
    loan_installments,
    loan_transactions,
    statement_lines,
)
from mfi.money import ZERO
from mfi.pdf import render_pdf
from mfi.templatetags.money import money


@dataclass(frozen=True)
class ScheduleRow:
    """One installment of the contract's schedule, whether stored or projected."""

    number: int
    due_date: datetime.date
    principal: Decimal
    interest: Decimal
    fees: Decimal
    total: Decimal
    balance: Decimal


def repayment_frequency_label(version: LoanProductVersion) -> str:
    """The repayment frequency in words ("every month", "every 2 weeks")."""
    every = version.repayment_every
    if version.repayment_frequency == Frequency.DAYS:
        text = ngettext("every day", "every %(count)s days", every)
    elif version.repayment_frequency == Frequency.WEEKS:
        text = ngettext("every week", "every %(count)s weeks", every)
    else:
        text = ngettext("every month", "every %(count)s months", every)
    return text % {"count": every}


def contract_schedule(loan: Loan) -> list[ScheduleRow]:
    """The stored installments of a disbursed loan; before disbursement, the schedule its terms
    give from the expected disbursement date (empty if the terms no longer compute)."""
    installments = loan_installments(loan=loan)
    if installments:
        balance = sum((row.principal_due for row in installments), ZERO)
        rows = []
        for row in installments:
            balance -= row.principal_due
            rows.append(
                ScheduleRow(
                    number=row.number,
                    due_date=row.due_date,
                    principal=row.principal_due,
                    interest=row.interest_due,
                    fees=row.fee_due + row.penalty_due,
                    total=row.total_due,
                    balance=balance,
                )
            )
        return rows
    try:
        schedule = services.loan_schedule_preview(loan)
    except ValidationError:
        return []
    return [
        ScheduleRow(
            number=row.number,
            due_date=row.due_date,
            principal=row.principal,
            interest=row.interest,
            fees=row.fees,
            total=row.total,
            balance=row.balance,
        )
        for row in schedule.installments
    ]


def _disbursement(loan: Loan) -> LoanTransaction | None:
    return next(
        (
            txn
            for txn in loan_transactions(loan=loan)
            if txn.kind == TransactionKind.DISBURSEMENT and not txn.is_reversed
        ),
        None,
    )


def contract_pdf(*, loan: Loan, user) -> bytes:
    rows = contract_schedule(loan)
    totals = {
        "principal": sum((row.principal for row in rows), ZERO),
        "interest": sum((row.interest for row in rows), ZERO),
        "fees": sum((row.fees for row in rows), ZERO),
        "total": sum((row.total for row in rows), ZERO),
    }
    return render_pdf(
        "loans/contract_pdf.html",
        {
            "loan": loan,
            "borrower": loan.borrower,
            "version": loan.product_version,
            "frequency": repayment_frequency_label(loan.product_version),
            "allocation_order": ", ".join(
                str(AllocationPart(part).label).lower()
                for part in loan.product_version.allocation_order
            ),
            "rows": rows,
            "totals": totals,
            "disbursement": _disbursement(loan),
            "guarantors": loan_guarantors(loan=loan),
            "collaterals": loan_collaterals(loan=loan),
        },
        title=_("Loan contract %(number)s") % {"number": loan.number},
        user=user,
    )


def receipt_pdf(*, loan: Loan, transaction: LoanTransaction, user) -> bytes:
    line = next(
        (
            line
            for line in statement_lines(loan=loan)
            if line.transaction.pk == transaction.pk and not line.is_reversal
        ),
        None,
    )
    return render_pdf(
        "loans/receipt_pdf.html",
        {
            "loan": loan,
            "txn": transaction,
            "balance_after": line.balance if line else None,
        },
        title=_("Receipt %(number)s")
        % {"number": transaction.receipt_number or f"{loan.number}-{transaction.pk}"},
        user=user,
    )


def statement_pdf(*, loan: Loan, user) -> bytes:
    today = timezone.localdate()
    return render_pdf(
        "loans/statement_pdf.html",
        {"loan": loan, "lines": statement_lines(loan=loan), "today": today},
        title=_("Statement of loan %(number)s") % {"number": loan.number},
        user=user,
    )


# --- the portfolio report ----------------------------------------------------------------------

PORTFOLIO_REPORT_MAX_LOANS = 5000
# Report lines per printed page (A4 portrait, 7 pt monospace): the first page carries the summary.
_FIRST_PAGE_LINES = 48
_PAGE_LINES = 66
_COLUMNS = (  # (heading, width, right-aligned)
    (gettext_lazy("Number"), 8, False),
    (gettext_lazy("Borrower"), 26, False),
    (gettext_lazy("Product"), 12, False),
    (gettext_lazy("Disbursed"), 10, False),
    (gettext_lazy("Principal"), 13, True),
    (gettext_lazy("Outstanding"), 13, True),
    (gettext_lazy("Arrears"), 12, True),
    (gettext_lazy("Late"), 4, True),
    (gettext_lazy("Status"), 9, False),
)


def _report_line(values) -> str:
    cells = []
    for (_heading, width, right), value in zip(_COLUMNS, values, strict=True):
        text = str(value)[:width]
        cells.append(text.rjust(width) if right else text.ljust(width))
    return " ".join(cells)


def portfolio_report_lines(loans) -> tuple[list[tuple[str, bool]], list[dict]]:
    """The report's lines (text, more than 30 days late) and its totals per currency."""
    rows = loans.values_list(
        "number",
        "borrower__display_name",
        "product_version__product__code",
        "disbursed_on",
        "currency",
        "principal",
        "principal_outstanding",
        "interest_outstanding",
        "fees_outstanding",
        "penalties_outstanding",
        "arrears_amount",
        "days_past_due",
        "status",
    )
    lines = []
    totals: dict[str, dict] = {}
    statuses = dict(LoanStatus.choices)
    for (
        number,
        borrower,
        product,
        disbursed_on,
        currency,
        principal,
        principal_outstanding,
        interest,
        fees,
        penalties,
        arrears,
        days_late,
        status,
    ) in rows:
        outstanding = principal_outstanding + interest + fees + penalties
        total = totals.setdefault(
            currency,
            {"loans": 0, "principal": ZERO, "outstanding": ZERO, "arrears": ZERO, "late": 0},
        )
        total["loans"] += 1
        total["principal"] += principal_outstanding
        total["outstanding"] += outstanding
        total["arrears"] += arrears
        total["late"] += days_late > 0
        text = _report_line(
            (
                number,
                borrower,
                product,
                disbursed_on.isoformat() if disbursed_on else "",
                money(principal, currency),
                money(outstanding, currency),
                money(arrears, currency) if arrears else "",
                days_late or "",
                statuses.get(status, status),
            )
        )
        lines.append((text, days_late > 30))
    return lines, [
        {
            "currency": currency,
            **values,
            "principal": money(values["principal"], currency),
            "outstanding": money(values["outstanding"], currency),
            "arrears": money(values["arrears"], currency),
        }
        for currency, values in sorted(totals.items())
    ]


def portfolio_report_pdf(*, loans, facts: list[tuple[str, str]], user) -> bytes:
    """A list of loans (a portfolio as filtered on screen) with its totals per currency: one
    line per loan, in monospace columns (a table of thousands of cells would take a minute to
    lay out; fixed-width lines take a few seconds)."""
    lines, totals = portfolio_report_lines(loans)
    pages = [lines[:_FIRST_PAGE_LINES]]
    pages += [
        lines[start : start + _PAGE_LINES]
        for start in range(_FIRST_PAGE_LINES, len(lines), _PAGE_LINES)
    ]
    return render_pdf(
        "loans/portfolio_report_pdf.html",
        {
            "facts": facts,
            "totals": totals,
            "heading": _report_line([str(heading) for heading, _w, _r in _COLUMNS]),
            "pages": pages,
            "count": len(lines),
            "today": timezone.localdate(),
        },
        title=_("Portfolio report"),
        user=user,
    )
