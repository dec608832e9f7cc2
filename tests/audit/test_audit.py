"""The audit trail: append-only in the database, tied to requests, searchable by auditors."""

import pytest
from django.db import DatabaseError, transaction

from audit.models import AuditEvent
from audit.services import audit_record
from tests.crm.factories import make_person


def test_an_audit_event_cannot_be_updated(loan_officer):
    # given
    make_person(loan_officer)
    event = AuditEvent.objects.get()
    # when / then
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    event.refresh_from_db()
    assert event.action == "person.created"


def test_an_audit_event_cannot_be_deleted(loan_officer):
    # given
    make_person(loan_officer)
    # when / then
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 1


def test_recording_outside_a_transaction_is_a_programming_error(transactional_db):
    # when / then: an event must commit or roll back together with its change
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=None, action="x.y")
    assert AuditEvent.objects.count() == 0


def test_a_failed_change_leaves_no_audit_event(loan_officer):
    # given
    make_person(loan_officer, nif="111111111")
    # when
    with pytest.raises(Exception):  # noqa: B017 - the duplicate NIF error itself is tested in crm
        make_person(loan_officer, nif="111111111")
    # then
    assert AuditEvent.objects.count() == 1


def test_events_carry_the_request_id_that_is_echoed_to_the_client(client, loan_officer, praia):
    # given
    client.force_login(loan_officer)
    # when
    response = client.post(
        "/parties/new/person/",
        {
            "first_name": "Odete",
            "last_name": "Brito",
            "gender": "female",
            "relationship": "prospect",
            "branch": praia.pk,
        },
        HTTP_X_REQUEST_ID="req-20261122-0001",
    )
    # then
    assert response["X-Request-ID"] == "req-20261122-0001"
    assert AuditEvent.objects.get().request_id == "req-20261122-0001"


def test_a_malformed_request_id_is_replaced_by_a_fresh_one(client):
    # when
    response = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    # then
    assert len(response["X-Request-ID"]) == 32
    assert response["X-Request-ID"] != "<script>"


def test_an_auditor_searches_all_events_by_actor_and_action(
    client, auditor, loan_officer, outsider
):
    # given
    make_person(loan_officer, first_name="Rita")
    make_person(outsider, first_name="Vera")
    client.force_login(auditor)
    # when
    everything = client.get("/audit/")
    by_actor = client.get("/audit/", {"actor": "officer.mindelo", "action": "person."})
    # then
    assert everything.context["page"].paginator.count == 2
    assert [event.object_repr.split()[0] for event in by_actor.context["page"].object_list] == [
        "Vera"
    ]


@pytest.mark.parametrize("persona", ["loan_officer", "branch_manager", "accountant", "coach"])
def test_other_roles_cannot_search_the_audit_trail(client, request, persona):
    # given
    client.force_login(request.getfixturevalue(persona))
    # when / then
    assert client.get("/audit/").status_code == 403
