"""Party screens: scoping, forms, permissions, history, consent evidence."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from crm.models import Consent, Party, PartyLink, Person
from tests.crm.factories import make_enterprise, make_person, person_form_data

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_the_party_list_shows_only_the_branch_and_keeps_a_fixed_query_count(
    client, loan_officer, outsider, django_assert_max_num_queries
):
    # given
    for number in range(30):
        make_person(loan_officer, first_name=f"Praia{number:02d}")
    make_person(outsider, first_name="Cidalia")
    client.force_login(loan_officer)
    # when
    with django_assert_max_num_queries(12):
        response = client.get("/parties/")
    # then
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 30
    assert len(response.context["page"].object_list) == 25
    assert b"Cidalia" not in response.content
    assert b"Mindelo" not in response.content  # not even in the branch filter


def test_the_party_list_filters_by_kind(client, loan_officer):
    # given
    make_person(loan_officer)
    make_enterprise(loan_officer, legal_name="Oficina Borges")
    client.force_login(loan_officer)
    # when
    response = client.get("/parties/", {"kind": "enterprise"})
    # then
    assert [p.display_name for p in response.context["page"].object_list] == ["Oficina Borges"]


def test_a_loan_officer_registers_a_person_through_the_form(client, loan_officer, praia):
    # given
    client.force_login(loan_officer)
    # when
    response = client.post(
        "/parties/new/person/", person_form_data(praia, nif="123 456 789", phone="991 23 45")
    )
    # then
    person = Person.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/parties/{person.pk}/"
    assert (person.nif, person.phone, person.created_by) == (
        "123456789",
        "+2389912345",
        loan_officer,
    )


def test_a_duplicate_nif_in_the_form_is_a_field_error_not_a_500(client, loan_officer, praia):
    # given
    make_person(loan_officer, nif="123456789")
    client.force_login(loan_officer)
    # when
    response = client.post("/parties/new/person/", person_form_data(praia, nif="123-456-789"))
    # then
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["nif"]
    assert Person.objects.count() == 1


def test_a_future_birth_date_is_refused(client, loan_officer, praia):
    # given
    client.force_login(loan_officer)
    # when
    response = client.post("/parties/new/person/", person_form_data(praia, birth_date="2999-01-01"))
    # then
    assert response.context["form"].errors["birth_date"] == [
        "The date of birth cannot be in the future."
    ]
    assert Person.objects.count() == 0


def test_a_branch_outside_scope_cannot_be_chosen_in_the_form(client, loan_officer, mindelo):
    # given
    client.force_login(loan_officer)
    # when
    response = client.post("/parties/new/person/", person_form_data(mindelo))
    # then
    assert "branch" in response.context["form"].errors
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    "persona", ["auditor", "accountant", "credit_committee", "compliance_officer"]
)
def test_read_only_roles_get_403_on_the_create_form_and_nothing_changes(
    client, request, praia, persona
):
    # given
    user = request.getfixturevalue(persona)
    client.force_login(user)
    # when
    get = client.get("/parties/new/person/")
    post = client.post("/parties/new/person/", person_form_data(praia))
    # then
    assert (get.status_code, post.status_code) == (403, 403)
    assert Party.objects.count() == 0


def test_another_branch_gets_404_on_detail_edit_and_history(client, loan_officer, outsider):
    # given
    person = make_person(loan_officer)
    client.force_login(outsider)
    # when
    codes = [
        client.get(f"/parties/{person.pk}/{suffix}").status_code
        for suffix in ("", "edit/", "history/")
    ]
    post = client.post(f"/parties/{person.pk}/edit/", {"first_name": "Hacked"})
    # then
    assert codes == [404, 404, 404]
    assert post.status_code == 404
    person.refresh_from_db()
    assert person.first_name == "Maria"


def test_editing_a_person_shows_the_change_in_the_history_tab(client, loan_officer, praia):
    # given
    person = make_person(loan_officer, first_name="Elsa", last_name="Barros")
    client.force_login(loan_officer)
    # when
    client.post(
        f"/parties/{person.pk}/edit/",
        person_form_data(
            praia, first_name="Elsa", last_name="Barros Fortes", relationship="client"
        ),
    )
    history = client.get(f"/parties/{person.pk}/history/")
    # then
    actions = [event.action for event in history.context["events"]]
    assert actions == ["person.updated", "person.created"]
    assert b"Barros Fortes" in history.content


def test_linking_an_owner_to_an_enterprise_by_number(client, loan_officer):
    # given
    owner = make_person(loan_officer)
    shop = make_enterprise(loan_officer)
    client.force_login(loan_officer)
    # when
    response = client.post(f"/parties/{owner.pk}/links/", {"kind": "owner", "to_party": shop.pk})
    # then
    assert response.status_code == 302
    link = PartyLink.objects.get()
    assert (link.from_party_id, link.to_party_id, link.kind) == (owner.pk, shop.pk, "owner")


def test_linking_to_a_party_of_another_branch_is_refused(client, loan_officer, outsider):
    # given
    mine = make_person(loan_officer)
    theirs = make_enterprise(outsider)
    client.force_login(loan_officer)
    # when
    client.post(f"/parties/{mine.pk}/links/", {"kind": "owner", "to_party": theirs.pk})
    # then
    assert PartyLink.objects.count() == 0


def test_a_consent_with_a_signed_pdf_is_recorded_and_served_only_in_scope(
    client, loan_officer, outsider
):
    # given
    person = make_person(loan_officer)
    client.force_login(loan_officer)
    upload = SimpleUploadedFile("signed form.pdf", PDF_BYTES, content_type="application/pdf")
    # when
    response = client.post(
        f"/parties/{person.pk}/consents/new/",
        {"purpose": "p2p_publication", "given_on": "2026-11-01", "evidence": upload},
    )
    # then
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.evidence.name.endswith(".pdf")
    assert "signed form" not in consent.evidence.name
    download = client.get(f"/parties/{person.pk}/consents/{consent.pk}/evidence/")
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert client.get(f"/media/{consent.evidence.name}").status_code == 404  # no public path
    client.force_login(outsider)
    assert client.get(f"/parties/{person.pk}/consents/{consent.pk}/evidence/").status_code == 404


def test_a_consent_evidence_that_is_not_a_document_is_refused(client, loan_officer):
    # given
    person = make_person(loan_officer)
    client.force_login(loan_officer)
    fake = SimpleUploadedFile(
        "form.pdf", b"MZ\x90\x00 this is an executable", content_type="application/pdf"
    )
    # when
    response = client.post(
        f"/parties/{person.pk}/consents/new/",
        {"purpose": "marketing", "given_on": "2026-11-01", "evidence": fake},
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["evidence"] == [
        "This file type is not accepted; upload a PDF, PNG or JPEG file."
    ]
    assert Consent.objects.count() == 0


def test_withdrawing_a_consent_from_the_detail_page(client, loan_officer):
    # given
    person = make_person(loan_officer)
    client.force_login(loan_officer)
    client.post(
        f"/parties/{person.pk}/consents/new/", {"purpose": "marketing", "given_on": "2026-10-01"}
    )
    consent = Consent.objects.get()
    # when
    client.post(
        f"/parties/{person.pk}/consents/{consent.pk}/withdraw/", {"withdrawn_on": "2026-11-02"}
    )
    # then
    consent.refresh_from_db()
    assert (consent.status, str(consent.withdrawn_on)) == ("withdrawn", "2026-11-02")
    assert AuditEvent.objects.filter(action="consent.withdrawn").count() == 1


def test_global_search_finds_a_party_by_phone(client, loan_officer):
    # given
    person = make_person(loan_officer, first_name="Zenaida", phone="+238 555 12 34")
    client.force_login(loan_officer)
    # when
    response = client.get("/search/", {"q": "5551234"})
    # then
    assert [party.pk for party in response.context["results"]] == [person.pk]
