"""Erasure requests: four-eyes review, refusal while a contract is open, anonymisation of what the
law keeps (the ledger intact), deletion of what it does not, P2P takedown, audit, idempotence."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.utils import timezone

from accounting.models import JournalLine
from audit.models import AuditEvent
from crm import privacy
from crm.choices import ConsentPurpose, ConsentStatus, InteractionKind, LeadSource, Relationship
from crm.interactions import interaction_record
from crm.leads import lead_create
from crm.models import Consent, ErasureRequest, Interaction, Party, PartyLink, Person
from crm.selectors import party_search
from crm.services import consent_record, party_link_create
from loans.choices import LoanStatus
from loans.services import repayment_record
from p2p_export.choices import OutboxKind
from p2p_export.models import OutboxMessage, Profile, PublicationBorrower
from tests.crm.factories import make_person
from tests.p2p_export import conftest as p2p_fixtures
from tests.p2p_export.factories import publish_and_poll, ready_publication, recent_loan

D = Decimal
# The P2P sandbox fixtures (a Kiva server per test, tasks run in process) and the chart of accounts.
rules = p2p_fixtures.rules
kiva_server = p2p_fixtures.kiva_server
kiva_platform = p2p_fixtures.kiva_platform
_tasks_run_in_process = p2p_fixtures._tasks_run_in_process


def _borrower(loan_officer):
    person = make_person(
        loan_officer,
        first_name="Nilza",
        last_name="Fortes",
        nif="234567890",
        social_security_number="1234567",
        phone="9876543",
        email="nilza@example.cv",
        address="Rua 5, Achada Santo António",
        birth_date=datetime.date(1985, 3, 2),
        civil_id="CV1234567",
    )
    for purpose in (ConsentPurpose.P2P_PUBLICATION, ConsentPurpose.PHOTO_PUBLICATION):
        consent_record(
            actor=loan_officer,
            party=person,
            purpose=purpose,
            given_on=timezone.localdate() - datetime.timedelta(days=30),
            notes="Signed at the branch",
        )
    interaction_record(
        actor=loan_officer,
        party=person,
        kind=InteractionKind.CALL,
        summary="Nilza asked about a second loan",
        notes="Lives with her mother on Rua 5",
    )
    return person


def _repay_all(officer, loan):
    while loan.status == LoanStatus.ACTIVE:
        repayment_record(
            actor=officer, loan=loan, amount=loan.total_outstanding, value_date=timezone.localdate()
        )
        loan.refresh_from_db()
    return loan


def _ledger_totals():
    return JournalLine.objects.aggregate(debit=Sum("debit"), credit=Sum("credit"))


@pytest.fixture
def borrower(loan_officer):
    return _borrower(loan_officer)


@pytest.fixture
def closed_loan(loan_officer, branch_manager, rules, borrower):
    loan = recent_loan(loan_officer, branch_manager, rules, borrower=borrower)
    return _repay_all(loan_officer, loan)


def test_the_requester_cannot_approve_their_own_request(manager, borrower):
    # given
    request = privacy.party_erasure_request_create(
        actor=manager, party=borrower, reason="Asked in writing on 3 March"
    )

    # when
    with pytest.raises(PermissionDenied) as refused:
        privacy.party_erasure_request_approve(actor=manager, request=request)

    # then
    assert str(refused.value) == "A request is reviewed by someone other than its requester."
    request.refresh_from_db()
    borrower.refresh_from_db()
    assert (request.status, borrower.display_name) == ("pending", "Nilza Fortes")


@pytest.mark.parametrize("persona", ["loan_officer", "branch_manager", "auditor"])
def test_only_managers_and_administrators_review(request, persona, borrower, loan_officer):
    # given
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked at the desk"
    )
    actor = request.getfixturevalue(persona)

    # when
    with pytest.raises(PermissionDenied):
        privacy.party_erasure_request_approve(actor=actor, request=erasure)

    # then
    erasure.refresh_from_db()
    assert erasure.status == "pending"
    assert Person.objects.get(pk=borrower.pk).first_name == "Nilza"


def test_an_open_loan_blocks_the_erasure_with_a_clear_message(
    loan_officer,
    branch_manager,
    manager,
    rules,
    borrower,
):
    # given
    loan = recent_loan(loan_officer, branch_manager, rules, borrower=borrower)
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked at the desk"
    )

    # when
    with pytest.raises(ValidationError) as refused:
        privacy.party_erasure_request_approve(actor=manager, request=erasure)

    # then
    assert refused.value.messages == [
        f"Loan {loan.number} is still open: the law keeps the contract until it is closed. "
        "Erase the person once the loan is closed, or reject the request."
    ]
    erasure.refresh_from_db()
    assert erasure.status == "pending"
    assert Person.objects.get(pk=borrower.pk).nif == "234567890"


def test_a_closed_loan_borrower_is_anonymised_and_the_ledger_is_untouched(
    loan_officer, manager, borrower, closed_loan
):
    # given
    other = make_person(loan_officer, first_name="Irene")
    party_link_create(
        actor=loan_officer, from_party=other, to_party=borrower, kind="household_member"
    )
    ledger_before = _ledger_totals()
    loan_before = (closed_loan.principal, closed_loan.status, closed_loan.closed_on)
    transactions_before = list(closed_loan.transactions.values_list("kind", "amount"))
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked in writing on 3 March"
    )

    # when
    executed = privacy.party_erasure_request_approve(
        actor=manager, request=erasure, note="Checked the identity"
    )

    # then
    assert (executed.status, executed.outcome, executed.reviewed_by) == (
        "executed",
        "anonymised",
        manager,
    )
    person = Person.objects.get(pk=borrower.pk)
    assert {
        "display_name": person.display_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": person.birth_date,
        "civil_id": person.civil_id,
        "nif": person.nif,
        "social_security_number": person.social_security_number,
        "phone": person.phone,
        "email": person.email,
        "municipality": person.municipality,
        "address": person.address,
        "gender": person.gender,
        "island": person.island,
    } == {
        "display_name": f"Erased person #{person.pk}",
        "first_name": "Erased",
        "last_name": f"person #{person.pk}",
        "birth_date": None,
        "civil_id": "",
        "nif": "",
        "social_security_number": "",
        "phone": "",
        "email": "",
        "municipality": "",
        "address": "",
        "gender": "female",
        "island": "santiago",
    }
    assert list(
        Consent.objects.filter(party=person).values_list("status", "notes").order_by("pk")
    ) == [(ConsentStatus.WITHDRAWN, ""), (ConsentStatus.WITHDRAWN, "")]
    assert list(Interaction.objects.filter(party=person).values_list("summary", "notes")) == [
        ("(erased)", "")
    ]
    assert PartyLink.objects.filter(to_party=person).count() == 0
    closed_loan.refresh_from_db()
    assert (closed_loan.principal, closed_loan.status, closed_loan.closed_on) == loan_before
    assert closed_loan.purpose == ""
    assert list(closed_loan.transactions.values_list("kind", "amount")) == transactions_before
    assert _ledger_totals() == ledger_before
    assert ledger_before["debit"] == ledger_before["credit"]


def test_the_erased_party_cannot_be_found_by_its_old_name_or_nif(
    loan_officer, manager, borrower, closed_loan
):
    # given
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked in writing"
    )
    assert [p.pk for p in party_search(user=loan_officer, text="Nilza")] == [borrower.pk]

    # when
    privacy.party_erasure_request_approve(actor=manager, request=erasure)

    # then
    assert party_search(user=loan_officer, text="Nilza") == []
    assert party_search(user=loan_officer, text="Fortes") == []
    assert party_search(user=loan_officer, text="234567890") == []
    assert party_search(user=loan_officer, text="9876543") == []


def test_erasure_is_audited_and_approving_again_changes_nothing(
    loan_officer, manager, borrower, closed_loan
):
    # given
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked in writing"
    )
    privacy.party_erasure_request_approve(actor=manager, request=erasure)
    count = AuditEvent.objects.count()

    # when
    again = privacy.party_erasure_request_approve(actor=manager, request=erasure)

    # then
    assert again.status == "executed"
    assert AuditEvent.objects.count() == count
    events = AuditEvent.objects.filter(
        action__in=["erasure_request.created", "party.erased", "erasure_request.executed"]
    ).order_by("pk")
    assert [(e.action, e.actor.username, e.object_id) for e in events] == [
        ("erasure_request.created", "officer", str(erasure.pk)),
        ("party.erased", "manager", str(borrower.pk)),
        ("erasure_request.executed", "manager", str(erasure.pk)),
    ]
    assert events[1].object_repr == f"Erased person #{borrower.pk}"
    assert events[1].after == {
        "reason": "Asked in writing",
        "outcome": "anonymised",
        "publications": 0,
    }


def test_a_lead_without_loan_is_deleted_and_the_request_keeps_its_number(loan_officer, manager):
    # given
    prospect = make_person(loan_officer, first_name="Rosa", relationship=Relationship.PROSPECT)
    lead_create(actor=loan_officer, party=prospect, source=LeadSource.WALK_IN)
    interaction_record(
        actor=loan_officer, party=prospect, kind=InteractionKind.CALL, summary="First call"
    )
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=prospect, reason="Does not want to be contacted"
    )

    # when
    executed = privacy.party_erasure_request_approve(actor=manager, request=erasure)

    # then
    assert not Party.objects.filter(pk=prospect.pk).exists()
    assert Interaction.objects.filter(party_id=prospect.pk).count() == 0
    executed = ErasureRequest.objects.get(pk=erasure.pk)
    assert (executed.status, executed.outcome, executed.party_id, executed.party_number) == (
        "executed",
        "deleted",
        None,
        prospect.pk,
    )
    erased = AuditEvent.objects.get(action="party.erased")
    assert (erased.object_id, erased.after["party_number"], erased.after["outcome"]) == (
        "",
        prospect.pk,
        "deleted",
    )


def test_a_rejection_needs_a_reason_and_leaves_the_person_alone(loan_officer, manager, borrower):
    # given
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked at the desk"
    )

    # when
    with pytest.raises(ValidationError):
        privacy.party_erasure_request_reject(actor=manager, request=erasure, note=" ")
    rejected = privacy.party_erasure_request_reject(
        actor=manager, request=erasure, note="Identity not confirmed"
    )

    # then
    assert (rejected.status, rejected.review_note) == ("rejected", "Identity not confirmed")
    assert Person.objects.get(pk=borrower.pk).first_name == "Nilza"
    with pytest.raises(ValidationError):
        privacy.party_erasure_request_approve(actor=manager, request=erasure)


def test_a_second_pending_request_is_refused(loan_officer, borrower):
    # given
    privacy.party_erasure_request_create(actor=loan_officer, party=borrower, reason="First")

    # when
    with pytest.raises(ValidationError) as refused:
        privacy.party_erasure_request_create(actor=loan_officer, party=borrower, reason="Again")

    # then
    assert refused.value.messages == [
        "An erasure request for this party is already awaiting review."
    ]
    assert ErasureRequest.objects.count() == 1


def test_the_p2p_profile_is_taken_down_and_anonymised(
    loan_officer,
    branch_manager,
    manager,
    rules,
    kiva_platform,
    borrower,
):
    # given
    loan = recent_loan(loan_officer, branch_manager, rules, borrower=borrower)
    publication = publish_and_poll(
        manager, ready_publication(manager, kiva_platform, loan), polls=1
    )
    assert publication.state == "fundraising"
    _repay_all(loan_officer, loan)
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked in writing"
    )

    # when
    privacy.party_erasure_request_approve(actor=manager, request=erasure)

    # then
    publication.refresh_from_db()
    assert (publication.state, publication.is_anonymised) == ("withdrawn", True)
    assert list(
        OutboxMessage.objects.filter(publication=publication)
        .order_by("pk")
        .values_list("kind", flat=True)
    ) == [OutboxKind.DRAFT, OutboxKind.TAKEDOWN, OutboxKind.ANONYMISE]
    profile = Profile.objects.get(publication=publication)
    assert (profile.first_name, profile.story) == ("", "")
    assert list(
        PublicationBorrower.objects.filter(publication=publication).values_list(
            "first_name", "last_name"
        )
    ) == [("", "")]
    assert publication.photos.count() == 0
    assert AuditEvent.objects.filter(
        action="party.erased", after__publications=1, object_id=str(borrower.pk)
    ).exists()


# --- screens ---------------------------------------------------------------------------------


def test_request_from_the_party_page_then_approve_from_the_pending_list(
    client, loan_officer, manager, borrower, closed_loan
):
    # given
    client.force_login(loan_officer)
    page = client.get(f"/parties/{borrower.pk}/privacy/")
    assert page.status_code == 200

    # when
    posted = client.post(
        f"/parties/{borrower.pk}/privacy/erasure/", {"reason": "Asked in writing on 3 March"}
    )
    officer_list = client.get("/parties/privacy/erasure-requests/")
    officer_parties = client.get("/parties/")
    client.force_login(manager)
    manager_parties = client.get("/parties/")
    pending = client.get("/parties/privacy/erasure-requests/")
    erasure = ErasureRequest.objects.get()
    approved = client.post(
        f"/parties/privacy/erasure-requests/{erasure.pk}/approve/", {"note": "Identity checked"}
    )

    # then
    assert posted.status_code == 302
    assert officer_list.status_code == 403
    # the approvers reach the pending list from the parties page, with its count
    assert (
        officer_parties.context["erasure_requests"],
        manager_parties.context["erasure_requests"],
    ) == (None, 1)
    assert 'data-testid="erasure-requests-link"' in manager_parties.content.decode()
    assert [r.pk for r in pending.context["requests"]] == [erasure.pk]
    assert approved.status_code == 302
    erasure.refresh_from_db()
    assert (erasure.status, erasure.review_note) == ("executed", "Identity checked")
    assert Person.objects.get(pk=borrower.pk).display_name == f"Erased person #{borrower.pk}"


def test_an_approver_of_another_branch_scope_does_not_see_the_request(
    client, outsider, loan_officer, borrower
):
    # given
    erasure = privacy.party_erasure_request_create(
        actor=loan_officer, party=borrower, reason="Asked"
    )
    client.force_login(outsider)

    # when
    response = client.post(f"/parties/privacy/erasure-requests/{erasure.pk}/approve/")

    # then
    assert response.status_code == 403
    erasure.refresh_from_db()
    assert erasure.status == "pending"
