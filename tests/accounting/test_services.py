"""Ledger services: postings per business event, rounding, validation, maker-checker,
reversals, month and year closing. Everything goes through the real services."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounting.choices import EntrySource, EntryStatus, PostingEvent
from accounting.models import Account, AccountingPeriod, JournalEntry
from accounting.selectors import balance_sheet, income_statement, trial_balance
from accounting.services import (
    LineSpec,
    journal_entry_post,
    journal_entry_reverse,
    manual_entry_approve,
    manual_entry_reject,
    period_close,
    period_reopen,
    year_end_close,
)
from audit.models import AuditEvent
from tests.accounting.factories import (
    HEAD_OFFICE_CASH,
    MINDELO_CASH,
    PRAIA_CASH,
    D,
    account,
    cash_account,
    chart,
    draft_manual,
    lines_of,
    post_event,
    post_manual,
    post_system,
    row_counts,
)
from tests.factories import BranchFactory, UserFactory
from users.roles import Role

E = PostingEvent
MARCH = datetime.date(2026, 3, 10)
OCTOBER = datetime.date(2026, 10, 15)
CASH = "CASH"  # placeholder in the expected lines: the cash account of the posting branch


@pytest.fixture
def ledger(head_office, praia, mindelo):
    """Default chart with cash boxes 1101 (head office), 1102 (Praia), 1103 (Mindelo)."""
    return chart()


def _rows(*rows):
    return tuple((code, D(debit), D(credit)) for code, debit, credit in rows)


def _state():
    """Everything a refused call must leave as it was: entries, lines, audit events, periods."""
    return (*row_counts(), AuditEvent.objects.count(), AccountingPeriod.objects.count())


def _tb_rows(as_of, branch_ids=None):
    report = trial_balance(as_of=as_of, branch_ids=branch_ids)
    rows = tuple((row["account"].code, row["debit"], row["credit"]) for row in report.rows)
    return rows, report.total_debit, report.total_credit


# --- chart -------------------------------------------------------------------------------------


def test_the_chart_gives_each_branch_its_own_cash_box(ledger, head_office, praia, mindelo):
    # then
    assert [
        (cash_account(branch).code, cash_account(branch).name, cash_account(branch).branch)
        for branch in (head_office, praia, mindelo)
    ] == [
        (HEAD_OFFICE_CASH, "Cash — Head office", head_office),
        (PRAIA_CASH, "Cash — Praia", praia),
        (MINDELO_CASH, "Cash — Mindelo", mindelo),
    ]


def test_installing_the_chart_twice_changes_nothing(ledger):
    # given
    accounts = list(Account.objects.values_list("code", "role", "branch_id"))
    # when
    again = chart()
    # then
    assert list(Account.objects.values_list("code", "role", "branch_id")) == accounts
    assert (again["cash"].pk, again["accrual"].pk) == (ledger["cash"].pk, ledger["accrual"].pk)
    assert (again["cash"].rules.count(), again["accrual"].rules.count()) == (14, 20)


# --- postings per business event -----------------------------------------------------------------

EVENT_CASES = [
    # (rule set, amounts, expected lines with CASH for the branch cash box; None: no entry)
    ("cash", {E.DISBURSEMENT: "1000"}, (("1200", "1000.00", "0"), (CASH, "0", "1000.00"))),
    ("accrual", {E.DISBURSEMENT: "1000"}, (("1200", "1000.00", "0"), (CASH, "0", "1000.00"))),
    (
        "cash",
        {E.REPAYMENT_PRINCIPAL: "80", E.REPAYMENT_INTEREST: "20"},
        ((CASH, "100.00", "0"), ("1200", "0", "80.00"), ("4100", "0", "20.00")),
    ),
    (
        "accrual",
        {E.REPAYMENT_PRINCIPAL: "80", E.REPAYMENT_INTEREST: "20"},
        ((CASH, "100.00", "0"), ("1200", "0", "80.00"), ("1310", "0", "20.00")),
    ),
    ("cash", {E.REPAYMENT_FEE: "15.50"}, ((CASH, "15.50", "0"), ("4200", "0", "15.50"))),
    ("accrual", {E.REPAYMENT_FEE: "15.50"}, ((CASH, "15.50", "0"), ("1320", "0", "15.50"))),
    ("cash", {E.REPAYMENT_PENALTY: "7.25"}, ((CASH, "7.25", "0"), ("4300", "0", "7.25"))),
    ("accrual", {E.REPAYMENT_PENALTY: "7.25"}, ((CASH, "7.25", "0"), ("1330", "0", "7.25"))),
    ("cash", {E.ACCRUAL_INTEREST: "12.34"}, None),
    ("accrual", {E.ACCRUAL_INTEREST: "12.34"}, (("1310", "12.34", "0"), ("4100", "0", "12.34"))),
    ("cash", {E.ACCRUAL_FEE: "5"}, None),
    ("accrual", {E.ACCRUAL_FEE: "5"}, (("1320", "5.00", "0"), ("4200", "0", "5.00"))),
    ("cash", {E.ACCRUAL_PENALTY: "3.10"}, None),
    ("accrual", {E.ACCRUAL_PENALTY: "3.10"}, (("1330", "3.10", "0"), ("4300", "0", "3.10"))),
    ("cash", {E.WRITE_OFF: "300"}, (("5400", "300.00", "0"), ("1200", "0", "300.00"))),
    ("accrual", {E.WRITE_OFF: "300"}, (("5400", "300.00", "0"), ("1200", "0", "300.00"))),
    ("cash", {E.RECOVERY: "120"}, ((CASH, "120.00", "0"), ("4400", "0", "120.00"))),
    ("accrual", {E.RECOVERY: "120"}, ((CASH, "120.00", "0"), ("4400", "0", "120.00"))),
    ("cash", {E.OVERPAYMENT: "35.01"}, ((CASH, "35.01", "0"), ("2100", "0", "35.01"))),
    ("accrual", {E.OVERPAYMENT: "35.01"}, ((CASH, "35.01", "0"), ("2100", "0", "35.01"))),
    (
        "cash",
        {E.P2P_FUNDING_RECEIVED: "5000"},
        (("1150", "5000.00", "0"), ("2200", "0", "5000.00")),
    ),
    (
        "accrual",
        {E.P2P_FUNDING_RECEIVED: "5000"},
        (("1150", "5000.00", "0"), ("2200", "0", "5000.00")),
    ),
    (
        "cash",
        {E.P2P_REPAYMENT_TO_PLATFORM: "250"},
        (("2200", "250.00", "0"), ("1150", "0", "250.00")),
    ),
    (
        "accrual",
        {E.P2P_REPAYMENT_TO_PLATFORM: "250"},
        (("2200", "250.00", "0"), ("1150", "0", "250.00")),
    ),
    ("cash", {E.COACHING_INVOICE: "75"}, (("1340", "75.00", "0"), ("4500", "0", "75.00"))),
    ("accrual", {E.COACHING_INVOICE: "75"}, (("1340", "75.00", "0"), ("4500", "0", "75.00"))),
    ("cash", {E.COACHING_PAYMENT: "75"}, ((CASH, "75.00", "0"), ("1340", "0", "75.00"))),
    ("accrual", {E.COACHING_PAYMENT: "75"}, ((CASH, "75.00", "0"), ("1340", "0", "75.00"))),
]


@pytest.mark.parametrize(
    ("rule_set", "amounts", "expected"),
    EVENT_CASES,
    ids=[f"{rule_set}-{'+'.join(amounts)}" for rule_set, amounts, _ in EVENT_CASES],
)
def test_each_event_posts_the_exact_lines_of_its_rule_set(
    ledger, praia, rule_set, amounts, expected
):
    # given
    before = _state()
    # when
    entry = post_event(ledger[rule_set], praia, MARCH, amounts, reference="loan-7-tx-1")
    # then
    if expected is None:
        assert entry is None
        assert _state() == before
        return
    assert lines_of(entry) == _rows(
        *((PRAIA_CASH if code == CASH else code, debit, credit) for code, debit, credit in expected)
    )
    assert (
        entry.status,
        entry.entry_date,
        entry.branch,
        entry.currency,
        entry.source,
        entry.source_reference,
    ) == (EntryStatus.POSTED, MARCH, praia, "CVE", EntrySource.LOAN_TRANSACTION, "loan-7-tx-1")
    assert entry.number is not None and entry.posted_at is not None


def test_a_full_instalment_is_one_entry_with_one_cash_line(ledger, praia):
    # when
    entry = post_event(
        ledger["cash"],
        praia,
        MARCH,
        {
            E.REPAYMENT_PRINCIPAL: "800.00",
            E.REPAYMENT_INTEREST: "120.40",
            E.REPAYMENT_FEE: "25.00",
            E.REPAYMENT_PENALTY: "4.60",
        },
    )
    # then
    assert lines_of(entry) == _rows(
        (PRAIA_CASH, "950.00", "0"),
        ("1200", "0", "800.00"),
        ("4100", "0", "120.40"),
        ("4200", "0", "25.00"),
        ("4300", "0", "4.60"),
    )


def test_accruals_are_dropped_from_a_mixed_event_under_cash_accounting(ledger, praia):
    # when
    entry = post_event(
        ledger["cash"],
        praia,
        MARCH,
        {E.REPAYMENT_PRINCIPAL: "80", E.ACCRUAL_INTEREST: "20", E.REPAYMENT_INTEREST: "0"},
    )
    # then
    assert lines_of(entry) == _rows((PRAIA_CASH, "80", "0"), ("1200", "0", "80"))


def test_an_unknown_event_is_refused_and_nothing_is_written(ledger, praia):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        post_event(ledger["cash"], praia, MARCH, {"gift": "10"})
    # then
    assert error.value.messages == ["Unknown posting event gift."]
    assert _state() == before


def test_a_posting_takes_the_cash_box_of_its_branch(ledger, praia, mindelo, head_office):
    # when
    in_praia = post_event(ledger["cash"], praia, MARCH, {E.DISBURSEMENT: "1000"})
    in_mindelo = post_event(ledger["cash"], mindelo, MARCH, {E.DISBURSEMENT: "400"})
    in_head_office = post_event(ledger["cash"], head_office, MARCH, {E.RECOVERY: "60"})
    # then
    assert lines_of(in_praia) == _rows(("1200", "1000", "0"), (PRAIA_CASH, "0", "1000"))
    assert lines_of(in_mindelo) == _rows(("1200", "400", "0"), (MINDELO_CASH, "0", "400"))
    assert lines_of(in_head_office) == _rows((HEAD_OFFICE_CASH, "60", "0"), ("4400", "0", "60"))


def test_the_institution_bank_account_serves_every_branch(ledger, mindelo):
    # when
    entry = post_event(ledger["cash"], mindelo, MARCH, {E.P2P_FUNDING_RECEIVED: "2500"})
    # then
    assert lines_of(entry) == _rows(("1150", "2500", "0"), ("2200", "0", "2500"))


def test_a_branch_opened_after_the_chart_has_no_cash_box_until_the_chart_is_installed_again(
    ledger, head_office
):
    # given
    assomada = BranchFactory(code="assomada", name="Assomada", parent=head_office)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        post_event(ledger["cash"], assomada, MARCH, {E.DISBURSEMENT: "100"})
    # then
    assert error.value.messages == ["No active account has the role CASH."]
    assert _state() == before
    # when
    chart()
    entry = post_event(ledger["cash"], assomada, MARCH, {E.DISBURSEMENT: "100"})
    # then
    assert lines_of(entry) == _rows(("1200", "100", "0"), ("1104", "0", "100"))
    assert account("1104").name == "Cash — Assomada"


def test_posted_entries_are_numbered_in_posting_order_and_audited(ledger, praia):
    # when
    first = post_event(ledger["cash"], praia, MARCH, {E.DISBURSEMENT: "1000"}, reference="a")
    second = post_event(ledger["cash"], praia, MARCH, {E.RECOVERY: "10"}, reference="b")
    # then
    assert second.number == first.number + 1
    event = AuditEvent.objects.get(action="journal_entry.posted", object_id=str(first.pk))
    assert (event.actor, event.branch_id) == (None, praia.pk)
    assert event.after["number"] == first.number
    assert event.after["source_reference"] == "a"
    assert [[code, D(debit), D(credit)] for code, debit, credit in event.after["lines"]] == [
        ["1200", D("1000"), D("0")],
        [PRAIA_CASH, D("0"), D("1000")],
    ]


def test_the_same_source_event_cannot_be_posted_twice(ledger, praia):
    # given
    post_event(ledger["cash"], praia, MARCH, {E.DISBURSEMENT: "1000"}, reference="loan-1-disb")
    before = _state()
    # when
    with pytest.raises(IntegrityError), transaction.atomic():
        post_event(ledger["cash"], praia, MARCH, {E.DISBURSEMENT: "1000"}, reference="loan-1-disb")
    # then
    assert _state() == before


@pytest.mark.parametrize("source", ["manual", "reversal", "year_end"])
def test_the_system_posting_path_refuses_sources_that_have_their_own_service(ledger, praia, source):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        post_system(praia, MARCH, [("5100", "10", "0"), (PRAIA_CASH, "0", "10")], source=source)
    # then
    assert error.value.messages == [f"Use the dedicated service for {source} entries."]
    assert _state() == before


# --- rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "posted"),
    [
        ("10.005", "10.00"),
        ("10.015", "10.02"),
        ("10.025", "10.02"),
        ("10.0251", "10.03"),
        ("0.125", "0.12"),
        ("0.135", "0.14"),
        ("999.999", "1000.00"),
    ],
)
def test_amounts_are_rounded_half_even_to_the_cent(ledger, head_office, amount, posted):
    # when
    entry = post_system(head_office, MARCH, [("1150", amount, "0"), ("2300", "0", amount)])
    # then
    assert lines_of(entry) == _rows(("1150", posted, "0"), ("2300", "0", posted))
    assert lines_of(entry)[0][1] != D(amount)


@pytest.mark.parametrize(("amount", "posted"), [("100.5", "100"), ("101.5", "102"), ("7.49", "7")])
def test_xof_amounts_are_rounded_half_even_to_the_franc(ledger, head_office, amount, posted):
    # when
    entry = post_system(
        head_office, MARCH, [("1150", amount, "0"), ("2300", "0", amount)], currency="XOF"
    )
    # then
    assert entry.currency == "XOF"
    assert lines_of(entry) == _rows(("1150", posted, "0"), ("2300", "0", posted))


def test_an_entry_that_balances_only_before_rounding_is_refused(ledger, head_office):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        post_system(
            head_office,
            MARCH,
            [("1150", "10.005", "0"), ("1150", "10.005", "0"), ("2300", "0", "20.01")],
        )
    # then
    assert error.value.messages == ["Debits (20.00) and credits (20.01) differ."]
    assert _state() == before


def test_events_that_balance_only_before_rounding_are_refused(ledger, praia):
    # given
    before = _state()
    # when: the cash line sums 20.01 before rounding, each income line rounds down to 10.00
    with pytest.raises(ValidationError) as error:
        post_event(
            ledger["cash"],
            praia,
            MARCH,
            {E.REPAYMENT_PRINCIPAL: "10.005", E.REPAYMENT_INTEREST: "10.005"},
        )
    # then
    assert error.value.messages == ["Debits (20.01) and credits (20.00) differ."]
    assert _state() == before


def test_a_line_that_rounds_to_zero_is_refused(ledger, head_office):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        post_system(head_office, MARCH, [("1150", "0.004", "0"), ("2300", "0", "0.004")])
    # then
    assert error.value.messages == ["Each line needs a positive debit or a positive credit."]
    assert _state() == before


# --- validation ----------------------------------------------------------------------------------

POSITIVE_SIDE = "Each line needs a positive debit or a positive credit."


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "An entry needs at least two lines."),
        ([("1150", "10", "0")], "An entry needs at least two lines."),
        ([("1150", "10", "10"), ("2300", "0", "0")], POSITIVE_SIDE),
        ([("1150", "10", "5"), ("2300", "0", "5")], POSITIVE_SIDE),
        ([("1150", "0", "0"), ("2300", "0", "0")], POSITIVE_SIDE),
        ([("1150", "-10", "0"), ("2300", "0", "-10")], POSITIVE_SIDE),
        ([("1150", "0", "-10"), ("2300", "-10", "0")], POSITIVE_SIDE),
        ([("1150", "10", "0"), ("2300", "0", "9.99")], "Debits (10.00) and credits (9.99) differ."),
        ([("11", "10", "0"), ("2300", "0", "10")], "11 Cash and banks takes no postings."),
        ([("1150", "10", "0"), ("2", "0", "10")], "2 Liabilities takes no postings."),
    ],
    ids=[
        "no-line",
        "one-line",
        "both-sides",
        "both-sides-unequal",
        "zero",
        "negative-debit",
        "negative-credit",
        "unbalanced",
        "header-debit",
        "header-credit",
    ],
)
def test_malformed_lines_are_refused_and_nothing_is_written(
    ledger, accountant, head_office, rows, message
):
    # given
    before = _state()
    # when: neither a system posting nor a manual draft accepts them
    with pytest.raises(ValidationError) as system_error:
        post_system(head_office, MARCH, rows)
    with pytest.raises(ValidationError) as manual_error:
        draft_manual(accountant, head_office, MARCH, rows, description="Bad")
    # then
    assert system_error.value.messages == [message]
    assert manual_error.value.messages == [message]
    assert _state() == before


def test_an_inactive_account_takes_no_postings(ledger, accountant, head_office):
    # given: no service retires an account yet, so the flag is set directly
    Account.objects.filter(code="2900").update(is_active=False)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        post_system(head_office, MARCH, [("5900", "10", "0"), ("2900", "0", "10")])
    # then
    assert error.value.messages == ["2900 Other payables takes no postings."]
    assert _state() == before


def test_an_account_kept_in_another_currency_refuses_the_entry(ledger, accountant, head_office):
    # given: no service sets an account currency yet, so it is set directly
    Account.objects.filter(code="2900").update(currency="EUR")
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        post_system(head_office, MARCH, [("5900", "10", "0"), ("2900", "0", "10")])
    # then
    assert error.value.messages == ["2900 Other payables only takes EUR."]
    assert _state() == before
    # when: the same lines in euros are fine
    entry = post_system(
        head_office, MARCH, [("5900", "10", "0"), ("2900", "0", "10")], currency="EUR"
    )
    # then
    assert (entry.currency, lines_of(entry)) == (
        "EUR",
        _rows(("5900", "10", "0"), ("2900", "0", "10")),
    )


@pytest.mark.parametrize(
    "code", ["1200", "1310", "1320", "1330", "1340", "2100", "2200", "4100", "4500", "5400"]
)
def test_system_accounts_take_no_manual_entries(ledger, accountant, head_office, code):
    # given
    before = _state()
    rows = [(code, "10", "0"), ("2900", "0", "10")]
    # when
    with pytest.raises(ValidationError) as error:
        draft_manual(accountant, head_office, MARCH, rows, description="Bypass the loans app")
    # then
    assert error.value.messages == [f"{account(code)} takes no manual entries."]
    assert _state() == before
    # when: the system path may post to them
    entry = post_system(head_office, MARCH, rows)
    # then
    assert lines_of(entry) == _rows(*rows)


def test_an_entry_cannot_be_dated_in_the_future(ledger, accountant, praia):
    # given
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    rows = [("5100", "10", "0"), (PRAIA_CASH, "0", "10")]
    before = _state()
    # when
    with pytest.raises(ValidationError) as system_error:
        post_system(praia, tomorrow, rows)
    with pytest.raises(ValidationError) as manual_error:
        draft_manual(accountant, praia, tomorrow, rows, description="Salaries")
    # then
    expected = {"entry_date": ["An entry cannot be dated in the future."]}
    assert system_error.value.message_dict == expected
    assert manual_error.value.message_dict == expected
    assert _state() == before
    # when: today is fine
    entry = post_system(praia, timezone.localdate(), rows)
    # then
    assert entry.status == EntryStatus.POSTED


# --- maker-checker -----------------------------------------------------------------------------


def _draft(actor, branch, entry_date=MARCH, rows=None):
    rows = rows or [("5200", "1500.00", "0"), (HEAD_OFFICE_CASH, "0", "1500.00")]
    return draft_manual(actor, branch, entry_date, rows, description="Office rent March")


def test_an_accountant_drafts_and_nothing_counts_until_approved(ledger, accountant, head_office):
    # when
    draft = _draft(accountant, head_office)
    # then
    draft.refresh_from_db()
    assert (
        draft.status,
        draft.number,
        draft.source,
        draft.created_by,
        draft.approved_by,
        draft.posted_at,
    ) == (EntryStatus.DRAFT, None, EntrySource.MANUAL, accountant, None, None)
    assert lines_of(draft) == _rows(("5200", "1500", "0"), (HEAD_OFFICE_CASH, "0", "1500"))
    assert trial_balance(as_of=MARCH).rows == []
    event = AuditEvent.objects.get(action="journal_entry.drafted")
    assert (event.actor, event.object_id, event.branch_id) == (
        accountant,
        str(draft.pk),
        head_office.pk,
    )
    assert event.after == {
        "entry_date": "2026-03-10",
        "description": "Office rent March",
        "currency": "CVE",
    }


def test_the_maker_cannot_approve_their_own_entry(ledger, accountant, head_office):
    # given
    draft = _draft(accountant, head_office)
    before = _state()
    # when
    with pytest.raises(PermissionDenied):
        manual_entry_approve(actor=accountant, entry=draft)
    # then
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.approved_by) == (EntryStatus.DRAFT, None, None)
    assert _state() == before


def test_a_manager_approves_and_the_entry_is_posted(ledger, accountant, manager, head_office):
    # given
    draft = _draft(accountant, head_office)
    # when
    posted = manual_entry_approve(actor=manager, entry=draft)
    # then
    posted.refresh_from_db()
    assert (posted.pk, posted.status, posted.created_by, posted.approved_by) == (
        draft.pk,
        EntryStatus.POSTED,
        accountant,
        manager,
    )
    assert posted.number is not None
    assert posted.posted_at is not None
    assert [
        (event.action, event.actor)
        for event in AuditEvent.objects.filter(object_id=str(draft.pk)).order_by("pk")
    ] == [("journal_entry.drafted", accountant), ("journal_entry.posted", manager)]
    rows, total_debit, total_credit = _tb_rows(MARCH)
    assert rows == _rows((HEAD_OFFICE_CASH, "0", "1500"), ("5200", "1500", "0"))
    assert (total_debit, total_credit) == (D("1500.00"), D("1500.00"))


def test_another_accountant_may_approve(ledger, accountant, head_office):
    # given
    colleague = UserFactory(username="accountant2", role=Role.ACCOUNTANT, branch=head_office)
    draft = _draft(accountant, head_office)
    # when
    posted = manual_entry_approve(actor=colleague, entry=draft)
    # then
    assert (posted.status, posted.approved_by) == (EntryStatus.POSTED, colleague)


def test_an_approved_entry_cannot_be_approved_again(ledger, accountant, manager, head_office):
    # given
    posted = manual_entry_approve(actor=manager, entry=_draft(accountant, head_office))
    colleague = UserFactory(username="accountant2", role=Role.ACCOUNTANT, branch=head_office)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        manual_entry_approve(actor=colleague, entry=posted)
    # then
    assert error.value.messages == [
        "This entry is Posted; only drafts can be approved or rejected."
    ]
    assert _state() == before


def test_rejecting_needs_a_reason(ledger, accountant, manager, head_office):
    # given
    draft = _draft(accountant, head_office)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        manual_entry_reject(actor=manager, entry=draft, reason="   ")
    # then
    assert error.value.message_dict == {"reason": ["Say why the entry is rejected."]}
    draft.refresh_from_db()
    assert draft.status == EntryStatus.DRAFT
    assert _state() == before


def test_a_rejected_entry_is_kept_and_can_never_be_approved(
    ledger, accountant, manager, head_office
):
    # given
    draft = _draft(accountant, head_office)
    # when
    rejected = manual_entry_reject(actor=manager, entry=draft, reason="Wrong month")
    # then
    rejected.refresh_from_db()
    assert (rejected.status, rejected.number, rejected.approved_by, rejected.posted_at) == (
        EntryStatus.REJECTED,
        None,
        manager,
        None,
    )
    event = AuditEvent.objects.get(action="journal_entry.rejected")
    assert (event.actor, event.before, event.after) == (
        manager,
        {"status": "draft"},
        {"status": "rejected", "reason": "Wrong month"},
    )
    assert trial_balance(as_of=MARCH).rows == []
    # when
    before = _state()
    with pytest.raises(ValidationError) as error:
        manual_entry_approve(actor=manager, entry=rejected)
    # then
    assert error.value.messages == [
        "This entry is Rejected; only drafts can be approved or rejected."
    ]
    rejected.refresh_from_db()
    assert rejected.status == EntryStatus.REJECTED
    assert _state() == before


@pytest.mark.parametrize(
    "persona", ["loan_officer", "auditor", "manager", "branch_manager", "administrator"]
)
def test_roles_without_ledger_draft_cannot_draft(ledger, request, head_office, persona):
    # given
    actor = request.getfixturevalue(persona)
    before = _state()
    # when
    with pytest.raises(PermissionDenied):
        _draft(actor, head_office)
    # then
    assert _state() == before


@pytest.mark.parametrize("persona", ["branch_manager", "loan_officer", "auditor", "administrator"])
def test_roles_without_ledger_approve_cannot_approve_or_reject(
    ledger, request, accountant, head_office, persona
):
    # given
    draft = _draft(accountant, head_office)
    actor = request.getfixturevalue(persona)
    before = _state()
    # when
    with pytest.raises(PermissionDenied):
        manual_entry_approve(actor=actor, entry=draft)
    with pytest.raises(PermissionDenied):
        manual_entry_reject(actor=actor, entry=draft, reason="No")
    # then
    draft.refresh_from_db()
    assert draft.status == EntryStatus.DRAFT
    assert _state() == before


def test_a_branch_accountant_drafts_only_for_their_branch(ledger, praia, mindelo):
    # given
    praia_accountant = UserFactory(username="acc.praia", role=Role.ACCOUNTANT, branch=praia)
    before = _state()
    # when
    with pytest.raises(PermissionDenied):
        _draft(praia_accountant, mindelo, rows=[("5200", "10", "0"), (MINDELO_CASH, "0", "10")])
    # then
    assert _state() == before
    # when
    draft = _draft(praia_accountant, praia, rows=[("5200", "10", "0"), (PRAIA_CASH, "0", "10")])
    # then
    assert draft.status == EntryStatus.DRAFT


# --- reversal ----------------------------------------------------------------------------------


def _original(ledger, branch):
    return post_event(
        ledger["cash"],
        branch,
        MARCH,
        {E.REPAYMENT_PRINCIPAL: "80.00", E.REPAYMENT_INTEREST: "20.00"},
        reference="loan-9-repayment-1",
    )


def test_a_reversal_posts_the_mirror_image_and_keeps_the_original(ledger, accountant, praia):
    # given
    original = _original(ledger, praia)
    original_lines = lines_of(original)
    # when
    reversal = journal_entry_reverse(
        actor=accountant,
        entry=original,
        entry_date=datetime.date(2026, 3, 12),
        reason="Posted to the wrong loan",
    )
    # then
    reversal.refresh_from_db()
    original.refresh_from_db()
    assert lines_of(reversal) == _rows(
        (PRAIA_CASH, "0", "100"), ("1200", "80", "0"), ("4100", "20", "0")
    )
    assert (
        reversal.reversal_of,
        reversal.source,
        reversal.source_reference,
        reversal.status,
        reversal.entry_date,
        reversal.branch,
        reversal.created_by,
        reversal.description,
    ) == (
        original,
        EntrySource.REVERSAL,
        str(original.number),
        EntryStatus.POSTED,
        datetime.date(2026, 3, 12),
        praia,
        accountant,
        f"Reversal of #{original.number}: Posted to the wrong loan",
    )
    assert reversal.number > original.number
    assert original.reversed_by == reversal
    assert (original.status, lines_of(original)) == (EntryStatus.POSTED, original_lines)


def test_the_trial_balance_after_a_reversal_is_the_one_before_the_original(
    ledger, accountant, manager, praia
):
    # given
    post_manual(
        accountant,
        manager,
        praia,
        datetime.date(2026, 3, 1),
        [(PRAIA_CASH, "5000", "0"), ("3100", "0", "5000")],
    )
    before = _tb_rows(MARCH)
    original = _original(ledger, praia)
    assert _tb_rows(MARCH) != before
    # when
    journal_entry_reverse(actor=manager, entry=original, entry_date=MARCH, reason="Duplicate")
    # then
    assert _tb_rows(MARCH) == before
    assert before == (
        _rows((PRAIA_CASH, "5000", "0"), ("3100", "0", "5000")),
        D("5000"),
        D("5000"),
    )


def test_a_reversal_defaults_to_today(ledger, accountant, praia):
    # given
    original = _original(ledger, praia)
    # when
    reversal = journal_entry_reverse(actor=accountant, entry=original, reason="Duplicate")
    # then
    assert reversal.entry_date == timezone.localdate()


def test_an_entry_cannot_be_reversed_twice(ledger, accountant, praia):
    # given
    original = _original(ledger, praia)
    journal_entry_reverse(actor=accountant, entry=original, reason="Duplicate")
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        journal_entry_reverse(actor=accountant, entry=original, reason="Again")
    # then
    assert error.value.messages == ["This entry has already been reversed."]
    assert _state() == before


def test_a_reversal_cannot_be_reversed(ledger, accountant, praia):
    # given
    reversal = journal_entry_reverse(
        actor=accountant, entry=_original(ledger, praia), reason="Duplicate"
    )
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        journal_entry_reverse(actor=accountant, entry=reversal, reason="Undo the undo")
    # then
    assert error.value.messages == ["A reversal cannot itself be reversed; post a new entry."]
    assert _state() == before


def test_a_reversal_needs_a_reason(ledger, accountant, praia):
    # given
    original = _original(ledger, praia)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        journal_entry_reverse(actor=accountant, entry=original, reason=" ")
    # then
    assert error.value.message_dict == {"reason": ["Say why the entry is reversed."]}
    assert _state() == before
    assert not JournalEntry.objects.filter(reversal_of=original).exists()


def test_only_posted_entries_can_be_reversed(ledger, accountant, head_office):
    # given
    draft = _draft(accountant, head_office)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        journal_entry_reverse(actor=accountant, entry=draft, reason="Oops")
    # then
    assert error.value.messages == ["Only a posted entry can be reversed."]
    assert _state() == before


@pytest.mark.parametrize("persona", ["loan_officer", "branch_manager", "auditor", "administrator"])
def test_roles_without_ledger_approve_cannot_reverse(ledger, request, praia, persona):
    # given
    original = _original(ledger, praia)
    actor = request.getfixturevalue(persona)
    before = _state()
    # when
    with pytest.raises(PermissionDenied):
        journal_entry_reverse(actor=actor, entry=original, reason="Oops")
    # then
    assert _state() == before


def test_a_reversal_into_a_closed_month_is_refused_but_today_is_fine(ledger, accountant, praia):
    # given
    original = post_event(ledger["cash"], praia, OCTOBER, {E.DISBURSEMENT: "1000"})
    period_close(actor=accountant, branch=praia, year=2026, month=10)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        journal_entry_reverse(actor=accountant, entry=original, entry_date=OCTOBER, reason="Oops")
    # then
    assert error.value.message_dict == {"entry_date": ["The period 2026-10 of Praia is closed."]}
    assert _state() == before
    # when
    reversal = journal_entry_reverse(actor=accountant, entry=original, reason="Oops")
    # then
    assert lines_of(reversal) == _rows(("1200", "0", "1000"), (PRAIA_CASH, "1000", "0"))


# --- periods -----------------------------------------------------------------------------------


def test_closing_a_past_month_refuses_later_postings_into_it(ledger, accountant, praia, mindelo):
    # given
    post_event(ledger["cash"], praia, OCTOBER, {E.DISBURSEMENT: "1000"})
    # when
    period = period_close(actor=accountant, branch=praia, year=2026, month=10)
    # then
    assert (period.branch, period.year, period.month, period.closed_by) == (
        praia,
        2026,
        10,
        accountant,
    )
    event = AuditEvent.objects.get(action="period.closed")
    assert (event.actor, event.branch_id, event.after) == (
        accountant,
        praia.pk,
        {"year": 2026, "month": 10},
    )
    before = _state()
    closed = {"entry_date": ["The period 2026-10 of Praia is closed."]}
    for day in (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31)):
        with pytest.raises(ValidationError) as error:
            post_event(ledger["cash"], praia, day, {E.RECOVERY: "10"})
        assert error.value.message_dict == closed
        with pytest.raises(ValidationError) as error:
            _draft(accountant, praia, day, [("5200", "10", "0"), (PRAIA_CASH, "0", "10")])
        assert error.value.message_dict == closed
    assert _state() == before
    # when: another branch and the neighbouring months stay open
    in_mindelo = post_event(ledger["cash"], mindelo, OCTOBER, {E.RECOVERY: "10"})
    in_september = post_event(ledger["cash"], praia, datetime.date(2026, 9, 30), {E.RECOVERY: "1"})
    in_november = post_event(ledger["cash"], praia, datetime.date(2026, 11, 1), {E.RECOVERY: "2"})
    # then
    assert [e.status for e in (in_mindelo, in_september, in_november)] == [EntryStatus.POSTED] * 3


def test_the_current_and_future_months_cannot_be_closed(ledger, accountant, praia):
    # given
    today = timezone.localdate()
    next_month = (today.replace(day=28) + datetime.timedelta(days=7)).replace(day=1)
    before = _state()
    # when / then
    for moment in (today, next_month, datetime.date(today.year + 1, 1, 1)):
        with pytest.raises(ValidationError) as error:
            period_close(actor=accountant, branch=praia, year=moment.year, month=moment.month)
        assert error.value.messages == ["Only a month that has ended can be closed."]
    assert _state() == before


def test_a_month_cannot_be_closed_twice(ledger, accountant, praia):
    # given
    period_close(actor=accountant, branch=praia, year=2026, month=10)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        period_close(actor=accountant, branch=praia, year=2026, month=10)
    # then
    assert error.value.messages == ["This period is already closed."]
    assert _state() == before


def test_a_month_with_pending_drafts_cannot_be_closed(ledger, accountant, manager, praia):
    # given
    draft = _draft(accountant, praia, OCTOBER, [("5200", "10", "0"), (PRAIA_CASH, "0", "10")])
    _draft(accountant, praia, OCTOBER, [("5200", "20", "0"), (PRAIA_CASH, "0", "20")])
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        period_close(actor=manager, branch=praia, year=2026, month=10)
    # then
    assert error.value.messages == ["2 draft entries of this month await approval or rejection."]
    assert _state() == before
    # when: once every draft is decided the month closes
    manual_entry_reject(actor=manager, entry=draft, reason="Duplicate")
    manual_entry_approve(actor=manager, entry=JournalEntry.objects.get(status=EntryStatus.DRAFT))
    period = period_close(actor=manager, branch=praia, year=2026, month=10)
    # then
    assert (period.year, period.month, period.closed_by) == (2026, 10, manager)


@pytest.mark.parametrize("persona", ["loan_officer", "branch_manager", "auditor", "administrator"])
def test_roles_without_ledger_close_cannot_close(ledger, request, praia, persona):
    # given
    actor = request.getfixturevalue(persona)
    # when
    with pytest.raises(PermissionDenied):
        period_close(actor=actor, branch=praia, year=2026, month=10)
    # then
    assert AccountingPeriod.objects.count() == 0


def test_only_an_administrator_reopens_a_month(ledger, accountant, manager, administrator, praia):
    # given
    period_close(actor=accountant, branch=praia, year=2026, month=10)
    before = _state()
    # when
    for actor in (accountant, manager):
        with pytest.raises(PermissionDenied):
            period_reopen(actor=actor, branch=praia, year=2026, month=10)
    # then
    assert _state() == before
    # when
    period_reopen(actor=administrator, branch=praia, year=2026, month=10)
    # then
    assert AccountingPeriod.objects.count() == 0
    event = AuditEvent.objects.get(action="period.reopened")
    assert (event.actor, event.branch_id, event.before) == (
        administrator,
        praia.pk,
        {"year": 2026, "month": 10, "closed_by": accountant.pk},
    )
    entry = post_event(ledger["cash"], praia, OCTOBER, {E.RECOVERY: "10"})
    assert entry.status == EntryStatus.POSTED


def test_reopening_an_open_month_is_refused(ledger, administrator, praia):
    # when
    with pytest.raises(ValidationError) as error:
        period_reopen(actor=administrator, branch=praia, year=2026, month=10)
    # then
    assert error.value.messages == ["This period is not closed."]
    assert AuditEvent.objects.filter(action="period.reopened").count() == 0


# --- year-end closing --------------------------------------------------------------------------

JUNE_2025 = datetime.date(2025, 6, 30)
YEAR_END_2025 = datetime.date(2025, 12, 31)


def _year_2025(ledger, accountant, manager, praia, mindelo):
    """Praia earns 550 and spends 300 in 2025 (profit 250); Mindelo earns 70, spends 300."""
    post_manual(
        accountant,
        manager,
        praia,
        datetime.date(2025, 1, 2),
        [(PRAIA_CASH, "10000", "0"), ("3100", "0", "10000")],
    )
    post_event(ledger["cash"], praia, datetime.date(2025, 3, 1), {E.DISBURSEMENT: "5000"})
    post_event(
        ledger["cash"],
        praia,
        JUNE_2025,
        {E.REPAYMENT_PRINCIPAL: "1000", E.REPAYMENT_INTEREST: "500", E.REPAYMENT_FEE: "50"},
    )
    post_manual(
        accountant, manager, praia, JUNE_2025, [("5100", "200", "0"), (PRAIA_CASH, "0", "200")]
    )
    post_manual(
        accountant,
        manager,
        praia,
        datetime.date(2025, 9, 30),
        [("5200", "100", "0"), (PRAIA_CASH, "0", "100")],
    )
    post_event(ledger["cash"], mindelo, JUNE_2025, {E.REPAYMENT_INTEREST: "70"})
    post_manual(
        accountant, manager, mindelo, JUNE_2025, [("5100", "300", "0"), (MINDELO_CASH, "0", "300")]
    )


def test_year_end_moves_the_result_into_retained_earnings(
    ledger, accountant, manager, praia, mindelo
):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    # when
    entry = year_end_close(actor=accountant, branch=praia, year=2025)
    # then
    entry.refresh_from_db()
    assert lines_of(entry) == _rows(
        ("4100", "500", "0"),
        ("4200", "50", "0"),
        ("5100", "0", "200"),
        ("5200", "0", "100"),
        ("3200", "0", "250"),
    )
    assert (
        entry.entry_date,
        entry.branch,
        entry.source,
        entry.source_reference,
        entry.status,
        entry.description,
        entry.created_by,
    ) == (
        YEAR_END_2025,
        praia,
        EntrySource.YEAR_END,
        "praia-2025-CVE",
        EntryStatus.POSTED,
        "Year-end closing 2025",
        accountant,
    )


def test_the_income_statement_of_a_closed_year_still_shows_its_result(
    ledger, accountant, manager, praia, mindelo
):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    # when
    year_end_close(actor=accountant, branch=praia, year=2025)
    statement = income_statement(
        date_from=datetime.date(2025, 1, 1), date_to=YEAR_END_2025, branch_ids=[praia.pk]
    )
    # then
    assert {
        kind: [(acc.code, amount) for acc, amount in rows]
        for kind, rows in statement.sections.items()
    } == {
        "income": [("4100", D("500")), ("4200", D("50"))],
        "expense": [("5100", D("200")), ("5200", D("100"))],
    }
    assert statement.totals == {"income": D("550"), "expense": D("300"), "result": D("250")}


def test_after_year_end_the_balance_sheet_holds_the_result_in_retained_earnings(
    ledger, accountant, manager, praia, mindelo
):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    before = balance_sheet(as_of=YEAR_END_2025, branch_ids=[praia.pk])
    # when
    year_end_close(actor=accountant, branch=praia, year=2025)
    after = balance_sheet(as_of=YEAR_END_2025, branch_ids=[praia.pk])
    # then
    assert before.totals == {
        "asset": D("10250"),
        "liability": D("0"),
        "equity": D("10000"),
        "current_result": D("250"),
    }
    assert after.totals == {
        "asset": D("10250"),
        "liability": D("0"),
        "equity": D("10250"),
        "current_result": D("0"),
    }
    assert [(acc.code, amount) for acc, amount in after.sections["equity"]] == [
        ("3100", D("10000")),
        ("3200", D("250")),
    ]
    assert [(acc.code, amount) for acc, amount in after.sections["asset"]] == [
        (PRAIA_CASH, D("6250")),
        ("1200", D("4000")),
    ]
    # Mindelo's year is not closed: its loss of 230 is still the current result
    institution = balance_sheet(as_of=YEAR_END_2025)
    assert institution.totals["current_result"] == D("-230")
    assert institution.totals["asset"] == (
        institution.totals["liability"]
        + institution.totals["equity"]
        + institution.totals["current_result"]
    )


def test_a_loss_year_debits_retained_earnings(ledger, accountant, manager, praia, mindelo):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    # when
    entry = year_end_close(actor=manager, branch=mindelo, year=2025)
    # then
    assert lines_of(entry) == _rows(("4100", "70", "0"), ("5100", "0", "300"), ("3200", "230", "0"))
    assert entry.source_reference == "mindelo-2025-CVE"


def test_year_end_closes_every_month_of_the_year(ledger, accountant, manager, praia, mindelo):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    period_close(actor=accountant, branch=praia, year=2025, month=3)
    # when
    year_end_close(actor=accountant, branch=praia, year=2025)
    # then
    assert sorted(
        AccountingPeriod.objects.filter(branch=praia, year=2025).values_list("month", flat=True)
    ) == list(range(1, 13))
    assert not AccountingPeriod.objects.filter(branch=mindelo).exists()
    assert AuditEvent.objects.filter(action="period.closed", branch_id=praia.pk).count() == 12
    with pytest.raises(ValidationError) as error:
        post_event(ledger["cash"], praia, JUNE_2025, {E.RECOVERY: "10"})
    assert error.value.message_dict == {"entry_date": ["The period 2025-06 of Praia is closed."]}


def test_a_year_cannot_be_closed_twice(ledger, accountant, manager, praia, mindelo):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    year_end_close(actor=accountant, branch=praia, year=2025)
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        year_end_close(actor=accountant, branch=praia, year=2025)
    # then
    assert error.value.messages == ["This year is already closed."]
    assert _state() == before


def test_the_current_year_cannot_be_closed(ledger, accountant, praia):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        year_end_close(actor=accountant, branch=praia, year=timezone.localdate().year)
    # then
    assert error.value.messages == ["A year can be closed once it has ended."]
    assert _state() == before


def test_a_year_with_pending_drafts_is_not_closed_at_all(
    ledger, accountant, manager, praia, mindelo
):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    _draft(accountant, praia, JUNE_2025, [("5200", "10", "0"), (PRAIA_CASH, "0", "10")])
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        year_end_close(actor=accountant, branch=praia, year=2025)
    # then
    assert error.value.messages == ["1 draft entries of this month await approval or rejection."]
    assert _state() == before


@pytest.mark.parametrize("persona", ["loan_officer", "branch_manager", "auditor", "administrator"])
def test_roles_without_ledger_close_cannot_close_a_year(ledger, request, praia, persona):
    # given
    actor = request.getfixturevalue(persona)
    before = _state()
    # when
    with pytest.raises(PermissionDenied):
        year_end_close(actor=actor, branch=praia, year=2025)
    # then
    assert _state() == before


def test_journal_entry_post_refuses_manual_lines_directly(ledger, praia):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationError) as error:
        journal_entry_post(
            actor=None,
            entry_date=MARCH,
            branch=praia,
            currency="CVE",
            description="Sneaky",
            source="manual",
            lines=[
                LineSpec(account("5100"), debit=Decimal("10")),
                LineSpec(cash_account(praia), credit=Decimal("10")),
            ],
        )
    # then
    assert error.value.messages == ["Use the dedicated service for manual entries."]
    assert _state() == before


# --- regressions: year-end in two currencies, reversing a closing, another branch's cash --------


def test_year_end_closes_a_year_with_income_in_two_currencies(ledger, accountant, manager, praia):
    # given: 2025 income in escudos and in euros
    post_event(ledger["cash"], praia, JUNE_2025, {E.REPAYMENT_INTEREST: "500"})
    post_manual(
        accountant,
        manager,
        praia,
        JUNE_2025,
        [("1150", "100", "0"), ("4900", "0", "100")],
        currency="EUR",
    )
    # when
    year_end_close(actor=accountant, branch=praia, year=2025)
    # then: one closing entry per currency
    closing = JournalEntry.objects.filter(source=EntrySource.YEAR_END).order_by("currency")
    assert [(entry.currency, lines_of(entry)) for entry in closing] == [
        ("CVE", _rows(("4100", "500", "0"), ("3200", "0", "500"))),
        ("EUR", _rows(("4900", "100", "0"), ("3200", "0", "100"))),
    ]
    assert AccountingPeriod.objects.filter(branch=praia, year=2025).count() == 12


def test_a_year_end_closing_entry_cannot_be_reversed(ledger, accountant, manager, praia, mindelo):
    # given
    _year_2025(ledger, accountant, manager, praia, mindelo)
    closing = year_end_close(actor=accountant, branch=praia, year=2025)
    before = _state()
    # when
    with pytest.raises(ValidationError):
        journal_entry_reverse(actor=manager, entry=closing, reason="Redo the closing")
    # then
    assert _state() == before
    this_year = income_statement(
        date_from=datetime.date(timezone.localdate().year, 1, 1),
        date_to=timezone.localdate(),
        branch_ids=[praia.pk],
    )
    assert this_year.totals == {"income": D("0"), "expense": D("0"), "result": D("0")}


def test_an_entry_cannot_post_to_the_cash_box_of_another_branch(ledger, accountant, manager, praia):
    # given
    before = _state()
    # when
    with pytest.raises(ValidationError):
        post_manual(
            accountant, manager, praia, MARCH, [("5200", "10", "0"), (MINDELO_CASH, "0", "10")]
        )
    with pytest.raises(ValidationError):
        post_system(praia, MARCH, [("5200", "10", "0"), (MINDELO_CASH, "0", "10")])
    # then
    assert _state() == before
