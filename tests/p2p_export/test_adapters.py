"""The Kiva-compatible adapter against the sandbox over real HTTP: token cache and refresh,
retries of transient errors only, lookup before create, repayment batches of at most 300."""

from __future__ import annotations

import base64
import time
from decimal import Decimal

import httpx
import pytest

from p2p_export.http import TransientError
from p2p_export.platforms.base import PlatformRefused, PlatformValidationError, RepaymentLine
from p2p_export.platforms.kiva import KivaAdapter
from sandbox import kiva
from sandbox.core import RunningServer
from tests.p2p_export.conftest import inject, sandbox_log, sandbox_state
from tests.p2p_export.factories import STORY, jpeg_bytes, make_platform

pytestmark = pytest.mark.django_db


def draft(internal_loan_id: str = "L0000001", **overrides) -> dict:
    body = {
        "internal_loan_id": internal_loan_id,
        "internal_client_id": "501",
        "activity_id": 25,
        "theme_type_id": None,
        "location": "Praia, Santiago",
        "description": STORY,
        "description_language": "en",
        "loanuse": "to buy stock in bulk",
        "currency": "CVE",
        "disburse_time": "2026-11-13T00:00:00Z",
        "client_waiver_signed": True,
        "image_encoded": base64.b64encode(jpeg_bytes()).decode(),
        "borrowers": [
            {
                "first_name": "Maria",
                "last_name": "Tavares",
                "gender": "female",
                "is_primary": True,
                "client_id": "501",
                "loan_id": internal_loan_id,
                "amount": "1000.00",
            }
        ],
        "schedule": [
            {"date": "2026-12-13", "principal": "600.00", "interest": "20.00"},
            {"date": "2027-01-13", "principal": "400.00", "interest": "8.00"},
        ],
        "not_pictured": [],
    }
    body.update(overrides)
    return body


def paths(server, method: str = "", path: str = "") -> list[tuple[str, str, int]]:
    return [
        (row["method"], row["path"], row["status"])
        for row in sandbox_log(server)
        if (not method or row["method"] == method) and path in row["path"]
    ]


@pytest.fixture
def adapter(kiva_server):
    return KivaAdapter(make_platform())


def test_token_is_fetched_once_and_reused(adapter, kiva_server):
    # when
    adapter.lookups()
    adapter.find_loan("L0000001")

    # then
    assert paths(kiva_server, "POST", "/oauth/token") == [("POST", "/oauth/token", 200)]
    assert len(paths(kiva_server, "GET", "/v3/partner/77/")) == 5


def test_token_refreshed_when_the_api_answers_401(adapter, kiva_server):
    # given
    adapter.find_loan("L0000001")
    httpx.post(f"{kiva_server.url}/sandbox/expire-tokens", timeout=5)
    httpx.delete(f"{kiva_server.url}/_sandbox/requests", timeout=5)

    # when
    found = adapter.find_loan("L0000001")

    # then
    assert found is None
    assert paths(kiva_server) == [
        ("GET", "/v3/partner/77/loans", 401),
        ("POST", "/oauth/token", 200),
        ("GET", "/v3/partner/77/loans", 200),
    ]


def test_token_refreshed_shortly_before_it_expires(settings, db):
    # given a token that lives 3 s: it is used for 2 s only (a tenth of its life, at least 1 s)
    server = RunningServer(kiva.build_app(token_ttl=3)).start()
    try:
        settings.KIVA_API_BASE_URL = server.url
        settings.KIVA_AUTH_URL = f"{server.url}/oauth/token"
        settings.KIVA_CLIENT_ID, settings.KIVA_CLIENT_SECRET = kiva.CLIENT_ID, kiva.CLIENT_SECRET
        settings.KIVA_PARTNER_ID = "77"
        adapter = KivaAdapter(make_platform())
        adapter.find_loan("L0000001")

        # when
        time.sleep(2.2)
        adapter.find_loan("L0000001")

        # then: a new token, and the API never had to refuse an expired one
        assert paths(server) == [
            ("POST", "/oauth/token", 200),
            ("GET", "/v3/partner/77/loans", 200),
            ("POST", "/oauth/token", 200),
            ("GET", "/v3/partner/77/loans", 200),
        ]
    finally:
        server.stop()


def test_wrong_credentials_are_refused_without_retry(adapter, kiva_server, settings):
    # given
    settings.KIVA_CLIENT_SECRET = "wrong"

    # when / then
    with pytest.raises(PlatformRefused, match=r"refused our credentials \(HTTP 401\)"):
        adapter.lookups()
    assert paths(kiva_server) == [("POST", "/oauth/token", 401)]


def test_transient_errors_are_retried_then_succeed(adapter, kiva_server):
    # given
    adapter.find_loan("L0000001")
    httpx.delete(f"{kiva_server.url}/_sandbox/requests", timeout=5)
    inject(kiva_server, fail_next=2, fail_status=503)

    # when
    found = adapter.find_loan("L0000001")

    # then
    assert found is None
    assert [status for _m, _p, status in paths(kiva_server)] == [503, 503, 200]


def test_a_timeout_is_retried(adapter, kiva_server, settings):
    # given
    adapter.find_loan("L0000001")
    inject(kiva_server, timeout_next=1, timeout_seconds=3)

    # when
    found = adapter.find_loan("L0000001")

    # then
    assert found is None
    assert [status for _m, _p, status in paths(kiva_server, "GET")][-2:] == [0, 200]


def test_transient_error_raised_when_every_retry_fails(adapter, kiva_server):
    # given
    adapter.find_loan("L0000001")
    inject(kiva_server, fail_next=3, fail_status=502)

    # when / then
    with pytest.raises(TransientError, match="HTTP 502"):
        adapter.find_loan("L0000001")


def test_validation_errors_are_not_retried_and_keyed_by_our_fields(adapter, kiva_server):
    # given
    body = draft(description="Too short.", currency="GBP", group_name="Tavares family")

    # when
    with pytest.raises(PlatformValidationError) as caught:
        adapter.push_draft(internal_loan_id="L0000001", payload=body)

    # then
    assert caught.value.errors == {
        "story": ["The description must be at least 150 characters."],
        "currency": ["This currency is not supported."],
        "group_name": ["group_name is only allowed on group loans."],
    }
    assert paths(kiva_server, "POST", "loan_draft") == [("POST", "/v3/partner/77/loan_draft", 400)]


def test_an_existing_draft_is_found_instead_of_created_again(adapter, kiva_server):
    # given
    first = adapter.push_draft(internal_loan_id="L0000001", payload=draft())

    # when
    second = adapter.push_draft(internal_loan_id="L0000001", payload=draft())

    # then
    assert (first.found_existing, second.found_existing) == (False, True)
    assert second.remote.draft_id == first.remote.draft_id
    assert len(sandbox_state(kiva_server)["drafts"]) == 1
    assert len(paths(kiva_server, "POST", "loan_draft")) == 1


def test_repayments_go_in_batches_of_at_most_300(adapter, kiva_server):
    # given a published loan
    adapter.push_draft(internal_loan_id="L0000001", payload=draft())
    httpx.put(f"{kiva_server.url}/sandbox/loans/L0000001", json={"status": "payingBack"}, timeout=5)
    loan_id = adapter.find_loan("L0000001").loan_id
    lines = [RepaymentLine(loan_id, "501", Decimal("1.00")) for _ in range(650)]

    # when
    result = adapter.send_repayments(lines, key="repayments:test")

    # then
    assert len(result.references) == 3
    batches = sandbox_state(kiva_server)["repayment_batches"]
    assert [batch["count"] for batch in batches] == [300, 300, 50]


def test_the_sandbox_refuses_more_than_300_repayments_in_one_call(adapter, kiva_server):
    # given
    token = adapter._token()
    rows = [{"loan_id": "1", "client_id": "1", "amount": "1.00"}] * 301

    # when
    response = httpx.post(
        f"{kiva_server.url}/v3/partner/77/repayments",
        json={"repayments": rows},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "repayments", "message": "At most 300 repayments per call."}
    ]


def test_a_repeated_send_with_the_same_key_is_recorded_once(adapter, kiva_server):
    # given
    adapter.push_draft(internal_loan_id="L0000001", payload=draft())
    httpx.put(f"{kiva_server.url}/sandbox/loans/L0000001", json={"status": "payingBack"}, timeout=5)
    loan_id = adapter.find_loan("L0000001").loan_id
    lines = [RepaymentLine(loan_id, "501", Decimal("11.50"))]

    # when
    adapter.send_repayments(lines, key="repayments:kiva:2026-10:CVE")
    adapter.send_repayments(lines, key="repayments:kiva:2026-10:CVE")

    # then
    assert len(sandbox_state(kiva_server)["repayment_batches"]) == 1


def test_lookups_come_from_the_platform(adapter):
    # when
    entries = adapter.lookups()

    # then
    kinds = {entry.kind for entry in entries}
    assert kinds == {"activity", "theme", "location", "locale"}
    assert ("location", "238", "Praia, Santiago") in {
        (e.kind, e.external_id, e.name) for e in entries
    }
    assert len(entries) == 12 + 3 + 6 + 4
