"""Likely duplicate parties and merging one party into another."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounting.chart import chart_install
from audit.models import AuditEvent
from coaching.models import Engagement
from crm.choices import InteractionKind, LeadSource, LinkKind, Relationship
from crm.duplicates import likely_duplicates, normalise_name, parties_merge
from crm.interactions import interaction_record, task_create
from crm.leads import lead_create
from crm.models import Consent, Interaction, Lead, Party, PartyLink, Person, Task
from crm.services import consent_record, party_link_create
from loans.models import Guarantor, Loan
from loans.services import loan_guarantor_add
from tests.coaching.factories import make_coach, make_engagement
from tests.coaching.factories import make_product as make_coaching_product
from tests.crm.factories import make_enterprise, make_person
from tests.loans.factories import cash_product, submitted_loan

pytestmark = pytest.mark.django_db

BORN = datetime.date(1990, 5, 17)


def _pairs(user):
    return [(pair.first.pk, pair.second.pk, pair.reasons) for pair in likely_duplicates(user=user)]


def test_names_are_folded_for_case_accents_and_spaces():
    assert normalise_name("  José   GONÇALVES ") == "jose goncalves"


def test_exact_pairs_and_reasons(loan_officer, outsider):
    # given
    jose = make_person(
        loan_officer, first_name="José", last_name="Gonçalves", birth_date=BORN, phone="9911234"
    )
    jose_again = make_person(
        loan_officer, first_name="jose", last_name="GONCALVES", birth_date=BORN, phone="9911234"
    )
    other_birthday = make_person(
        loan_officer, first_name="Jose", last_name="Goncalves", birth_date=BORN.replace(year=1991)
    )
    same_phone = make_person(loan_officer, first_name="Rita", phone="9911234")
    make_person(loan_officer, first_name="Lia", phone="9955555")
    # an enterprise sharing the phone is not paired with persons; two enterprises are
    shop = make_enterprise(loan_officer, phone="9955555")
    shop_again = make_enterprise(loan_officer, phone="9955555")
    # a Mindelo namesake is outside the officer's scope
    make_person(outsider, first_name="José", last_name="Gonçalves", birth_date=BORN)
    # when
    pairs = _pairs(loan_officer)
    # then
    assert sorted(pairs) == sorted(
        [
            (jose.pk, jose_again.pk, ["phone", "name_birth_date"]),
            (jose.pk, same_phone.pk, ["phone"]),
            (jose_again.pk, same_phone.pk, ["phone"]),
            (shop.pk, shop_again.pk, ["phone"]),
        ]
    )
    assert other_birthday.pk not in {pk for pair in pairs for pk in pair[:2]}
    labels = {
        (pair.first.pk, pair.second.pk): pair.reason_labels
        for pair in likely_duplicates(user=loan_officer)
    }
    assert labels[(jose.pk, jose_again.pk)] == [
        "Same phone",
        "Similar name and same date of birth",
    ]


def test_the_outsider_sees_no_pairs_of_another_branch(loan_officer, outsider):
    make_person(loan_officer, phone="9911234")
    make_person(loan_officer, phone="9911234")
    assert len(_pairs(loan_officer)) == 1
    assert _pairs(outsider) == []


def test_review_page_lists_pairs(client, loan_officer):
    make_person(loan_officer, phone="9911234")
    make_person(loan_officer, phone="9911234")
    client.force_login(loan_officer)
    response = client.get(reverse("crm:duplicate_review"))
    assert response.status_code == 200
    assert len(response.context["pairs"]) == 1
    assert "Same phone" in response.content.decode()


# --- Merge -----------------------------------------------------------------------------------


@pytest.fixture
def pair(loan_officer):
    keep = make_person(loan_officer, first_name="José", birth_date=BORN, phone="9911234")
    remove = make_person(
        loan_officer,
        first_name="Jose",
        phone="9911234",
        email="jose@example.cv",
        nif="123456789",
        civil_id="CV12345",
        relationship=Relationship.PROSPECT,
    )
    return keep, remove


@pytest.fixture
def linked_remove(pair, loan_officer, branch_manager, manager, coach):
    """Everything that can point at the party to be removed, one or two of each."""
    keep, remove = pair
    officer = loan_officer
    shop = make_enterprise(officer)
    spouse = make_person(officer)
    party_link_create(actor=officer, from_party=remove, to_party=shop, kind=LinkKind.OWNER)
    party_link_create(
        actor=officer, from_party=spouse, to_party=remove, kind=LinkKind.HOUSEHOLD_MEMBER
    )
    # a link between the two parties disappears with the merge
    party_link_create(
        actor=officer, from_party=keep, to_party=remove, kind=LinkKind.HOUSEHOLD_MEMBER
    )
    consent_record(
        actor=officer, party=remove, purpose="data_processing", given_on=datetime.date(2026, 1, 2)
    )
    consent_record(
        actor=officer, party=remove, purpose="marketing", given_on=datetime.date(2026, 1, 2)
    )
    consent_record(
        actor=officer, party=keep, purpose="marketing", given_on=datetime.date(2026, 1, 3)
    )
    interaction_record(
        actor=officer,
        party=remove,
        kind=InteractionKind.CALL,
        summary="First call",
        next_action_date=timezone.localdate() + datetime.timedelta(days=3),
        next_action_title="Call back",
    )
    interaction_record(actor=officer, party=remove, kind=InteractionKind.NOTE, summary="Note")
    task_create(actor=officer, title="Visit", due_date=timezone.localdate(), party=remove)
    product = cash_product(officer, chart_install())
    submitted_loan(officer, product, borrower=remove)
    other_loan = submitted_loan(officer, product)
    loan_guarantor_add(actor=officer, loan=other_loan, party=remove, amount=Decimal("5000"))
    coaching_product = make_coaching_product(manager)
    make_engagement(
        branch_manager,
        party=remove,
        product=coaching_product,
        coach=make_coach(manager, coach),
    )
    lead_create(actor=officer, party=remove, source=LeadSource.REFERRAL)
    return keep, remove


def test_merge_moves_every_link_and_leaves_one_audit_event(loan_officer, linked_remove):
    # given
    keep, remove = linked_remove
    # when
    kept = parties_merge(actor=loan_officer, keep=keep, remove=remove)
    # then
    assert not Party.objects.filter(pk=remove.pk).exists()
    assert PartyLink.objects.filter(from_party=keep).count() == 1
    assert PartyLink.objects.filter(to_party=keep).count() == 1
    assert PartyLink.objects.count() == 2
    assert Consent.objects.filter(party=keep).count() == 3
    assert Consent.objects.filter(party=keep, status="given").count() == 2
    assert Interaction.objects.filter(party=keep).count() == 2
    assert Task.objects.filter(party=keep).count() == 2
    assert Loan.objects.filter(borrower=keep).count() == 1
    assert Guarantor.objects.filter(party=keep).count() == 1
    assert Engagement.objects.filter(party=keep).count() == 1
    assert Lead.objects.get().party_id == keep.pk
    # contact details the kept party lacked are copied; its own are kept
    kept = Person.objects.get(pk=kept.pk)
    assert (kept.first_name, kept.phone, kept.birth_date) == ("José", "+2389911234", BORN)
    assert (kept.email, kept.nif, kept.civil_id) == ("jose@example.cv", "123456789", "CV12345")
    assert kept.relationship == Relationship.CLIENT
    event = AuditEvent.objects.get(action="party.merged")
    assert event.object_id == str(keep.pk)
    assert event.before["removed_party"] == remove.pk
    assert event.after["moved"] == {
        "party_links": 2,
        "consents": 2,
        "interactions": 2,
        "tasks": 2,
        "loans": 1,
        "loan_guarantees": 1,
        "coaching_engagements": 1,
        "leads": 1,
    }
    assert event.after["dropped"] == {"party_links": 1, "consents_superseded": 1, "leads": 0}
    assert sorted(event.after["copied"]) == ["civil_id", "email", "nif"]


def test_the_kept_partys_own_lead_wins(loan_officer):
    keep = make_person(loan_officer, relationship=Relationship.PROSPECT)
    remove = make_person(loan_officer, relationship=Relationship.PROSPECT)
    kept_lead = lead_create(actor=loan_officer, party=keep, source=LeadSource.WALK_IN)
    lead_create(actor=loan_officer, party=remove, source=LeadSource.PARTNER)
    parties_merge(actor=loan_officer, keep=keep, remove=remove)
    assert list(Lead.objects.values_list("pk", flat=True)) == [kept_lead.pk]


def test_merge_refusals_change_nothing(loan_officer, outsider, pair):
    keep, remove = pair
    shop = make_enterprise(loan_officer)
    parties = Party.objects.count()
    with pytest.raises(ValidationError, match="merged with itself"):
        parties_merge(actor=loan_officer, keep=keep, remove=keep)
    with pytest.raises(ValidationError, match="cannot be merged into"):
        parties_merge(actor=loan_officer, keep=shop, remove=remove)
    with pytest.raises(PermissionDenied):
        parties_merge(actor=outsider, keep=keep, remove=remove)
    assert Party.objects.count() == parties
    assert not AuditEvent.objects.filter(action="party.merged").exists()


def test_a_guarantor_of_the_kept_partys_loan_cannot_be_merged_into_it(loan_officer, pair):
    keep, remove = pair
    loan = submitted_loan(loan_officer, cash_product(loan_officer, chart_install()), borrower=keep)
    loan_guarantor_add(actor=loan_officer, loan=loan, party=remove, amount=Decimal("5000"))
    with pytest.raises(ValidationError, match="same loan"):
        parties_merge(actor=loan_officer, keep=keep, remove=remove)
    assert Guarantor.objects.get().party_id == remove.pk
    assert Party.objects.filter(pk=remove.pk).exists()


def test_merge_from_the_review_page(client, loan_officer, outsider, pair):
    keep, remove = pair
    client.force_login(outsider)
    response = client.post(reverse("crm:party_merge"), {"keep": keep.pk, "remove": remove.pk})
    assert response.status_code == 404
    assert Party.objects.filter(pk=remove.pk).exists()
    client.force_login(loan_officer)
    response = client.post(reverse("crm:party_merge"), {"keep": keep.pk, "remove": remove.pk})
    assert response.status_code == 302
    assert not Party.objects.filter(pk=remove.pk).exists()
