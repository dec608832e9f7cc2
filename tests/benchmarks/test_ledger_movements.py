"""The ledger's maintained movements (``AccountDayMovement``): kept by PostgreSQL as entries are
posted, equal to the journal lines, read by the reports, and closed to any direct write; and the
general ledger on screen a page at a time with a running balance that carries across pages."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connection, transaction

from accounting.choices import EntrySource, PostingEvent
from accounting.models import AccountDayMovement
from accounting.selectors import (
    general_ledger,
    movements_mismatches,
    trial_balance,
)
from tests.accounting.factories import (
    PRAIA_CASH,
    D,
    account,
    chart,
    debit_credit,
    post_event,
    post_manual,
    post_system,
)

MARCH_2 = datetime.date(2026, 3, 2)
MARCH_3 = datetime.date(2026, 3, 3)


@pytest.fixture
def ledger(head_office, praia, mindelo):
    return chart()


def test_posting_adds_the_lines_to_the_day_movements(ledger, praia, accountant, manager):
    # given two disbursements and a repayment in Praia, on two days
    post_event(ledger["cash"], praia, MARCH_2, {PostingEvent.DISBURSEMENT: "1000"})
    post_event(ledger["cash"], praia, MARCH_2, {PostingEvent.DISBURSEMENT: "500.50"})
    post_event(
        ledger["cash"],
        praia,
        MARCH_3,
        {PostingEvent.REPAYMENT_PRINCIPAL: "200", PostingEvent.REPAYMENT_INTEREST: "30"},
    )
    # when the movements of Praia's cash box are read
    rows = list(
        AccountDayMovement.objects.filter(account=account(PRAIA_CASH))
        .order_by("day")
        .values_list("day", "debit", "credit")
    )
    # then each day sums its postings, and the table agrees with the lines everywhere
    assert rows == [(MARCH_2, D("0"), D("1500.50")), (MARCH_3, D("230.00"), D("0"))]
    assert movements_mismatches() == 0


def test_a_draft_adds_nothing_until_it_is_approved(ledger, praia, accountant, manager):
    # given a manual entry drafted by the accountant, not yet approved
    from accounting.services import manual_entry_approve, manual_entry_draft
    from tests.accounting.factories import specs

    draft = manual_entry_draft(
        actor=accountant,
        entry_date=MARCH_2,
        branch=praia,
        currency="CVE",
        description="Cash count difference",
        lines=specs(debit_credit(PRAIA_CASH, "4900", "75")),
    )
    assert not AccountDayMovement.objects.exists()
    # when the manager approves it
    manual_entry_approve(actor=manager, entry=draft)
    # then its lines are in the movements
    assert AccountDayMovement.objects.get(account=account(PRAIA_CASH)).debit == D("75.00")
    assert movements_mismatches() == 0


def test_a_direct_write_to_the_movements_is_refused(ledger, praia):
    # given a posted entry and its movements
    post_event(ledger["cash"], praia, MARCH_2, {PostingEvent.DISBURSEMENT: "1000"})
    before = list(AccountDayMovement.objects.values_list("debit", "credit").order_by("pk"))
    # when a statement writes the movements directly
    with (
        pytest.raises(DatabaseError, match="kept by the ledger"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE accounting_accountdaymovement SET debit = debit + 1")
    # then nothing changed
    assert list(AccountDayMovement.objects.values_list("debit", "credit").order_by("pk")) == before


def test_the_trial_balance_reads_the_movements(ledger, praia, mindelo):
    # given postings in two branches
    post_event(ledger["cash"], praia, MARCH_2, {PostingEvent.DISBURSEMENT: "1000"})
    post_event(ledger["cash"], mindelo, MARCH_3, {PostingEvent.REPAYMENT_INTEREST: "40"})
    # when the trial balance is asked for all branches and for Praia alone
    everything = trial_balance(as_of=MARCH_3)
    praia_only = trial_balance(as_of=MARCH_3, branch_ids=[praia.pk])
    # then the totals are the postings', per scope
    assert (everything.total_debit, everything.total_credit) == (D("1040.00"), D("1040.00"))
    assert (praia_only.total_debit, praia_only.total_credit) == (D("1000.00"), D("1000.00"))


def test_the_ledger_pages_carry_the_running_balance_over(ledger, praia, accountant, manager):
    # given five receipts of 10.00, 20.00 ... 50.00 into Praia's cash box on two days,
    # after an opening posting the day before the period
    post_manual(
        accountant,
        manager,
        praia,
        datetime.date(2026, 3, 1),
        debit_credit(PRAIA_CASH, "3100", "1000"),
    )
    for day, amount in [
        (MARCH_2, "10"),
        (MARCH_2, "20"),
        (MARCH_3, "30"),
        (MARCH_3, "40"),
        (MARCH_3, "50"),
    ]:
        post_system(
            praia,
            day,
            debit_credit(PRAIA_CASH, "4900", amount),
            source=EntrySource.COACHING_INVOICE,
        )
    cash = account(PRAIA_CASH)
    # when the ledger of March 2-3 is read two postings a page
    pages = [
        general_ledger(account=cash, date_from=MARCH_2, date_to=MARCH_3, page=number, page_size=2)
        for number in (1, 2, 3)
    ]
    # then the running balance continues from page to page, the totals and the closing are
    # the period's on every page, and only the last page says there is no next one
    assert [[line.running_balance for line in page.lines] for page in pages] == [
        [D("1010.00"), D("1030.00")],
        [D("1060.00"), D("1100.00")],
        [D("1150.00")],
    ]
    assert {(page.opening, page.closing, page.total_debit) for page in pages} == {
        (D("1000.00"), D("1150.00"), D("150.00"))
    }
    assert [page.has_next for page in pages] == [True, True, False]


def test_the_general_ledger_page_shows_one_page_and_a_link_to_the_next(
    client, ledger, praia, accountant, manager, monkeypatch
):
    # given three receipts into Praia's cash box and a page of two postings
    from accounting import reports

    monkeypatch.setattr(reports, "LEDGER_PAGE_SIZE", 2)
    for amount in ("10", "20", "30"):
        post_system(
            praia,
            MARCH_2,
            debit_credit(PRAIA_CASH, "4900", amount),
            source=EntrySource.COACHING_INVOICE,
        )
    client.force_login(accountant)
    url = f"/accounting/reports/general-ledger/?account={account(PRAIA_CASH).pk}&date_from=2026-03-01&date_to=2026-03-31"
    # when the accountant opens the ledger, then its second page
    first = client.get(url)
    second = client.get(url + "&page=2")
    # then each shows its postings, the next/previous links, and the period's closing balance
    assert first.status_code == second.status_code == 200
    assert [row.kind for row in first.context["rows"]].count("line") == 2
    assert [row.kind for row in second.context["rows"]].count("line") == 1
    assert "page=2" in first.context["pages"]["next"] and "previous" not in first.context["pages"]
    assert "page=1" in second.context["pages"]["previous"] and "next" not in second.context["pages"]
    assert b"60.00" in first.content and b"60.00" in second.content


def test_the_journal_on_screen_is_paged_and_keeps_the_period_totals(
    client, ledger, praia, accountant, monkeypatch
):
    # given three entries in March and journal pages of two entries
    from accounting import reports

    monkeypatch.setattr(reports, "JOURNAL_PAGE_SIZE", 2)
    for amount in ("10", "20", "30"):
        post_system(
            praia,
            MARCH_2,
            debit_credit(PRAIA_CASH, "4900", amount),
            source=EntrySource.COACHING_INVOICE,
        )
    client.force_login(accountant)
    url = "/accounting/reports/journal/?date_from=2026-03-01&date_to=2026-03-31"
    # when the accountant opens the journal's first and second page
    first = client.get(url)
    second = client.get(url + "&page=2")

    # then two entries, then one; the total is the month's on both pages
    def lines(response):
        return [row for row in response.context["rows"] if row.kind == "line"]

    def total(response):
        [row] = [row for row in response.context["rows"] if row.kind == "total"]
        return [cell.text for cell in row.cells if cell.text]

    assert (len(lines(first)), len(lines(second))) == (4, 2)
    assert total(first) == total(second) == ["Total", "60.00", "60.00"]


def test_an_export_with_too_many_lines_is_refused(client, ledger, praia, accountant, monkeypatch):
    # given three postings to Praia's cash box and PDF exports limited to two lines
    from accounting import report_views

    monkeypatch.setattr(report_views, "EXPORT_LIMITS", {"pdf": 2, "csv": 100})
    for amount in ("10", "20", "30"):
        post_system(
            praia,
            MARCH_2,
            debit_credit(PRAIA_CASH, "4900", amount),
            source=EntrySource.COACHING_INVOICE,
        )
    client.force_login(accountant)
    url = (
        f"/accounting/reports/general-ledger/?account={account(PRAIA_CASH).pk}"
        "&date_from=2026-03-01&date_to=2026-03-31&currency=CVE"
    )
    # when the PDF, then the CSV, is asked for
    pdf = client.get(url + "&format=pdf")
    csv = client.get(url + "&format=csv")
    # then the PDF is refused with the reason, on the report page; the CSV comes
    assert pdf.status_code == 200 and pdf["Content-Type"].startswith("text/html")
    assert b"too many for one PDF file" in pdf.content
    assert csv["Content-Type"].startswith("text/csv")
