"""Personal data: the access log of a person's record and the person's data export."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounting.chart import chart_install
from audit.models import AuditEvent
from crm import privacy
from crm.choices import ConsentPurpose, InteractionKind
from crm.interactions import interaction_record
from crm.models import Party
from crm.services import consent_record
from tests.crm.factories import make_person
from tests.loans.factories import active_loan, cash_product


@pytest.fixture
def rules(praia):
    return chart_install()


@pytest.fixture
def person(loan_officer):
    return make_person(
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


def _access_events(party):
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Party),
        object_id=str(party.pk),
        action__in=privacy.ACCESS_ACTIONS,
    ).order_by("pk")


# --- access log ------------------------------------------------------------------------------


def test_opening_the_party_page_records_who_when_which_view_and_the_request(
    client, loan_officer, person
):
    # given
    client.force_login(loan_officer)

    # when
    response = client.get(f"/parties/{person.pk}/", HTTP_X_REQUEST_ID="req-party-0001")

    # then
    assert response.status_code == 200
    events = list(_access_events(person))
    assert [(e.actor, e.action, e.after, e.request_id, e.branch_id) for e in events] == [
        (
            loan_officer,
            "party.accessed",
            {"view": "party_detail"},
            "req-party-0001",
            person.branch_id,
        )
    ]


def test_the_party_list_and_the_history_are_not_logged_and_the_history_hides_reads(
    client, loan_officer, person
):
    # given
    client.force_login(loan_officer)
    client.get(f"/parties/{person.pk}/")

    # when
    listing = client.get("/parties/")
    history = client.get(f"/parties/{person.pk}/history/")

    # then
    assert listing.status_code == history.status_code == 200
    assert _access_events(person).count() == 1
    assert [event.action for event in history.context["events"]] == ["person.created"]


def test_recording_an_access_is_a_single_insert(loan_officer, person):
    # given
    ContentType.objects.get_for_model(Party)  # warm the content-type cache, as in a live process

    # when
    with CaptureQueriesContext(connection) as queries:
        privacy.party_access_record(actor=loan_officer, party=person, view="party_detail")

    # then
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1
    assert statements[0].startswith('INSERT INTO "audit_auditevent"')


def test_the_api_detail_of_a_party_or_person_is_logged_but_not_the_list(loan_officer, person):
    # given
    api = APIClient()
    api.force_authenticate(loan_officer)

    # when
    assert api.get("/api/v1/parties/").status_code == 200
    assert api.get(f"/api/v1/parties/{person.pk}/").status_code == 200
    assert api.get(f"/api/v1/persons/{person.pk}/").status_code == 200

    # then
    assert [e.after for e in _access_events(person)] == [
        {"view": "api_party_detail"},
        {"view": "api_party_detail"},
    ]


def test_who_looked_is_shown_to_auditors_and_managers_only(
    client, loan_officer, auditor, manager, person
):
    # given
    client.force_login(loan_officer)
    client.get(f"/parties/{person.pk}/")
    client.force_login(manager)
    client.get(f"/parties/{person.pk}/")

    # when
    client.force_login(loan_officer)
    as_officer = client.get(f"/parties/{person.pk}/privacy/")
    client.force_login(auditor)
    as_auditor = client.get(f"/parties/{person.pk}/privacy/")

    # then
    assert as_officer.status_code == as_auditor.status_code == 200
    assert "Who looked at this record" not in as_officer.content.decode()
    assert [e.actor.username for e in as_auditor.context["access_log"]] == ["manager", "officer"]
    assert "Who looked at this record" in as_auditor.content.decode()


# --- data export -----------------------------------------------------------------------------


@pytest.fixture
def borrower_with_history(loan_officer, credit_committee, manager, rules, person):
    consent_record(
        actor=loan_officer,
        party=person,
        purpose=ConsentPurpose.P2P_PUBLICATION,
        given_on=datetime.date(2026, 1, 2),
        notes="Signed at the branch",
    )
    interaction_record(
        actor=loan_officer,
        party=person,
        kind=InteractionKind.CALL,
        summary="Asked about a second loan",
        notes="Wants to expand the shop",
    )
    loan = active_loan(
        loan_officer, credit_committee, cash_product(manager, rules), borrower=person
    )
    return person, loan


def test_the_export_holds_every_personal_detail_and_the_loan_with_its_schedule(
    loan_officer, borrower_with_history
):
    # given
    person, loan = borrower_with_history

    # when
    data = privacy.party_data_export(party=person, actor=loan_officer)

    # then
    assert data["format"] == "mfi-personal-data-export/1"
    assert data["generated_by"] == "officer"
    assert {
        key: data["party"][key]
        for key in ("id", "kind", "display_name", "first_name", "last_name", "birth_date")
    } == {
        "id": person.pk,
        "kind": "person",
        "display_name": "Nilza Fortes",
        "first_name": "Nilza",
        "last_name": "Fortes",
        "birth_date": "1985-03-02",
    }
    assert data["identifiers"] == {
        "nif": "234567890",
        "social_security_number": "1234567",
        "civil_id": "CV1234567",
    }
    assert data["contacts"] == {
        "phone": person.phone,
        "email": "nilza@example.cv",
        "island": "santiago",
        "municipality": "Praia",
        "address": "Rua 5, Achada Santo António",
    }
    assert [(c["purpose"], c["status"], c["notes"], c["evidence"]) for c in data["consents"]] == [
        ("p2p_publication", "given", "Signed at the branch", None)
    ]
    assert [(i["kind"], i["summary"], i["notes"]) for i in data["interactions"]] == [
        ("call", "Asked about a second loan", "Wants to expand the shop")
    ]
    [exported_loan] = data["loans"]
    assert (exported_loan["number"], exported_loan["principal"], exported_loan["status"]) == (
        loan.number,
        "120000.0000",
        "active",
    )
    assert len(exported_loan["installments"]) == 12
    assert exported_loan["installments"][0]["principal_due"] == "8947.1500"
    assert [(t["kind"], t["amount"]) for t in exported_loan["transactions"]] == [
        ("disbursement", "120000.0000")
    ]
    assert data["coaching"] == {"engagements": [], "invoices": []}
    assert data["learning"] == {"enrolments": []}
    assert data["compliance"]["desk_visits"] == []
    assert data["p2p"] == {"publications": [], "waivers": []}
    assert data["erasure_requests"] == []
    json.dumps(data)  # JSON-safe as it is


def test_the_export_is_audited(loan_officer, person):
    # when
    privacy.party_data_export(party=person, actor=loan_officer)

    # then
    assert [(e.action, e.actor, e.after) for e in _access_events(person)] == [
        ("party.exported", loan_officer, {"format": "json"})
    ]


def test_the_export_is_downloaded_from_the_party_page_as_json_and_pdf(
    client, loan_officer, borrower_with_history
):
    # given
    person, _loan = borrower_with_history
    client.force_login(loan_officer)

    # when
    as_json = client.get(f"/parties/{person.pk}/privacy/export.json")
    as_pdf = client.get(f"/parties/{person.pk}/privacy/export.pdf")

    # then
    assert as_json.status_code == as_pdf.status_code == 200
    assert as_json["Content-Disposition"] == (
        f'attachment; filename="personal-data-party-{person.pk}.json"'
    )
    assert json.loads(as_json.content)["identifiers"]["nif"] == "234567890"
    assert as_pdf["Content-Type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF")
    assert [e.after for e in _access_events(person)] == [{"format": "json"}, {"format": "pdf"}]
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=as_pdf.content, capture_output=True
        ).stdout.decode()
        assert "Personal data of party #" in text
        assert "234567890" in text
        assert "Asked about a second loan" in text


@pytest.mark.parametrize("persona", ["auditor", "accountant", "credit_committee"])
def test_roles_without_party_edit_cannot_export(client, request, persona, person):
    # given
    client.force_login(request.getfixturevalue(persona))

    # when
    response = client.get(f"/parties/{person.pk}/privacy/export.json")

    # then
    assert response.status_code == 403
    assert _access_events(person).count() == 0


def test_an_officer_of_another_branch_gets_a_404_and_nothing_is_logged(client, outsider, person):
    # given
    client.force_login(outsider)

    # when
    responses = [
        client.get(f"/parties/{person.pk}/privacy/export.json").status_code,
        client.get(f"/parties/{person.pk}/privacy/export.pdf").status_code,
        client.get(f"/parties/{person.pk}/").status_code,
    ]

    # then
    assert responses == [404, 404, 404]
    assert _access_events(person).count() == 0


def test_the_export_api_returns_the_same_data_and_is_audited(loan_officer, outsider, person):
    # given
    api = APIClient()
    api.force_authenticate(loan_officer)

    # when
    response = api.get(f"/api/v1/parties/{person.pk}/data-export/")
    pdf = api.get(f"/api/v1/parties/{person.pk}/data-export/pdf/")
    api.force_authenticate(outsider)
    hidden = api.get(f"/api/v1/parties/{person.pk}/data-export/")

    # then
    assert response.status_code == 200
    assert response.json()["party"]["display_name"] == "Nilza Fortes"
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert hidden.status_code == 404
    assert [e.after for e in _access_events(person)] == [{"format": "json"}, {"format": "pdf"}]


def test_the_pdf_lists_every_section_with_the_same_facts_as_the_json(
    loan_officer, borrower_with_history
):
    # given
    person, loan = borrower_with_history
    data = privacy.party_data_export(party=person, actor=loan_officer)

    # when
    sections = privacy._pdf_sections(data)

    # then
    titles = [section["title"] for section in sections]
    assert titles[:10] == [
        "Personal details",
        "Identifiers",
        "Contacts and address",
        "Links to other parties",
        "Consents",
        "Sales pipeline",
        "Interactions",
        "Tasks",
        "Guarantees given",
        "Erasure requests",
    ]
    assert f"Loan {loan.number}: schedule" in titles
    by_title = {section["title"]: section["records"] for section in sections}
    assert by_title["Identifiers"] == [
        [("nif", "234567890"), ("social_security_number", "1234567"), ("civil_id", "CV1234567")]
    ]
    assert len(by_title[f"Loan {loan.number}: schedule"]) == 12
    assert ("summary", "Asked about a second loan") in by_title["Interactions"][0]
