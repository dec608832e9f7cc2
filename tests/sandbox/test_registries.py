"""The registry sandboxes over real HTTP: auth, pagination, lookups, month files and faults."""

from __future__ import annotations

import csv
import io
import time
from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox import data

AS_OF = "2026-10-31"
INPS_LIST = "/api/v1/contributions"
DNRE_LIST = "/api/v1/tax-compliance"
BANK_LIST = "/api/v1/credit-status"


# One keep-alive client for the module: a new client per request costs ~50 ms of TLS set-up.
CLIENT = httpx.Client(timeout=5)


def get(server, path, *, token=None, timeout=5, headers=None, **params):
    token = token or server.app.token
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    return CLIENT.get(f"{server.url}{path}", params=params, headers=headers, timeout=timeout)


def read_all(server, path, **params):
    """Every record of a list endpoint, following ``next`` links; also the pages' sizes."""
    response = get(server, path, **params)
    records, sizes = [], []
    while True:
        page = response.json()
        records += page["results"]
        sizes.append(len(page["results"]))
        if page["next"] is None:
            return records, sizes
        response = CLIENT.get(page["next"], headers={"Authorization": f"Bearer {server.app.token}"})


@pytest.mark.parametrize("path", [INPS_LIST, f"{INPS_LIST}/700001", "/files/2026-10.csv"])
def test_every_registry_endpoint_needs_the_bearer_token(inps_sandbox, path):
    # when
    anonymous = CLIENT.get(f"{inps_sandbox.url}{path}")
    wrong = get(inps_sandbox, path, token="sandbox-dnre")
    right = get(inps_sandbox, path)
    # then
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "missing or invalid bearer token"}
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="sandbox"'
    assert wrong.status_code == 401
    assert right.status_code == 200


def test_a_list_page_carries_the_count_and_the_absolute_url_of_the_next_page(inps_sandbox):
    # when
    page = get(inps_sandbox, INPS_LIST, as_of=AS_OF, page_size=100).json()
    # then
    assert page["count"] == 415
    assert page["page"] == 1
    assert len(page["results"]) == 100
    next_url = urlsplit(page["next"])
    assert (
        f"{next_url.scheme}://{next_url.netloc}{next_url.path}" == f"{inps_sandbox.url}{INPS_LIST}"
    )
    assert parse_qs(next_url.query) == {"as_of": [AS_OF], "page": ["2"], "page_size": ["100"]}


def test_following_next_reads_every_record_once_and_the_last_page_has_no_next(inps_sandbox):
    # when
    records, sizes = read_all(inps_sandbox, INPS_LIST, as_of=AS_OF, page_size=150)
    # then
    assert sizes == [150, 150, 115]
    assert records == data.social_security_records(date(2026, 10, 31))
    assert [entry["query"] for entry in inps_sandbox.app.log] == [
        "as_of=2026-10-31&page_size=150",
        "as_of=2026-10-31&page_size=150&page=2",
        "as_of=2026-10-31&page_size=150&page=3",
    ]


def test_next_url_is_built_from_the_host_the_client_called(revenue_sandbox):
    # when
    page = get(revenue_sandbox, DNRE_LIST, headers={"Host": "dnre.example.cv:8443"}).json()
    # then
    assert page["next"].startswith("http://dnre.example.cv:8443/api/v1/tax-compliance?")


def test_a_page_beyond_the_last_is_empty(bca_sandbox):
    # when
    page = get(bca_sandbox, BANK_LIST, as_of=AS_OF, page=99).json()
    # then
    assert page == {"count": 189, "page": 99, "next": None, "results": []}


@pytest.mark.parametrize(
    "params", [{"page": "0"}, {"page": "two"}, {"page_size": "-5"}, {"as_of": "31/10/2026"}]
)
def test_bad_paging_or_date_is_a_400(inps_sandbox, params):
    # when
    response = get(inps_sandbox, INPS_LIST, **params)
    # then
    assert response.status_code == 400
    assert response.json()["error"].startswith("bad request")


def test_as_of_picks_the_last_month_end_on_or_before_it(revenue_sandbox):
    # when
    mid_month = get(revenue_sandbox, DNRE_LIST, as_of="2026-10-15", page_size=1).json()
    default = get(revenue_sandbox, DNRE_LIST, page_size=1).json()
    # then
    assert mid_month["results"][0]["as_of"] == "2026-09-30"
    assert default["results"][0]["as_of"] == data.reporting_month_end(date.today()).isoformat()


def test_each_employer_lookup_equals_its_list_row(inps_sandbox):
    # given
    records, _ = read_all(inps_sandbox, INPS_LIST, as_of=AS_OF, page_size=500)
    # when
    looked_up = [get(inps_sandbox, f"{INPS_LIST}/{r['ssn']}", as_of=AS_OF).json() for r in records]
    # then
    assert looked_up == records


def test_each_taxpayer_lookup_equals_its_list_row(revenue_sandbox):
    # given
    records, _ = read_all(revenue_sandbox, DNRE_LIST, as_of=AS_OF, page_size=500)
    # when
    looked_up = [
        get(revenue_sandbox, f"{DNRE_LIST}/{r['nif']}", as_of=AS_OF).json() for r in records
    ]
    # then
    assert looked_up == records


def test_a_bank_lookup_lists_every_facility_of_the_nif(cecv_sandbox):
    # given
    records, _ = read_all(cecv_sandbox, BANK_LIST, as_of=AS_OF, page_size=500)
    nifs = sorted({r["nif"] for r in records})
    # when
    looked_up = [get(cecv_sandbox, f"{BANK_LIST}/{nif}", as_of=AS_OF).json() for nif in nifs]
    # then
    assert [facility for answer in looked_up for facility in answer["facilities"]] == sorted(
        records, key=lambda r: r["nif"]
    )
    assert {answer["as_of"] for answer in looked_up} == {AS_OF}
    assert max(len(answer["facilities"]) for answer in looked_up) == 2


def test_unknown_subjects_are_404_at_the_registries_and_have_no_facility_at_a_bank(
    inps_sandbox, revenue_sandbox, bca_sandbox
):
    # given: person 26 is unknown to INPS, person 77 to DNRE, person 2 does not bank with BCA
    assert not data.is_registered("inps", "100000026")
    assert not data.is_registered("dnre", "100000077")
    assert not data.is_registered("bank-bca", "100000002")
    # when
    employer = get(inps_sandbox, f"{INPS_LIST}/700026", as_of=AS_OF)
    taxpayer = get(revenue_sandbox, f"{DNRE_LIST}/100000077", as_of=AS_OF)
    borrower = get(bca_sandbox, f"{BANK_LIST}/100000002", as_of=AS_OF)
    # then
    assert (employer.status_code, employer.json()) == (404, {"error": "unknown employer"})
    assert (taxpayer.status_code, taxpayer.json()) == (404, {"error": "unknown taxpayer"})
    assert (borrower.status_code, borrower.json()) == (
        200,
        {"nif": "100000002", "as_of": AS_OF, "facilities": []},
    )


def test_the_employer_record_with_a_clerical_error_carries_another_persons_nif(inps_sandbox):
    # when
    record = get(inps_sandbox, f"{INPS_LIST}/700007", as_of=AS_OF).json()
    # then
    assert (record["ssn"], record["nif"]) == ("700007", "100000011")


def test_the_same_question_gets_the_same_answer(bca_sandbox):
    # when
    first = get(bca_sandbox, BANK_LIST, as_of="2026-03-31", page_size=500).json()
    second = get(bca_sandbox, BANK_LIST, as_of="2026-03-31", page_size=500).json()
    # then
    assert first == second
    assert first["results"] == data.bank_records("BCA", date(2026, 3, 31))


@pytest.mark.parametrize(
    ("fixture", "fields", "records"),
    [
        ("inps_sandbox", data.SOCIAL_SECURITY_FIELDS, data.social_security_records),
        ("revenue_sandbox", data.REVENUE_FIELDS, data.revenue_records),
        ("bca_sandbox", data.BANK_FIELDS, lambda as_of: data.bank_records("BCA", as_of)),
        ("cecv_sandbox", data.BANK_FIELDS, lambda as_of: data.bank_records("CECV", as_of)),
    ],
)
def test_the_month_file_holds_the_same_records_as_the_api(request, fixture, fields, records):
    # given
    server = request.getfixturevalue(fixture)
    path = {"inps": INPS_LIST, "dnre": DNRE_LIST}.get(server.app.name, BANK_LIST)
    api_records, _ = read_all(server, path, as_of="2026-02-28", page_size=500)
    # when
    response = get(server, "/files/2026-02.csv")
    # then
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == fields
    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in api_records]
    assert rows == as_text
    assert api_records == records(date(2026, 2, 28))


def test_a_month_file_of_an_impossible_month_is_a_400(inps_sandbox):
    # when
    response = get(inps_sandbox, "/files/2026-13.csv")
    # then
    assert response.status_code == 400


def test_latency_fault_delays_every_answer(inps_sandbox, sandbox_faults):
    # given
    sandbox_faults(inps_sandbox, latency_ms=300)
    # when
    started = time.monotonic()
    response = get(inps_sandbox, f"{INPS_LIST}/700001")
    # then
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fail_next_fails_that_many_requests_then_the_registry_answers(
    revenue_sandbox, sandbox_faults
):
    # given
    sandbox_faults(revenue_sandbox, fail_next=2, fail_status=503)
    # when
    statuses = [get(revenue_sandbox, f"{DNRE_LIST}/100000001").status_code for _ in range(3)]
    # then
    assert statuses == [503, 503, 200]
    assert [entry["status"] for entry in revenue_sandbox.app.log] == [503, 503, 200]


def test_timeout_next_holds_a_request_unanswered_before_the_next_faults_apply(
    cecv_sandbox, sandbox_faults
):
    # given
    sandbox_faults(cecv_sandbox, timeout_next=1, timeout_seconds=1, fail_next=1)
    # when
    with pytest.raises(httpx.ReadTimeout):
        get(cecv_sandbox, f"{BANK_LIST}/100000001", timeout=0.3)
    answers = [get(cecv_sandbox, f"{BANK_LIST}/100000001").status_code for _ in range(2)]
    # then
    assert answers == [500, 200]
    assert [entry["status"] for entry in cecv_sandbox.app.log] == [0, 500, 200]


def test_malformed_every_spoils_every_nth_list_row_in_rotation(inps_sandbox, sandbox_faults):
    # given
    clean = data.social_security_records(date(2026, 10, 31))[:13]
    sandbox_faults(inps_sandbox, malformed_every=4)
    # when
    rows = get(inps_sandbox, INPS_LIST, as_of=AS_OF, page_size=13).json()["results"]
    file_rows = list(csv.DictReader(io.StringIO(get(inps_sandbox, "/files/2026-10.csv").text)))
    lookup = get(inps_sandbox, f"{INPS_LIST}/{clean[3]['ssn']}", as_of=AS_OF).json()
    # then
    assert rows[3] == clean[3] | {"as_of": "2026-10-32"}
    assert rows[7] == clean[7] | {"nif": None}
    assert rows[11] == clean[11] | {"amount_due": "N/D"}
    assert [rows[i] for i in (0, 1, 2, 4, 5, 6, 8, 9, 10, 12)] == [
        clean[i] for i in (0, 1, 2, 4, 5, 6, 8, 9, 10, 12)
    ]
    assert [file_rows[i]["as_of"] for i in (3, 4)] == ["2026-10-32", AS_OF]
    assert (file_rows[7]["nif"], file_rows[11]["amount_due"]) == ("", "N/D")
    assert lookup == clean[3]


def test_malformed_rows_keep_their_place_whatever_the_page_size(bca_sandbox, sandbox_faults):
    # given
    sandbox_faults(bca_sandbox, malformed_every=5)
    # when
    second_page = get(bca_sandbox, BANK_LIST, as_of=AS_OF, page_size=3, page=2).json()["results"]
    # then: rows 4, 5, 6 of the list; the 5th is the first spoilt (an impossible date)
    assert [row["as_of"] for row in second_page] == [AS_OF, "2026-10-32", AS_OF]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "faults must be a JSON object"),
        (b"[1]", "faults must be a JSON object"),
        (b'{"latency": 100}', "unknown faults: ['latency']"),
    ],
)
def test_bad_faults_are_refused_and_leave_the_faults_as_they_were(
    inps_sandbox, sandbox_faults, body, message
):
    # given
    sandbox_faults(inps_sandbox, latency_ms=5)
    # when
    response = CLIENT.put(f"{inps_sandbox.url}/_sandbox/faults", content=body)
    # then
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert CLIENT.get(f"{inps_sandbox.url}/_sandbox/faults").json()["latency_ms"] == 5
