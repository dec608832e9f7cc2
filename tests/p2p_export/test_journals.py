"""Follow-up news: drafted from real events once, checked, approved by staff, then sent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from loans.services import repayment_record
from p2p_export import journals
from p2p_export.models import JournalDraft
from tests.p2p_export.conftest import sandbox_state
from tests.p2p_export.factories import publish_and_poll, ready_publication, recent_loan


@pytest.fixture
def funded(manager, loan_officer, branch_manager, rules, kiva_platform):
    """A funded Kiva publication whose borrower has repaid 26 % of the principal."""
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 2)
    repayment_record(actor=loan_officer, loan=loan, amount=Decimal("40000.00"))
    return publication


def test_news_is_drafted_once_from_repayment_milestones(manager, funded):
    # when
    drafts = journals.journal_generate(actor=manager, publication=funded)
    again = journals.journal_generate(actor=manager, publication=funded)

    # then
    assert [(d.source, d.source_reference, d.subject, d.status) for d in drafts] == [
        ("repayment_milestone", "milestone-25", "Maria has repaid 25 % of the loan", "draft")
    ]
    assert drafts[0].body == (
        "Maria keeps up with the repayments: 25 % of the loan is repaid. "
        "Thank you for your support."
    )
    assert again == []


def test_no_news_before_the_loan_is_funded(
    manager, loan_officer, branch_manager, rules, kiva_platform
):
    # given
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 1)
    repayment_record(actor=loan_officer, loan=loan, amount=Decimal("40000.00"))

    # when / then
    assert publication.state == "fundraising"
    assert journals.journal_generate(actor=manager, publication=publication) == []


def test_approved_news_is_sent_once(manager, funded, kiva_server):
    # given
    (draft,) = journals.journal_generate(actor=manager, publication=funded)
    journals.journal_approve(actor=manager, journal=draft)

    # when
    sent = journals.journal_send(actor=manager, journal=draft)

    # then
    assert (sent.status, sent.approved_by, sent.last_error) == ("sent", manager, "")
    (remote,) = sandbox_state(kiva_server)["journals"]
    assert (remote["internal_loan_id"], remote["subject"]) == (
        funded.loan.number,
        "Maria has repaid 25 % of the loan",
    )
    assert remote["journal_id"] == sent.platform_journal_id
    with pytest.raises(ValidationError) as again:
        journals.journal_send(actor=manager, journal=draft)
    assert again.value.messages == ["Only an approved news item can be sent."]


def test_news_revealing_contacts_is_refused(manager, funded):
    # given
    (draft,) = journals.journal_generate(actor=manager, publication=funded)

    # when
    with pytest.raises(ValidationError) as caught:
        journals.journal_update(
            actor=manager,
            journal=draft,
            subject=draft.subject,
            body="Maria thanks you. Call her on 991 23 45.",
        )

    # then
    assert caught.value.message_dict == {
        "body": ["Remove the phone number: contact details are never published."]
    }
    unchanged = JournalDraft.objects.get(pk=draft.pk)
    assert (unchanged.status, unchanged.body) == ("draft", draft.body)


def test_a_renewal_makes_news(manager, loan_officer, branch_manager, rules, funded):
    # given the borrower renews the loan
    renewal = recent_loan(
        loan_officer,
        branch_manager,
        rules,
        borrower=funded.loan.borrower.person,
        previous_loan=funded.loan,
        disbursed_days_ago=1,
    )

    # when
    drafts = journals.journal_generate(actor=manager, publication=funded)

    # then
    assert [(d.source_reference, d.subject) for d in drafts] == [
        ("milestone-25", "Maria has repaid 25 % of the loan"),
        (f"renewal-{renewal.pk}", "Maria has taken a new loan"),
    ]
