"""Party services: normalisation, uniqueness, scope, audit."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from crm import services
from crm.choices import ConsentPurpose, ConsentStatus, LinkKind
from crm.models import Consent, Party, PartyLink, Person
from tests.crm.factories import enterprise_data, make_enterprise, make_person, person_data


def test_creating_a_person_normalises_identifiers_and_writes_one_audit_event(loan_officer):
    # when
    person = make_person(
        loan_officer,
        first_name="Joana",
        last_name="Lopes",
        nif="123 456 789",
        phone="991 23 45",
        civil_id="cv-00123",
    )
    # then
    person.refresh_from_db()
    assert (person.display_name, person.nif, person.phone, person.civil_id, person.kind) == (
        "Joana Lopes",
        "123456789",
        "+2389912345",
        "CV00123",
        "person",
    )
    events = AuditEvent.objects.filter(action="person.created")
    assert events.count() == 1
    event = events.get()
    assert (event.actor, event.object_id, event.branch_id) == (
        loan_officer,
        str(person.pk),
        loan_officer.branch_id,
    )
    assert event.after["nif"] == "123456789"


def test_a_duplicate_nif_is_a_field_error_and_changes_nothing(loan_officer):
    # given
    make_person(loan_officer, nif="123456789")
    # when
    with pytest.raises(ValidationError) as error:
        make_enterprise(loan_officer, nif="123.456.789")
    # then
    assert list(error.value.message_dict) == ["nif"]
    assert Party.objects.count() == 1
    assert AuditEvent.objects.filter(action="enterprise.created").count() == 0


def test_a_duplicate_civil_id_is_a_field_error(loan_officer):
    # given
    make_person(loan_officer, civil_id="CV1234567")
    # when / then
    with pytest.raises(ValidationError) as error:
        make_person(loan_officer, civil_id="cv 1234567")
    assert list(error.value.message_dict) == ["civil_id"]
    assert Person.objects.count() == 1


def test_an_enterprise_is_displayed_by_its_trade_name(loan_officer):
    # when
    enterprise = make_enterprise(
        loan_officer, legal_name="Tavares & Filhos, Lda", trade_name="Padaria Tavares", employees=7
    )
    # then
    assert (enterprise.display_name, enterprise.employees, enterprise.kind) == (
        "Padaria Tavares",
        7,
        "enterprise",
    )


def test_an_update_audits_only_the_fields_that_changed(loan_officer):
    # given
    person = make_person(loan_officer, first_name="Rosa", last_name="Gomes", phone="9912345")
    data = person_data(
        loan_officer.branch, first_name="Rosa", last_name="Gomes Varela", phone="9912345"
    )
    # when
    services.person_update(actor=loan_officer, person=person, data=data)
    # then
    event = AuditEvent.objects.get(action="person.updated")
    assert event.before == {"last_name": "Gomes", "display_name": "Rosa Gomes"}
    assert event.after == {"last_name": "Gomes Varela", "display_name": "Rosa Gomes Varela"}


def test_saving_without_changes_writes_no_audit_event(loan_officer):
    # given
    person = make_person(loan_officer, first_name="Rosa", last_name="Gomes")
    # when
    services.person_update(
        actor=loan_officer,
        person=person,
        data=person_data(loan_officer.branch, first_name="Rosa", last_name="Gomes"),
    )
    # then
    assert AuditEvent.objects.filter(action="person.updated").count() == 0


def test_an_auditor_cannot_create_a_party(auditor, praia):
    # when / then
    with pytest.raises(PermissionDenied):
        services.person_create(actor=auditor, data=person_data(praia))
    assert Party.objects.count() == 0


def test_a_branch_outside_the_actors_scope_is_refused(loan_officer, mindelo):
    # when / then
    with pytest.raises(PermissionDenied):
        services.person_create(actor=loan_officer, data=person_data(mindelo))
    assert Party.objects.count() == 0


def test_a_field_agent_is_assigned_the_parties_they_register(field_agent):
    # when
    person = make_person(field_agent)
    # then
    assert person.assigned_to == field_agent


def test_an_owner_is_linked_to_an_enterprise_once(loan_officer):
    # given
    owner = make_person(loan_officer)
    shop = make_enterprise(loan_officer)
    # when
    first = services.party_link_create(
        actor=loan_officer, from_party=owner, to_party=shop, kind=LinkKind.OWNER
    )
    again = services.party_link_create(
        actor=loan_officer, from_party=owner, to_party=shop, kind=LinkKind.OWNER
    )
    # then
    assert first.pk == again.pk
    assert PartyLink.objects.count() == 1
    assert AuditEvent.objects.filter(action="party_link.created").count() == 1


@pytest.mark.parametrize(
    ("kind", "target", "field"),
    [
        (LinkKind.OWNER, "person", "to_party"),
        (LinkKind.GUARANTOR, "self", "to_party"),
    ],
)
def test_impossible_links_are_refused(loan_officer, kind, target, field):
    # given
    person = make_person(loan_officer)
    other = person if target == "self" else make_person(loan_officer)
    # when / then
    with pytest.raises(ValidationError) as error:
        services.party_link_create(actor=loan_officer, from_party=person, to_party=other, kind=kind)
    assert list(error.value.message_dict) == [field]
    assert PartyLink.objects.count() == 0


def test_a_consent_is_given_then_withdrawn_with_two_audit_events(loan_officer):
    # given
    person = make_person(loan_officer)
    consent = services.consent_record(
        actor=loan_officer,
        party=person,
        purpose=ConsentPurpose.P2P_PUBLICATION,
        given_on=datetime.date(2026, 3, 1),
    )
    # when
    withdrawn = services.consent_withdraw(
        actor=loan_officer, consent=consent, withdrawn_on=datetime.date(2026, 9, 30)
    )
    # then
    assert (withdrawn.status, withdrawn.withdrawn_on) == (
        ConsentStatus.WITHDRAWN,
        datetime.date(2026, 9, 30),
    )
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["person.created", "consent.given", "consent.withdrawn"]


def test_a_second_active_consent_for_the_same_purpose_is_refused(loan_officer):
    # given
    person = make_person(loan_officer)
    services.consent_record(
        actor=loan_officer,
        party=person,
        purpose=ConsentPurpose.DATA_PROCESSING,
        given_on=datetime.date(2026, 1, 5),
    )
    # when / then
    with pytest.raises(ValidationError):
        services.consent_record(
            actor=loan_officer,
            party=person,
            purpose=ConsentPurpose.DATA_PROCESSING,
            given_on=datetime.date(2026, 2, 5),
        )
    assert Consent.objects.count() == 1


def test_a_withdrawal_dated_before_the_consent_is_refused(loan_officer):
    # given
    person = make_person(loan_officer)
    consent = services.consent_record(
        actor=loan_officer,
        party=person,
        purpose=ConsentPurpose.MARKETING,
        given_on=datetime.date(2026, 5, 1),
    )
    # when / then
    with pytest.raises(ValidationError):
        services.consent_withdraw(
            actor=loan_officer, consent=consent, withdrawn_on=datetime.date(2026, 4, 30)
        )
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.GIVEN


def test_enterprise_data_with_negative_employees_is_refused(loan_officer):
    # when / then
    with pytest.raises(ValidationError) as error:
        services.enterprise_create(
            actor=loan_officer, data=enterprise_data(loan_officer.branch, employees=-1)
        )
    assert "employees" in error.value.message_dict
    assert Party.objects.count() == 0
