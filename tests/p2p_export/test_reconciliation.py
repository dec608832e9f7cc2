"""Repayment reports from the actual repayments, locked once finalised; funds received and
repaid to the platform posted to the ledger, exactly and balanced."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounting.models import Account, JournalLine
from loans.services import repayment_record, repayment_reverse
from p2p_export import reconciliation
from p2p_export.models import FundingReceipt, RepaymentReport
from tests.p2p_export.conftest import sandbox_state
from tests.p2p_export.factories import (
    days_ago,
    loan_repaid_last_month,
    previous_month,
    publish_and_poll,
    ready_publication,
)

D = Decimal


@pytest.fixture
def repaying(manager, loan_officer, branch_manager, rules, kiva_platform, kiva_server):
    """A Kiva publication paying back, whose loan had one repayment last month."""
    loan = loan_repaid_last_month(loan_officer, branch_manager, rules)
    publication = publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 3)
    assert publication.state == "repaying"
    return publication


def lines_of(entry) -> list[tuple[str, Decimal, Decimal]]:
    return [
        (line.account.code, line.debit, line.credit)
        for line in JournalLine.objects.filter(entry=entry)
        .select_related("account")
        .order_by("account__code")
    ]


def test_repayments_of_last_month_are_reported_locked_and_sent(manager, repaying, kiva_server):
    # given
    year, month = previous_month()

    # when
    (report,) = reconciliation.repayments_send(
        actor=manager, platform=repaying.platform, year=year, month=month
    )

    # then
    assert (report.status, report.currency, report.total) == ("sent", "CVE", D("8947.15"))
    assert list(report.lines.values_list("amount", flat=True)) == [D("8947.15")]
    assert report.finalised_by == manager
    (batch,) = sandbox_state(kiva_server)["repayment_batches"]
    assert batch["count"] == 1


def test_a_finalised_report_never_changes(manager, loan_officer, repaying):
    # given
    year, month = previous_month()
    (report,) = reconciliation.repayments_send(
        actor=manager, platform=repaying.platform, year=year, month=month
    )
    txn = report.lines.get().loan_transaction
    repayment_reverse(actor=manager, transaction_id=txn.pk, reason="Bounced transfer")

    # when
    reconciliation.repayment_report_build(
        actor=manager, platform=repaying.platform, year=year, month=month
    )

    # then
    report = RepaymentReport.objects.get(pk=report.pk)
    assert (report.total, report.lines.count()) == (D("8947.15"), 1)
    with pytest.raises(ValidationError) as caught:
        reconciliation.repayment_report_finalise(actor=manager, report=report)
    assert caught.value.messages == ["A report that is Sent cannot become Finalised (locked)."]


def test_the_current_month_cannot_be_finalised(manager, loan_officer, repaying):
    # given a repayment today
    repayment_record(actor=loan_officer, loan=repaying.loan, amount=D("5000.00"))
    today = days_ago(0)
    (report,) = reconciliation.repayment_report_build(
        actor=manager, platform=repaying.platform, year=today.year, month=today.month
    )

    # when
    with pytest.raises(ValidationError) as caught:
        reconciliation.repayment_report_finalise(actor=manager, report=report)

    # then
    assert caught.value.messages == ["A month can be finalised once it is over."]
    report.refresh_from_db()
    assert report.status == "open"
    assert report.total > 0


def test_funding_received_is_a_refinancing_liability(accountant, repaying):
    # when
    receipt = reconciliation.funding_record(
        actor=accountant,
        publication=repaying,
        received_on=days_ago(1),
        reference="KIVA-TRF-001",
        amount=D("120000.00"),
    )

    # then
    assert lines_of(receipt.journal_entry) == [
        ("1150", D("120000.0000"), D("0")),
        ("2200", D("0"), D("120000.0000")),
    ]
    assert (receipt.exchange_rate, receipt.exchange_difference) == (D("1"), D("0"))
    assert receipt.journal_entry.source == "p2p_funding"


def test_funding_paid_in_another_currency_books_the_exchange_difference(accountant, repaying):
    # given
    platform = repaying.platform
    platform.exchange_difference_account = Account.objects.get(code="5900")
    platform.save()

    # when: 1,088.28 EUR at 110.265 CVE reach the bank as 119,999.19 CVE
    receipt = reconciliation.funding_record(
        actor=accountant,
        publication=repaying,
        received_on=days_ago(1),
        reference="KIVA-TRF-002",
        amount=D("120000.00"),
        received_amount=D("1088.28"),
        received_currency="EUR",
        exchange_rate=D("110.265"),
    )

    # then
    assert receipt.exchange_difference == D("-0.81")
    assert lines_of(receipt.journal_entry) == [
        ("1150", D("119999.1900"), D("0")),
        ("2200", D("0"), D("120000.0000")),
        ("5900", D("0.8100"), D("0")),
    ]


def test_funding_refusals_change_nothing(accountant, loan_officer, repaying):
    # when / then: no exchange-difference account chosen
    with pytest.raises(ValidationError) as no_account:
        reconciliation.funding_record(
            actor=accountant,
            publication=repaying,
            received_on=days_ago(1),
            reference="KIVA-TRF-003",
            amount=D("120000.00"),
            received_amount=D("1000.00"),
            received_currency="EUR",
            exchange_rate=D("110.265"),
        )
    assert no_account.value.message_dict == {
        "exchange_rate": ["Choose the account for exchange differences of Kiva first."]
    }
    # more than the loan
    with pytest.raises(ValidationError) as too_much:
        reconciliation.funding_record(
            actor=accountant,
            publication=repaying,
            received_on=days_ago(1),
            reference="KIVA-TRF-004",
            amount=D("120000.01"),
        )
    assert too_much.value.message_dict == {
        "amount": ["Funds received would exceed the loan (120000.00)."]
    }
    # a loan officer may not record money movements
    with pytest.raises(PermissionDenied):
        reconciliation.funding_record(
            actor=loan_officer,
            publication=repaying,
            received_on=days_ago(1),
            reference="KIVA-TRF-005",
            amount=D("1000.00"),
        )
    assert not FundingReceipt.objects.exists()


def test_repayment_to_the_platform_is_the_funded_share_of_what_borrowers_repaid(
    accountant, manager, repaying
):
    # given half of the loan refinanced, and last month's report sent
    reconciliation.funding_record(
        actor=accountant,
        publication=repaying,
        received_on=days_ago(1),
        reference="KIVA-TRF-006",
        amount=D("60000.00"),
    )
    year, month = previous_month()
    (report,) = reconciliation.repayments_send(
        actor=manager, platform=repaying.platform, year=year, month=month
    )

    # when
    (paid,) = reconciliation.platform_repayment_record(
        actor=accountant, report=report, paid_on=days_ago(0), reference="KIVA-REPAY-1"
    )

    # then 8,947.15 × 50 % = 4,473.575 → 4,473.58
    assert paid.amount == D("4473.58")
    assert lines_of(paid.journal_entry) == [
        ("1150", D("0"), D("4473.5800")),
        ("2200", D("4473.5800"), D("0")),
    ]
    with pytest.raises(ValidationError) as again:
        reconciliation.platform_repayment_record(
            actor=accountant, report=report, paid_on=days_ago(0)
        )
    assert again.value.messages == [
        "Nothing is left to pay for this report (no funds recorded, or already paid)."
    ]
