"""Ledger screens and API: maker-checker through the browser forms and the JSON contracts."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounting.chart import chart_install
from accounting.choices import EntryStatus
from accounting.models import Account, AccountingPeriod, JournalEntry, JournalLine
from tests.accounting.factories import BANK, SHARE_CAPITAL, debit_credit, draft_manual, post_manual

DAY = datetime.date(2026, 3, 10)


@pytest.fixture
def chart(praia, mindelo):
    chart_install()


def _posted(maker, checker, branch, amount, day=DAY):
    """Paid-in capital: Dr bank / Cr share capital, drafted by ``maker``, posted by ``checker``."""
    rows = debit_credit(BANK, SHARE_CAPITAL, amount)
    return post_manual(maker, checker, branch, day, rows, description="Capital")


def _entry_form(branch, rows, **overrides):
    data = {
        "entry_date": "2026-03-10",
        "branch": branch.pk,
        "currency": "CVE",
        "description": "Office rent March",
        "lines-TOTAL_FORMS": "4",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "30",
    }
    for index, (code, debit, credit) in enumerate(rows):
        data[f"lines-{index}-account"] = Account.objects.get(code=code).pk
        data[f"lines-{index}-debit"] = debit
        data[f"lines-{index}-credit"] = credit
    data.update(overrides)
    return data


def test_an_accountant_drafts_an_entry_through_the_form(client, chart, accountant, head_office):
    # given
    client.force_login(accountant)
    # when
    response = client.post(
        "/accounting/entries/new/",
        _entry_form(head_office, [("5200", "95000.00", ""), ("1150", "", "95000.00")]),
    )
    # then
    entry = JournalEntry.objects.get()
    assert response["Location"] == f"/accounting/entries/{entry.pk}/"
    assert (entry.status, entry.number, entry.created_by) == (EntryStatus.DRAFT, None, accountant)
    assert sorted(entry.lines.values_list("account__code", "debit", "credit")) == [
        ("1150", Decimal("0"), Decimal("95000.0000")),
        ("5200", Decimal("95000.0000"), Decimal("0")),
    ]


def test_an_unbalanced_form_shows_the_difference_and_saves_nothing(
    client, chart, accountant, head_office
):
    # given
    client.force_login(accountant)
    # when
    response = client.post(
        "/accounting/entries/new/",
        _entry_form(head_office, [("5200", "95000.00", ""), ("1150", "", "90000.00")]),
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Debits (95000.00) and credits (90000.00) differ."
    ]
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == (0, 0)


def test_a_line_with_both_debit_and_credit_is_a_form_error(client, chart, accountant, head_office):
    # given
    client.force_login(accountant)
    # when
    response = client.post(
        "/accounting/entries/new/",
        _entry_form(head_office, [("5200", "10", "10"), ("1150", "", "10")]),
    )
    # then
    assert response.context["lines"][0].non_field_errors() == ["Enter either a debit or a credit."]
    assert JournalEntry.objects.count() == 0


def test_the_maker_sees_no_approve_button_and_cannot_approve_by_post(
    client, chart, accountant, head_office
):
    # given
    client.force_login(accountant)
    client.post(
        "/accounting/entries/new/",
        _entry_form(head_office, [("5200", "100", ""), ("1150", "", "100")]),
    )
    entry = JournalEntry.objects.get()
    # when
    page = client.get(f"/accounting/entries/{entry.pk}/")
    client.post(f"/accounting/entries/{entry.pk}/approve/")
    # then
    assert page.context["can_check"] is False
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT


def test_a_second_person_approves_and_the_entry_is_posted(
    client, chart, accountant, manager, head_office
):
    # given
    client.force_login(accountant)
    client.post(
        "/accounting/entries/new/",
        _entry_form(head_office, [("5200", "100", ""), ("1150", "", "100")]),
    )
    entry = JournalEntry.objects.get()
    client.force_login(manager)
    # when
    response = client.post(f"/accounting/entries/{entry.pk}/approve/")
    # then
    entry.refresh_from_db()
    assert response.status_code == 302
    assert (entry.status, entry.approved_by) == (EntryStatus.POSTED, manager)
    assert entry.number is not None


def test_reversing_from_the_detail_page(client, chart, accountant, manager, head_office):
    # given
    original = _posted(accountant, manager, head_office, Decimal("500"))
    client.force_login(manager)
    # when
    response = client.post(
        f"/accounting/entries/{original.pk}/reverse/",
        {"reason": "Wrong amount", "entry_date": "2026-03-11"},
    )
    # then
    reversal = JournalEntry.objects.get(reversal_of=original)
    assert response["Location"] == f"/accounting/entries/{reversal.pk}/"
    assert sorted(reversal.lines.values_list("account__code", "debit", "credit")) == [
        ("1150", Decimal("0"), Decimal("500.0000")),
        ("3100", Decimal("500.0000"), Decimal("0")),
    ]


@pytest.mark.parametrize("persona", ["loan_officer", "coach", "field_agent"])
def test_roles_without_the_ledger_get_403(client, chart, request, persona):
    # given
    client.force_login(request.getfixturevalue(persona))
    # when / then
    assert [
        client.get(url).status_code
        for url in ("/accounting/", "/accounting/entries/", "/accounting/entries/new/")
    ] == [403] * 3


def test_an_auditor_reads_the_ledger_but_cannot_draft(client, chart, auditor, head_office):
    # given
    client.force_login(auditor)
    # when
    reading = client.get("/accounting/entries/")
    drafting = client.post(
        "/accounting/entries/new/", _entry_form(head_office, [("5200", "1", ""), ("1150", "", "1")])
    )
    # then
    assert (reading.status_code, drafting.status_code) == (200, 403)
    assert JournalEntry.objects.count() == 0


def test_closing_a_month_from_the_periods_page(client, chart, accountant, praia):
    # given
    client.force_login(accountant)
    # when
    client.post(
        "/accounting/periods/", {"branch": praia.pk, "year": 2026, "month": 2, "action": "close"}
    )
    page = client.get("/accounting/periods/")
    # then
    assert list(AccountingPeriod.objects.values_list("branch__code", "year", "month")) == [
        ("praia", 2026, 2)
    ]
    assert page.status_code == 200


def test_an_accountant_cannot_reopen_a_month(client, chart, accountant, praia):
    # given
    client.force_login(accountant)
    client.post(
        "/accounting/periods/", {"branch": praia.pk, "year": 2026, "month": 2, "action": "close"}
    )
    # when
    client.post(
        "/accounting/periods/", {"branch": praia.pk, "year": 2026, "month": 2, "action": "reopen"}
    )
    # then
    assert AccountingPeriod.objects.count() == 1


# --- API -------------------------------------------------------------------------------------


@pytest.fixture
def api():
    return APIClient()


def _api_entry(description, *, debit, credit, **fields):
    """A JSON body for the entries API: head office, 10 March, Dr 5200 rent / Cr 1150 bank."""
    return {
        "entry_date": "2026-03-10",
        "branch": "hq",
        **fields,
        "description": description,
        "lines": [{"account": "5200", "debit": debit}, {"account": "1150", "credit": credit}],
    }


def test_trial_balance_api_contract(api, chart, accountant, manager, head_office, praia):
    # given
    _posted(accountant, manager, head_office, Decimal("1000.50"))
    _posted(accountant, manager, praia, Decimal("250.25"))
    api.force_authenticate(accountant)
    # when
    body = api.get("/api/v1/accounting/trial-balance/", {"date": "2026-03-31"}).json()
    # then
    assert body == {
        "date": "2026-03-31",
        "currency": "CVE",
        "accounts": [
            {
                "code": "1150",
                "name": "Bank — head office",
                "type": "asset",
                "role": "BANK",
                "debit": "1250.75",
                "credit": "0.00",
            },
            {
                "code": "3100",
                "name": "Share capital",
                "type": "equity",
                "role": "SHARE_CAPITAL",
                "debit": "0.00",
                "credit": "1250.75",
            },
        ],
        "total_debit": "1250.75",
        "total_credit": "1250.75",
    }


def test_trial_balance_api_by_branch_and_date(api, chart, accountant, manager, head_office, praia):
    # given
    _posted(accountant, manager, head_office, Decimal("1000.50"))
    _posted(accountant, manager, praia, Decimal("250.25"), day=datetime.date(2026, 4, 2))
    api.force_authenticate(accountant)
    # when
    only_praia = api.get(
        "/api/v1/accounting/trial-balance/", {"date": "2026-11-01", "branch": praia.pk}
    ).json()
    before_april = api.get("/api/v1/accounting/trial-balance/", {"date": "2026-03-31"}).json()
    # then
    assert (only_praia["total_debit"], before_april["total_debit"]) == ("250.25", "1000.50")


def test_balance_sheet_api_contract(api, chart, accountant, manager, head_office):
    # given
    _posted(accountant, manager, head_office, Decimal("5000"))
    rent = debit_credit("5200", BANK, "1200")
    post_manual(accountant, manager, head_office, DAY, rent, description="Rent")
    api.force_authenticate(manager)
    # when
    body = api.get("/api/v1/accounting/balance-sheet/", {"date": "2026-11-01"}).json()
    # then
    assert body == {
        "date": "2026-11-01",
        "currency": "CVE",
        "total_assets": "3800.00",
        "total_liabilities": "0.00",
        "total_equity": "5000.00",
        "current_result": "-1200.00",
    }


def test_a_malformed_date_is_a_400_with_the_field_named(api, chart, accountant):
    # given
    api.force_authenticate(accountant)
    # when
    response = api.get("/api/v1/accounting/trial-balance/", {"date": "31/03/2026"})
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["date"]


def test_maker_checker_through_the_api(api, chart, accountant, manager, head_office):
    # given
    api.force_authenticate(accountant)
    created = api.post(
        "/api/v1/accounting/entries/",
        _api_entry("Rent", debit="300.00", credit="300.00", currency="CVE"),
        format="json",
    )
    entry_id = created.json()["id"]
    # when
    own = api.post(f"/api/v1/accounting/entries/{entry_id}/approve/")
    api.force_authenticate(manager)
    checked = api.post(f"/api/v1/accounting/entries/{entry_id}/approve/")
    # then
    assert created.status_code == 201
    assert created.json()["lines"] == [
        {"account": "5200", "debit": "300.00", "credit": "0.00", "description": ""},
        {"account": "1150", "debit": "0.00", "credit": "300.00", "description": ""},
    ]
    assert own.status_code == 403
    assert (checked.status_code, checked.json()["status"]) == (200, "posted")


def test_an_unbalanced_api_entry_is_a_400_and_nothing_is_written(api, chart, accountant):
    # given
    api.force_authenticate(accountant)
    # when
    response = api.post(
        "/api/v1/accounting/entries/",
        _api_entry("Typo", debit="300.00", credit="30.00"),
        format="json",
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"detail": ["Debits (300.00) and credits (30.00) differ."]}
    assert JournalEntry.objects.count() == 0


def test_the_ledger_api_refuses_a_loan_officer(api, chart, loan_officer):
    # given
    api.force_authenticate(loan_officer)
    # when / then
    assert api.get("/api/v1/accounting/trial-balance/").status_code == 403
    assert api.get("/api/v1/accounting/entries/").status_code == 403


def test_the_checker_home_page_lists_entries_made_by_others(
    client, chart, accountant, manager, head_office
):
    # given
    rent = debit_credit("5200", BANK, "10")
    draft = draft_manual(accountant, head_office, DAY, rent, description="Rent March")
    # when
    client.force_login(manager)
    for_manager = client.get("/").context["entries_to_check"]
    client.force_login(accountant)
    for_maker = client.get("/").context["entries_to_check"]
    # then
    assert [entry.pk for entry in for_manager] == [draft.pk]
    assert for_maker == []
