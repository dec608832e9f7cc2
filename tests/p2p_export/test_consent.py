"""The consent gate: nothing leaves without a signed waiver and a given consent; a withdrawal
takes the profile down and anonymises our copy."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.choices import ConsentPurpose, ConsentStatus
from crm.models import Consent
from crm.services import consent_withdraw
from p2p_export import services
from p2p_export.choices import OutboxKind
from p2p_export.models import OutboxMessage, Publication
from tests.crm.factories import make_person
from tests.p2p_export.conftest import sandbox_log, sandbox_state
from tests.p2p_export.factories import (
    consenting_person,
    days_ago,
    ready_publication,
    recent_loan,
    waiver_scan,
)


@pytest.fixture
def loan(loan_officer, branch_manager, rules):
    return recent_loan(loan_officer, branch_manager, rules)


def withdraw_consent(actor, person, purpose=ConsentPurpose.P2P_PUBLICATION):
    consent = person.consents.get(purpose=purpose, status=ConsentStatus.GIVEN)
    consent_withdraw(actor=actor, consent=consent, withdrawn_on=days_ago(0))


def test_without_a_waiver_nothing_is_validated_or_sent(manager, kiva_platform, kiva_server, loan):
    # given
    publication = ready_publication(manager, kiva_platform, loan, waiver=False)

    # when
    with pytest.raises(ValidationError) as caught:
        services.publication_validate(actor=manager, publication=publication)
    with pytest.raises(ValidationError) as pushed:
        services.publication_push(actor=manager, publication=publication)

    # then
    assert caught.value.message_dict == {
        "waiver": ["No signed waiver of Maria is on file for this loan."]
    }
    assert pushed.value.messages == ["Validate the profile before pushing it."]
    assert sandbox_log(kiva_server) == []


def test_consent_withdrawn_after_validation_takes_the_profile_down_at_once(
    manager, loan_officer, kiva_platform, kiva_server, loan
):
    # given
    publication = ready_publication(manager, kiva_platform, loan)
    services.publication_validate(actor=manager, publication=publication)

    # when: the officer records the withdrawal in the CRM, then someone tries to push
    withdraw_consent(loan_officer, loan.borrower.person)
    outcome = services.publication_push(actor=manager, publication=publication)

    # then: withdrawn by the CRM service itself (not by a later sweep), nothing ever sent
    publication.refresh_from_db()
    assert publication.state == "withdrawn"
    assert "withdrawn" in publication.events.values_list("action", flat=True)
    assert outcome.payload == {}
    assert sandbox_log(kiva_server) == []
    assert not OutboxMessage.objects.filter(kind=OutboxKind.DRAFT).exists()


def test_photo_consent_is_needed_for_a_pictured_borrower(
    manager, loan_officer, branch_manager, kiva_platform, rules
):
    # given
    person = consenting_person(loan_officer, photo=False)
    loan = recent_loan(loan_officer, branch_manager, rules, borrower=person)
    publication = ready_publication(manager, kiva_platform, loan)

    # when
    with pytest.raises(ValidationError) as caught:
        services.publication_validate(actor=manager, publication=publication)

    # then
    assert caught.value.message_dict == {
        "consent": ["Maria has not given consent to the publication of their photo."]
    }


def test_withdrawal_of_consent_takes_the_profile_down_and_anonymises_it(
    manager, loan_officer, kiva_platform, kiva_server, loan, django_capture_on_commit_callbacks
):
    # given a profile published on the platform
    publication = ready_publication(manager, kiva_platform, loan)
    services.publication_validate(actor=manager, publication=publication)
    services.publication_push(actor=manager, publication=publication)
    photo_files = [photo.processed.path for photo in publication.photos.all()]

    # when: the officer records the withdrawal in the CRM
    with django_capture_on_commit_callbacks(execute=True):
        withdraw_consent(loan_officer, loan.borrower.person)

    # then
    publication.refresh_from_db()
    assert (publication.state, publication.is_anonymised) == ("withdrawn", True)
    assert (publication.profile.first_name, publication.profile.story) == ("", "")
    assert list(publication.borrowers.values_list("first_name", "last_name")) == [("", "")]
    assert publication.photos.count() == 0
    assert not any(os.path.exists(path) for path in photo_files)
    messages = OutboxMessage.objects.filter(kind__in=[OutboxKind.TAKEDOWN, OutboxKind.ANONYMISE])
    assert sorted(messages.values_list("kind", "status")) == [
        ("anonymise", "sent"),
        ("takedown", "sent"),
    ]
    (remote,) = sandbox_state(kiva_server)["drafts"]
    assert (remote["status"], remote["anonymized"]) == ("deleted", True)


def test_withdrawing_the_waiver_takes_the_profile_down(manager, kiva_platform, kiva_server, loan):
    # given
    publication = ready_publication(manager, kiva_platform, loan)
    services.publication_validate(actor=manager, publication=publication)
    services.publication_push(actor=manager, publication=publication)

    # when
    services.waiver_withdraw(actor=manager, waiver=loan.p2p_waivers.get(), withdrawn_on=days_ago(0))

    # then
    publication.refresh_from_db()
    assert (publication.state, publication.is_anonymised) == ("withdrawn", True)
    assert OutboxMessage.objects.filter(kind=OutboxKind.TAKEDOWN, status="pending").count() == 1


def test_the_sweep_withdraws_lost_consents_but_not_missing_waivers(
    manager, loan_officer, branch_manager, kiva_platform, rules
):
    # given one publication whose borrower withdrew consent, one still waiting for its waiver
    lost = ready_publication(
        manager, kiva_platform, recent_loan(loan_officer, branch_manager, rules)
    )
    waiting = ready_publication(
        manager,
        kiva_platform,
        recent_loan(loan_officer, branch_manager, rules),
        waiver=False,
    )
    # a withdrawal that reached the database without the CRM service (an import, a migration)
    Consent.objects.filter(party=lost.loan.borrower, purpose=ConsentPurpose.P2P_PUBLICATION).update(
        status=ConsentStatus.WITHDRAWN, withdrawn_on=lost.loan.disbursed_on
    )

    # when
    count = services.consent_sweep(actor=None, platform=kiva_platform)

    # then
    assert count == 1
    assert dict(Publication.objects.values_list("pk", "state")) == {
        lost.pk: "withdrawn",
        waiting.pk: "prepared",
    }


def test_loans_without_consent_or_in_arrears_are_not_eligible(
    manager, loan_officer, branch_manager, kiva_platform, rules
):
    # given
    eligible = recent_loan(loan_officer, branch_manager, rules)
    no_consent = recent_loan(
        loan_officer,
        branch_manager,
        rules,
        borrower=make_person(loan_officer),
    )
    late = recent_loan(loan_officer, branch_manager, rules, disbursed_days_ago=75)

    # when
    selected = services.publication_select(actor=manager, platform=kiva_platform, loan=eligible)
    with pytest.raises(ValidationError) as refused:
        services.publication_select(actor=manager, platform=kiva_platform, loan=no_consent)
    with pytest.raises(ValidationError) as refused_late:
        services.publication_select(actor=manager, platform=kiva_platform, loan=late)

    # then
    assert selected.state == "selected"
    assert refused.value.message_dict == {
        "loan": ["No consent to P2P publication is on file for every borrower."]
    }
    assert refused_late.value.message_dict == {
        "loan": [f"The loan is {late.days_past_due} days past due; Kiva takes loans up to 30."]
    }
    assert late.days_past_due > 30


def test_only_p2p_managers_select_and_file_waivers(loan_officer, kiva_platform, loan):
    # when / then
    with pytest.raises(PermissionDenied):
        services.publication_select(actor=loan_officer, platform=kiva_platform, loan=loan)
    with pytest.raises(PermissionDenied):
        services.waiver_add(
            actor=loan_officer,
            loan=loan,
            person=loan.borrower.person,
            signed_on=days_ago(1),
            scan=waiver_scan(),
        )
    assert not Publication.objects.exists()
    assert not loan.p2p_waivers.exists()
