"""The five financial reports as data: one ``Report`` shape, one builder per report.

A builder reads the ledger through ``accounting.selectors`` (scoped with ``ledger_branch_scope``,
so a user never sees figures of a branch outside their scope) and returns a ``Report``: a title,
facts for the header (date or period, branch, currency), columns and rows. One HTML template,
one PDF template and one CSV writer render any report, so the five never drift apart.

Amounts stay ``Decimal`` in the rows; they are rounded to the currency's minor unit only when
rendered: with thousands separators on screen and paper, as plain decimal strings in CSV.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlencode

from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounting.choices import AccountType
from accounting.models import Account
from accounting.selectors import (
    balance_sheet,
    day_movements,
    general_ledger,
    income_statement,
    journal,
    ledger_branch_scope,
    posted_lines,
    trial_balance,
)
from mfi.money import ZERO, round_money
from mfi.templatetags.money import money
from users.models import Branch

# Postings per page of the general ledger, entries per page of the journal, on screen (CSV and
# PDF carry them all).
LEDGER_PAGE_SIZE = 100
JOURNAL_PAGE_SIZE = 50

REPORT_TITLES = {
    "trial-balance": _("Trial balance"),
    "general-ledger": _("General ledger"),
    "journal": _("Journal"),
    "balance-sheet": _("Balance sheet"),
    "income-statement": _("Income statement"),
}


class RowKind(StrEnum):
    SECTION = "section"  # a heading such as "Assets"; its label spans the whole row
    LINE = "line"  # one account, one posting
    SUBTOTAL = "subtotal"  # a section total, an opening balance
    TOTAL = "total"  # the report's totals, a closing balance
    CHECK = "check"  # a control figure that must be zero
    NOTE = "note"  # a message such as "no postings"; never written to CSV


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    is_amount: bool = False
    blank_zero: bool = False  # a debit/credit column: zero is left empty on screen and paper
    hide_on_phone: bool = False
    nowrap: bool = False
    csv_only: bool = False  # kept in CSV for a stable layout, not worth the room on screen
    wide: bool = False  # free text (account, description): kept readable on a phone

    @property
    def css_class(self) -> str:
        classes = []
        if self.is_amount:
            classes.append("text-end text-nowrap amount")
        elif self.nowrap:
            classes.append("text-nowrap")
        if self.wide:
            classes.append("col-wide")
        if self.hide_on_phone:
            classes.append("d-none d-md-table-cell")
        return " ".join(classes)


@dataclass
class Row:
    kind: RowKind
    values: dict[str, object]
    links: dict[str, str] = field(default_factory=dict)
    currency: str | None = None  # when rows differ (the journal); else the report's
    repeated: frozenset[str] = frozenset()  # same as the row above: in CSV, not on screen
    starts_group: bool = False  # the first line of a journal entry


@dataclass(frozen=True)
class Cell:
    text: str
    css_class: str = ""
    link: str = ""
    colspan: int = 1


@dataclass(frozen=True)
class DisplayRow:
    kind: str
    css_class: str
    cells: list[Cell]


ROW_CSS = {
    RowKind.SECTION: "row-section fw-semibold table-light",
    RowKind.LINE: "row-line",
    RowKind.SUBTOTAL: "row-subtotal fw-semibold",
    RowKind.TOTAL: "row-total fw-bold",
    RowKind.CHECK: "row-check small",
    RowKind.NOTE: "row-note text-muted",
}


def _normalised(amount: Decimal, currency: str) -> Decimal:
    amount = round_money(amount, currency)
    return abs(amount) if amount == 0 else amount  # never print "-0.00"


def amount_display(amount: Decimal, currency: str) -> str:
    """An amount at the currency's decimals with thousands separators: ``1,234,567.89``."""
    return money(_normalised(amount, currency), currency)


def amount_plain(amount: Decimal, currency: str) -> str:
    """An amount at the currency's decimals, no separators, for CSV: ``1234567.89``."""
    return str(_normalised(amount, currency))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


@dataclass
class Report:
    """A financial report, whatever the format (HTML, PDF, CSV) it is rendered in."""

    slug: str
    title: str
    columns: list[Column]
    rows: list[Row]
    currency: str | None
    facts: list[tuple[str, str]]  # (label, value) for the header: date, branch, currency ...
    filename_stem: str
    empty_message: str = ""
    alerts: list[str] = field(default_factory=list)
    page: int | None = None  # shown one page at a time (the general ledger on screen)
    has_next_page: bool = False

    @property
    def subtitle_lines(self) -> list[str]:
        return [f"{label}: {value}" for label, value in self.facts]

    @property
    def display_columns(self) -> list[Column]:
        return [column for column in self.columns if not column.csv_only]

    @property
    def has_lines(self) -> bool:
        return any(row.kind == RowKind.LINE for row in self.rows)

    def _value_text(self, row: Row, column: Column, *, plain: bool) -> str:
        value = row.values.get(column.key)
        if not column.is_amount or value is None:
            return _text(value)
        currency = row.currency or self.currency
        if not plain and column.blank_zero and not value:
            return ""
        return amount_plain(value, currency) if plain else amount_display(value, currency)

    def display_rows(self) -> list[DisplayRow]:
        """Rows for the HTML and PDF templates: text already formatted, links resolved."""
        columns = self.display_columns
        rows = list(self.rows)
        if not self.has_lines and self.empty_message:
            rows.insert(0, Row(RowKind.NOTE, {"note": self.empty_message}))
        result = []
        for row in rows:
            css = ROW_CSS[row.kind] + (" starts-group" if row.starts_group else "")
            if row.kind in (RowKind.SECTION, RowKind.NOTE):
                label = next((_text(v) for v in row.values.values() if v), "")
                result.append(DisplayRow(row.kind, css, [Cell(label, colspan=len(columns))]))
                continue
            cells = []
            for column in columns:
                text = (
                    "" if column.key in row.repeated else self._value_text(row, column, plain=False)
                )
                cells.append(Cell(text, column.css_class, row.links.get(column.key, "")))
            result.append(DisplayRow(row.kind, css, cells))
        return result

    def csv_rows(self) -> list[list[str]]:
        """The header row, then every row (repeated values written out, notes left out)."""
        table = [[str(column.label) for column in self.columns]]
        for row in self.rows:
            if row.kind == RowKind.NOTE:
                continue
            table.append([self._value_text(row, column, plain=True) for column in self.columns])
        return table

    def write_csv(self, stream) -> None:
        csv.writer(stream).writerows(self.csv_rows())


# --- Shared pieces ---------------------------------------------------------------------------------

CODE = Column("code", _("Code"), nowrap=True)
ACCOUNT = Column("account", _("Account"), wide=True)
AMOUNT = Column("amount", _("Amount"), is_amount=True)
DEBIT = Column("debit", _("Debit"), is_amount=True, blank_zero=True)
CREDIT = Column("credit", _("Credit"), is_amount=True, blank_zero=True)


def _scope(user, branch: Branch | None) -> tuple[list[int] | None, str]:
    """The branch ids the report covers and how the header names them."""
    branch_ids = ledger_branch_scope(user, branch.pk if branch else None)
    if branch is not None:
        return branch_ids, branch.name
    if branch_ids is None:
        return None, str(_("All branches"))
    names = Branch.objects.filter(pk__in=branch_ids).order_by("name").values_list("name", flat=True)
    return branch_ids, ", ".join(names) or "—"


def _period(date_from: datetime.date, date_to: datetime.date) -> str:
    return _("%(from)s to %(to)s") % {"from": date_from.isoformat(), "to": date_to.isoformat()}


def _ledger_link(account: Account, *, date_from, date_to, branch, currency) -> str:
    params = {
        "account": account.pk,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "currency": currency,
    }
    if branch is not None:
        params["branch"] = branch.pk
    return reverse("accounting:report", args=["general-ledger"]) + "?" + urlencode(params)


def _year_start(day: datetime.date) -> datetime.date:
    return day.replace(month=1, day=1)


def _account_row(account: Account, values: dict, link: str) -> Row:
    return Row(
        RowKind.LINE,
        {"code": account.code, "account": account.name, **values},
        links={"account": link},
    )


# --- Builders --------------------------------------------------------------------------------------


def trial_balance_report(
    *, user, date: datetime.date, currency: str, branch: Branch | None = None
) -> Report:
    """Every account with a balance at the end of ``date``, on its debit or credit side."""
    branch_ids, branch_label = _scope(user, branch)
    data = trial_balance(as_of=date, branch_ids=branch_ids, currency=currency)
    rows = []
    for item in data.rows:
        account = item["account"]
        link = _ledger_link(
            account, date_from=_year_start(date), date_to=date, branch=branch, currency=currency
        )
        rows.append(
            _account_row(
                account,
                {
                    "type": account.get_type_display(),
                    "debit": item["debit"],
                    "credit": item["credit"],
                },
                link,
            )
        )
    rows.append(
        Row(
            RowKind.TOTAL,
            {"account": _("Total"), "debit": data.total_debit, "credit": data.total_credit},
        )
    )
    alerts = []
    if data.total_debit != data.total_credit:
        alerts.append(
            _("Debits and credits differ by %(amount)s.")
            % {"amount": amount_display(data.total_debit - data.total_credit, currency)}
        )
    return Report(
        slug="trial-balance",
        title=REPORT_TITLES["trial-balance"],
        columns=[CODE, ACCOUNT, Column("type", _("Type"), hide_on_phone=True), DEBIT, CREDIT],
        rows=rows,
        currency=currency,
        facts=[
            (_("As of"), date.isoformat()),
            (_("Branch"), branch_label),
            (_("Currency"), currency),
        ],
        filename_stem=f"trial-balance-{date.isoformat()}",
        empty_message=_("No postings up to this date."),
        alerts=alerts,
    )


def general_ledger_report(
    *,
    user,
    account: Account,
    date_from: datetime.date,
    date_to: datetime.date,
    currency: str,
    branch: Branch | None = None,
    page: int | None = None,
) -> Report:
    """Every posting to one account in the period, between its opening and closing balance;
    on screen one page of ``LEDGER_PAGE_SIZE`` postings at a time (``page``), in CSV and PDF
    every posting. Balances are on the account's normal side (debit for assets and expenses)."""
    branch_ids, branch_label = _scope(user, branch)
    ledger = general_ledger(
        account=account,
        date_from=date_from,
        date_to=date_to,
        branch_ids=branch_ids,
        currency=currency,
        page=page,
        page_size=LEDGER_PAGE_SIZE,
    )
    rows = [
        Row(
            RowKind.SUBTOTAL,
            {"description": _("Opening balance"), "date": date_from, "balance": ledger.opening},
        )
    ]
    for line in ledger.lines:
        entry = line.entry
        rows.append(
            Row(
                RowKind.LINE,
                {
                    "date": entry.entry_date,
                    "number": entry.number,
                    "description": line.description or entry.description,
                    "debit": line.debit,
                    "credit": line.credit,
                    "balance": line.running_balance,
                },
                links={"number": reverse("accounting:entry_detail", args=[entry.pk])},
            )
        )
    rows.append(
        Row(
            RowKind.SUBTOTAL,
            {
                "description": _("Movements of the period"),
                "debit": ledger.total_debit,
                "credit": ledger.total_credit,
            },
        )
    )
    rows.append(
        Row(
            RowKind.TOTAL,
            {"description": _("Closing balance"), "date": date_to, "balance": ledger.closing},
        )
    )
    return Report(
        slug="general-ledger",
        title=REPORT_TITLES["general-ledger"],
        columns=[
            Column("date", _("Date"), nowrap=True),
            Column("number", _("Entry"), nowrap=True),
            Column("description", _("Description"), wide=True),
            DEBIT,
            CREDIT,
            Column("balance", _("Balance"), is_amount=True),
        ],
        rows=rows,
        currency=currency,
        facts=[
            (_("Account"), str(account)),
            (_("Period"), _period(date_from, date_to)),
            (_("Branch"), branch_label),
            (_("Currency"), currency),
        ],
        filename_stem=f"general-ledger-{account.code}-{date_from.isoformat()}-{date_to.isoformat()}",
        empty_message=_("No postings to this account in the period."),
        page=ledger.page if page is not None else None,
        has_next_page=ledger.has_next,
    )


def journal_report(
    *,
    user,
    date_from: datetime.date,
    date_to: datetime.date,
    branch: Branch | None = None,
    page: int | None = None,
) -> Report:
    """Posted entries of the period with their lines, in date and number order; totals per
    currency (amounts of different currencies are never added up). On screen one page of
    ``JOURNAL_PAGE_SIZE`` entries at a time (``page``), the totals still the period's (from the
    maintained movements); in CSV and PDF every entry."""
    branch_ids, branch_label = _scope(user, branch)
    rows = []
    totals: dict[str, list[Decimal]] = {}
    entry_columns = frozenset({"number", "date", "branch", "currency"})
    entries = journal(date_from=date_from, date_to=date_to, branch_ids=branch_ids)
    has_next = False
    if page is not None:
        offset = (page - 1) * JOURNAL_PAGE_SIZE
        entries = list(entries[offset : offset + JOURNAL_PAGE_SIZE + 1])
        has_next = len(entries) > JOURNAL_PAGE_SIZE
        entries = entries[:JOURNAL_PAGE_SIZE]
        for row in (
            day_movements(date_from=date_from, date_to=date_to, branch_ids=branch_ids)
            .values("currency")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))
            .order_by()
        ):
            totals[row["currency"]] = [row["debit"], row["credit"]]
    for entry in entries:
        link = reverse("accounting:entry_detail", args=[entry.pk])
        sums = totals.setdefault(entry.currency, [ZERO, ZERO]) if page is None else None
        for index, line in enumerate(entry.lines.all()):
            description = line.description or entry.description
            repeated = entry_columns if index else frozenset()
            if index and description == entry.description:
                repeated |= {"description"}
            rows.append(
                Row(
                    RowKind.LINE,
                    {
                        "number": entry.number,
                        "date": entry.entry_date,
                        "branch": entry.branch.name,
                        "currency": entry.currency,
                        "description": description,
                        "account": str(line.account),
                        "debit": line.debit,
                        "credit": line.credit,
                    },
                    links={} if index else {"number": link},
                    currency=entry.currency,
                    repeated=repeated,
                    starts_group=not index,
                )
            )
            if sums is not None:
                sums[0] += line.debit
                sums[1] += line.credit
    for currency, (debit, credit) in sorted(totals.items()):
        label = _("Total %(currency)s") % {"currency": currency} if len(totals) > 1 else _("Total")
        rows.append(
            Row(
                RowKind.TOTAL,
                {"description": label, "currency": currency, "debit": debit, "credit": credit},
                currency=currency,
            )
        )
    columns = [
        Column("number", _("Entry"), nowrap=True),
        Column("date", _("Date"), nowrap=True),
        Column("branch", _("Branch"), hide_on_phone=True),
        Column("currency", _("Currency"), hide_on_phone=True),
        Column("description", _("Description"), wide=True),
        ACCOUNT,
        DEBIT,
        CREDIT,
    ]
    facts = [(_("Period"), _period(date_from, date_to)), (_("Branch"), branch_label)]
    if len(totals) == 1:  # one currency: said once in the header rather than on every line
        columns = [
            replace(column, csv_only=True) if column.key == "currency" else column
            for column in columns
        ]
        facts.append((_("Currency"), next(iter(totals))))
    return Report(
        slug="journal",
        title=REPORT_TITLES["journal"],
        columns=columns,
        rows=rows,
        currency=None,
        facts=facts,
        filename_stem=f"journal-{date_from.isoformat()}-{date_to.isoformat()}",
        empty_message=_("No posted entries in the period."),
        page=page,
        has_next_page=has_next,
    )


def balance_sheet_report(
    *, user, date: datetime.date, currency: str, branch: Branch | None = None
) -> Report:
    """Assets against liabilities, equity and the current result (income less expenses not yet
    moved to retained earnings), at the end of ``date``."""
    branch_ids, branch_label = _scope(user, branch)
    statement = balance_sheet(as_of=date, branch_ids=branch_ids, currency=currency)
    totals = statement.totals
    rows: list[Row] = []

    def section(
        kind: str,
        heading,
        total_label,
        total_kind: RowKind,
        extra: Iterable[Row] = (),
        total: Decimal | None = None,
    ) -> None:
        rows.append(Row(RowKind.SECTION, {"account": heading}))
        for account, amount in statement.sections[kind]:
            link = _ledger_link(
                account, date_from=_year_start(date), date_to=date, branch=branch, currency=currency
            )
            rows.append(_account_row(account, {"amount": amount}, link))
        rows.extend(extra)
        rows.append(
            Row(
                total_kind,
                {"account": total_label, "amount": totals[kind] if total is None else total},
            )
        )

    section(AccountType.ASSET, _("Assets"), _("Total assets"), RowKind.TOTAL)
    section(AccountType.LIABILITY, _("Liabilities"), _("Total liabilities"), RowKind.SUBTOTAL)
    current_result = Row(
        RowKind.LINE,
        {
            "account": _("Current result (income less expenses, not yet closed)"),
            "amount": totals["current_result"],
        },
    )
    section(
        AccountType.EQUITY,
        _("Equity"),
        _("Total equity"),
        RowKind.SUBTOTAL,
        extra=[current_result],
        total=totals["equity"] + totals["current_result"],
    )
    funding = totals["liability"] + totals["equity"] + totals["current_result"]
    rows.append(
        Row(RowKind.TOTAL, {"account": _("Total liabilities and equity"), "amount": funding})
    )
    difference = totals["asset"] - funding
    rows.append(
        Row(
            RowKind.CHECK,
            {
                "account": _("Check: total assets − (liabilities + equity + current result)"),
                "amount": difference,
            },
        )
    )
    alerts = []
    if round_money(difference, currency):
        alerts.append(
            _("The balance sheet does not balance: the difference is %(amount)s.")
            % {"amount": amount_display(difference, currency)}
        )
    return Report(
        slug="balance-sheet",
        title=REPORT_TITLES["balance-sheet"],
        columns=[CODE, ACCOUNT, AMOUNT],
        rows=rows,
        currency=currency,
        facts=[
            (_("As of"), date.isoformat()),
            (_("Branch"), branch_label),
            (_("Currency"), currency),
        ],
        filename_stem=f"balance-sheet-{date.isoformat()}",
        alerts=alerts,
    )


def income_statement_report(
    *,
    user,
    date_from: datetime.date,
    date_to: datetime.date,
    currency: str,
    branch: Branch | None = None,
) -> Report:
    """Income and expenses of the period and the result (year-end closing entries left out)."""
    branch_ids, branch_label = _scope(user, branch)
    statement = income_statement(
        date_from=date_from, date_to=date_to, branch_ids=branch_ids, currency=currency
    )
    rows: list[Row] = []
    for kind, heading, total_label in (
        (AccountType.INCOME, _("Income"), _("Total income")),
        (AccountType.EXPENSE, _("Expenses"), _("Total expenses")),
    ):
        rows.append(Row(RowKind.SECTION, {"account": heading}))
        for account, amount in statement.sections[kind]:
            link = _ledger_link(
                account, date_from=date_from, date_to=date_to, branch=branch, currency=currency
            )
            rows.append(_account_row(account, {"amount": amount}, link))
        rows.append(
            Row(RowKind.SUBTOTAL, {"account": total_label, "amount": statement.totals[kind]})
        )
    rows.append(
        Row(
            RowKind.TOTAL,
            {
                "account": _("Result of the period (income − expenses)"),
                "amount": statement.totals["result"],
            },
        )
    )
    return Report(
        slug="income-statement",
        title=REPORT_TITLES["income-statement"],
        columns=[CODE, ACCOUNT, AMOUNT],
        rows=rows,
        currency=currency,
        facts=[
            (_("Period"), _period(date_from, date_to)),
            (_("Branch"), branch_label),
            (_("Currency"), currency),
        ],
        filename_stem=f"income-statement-{date_from.isoformat()}-{date_to.isoformat()}",
    )


def report_line_count(
    name: str, *, user, date_from, date_to, branch=None, account=None, currency=None
) -> int:
    """How many lines the journal (every line of the period) or the general ledger (the
    account's postings) would carry, before building it."""
    branch_ids, _label = _scope(user, branch)
    lines = posted_lines(date_from=date_from, date_to=date_to, branch_ids=branch_ids)
    if name == "general-ledger":
        lines = lines.filter(account=account, entry__currency=currency)
    return lines.count()


BUILDERS = {
    "trial-balance": trial_balance_report,
    "general-ledger": general_ledger_report,
    "journal": journal_report,
    "balance-sheet": balance_sheet_report,
    "income-statement": income_statement_report,
}
