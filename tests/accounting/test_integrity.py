"""The database's own guarantees (migration 0002_ledger_integrity), tested by going around the
services on purpose: ORM updates and raw SQL, as a bug or a hand-written statement would.

pytest-django runs each test in a transaction that is rolled back, so deferred constraint
triggers would never fire: ``SET CONSTRAINTS ALL IMMEDIATE`` fires them on the spot. Each
statement expected to fail runs in its own savepoint (``transaction.atomic()``) so the test's
transaction stays usable, and every test then checks that the data did not change.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from accounting.choices import EntrySource, EntryStatus, PostingEvent
from accounting.models import JournalEntry, JournalLine
from accounting.services import manual_entry_reject, period_close
from tests.accounting.factories import (
    HEAD_OFFICE_CASH,
    MINDELO_CASH,
    PRAIA_CASH,
    D,
    account,
    chart,
    debit_credit,
    draft_manual,
    lines_of,
    post_event,
    post_manual,
    row_counts,
)

MARCH = datetime.date(2026, 3, 10)
OCTOBER = datetime.date(2026, 10, 15)


@pytest.fixture
def ledger(head_office, praia, mindelo):
    return chart()


@pytest.fixture
def posted(ledger, praia):
    """A posted disbursement of 1,000.00 in Praia: Dr 1200 / Cr Praia cash."""
    return post_event(ledger["cash"], praia, MARCH, {PostingEvent.DISBURSEMENT: "1000"})


def _rows(*rows):
    return tuple((code, D(debit), D(credit)) for code, debit, credit in rows)


def _sql(statement: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _check_deferred_constraints_now() -> None:
    _sql("SET CONSTRAINTS ALL IMMEDIATE")


def _raw_entry(branch, *, entry_date=MARCH, status="draft", source="loan_transaction") -> int:
    """An entry row written by SQL. A posted one gets a number and a posting time, as the
    check constraint number_iff_posted demands."""
    posted = status == EntryStatus.POSTED
    return _sql(
        "INSERT INTO accounting_journalentry (number, entry_date, branch_id, currency,"
        " description, source, source_reference, status, created_at, posted_at)"
        " VALUES (CASE WHEN %s THEN nextval('accounting_journal_entry_number') END, %s, %s,"
        " 'CVE', 'Written by hand', %s, '', %s, now(), CASE WHEN %s THEN now() END)"
        " RETURNING id",
        [posted, entry_date, branch.pk, source, status, posted],
    )[0][0]


def _raw_line(entry_id: int, code: str, debit: str, credit: str) -> None:
    _sql(
        "INSERT INTO accounting_journalline (entry_id, account_id, debit, credit, description)"
        " VALUES (%s, %s, %s, %s, '')",
        [entry_id, account(code).pk, D(debit), D(credit)],
    )


def _post_raw(entry_id: int) -> None:
    _sql(
        "UPDATE accounting_journalentry SET status = 'posted',"
        " number = nextval('accounting_journal_entry_number'), posted_at = now() WHERE id = %s",
        [entry_id],
    )


def _raw_draft_with_lines(branch, rows, *, entry_date=MARCH) -> int:
    """A draft entry and its (code, debit, credit) lines, all written by SQL."""
    entry_id = _raw_entry(branch, entry_date=entry_date)
    for code, debit, credit in rows:
        _raw_line(entry_id, code, debit, credit)
    return entry_id


def _raw_posted_with_lines(branch, rows, *, entry_date=MARCH) -> int:
    """As ``_raw_draft_with_lines``, then posted by SQL (number and posting time set)."""
    entry_id = _raw_draft_with_lines(branch, rows, entry_date=entry_date)
    _post_raw(entry_id)
    return entry_id


def _raw_entry_row(branch, columns: str, values: str) -> None:
    """An entry row in March with hand-picked status columns, bypassing ``_raw_entry``'s care
    to keep number, status and posting time consistent."""
    _sql(
        "INSERT INTO accounting_journalentry (entry_date, branch_id, currency, description,"  # noqa: S608 - the test's own SQL
        f" source, source_reference, created_at, {columns})"
        f" VALUES (%s, %s, 'CVE', 'x', 'loan_transaction', '', now(), {values})",
        [MARCH, branch.pk],
    )


def _rent_draft(maker, head_office, amount: str) -> JournalEntry:
    """A head-office draft dated in March: Dr 5200 rent / Cr head-office cash, both ``amount``."""
    rows = debit_credit("5200", HEAD_OFFICE_CASH, amount)
    return draft_manual(maker, head_office, MARCH, rows, description="Rent")


def _snapshot(entry: JournalEntry):
    entry = JournalEntry.objects.get(pk=entry.pk)
    return (
        entry.status,
        entry.number,
        entry.description,
        entry.entry_date,
        entry.posted_at,
        lines_of(entry),
    )


# --- balance, checked when the transaction commits ---------------------------------------------


def test_an_unbalanced_posted_entry_is_refused_by_the_database(ledger, praia, posted):
    # given
    before = row_counts()
    # when
    with (
        pytest.raises(IntegrityError, match=r"is unbalanced: debits 100\.0+ <> credits 90\.0+"),
        transaction.atomic(),
    ):
        _raw_posted_with_lines(praia, [("1200", "100", "0"), (PRAIA_CASH, "0", "90")])
        _check_deferred_constraints_now()
    # then
    assert row_counts() == before


def test_an_unbalanced_entry_written_with_the_orm_is_refused_too(ledger, praia):
    # given
    before = row_counts()
    # when
    with pytest.raises(IntegrityError, match="unbalanced"), transaction.atomic():
        entry = JournalEntry.objects.create(
            entry_date=MARCH,
            branch=praia,
            currency="CVE",
            description="ORM",
            source=EntrySource.LOAN_TRANSACTION,
            status=EntryStatus.DRAFT,
        )
        JournalLine.objects.create(entry=entry, account=account("1200"), debit=D("100.00"))
        JournalLine.objects.create(entry=entry, account=account(PRAIA_CASH), credit=D("99.99"))
        _check_deferred_constraints_now()
    # then: the rule holds for drafts as well: no entry ever sits unbalanced in the database
    assert row_counts() == before


def test_an_entry_with_a_single_line_is_refused(ledger, praia):
    # given
    before = row_counts()
    # when
    with (
        pytest.raises(IntegrityError, match=r"has 1 line\(s\); at least two are needed"),
        transaction.atomic(),
    ):
        _raw_posted_with_lines(praia, [("1200", "100", "0")])
        _check_deferred_constraints_now()
    # then
    assert row_counts() == before


def test_a_posted_entry_without_lines_is_refused(ledger, praia):
    # given
    before = row_counts()
    # when
    with pytest.raises(IntegrityError, match=r"has 0 line\(s\)"), transaction.atomic():
        _raw_entry(praia, status=EntryStatus.POSTED)
        _check_deferred_constraints_now()
    # then
    assert row_counts() == before


def test_a_balanced_entry_written_by_hand_passes_the_deferred_check(ledger, praia):
    # when
    with transaction.atomic():
        entry_id = _raw_posted_with_lines(
            praia, [("1200", "100", "0"), (PRAIA_CASH, "0", "60"), (PRAIA_CASH, "0", "40")]
        )
        _check_deferred_constraints_now()
    _sql("SET CONSTRAINTS ALL DEFERRED")
    # then
    assert lines_of(JournalEntry.objects.get(pk=entry_id)) == _rows(
        ("1200", "100", "0"), (PRAIA_CASH, "0", "60"), (PRAIA_CASH, "0", "40")
    )


# --- posted and rejected entries never change ----------------------------------------------------


def test_the_amount_of_a_posted_line_cannot_be_changed(posted):
    # given
    before = _snapshot(posted)
    line = posted.lines.order_by("pk").first()
    # when
    with (
        pytest.raises(DatabaseError, match="cannot be added, changed or deleted"),
        transaction.atomic(),
    ):
        JournalLine.objects.filter(pk=line.pk).update(debit=D("1.00"))
    with (
        pytest.raises(DatabaseError, match="cannot be added, changed or deleted"),
        transaction.atomic(),
    ):
        _sql(
            "UPDATE accounting_journalline SET debit = debit * 2, credit = credit * 2"
            " WHERE entry_id = %s",
            [posted.pk],
        )
    # then
    assert _snapshot(posted) == before
    assert before[-1] == _rows(("1200", "1000", "0"), (PRAIA_CASH, "0", "1000"))


def test_a_line_cannot_be_added_to_or_removed_from_a_posted_entry(posted):
    # given
    before = _snapshot(posted)
    # when
    with (
        pytest.raises(DatabaseError, match="lines of a posted journal entry cannot be added"),
        transaction.atomic(),
    ):
        _raw_line(posted.pk, "5900", "5", "0")
    with (
        pytest.raises(DatabaseError, match="cannot be added, changed or deleted"),
        transaction.atomic(),
    ):
        _sql("DELETE FROM accounting_journalline WHERE entry_id = %s", [posted.pk])
    # then
    assert _snapshot(posted) == before


def test_a_line_cannot_be_moved_out_of_a_posted_entry(ledger, accountant, head_office, posted):
    # given
    draft = _rent_draft(accountant, head_office, "10")
    before = (_snapshot(posted), _snapshot(draft))
    line = posted.lines.order_by("pk").first()
    # when
    with (
        pytest.raises(DatabaseError, match="cannot be added, changed or deleted"),
        transaction.atomic(),
    ):
        JournalLine.objects.filter(pk=line.pk).update(entry=draft)
    # then
    assert (_snapshot(posted), _snapshot(draft)) == before


def test_a_posted_entry_cannot_be_deleted(posted):
    # given
    before = (_snapshot(posted), row_counts())
    # when
    with (
        pytest.raises(DatabaseError, match="is posted: it cannot be deleted"),
        transaction.atomic(),
    ):
        _sql("DELETE FROM accounting_journalentry WHERE id = %s", [posted.pk])
    # then
    assert (_snapshot(posted), row_counts()) == before


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("description", "Tidied up"),
        ("entry_date", datetime.date(2026, 3, 11)),
        ("status", "draft"),
        ("branch_id", None),  # replaced by Mindelo's id in the test
        ("source_reference", "other"),
    ],
)
def test_a_posted_entry_cannot_be_changed(posted, mindelo, column, value):
    # given
    before = _snapshot(posted)
    value = mindelo.pk if column == "branch_id" else value
    # when
    with (
        pytest.raises(DatabaseError, match="is posted: it cannot be changed"),
        transaction.atomic(),
    ):
        _sql(
            f"UPDATE accounting_journalentry SET {column} = %s WHERE id = %s",  # noqa: S608
            [value, posted.pk],
        )
    # then
    assert _snapshot(posted) == before


def test_a_posted_entry_cannot_be_changed_through_the_orm_either(posted):
    # given
    before = _snapshot(posted)
    posted.description = "Tidied up"
    # when
    with pytest.raises(DatabaseError, match="it cannot be changed"), transaction.atomic():
        posted.save(update_fields=["description"])
    # then
    assert _snapshot(posted) == before


def test_a_rejected_entry_and_its_lines_cannot_change(ledger, accountant, manager, head_office):
    # given
    draft = _rent_draft(accountant, head_office, "10")
    rejected = manual_entry_reject(actor=manager, entry=draft, reason="Wrong month")
    before = (_snapshot(rejected), row_counts())
    # when
    with (
        pytest.raises(DatabaseError, match="is rejected: it cannot be changed"),
        transaction.atomic(),
    ):
        JournalEntry.objects.filter(pk=rejected.pk).update(status=EntryStatus.DRAFT)
    with (
        pytest.raises(DatabaseError, match="lines of a rejected journal entry cannot be"),
        transaction.atomic(),
    ):
        JournalLine.objects.filter(entry=rejected).update(debit=D("20"))
    with (
        pytest.raises(DatabaseError, match="is rejected: it cannot be deleted"),
        transaction.atomic(),
    ):
        _sql("DELETE FROM accounting_journalentry WHERE id = %s", [rejected.pk])
    # then
    assert (_snapshot(rejected), row_counts()) == before


# --- closed periods -------------------------------------------------------------------------------


def test_an_entry_posted_by_sql_into_a_closed_month_is_refused(ledger, accountant, praia, mindelo):
    # given
    period_close(actor=accountant, branch=praia, year=2026, month=10)
    before = row_counts()
    # when
    with (
        pytest.raises(IntegrityError, match=f"the period 2026-10 of branch {praia.pk} is closed"),
        transaction.atomic(),
    ):
        _raw_entry(praia, entry_date=OCTOBER, status=EntryStatus.POSTED)
    # then
    assert row_counts() == before
    # when: the same month of another branch is open
    with transaction.atomic():
        entry_id = _raw_posted_with_lines(
            mindelo, [("1200", "5", "0"), (MINDELO_CASH, "0", "5")], entry_date=OCTOBER
        )
    # then
    assert JournalEntry.objects.get(pk=entry_id).status == EntryStatus.POSTED


def test_a_draft_cannot_be_posted_by_sql_into_a_closed_month(ledger, accountant, praia):
    # given: the database lets a draft sit in a closed month (only posting is guarded)
    period_close(actor=accountant, branch=praia, year=2026, month=10)
    entry_id = _raw_draft_with_lines(
        praia, [("1200", "5", "0"), (PRAIA_CASH, "0", "5")], entry_date=OCTOBER
    )
    # when
    with pytest.raises(IntegrityError, match="is closed"), transaction.atomic():
        _post_raw(entry_id)
    # then
    entry = JournalEntry.objects.get(pk=entry_id)
    assert (entry.status, entry.number, entry.posted_at) == (EntryStatus.DRAFT, None, None)


# --- drafts stay editable ---------------------------------------------------------------------


def test_the_lines_of_a_draft_can_be_edited(ledger, accountant, head_office):
    # given
    draft = _rent_draft(accountant, head_office, "1500")
    # when
    JournalLine.objects.filter(entry=draft, debit__gt=0).update(debit=D("1600.00"))
    JournalLine.objects.filter(entry=draft, credit__gt=0).update(credit=D("1600.00"))
    JournalEntry.objects.filter(pk=draft.pk).update(description="Rent, corrected")
    with transaction.atomic():
        _check_deferred_constraints_now()
    _sql("SET CONSTRAINTS ALL DEFERRED")
    # then
    draft.refresh_from_db()
    assert (draft.status, draft.description) == (EntryStatus.DRAFT, "Rent, corrected")
    assert lines_of(draft) == _rows(("5200", "1600", "0"), (HEAD_OFFICE_CASH, "0", "1600"))


def test_a_draft_edited_out_of_balance_is_refused(ledger, accountant, head_office):
    # given
    draft = _rent_draft(accountant, head_office, "1500")
    # when
    with pytest.raises(IntegrityError, match="unbalanced"), transaction.atomic():
        JournalLine.objects.filter(entry=draft, debit__gt=0).update(debit=D("1600.00"))
        _check_deferred_constraints_now()
    # then
    assert lines_of(draft) == _rows(("5200", "1500", "0"), (HEAD_OFFICE_CASH, "0", "1500"))


def test_a_draft_can_be_deleted_with_its_lines(ledger, accountant, head_office):
    # given
    draft = _rent_draft(accountant, head_office, "1500")
    # when
    with transaction.atomic():
        JournalLine.objects.filter(entry=draft).delete()
        JournalEntry.objects.filter(pk=draft.pk).delete()
        _check_deferred_constraints_now()
    _sql("SET CONSTRAINTS ALL DEFERRED")
    # then
    assert row_counts() == (0, 0)


# --- row constraints ----------------------------------------------------------------------------


@pytest.mark.parametrize(("debit", "credit"), [("10", "10"), ("0", "0"), ("-10", "0"), ("0", "-5")])
def test_a_line_has_exactly_one_positive_side(ledger, accountant, head_office, debit, credit):
    # given
    draft = _rent_draft(accountant, head_office, "10")
    before = row_counts()
    # when
    with pytest.raises(IntegrityError, match="one_positive_side"), transaction.atomic():
        _raw_line(draft.pk, "5900", debit, credit)
    # then
    assert row_counts() == before


def test_the_maker_of_a_manual_entry_cannot_be_recorded_as_its_checker(
    ledger, accountant, head_office
):
    # given
    draft = _rent_draft(accountant, head_office, "10")
    # when
    with pytest.raises(IntegrityError, match="maker_is_not_checker"), transaction.atomic():
        JournalEntry.objects.filter(pk=draft.pk).update(approved_by=accountant)
    # then
    draft.refresh_from_db()
    assert draft.approved_by is None


def test_a_posted_entry_needs_a_number_and_a_draft_has_none(ledger, praia):
    # when
    with pytest.raises(IntegrityError, match="number_iff_posted"), transaction.atomic():
        _raw_entry_row(praia, "status, posted_at", "'posted', now()")  # posted, no number
    with pytest.raises(IntegrityError, match="number_iff_posted"), transaction.atomic():
        _raw_entry_row(praia, "number, status", "999999, 'draft'")  # a draft with a number
    # then
    assert row_counts() == (0, 0)


def test_the_services_leave_every_entry_balanced_for_the_database(
    ledger, accountant, manager, praia, head_office
):
    # given: entries of every kind made through the services in this transaction
    post_event(
        ledger["accrual"],
        praia,
        MARCH,
        {
            PostingEvent.REPAYMENT_PRINCIPAL: "80.004",
            PostingEvent.REPAYMENT_INTEREST: "19.996",
        },
    )
    post_manual(
        accountant,
        manager,
        head_office,
        MARCH,
        [("5200", "10.015", "0"), (HEAD_OFFICE_CASH, "0", "10.015")],
    )
    # when / then: firing every deferred check now raises nothing
    with transaction.atomic():
        _check_deferred_constraints_now()
    _sql("SET CONSTRAINTS ALL DEFERRED")
    assert row_counts() == (2, 5)
