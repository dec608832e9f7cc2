"""Validation before push: each platform rule gives one exact, field-keyed message, stored on
the publication for the profile editor."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from crm.choices import LinkKind
from crm.services import party_link_create
from p2p_export import services
from p2p_export.choices import PlatformKind
from tests.crm.factories import make_enterprise
from tests.p2p_export.factories import (
    STORY,
    consenting_person,
    make_platform,
    ready_publication,
    recent_loan,
)


@pytest.fixture
def platform(db):
    return make_platform(PlatformKind.FILES, allowed_currencies=["CVE"])


@pytest.fixture
def loan(loan_officer, branch_manager, rules):
    return recent_loan(loan_officer, branch_manager, rules)


def errors_of(manager, publication) -> dict:
    with pytest.raises(ValidationError) as caught:
        services.publication_validate(actor=manager, publication=publication)
    publication.refresh_from_db()
    assert publication.field_errors == caught.value.message_dict
    return caught.value.message_dict


def test_a_complete_profile_is_validated(manager, platform, loan):
    # given
    publication = ready_publication(manager, platform, loan)

    # when
    services.publication_validate(actor=manager, publication=publication)

    # then
    publication.refresh_from_db()
    assert (publication.state, publication.field_errors, publication.last_error) == (
        "validated",
        {},
        "",
    )
    assert list(publication.events.values_list("action", flat=True)) == [
        "selected",
        "prepared",
        "validated",
    ]


def test_required_fields_photo_and_waiver(manager, platform, loan):
    # given a profile just selected: no story, no photo, no waiver
    publication = services.publication_select(actor=manager, platform=platform, loan=loan)
    services.profile_update(
        actor=manager, publication=publication, data={"loan_use": "", "coarse_location": ""}
    )

    # when
    errors = errors_of(manager, publication)

    # then
    assert errors == {
        "story": ["This field is required."],
        "loan_use": ["This field is required."],
        "coarse_location": ["This field is required."],
        "photo": ["Add a photo, or mark the profile as not pictured."],
        "waiver": ["No signed waiver of Maria is on file for this loan."],
    }
    assert publication.state == "prepared"


def test_story_checks(manager, platform, loan_officer, branch_manager, rules):
    # given
    person = consenting_person(loan_officer, last_name="Semedo Tavares", civil_id="C123456789")
    loan = recent_loan(loan_officer, branch_manager, rules, borrower=person)
    publication = ready_publication(manager, platform, loan)
    story = STORY + " Call Maria Semedo on +238 991 23 45 or write to maria@example.cv."
    services.profile_update(
        actor=manager,
        publication=publication,
        data={"story": story, "family_situation": "ID C123456789, two children"},
    )

    # when
    errors = errors_of(manager, publication)

    # then
    assert errors == {
        "story": [
            "Remove the last name “Semedo”: only the first name is published.",
            "Remove the e-mail address: contact details are never published.",
            "Remove the phone number: contact details are never published.",
        ],
        "family_situation": ["Remove the ID number: identity numbers are never published."],
    }


def test_story_too_short(manager, platform, loan):
    # given
    publication = ready_publication(manager, platform, loan)
    services.profile_update(
        actor=manager, publication=publication, data={"story": "Maria sells bread."}
    )

    # when / then
    assert errors_of(manager, publication) == {
        "story": ["The story must be at least 150 characters long (it has 18)."]
    }


def test_currency_must_be_one_the_platform_takes(manager, loan):
    # given
    platform = make_platform(PlatformKind.FILES, allowed_currencies=["EUR"])
    publication = ready_publication(manager, platform, loan)

    # when / then
    assert errors_of(manager, publication) == {
        "currency": ["CVE is not accepted by Babyloan (it takes EUR)."]
    }


def test_borrower_amounts_must_add_up_to_the_loan(manager, platform, loan):
    # given
    publication = ready_publication(manager, platform, loan)
    services.publication_borrower_update(
        actor=manager, borrower=publication.borrowers.get(), amount=Decimal("100000.00")
    )

    # when / then
    assert errors_of(manager, publication) == {
        "borrowers": ["The borrowers' amounts add up to 100000.00; the loan is 120000.00."]
    }


def test_schedule_must_add_up_to_the_principal(manager, platform, loan):
    # given a schedule damaged outside the application (the loans app never produces one)
    publication = ready_publication(manager, platform, loan)
    loan.installments.filter(number=12).update(principal_due=Decimal("11000.00"))

    # when / then
    assert errors_of(manager, publication) == {
        "schedule": ["The schedule's principal adds up to 119875.31; the loan is 120000.00."]
    }


def test_group_name_only_on_group_loans(manager, platform, loan):
    # given
    publication = ready_publication(manager, platform, loan)
    services.profile_update(
        actor=manager, publication=publication, data={"group_name": "Tavares family"}
    )

    # when / then
    assert errors_of(manager, publication) == {
        "group_name": ["A group name is only for group loans."]
    }


def test_a_group_loan_needs_a_group_name_and_splits_the_amount(
    manager, platform, loan_officer, branch_manager, rules
):
    # given an enterprise owned by two consenting persons
    enterprise = make_enterprise(loan_officer)
    owners = [consenting_person(loan_officer, first_name=name) for name in ("Ana", "Rui")]
    for owner in owners:
        party_link_create(
            actor=loan_officer, from_party=owner, to_party=enterprise, kind=LinkKind.OWNER
        )
    loan = recent_loan(loan_officer, branch_manager, rules, borrower=enterprise)
    publication = services.publication_select(actor=manager, platform=platform, loan=loan)
    services.profile_update(
        actor=manager, publication=publication, data={"story": STORY, "is_not_pictured": True}
    )

    # when
    errors = errors_of(manager, publication)

    # then
    assert list(publication.borrowers.values_list("first_name", "amount")) == [
        ("Ana", Decimal("60000.0000")),
        ("Rui", Decimal("60000.0000")),
    ]
    assert errors == {
        "group_name": ["A group loan needs a group name."],
        "waiver": ["No signed waiver of Ana is on file for this loan."],
    }


def test_not_pictured_profiles_need_no_photo(manager, platform, loan):
    # given
    publication = ready_publication(manager, platform, loan, photo=False)

    # when
    services.publication_validate(actor=manager, publication=publication)

    # then
    publication.refresh_from_db()
    assert (publication.state, publication.is_not_pictured) == ("validated", True)


def test_editing_a_validated_profile_sends_it_back_to_prepared(manager, platform, loan):
    # given
    publication = ready_publication(manager, platform, loan)
    services.publication_validate(actor=manager, publication=publication)

    # when
    services.profile_update(
        actor=manager, publication=publication, data={"loan_use": "to buy a fridge"}
    )

    # then
    publication.refresh_from_db()
    assert publication.state == "prepared"
    assert publication.events.last().action == "prepared"
