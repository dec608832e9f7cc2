"""Regression tests for the classes of bug the API fuzzing found: each answered 5xx or an HTML page.

Every error the API gives is JSON with an exact message: a path id that is not an integer, an
unknown currency, a NUL character in a query parameter, a URL under ``/api/`` that matches no route,
a request with too many form fields.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import Person
from mfi.api import server_error

NOT_FOUND = {"detail": "Not found."}
NUL_REFUSED = ["Null characters are not allowed."]


@pytest.fixture
def api(administrator):
    """An API client authenticated with a token, as integrations are."""
    client = APIClient()
    token = Token.objects.create(user=administrator)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/p2p/publications/abc/"),
        ("get", "/api/v1/p2p/publications/99999999999999999999/"),
        ("post", "/api/v1/p2p/publications/true/validate/"),
        ("get", "/api/v1/p2p/journals/null,null/"),
        ("post", "/api/v1/p2p/journals/AAA/approve/"),
        ("get", "/api/v1/compliance/cases/null/"),
        ("post", "/api/v1/compliance/cases/-1/close/"),
        ("post", "/api/v1/compliance/reconciliation-items/true/resolve/"),
    ],
)
def test_an_object_id_that_is_not_an_integer_is_a_json_404(api, method, path):
    # when
    response = getattr(api, method)(path, {}, format="json")

    # then
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    "path", ["/api/v1/loans/portfolio-quality/", "/api/v1/accounting/reconciliation/loans/"]
)
def test_an_unknown_currency_is_a_400_naming_the_parameter(api, path):
    # when
    response = api.get(path, {"currency": "00"})

    # then
    assert response.status_code == 400
    assert response.json() == {"currency": ['"00" is not a valid choice.']}


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/p2p/publications/", "platform"),
        ("/api/v1/p2p/publications/", "q"),
        ("/api/v1/p2p/eligible-loans/", "platform"),
        ("/api/v1/p2p/journals/", "platform"),
        ("/api/v1/p2p/journals/", "status"),
        ("/api/v1/p2p/reports/", "platform"),
    ],
)
def test_a_nul_character_in_a_query_parameter_is_a_400(api, path, parameter):
    # when
    response = api.get(path, {parameter: "kiva\x00"})

    # then
    assert response.status_code == 400
    assert response.json() == {parameter: NUL_REFUSED}


def test_a_nul_character_in_a_body_string_is_a_400_and_nothing_is_created(api, praia):
    # when
    response = api.post(
        "/api/v1/persons/",
        {"first_name": "Ma\x00ria", "last_name": "Tavares", "gender": "female", "branch": "praia"},
        format="json",
    )

    # then
    assert response.status_code == 400
    assert response.json()["first_name"] == NUL_REFUSED
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/coaching/engagements/0.5/",  # the router's id pattern refuses a dot
        "/api/v1/parties/a%2Fb/",  # an encoded slash
        "/api/v1/no-such-resource/",
    ],
)
def test_an_api_url_that_matches_no_route_is_a_json_404(api, path):
    # when
    response = api.get(path)

    # then
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_a_site_url_that_matches_no_route_keeps_the_html_404_page(client):
    # when
    response = client.get("/no-such-page/")

    # then
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"


def test_too_many_form_fields_is_a_json_400_and_nothing_is_created(api, praia, settings):
    # given
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"field{number}": "x" for number in range(11)}

    # when
    response = api.post("/api/v1/persons/", fields)

    # then
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request could not be read: The number of GET/POST parameters exceeded "
        "settings.DATA_UPLOAD_MAX_NUMBER_FIELDS."
    }
    assert Person.objects.count() == 0


def test_a_server_error_under_the_api_is_json():
    # when
    response = server_error(RequestFactory().get("/api/v1/loans/"))

    # then
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.content == b'{"detail": "Server error."}'
