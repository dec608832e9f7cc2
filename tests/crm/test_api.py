"""Parties API: scoping, filtering, pagination, writes through services, JSON errors."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import Party, Person
from tests.crm.factories import make_enterprise, make_person


@pytest.fixture
def api():
    return APIClient()


def _payload(branch_code, **overrides):
    data = {
        "first_name": "Nilza",
        "last_name": "Fortes",
        "gender": "female",
        "nif": "234 567 890",
        "phone": "9876543",
        "relationship": "client",
        "branch": branch_code,
        "island": "santiago",
    }
    data.update(overrides)
    return data


def test_an_anonymous_request_is_refused_with_a_json_error(api):
    # when
    response = api.get("/api/v1/parties/")
    # then
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_token_authentication_lists_only_parties_in_scope(api, loan_officer, outsider):
    # given
    make_person(loan_officer, first_name="Alda")
    make_person(outsider, first_name="Cida")
    token = Token.objects.create(user=loan_officer)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    # when
    response = api.get("/api/v1/parties/")
    # then
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 1
    assert body["results"][0]["display_name"].startswith("Alda Tavares ")
    assert body["results"][0]["branch"] == "praia"


def test_the_list_is_paginated_and_filtered(api, loan_officer, django_assert_max_num_queries):
    # given
    for number in range(55):
        make_person(loan_officer, first_name=f"P{number:02d}")
    make_enterprise(loan_officer, legal_name="Hiace Lopes")
    api.force_authenticate(loan_officer)
    # when
    with django_assert_max_num_queries(6):
        first_page = api.get("/api/v1/parties/").json()
    enterprises = api.get("/api/v1/parties/", {"kind": "enterprise"}).json()
    by_text = api.get("/api/v1/parties/", {"q": "hiace"}).json()
    # then
    assert (first_page["count"], len(first_page["results"])) == (56, 50)
    assert first_page["next"].endswith("/api/v1/parties/?page=2")
    assert [row["display_name"] for row in enterprises["results"]] == ["Hiace Lopes"]
    assert by_text["count"] == 1


def test_creating_a_person_normalises_and_returns_201(api, loan_officer):
    # given
    api.force_authenticate(loan_officer)
    # when
    response = api.post("/api/v1/persons/", _payload("praia"), format="json")
    # then
    assert response.status_code == 201, response.json()
    person = Person.objects.get()
    assert response.json()["id"] == person.pk
    assert (person.nif, person.phone, person.display_name) == (
        "234567890",
        "+2389876543",
        "Nilza Fortes",
    )


def test_a_duplicate_nif_is_a_400_with_the_field_named(api, loan_officer):
    # given
    make_person(loan_officer, nif="234567890")
    api.force_authenticate(loan_officer)
    # when
    response = api.post("/api/v1/persons/", _payload("praia"), format="json")
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["nif"]
    assert Person.objects.count() == 1


def test_a_malformed_nif_is_a_400(api, loan_officer):
    # given
    api.force_authenticate(loan_officer)
    # when
    response = api.post("/api/v1/persons/", _payload("praia", nif="12AB"), format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"nif": ["A NIF has exactly 9 digits."]}


def test_a_branch_outside_scope_is_a_400_and_nothing_is_created(api, loan_officer, mindelo):
    # given
    api.force_authenticate(loan_officer)
    # when
    response = api.post("/api/v1/persons/", _payload("mindelo"), format="json")
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["branch"]
    assert Party.objects.count() == 0


def test_an_auditor_reads_but_cannot_write(api, auditor, loan_officer):
    # given
    person = make_person(loan_officer)
    api.force_authenticate(auditor)
    # when
    read = api.get(f"/api/v1/persons/{person.pk}/")
    write = api.patch(f"/api/v1/persons/{person.pk}/", {"first_name": "X"}, format="json")
    create = api.post("/api/v1/persons/", _payload("praia"), format="json")
    # then
    assert (read.status_code, write.status_code, create.status_code) == (200, 403, 403)
    person.refresh_from_db()
    assert person.first_name == "Maria"
    assert Party.objects.count() == 1


def test_another_branch_gets_404_and_cannot_update(api, loan_officer, outsider):
    # given
    person = make_person(loan_officer)
    api.force_authenticate(outsider)
    # when
    read = api.get(f"/api/v1/parties/{person.pk}/")
    write = api.patch(f"/api/v1/persons/{person.pk}/", {"first_name": "X"}, format="json")
    # then
    assert (read.status_code, write.status_code) == (404, 404)
    person.refresh_from_db()
    assert person.first_name == "Maria"


def test_a_partial_update_changes_one_field_and_is_audited(api, loan_officer):
    # given
    from audit.models import AuditEvent

    enterprise = make_enterprise(loan_officer, employees=2)
    api.force_authenticate(loan_officer)
    # when
    response = api.patch(f"/api/v1/enterprises/{enterprise.pk}/", {"employees": 9}, format="json")
    # then
    assert response.status_code == 200
    assert response.json()["employees"] == 9
    event = AuditEvent.objects.get(action="enterprise.updated")
    assert (event.before, event.after) == ({"employees": 2}, {"employees": 9})


def test_the_openapi_schema_and_local_swagger_ui(client, loan_officer):
    # when
    anonymous = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    client.force_login(loan_officer)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/v1/docs/")
    # then: the API documentation is for staff
    assert anonymous.status_code in (401, 403)
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/parties/", "/api/v1/persons/", "/api/v1/enterprises/{id}/"} <= set(paths)
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
