"""Registry pulls over real HTTP against the sandboxes: connectors, pagination, retries,
timeouts, quarantine, tokens, dedupe, matching and reconciliation, source health, per-party
refresh. Real PostgreSQL, no mocks of our own code."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounting.chart import chart_install
from audit.models import AuditEvent
from compliance.choices import (
    ReconciliationReason,
    ReconciliationStatus,
    RunStatus,
    RunTrigger,
    SourceKind,
)
from compliance.ingest import party_refresh, reconciliation_resolve, source_pull
from compliance.models import QuarantinedRow, ReconciliationItem, RegistryRecord, Source
from sandbox import data
from tests.compliance.factories import make_source, monitored_loan
from tests.crm.factories import make_enterprise, make_person

AS_OF = datetime.date(2026, 10, 31)


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.COMPLIANCE_HTTP_BACKOFF = 0.01
    settings.COMPLIANCE_HTTP_TIMEOUT = 2.0
    settings.COMPLIANCE_HTTP_RETRIES = 3
    settings.COMPLIANCE_PAGE_SIZE = 500


@pytest.fixture
def inps(db, inps_sandbox, registry_tokens):
    return make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )


@pytest.fixture
def dnre(db, revenue_sandbox, registry_tokens):
    return make_source(SourceKind.REVENUE, base_url=revenue_sandbox.url, token_env="DNRE_API_TOKEN")


@pytest.fixture
def bca(db, bca_sandbox, registry_tokens):
    return make_source(
        SourceKind.BANK, base_url=bca_sandbox.url, token_env="BANK_BCA_API_TOKEN", bank_code="BCA"
    )


@pytest.fixture
def cecv(db, cecv_sandbox, registry_tokens):
    return make_source(
        SourceKind.BANK,
        base_url=cecv_sandbox.url,
        token_env="BANK_CECV_API_TOKEN",
        bank_code="CECV",
    )


@pytest.fixture
def maria(loan_officer):
    """Demo person 1 as the registries know her: NIF 100000001, social security 700001."""
    return make_person(loan_officer, nif="100000001", social_security_number="700001")


def _gets(server, path: str) -> int:
    return sum(1 for entry in server.app.log if entry["path"] == path)


def test_a_social_security_pull_follows_every_page_and_stores_each_employer(
    inps, inps_sandbox, maria, settings
):
    # given
    settings.COMPLIANCE_PAGE_SIZE = 100
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.records_received, run.records_stored, run.rows_quarantined) == (
        RunStatus.SUCCEEDED,
        415,
        415,
        0,
    )
    assert run.attempts == 5
    assert _gets(inps_sandbox, "/api/v1/contributions") == 5
    record = RegistryRecord.objects.get(party=maria)
    assert (record.nif, record.registry_number, record.as_of, record.status) == (
        "100000001",
        "700001",
        AS_OF,
        "irregular",
    )
    assert record.valid_until is None
    assert record.run == run
    assert record.data == {
        "name": "Maria Varela Tavares",
        "months_in_arrears": 3,
        "amount_due": "9000.00",
        "currency": "CVE",
        "declared_employees": 0,
        "employees": 0,
    }
    assert len(record.payload_sha256) == 64


def test_a_revenue_pull_keeps_the_certificate_and_its_validity(dnre, maria):
    # when
    run = source_pull(source=dnre, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.records_received, run.records_stored) == (RunStatus.SUCCEEDED, 411, 411)
    record = RegistryRecord.objects.get(party=maria)
    assert (record.status, record.registry_number, record.valid_until) == (
        "regular",
        "",
        datetime.date(2026, 12, 5),
    )
    assert record.data == {
        "name": "Maria Varela Tavares",
        "certificate_number": "CRT-2026-120064",
        "certificate": "CRT-2026-120064",
        "issued_on": "2026-09-06",
        "tax_debt": "0.00",
        "amount_due": "0.00",
        "currency": "CVE",
    }


@pytest.mark.parametrize(("bank", "facilities"), [("bca", 189), ("cecv", 140)], ids=["BCA", "CECV"])
def test_a_bank_pull_stores_one_record_per_facility(bank, facilities, request, maria):
    # given
    source = request.getfixturevalue(bank)
    # when
    run = source_pull(source=source, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.records_received, run.records_stored) == (
        RunStatus.SUCCEEDED,
        facilities,
        facilities,
    )
    mine = list(RegistryRecord.objects.filter(party=maria).values("registry_number", "data"))
    kept = ("bank_code", "account", "outstanding", "currency", "days_past_due")
    expected = [
        {"registry_number": row["account"], "data": {key: row[key] for key in kept}}
        for row in data.credit_facilities(source.bank_code, "100000001", AS_OF)
    ]
    assert mine == expected


def test_the_bca_facility_of_maria_reads_exactly(bca, maria):
    # when
    source_pull(source=bca, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    record = RegistryRecord.objects.get(party=maria)
    assert (record.registry_number, record.status) == ("BCA-100011", "current")
    assert record.data == {
        "bank_code": "BCA",
        "account": "BCA-100011",
        "outstanding": "216750.00",
        "currency": "CVE",
        "days_past_due": 0,
    }


def test_two_server_errors_then_success_are_retried_and_every_attempt_counted(
    inps, inps_sandbox, sandbox_faults
):
    # given
    sandbox_faults(inps_sandbox, fail_next=2, fail_status=503)
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.attempts, run.records_stored) == (RunStatus.SUCCEEDED, 3, 415)
    assert [entry["status"] for entry in inps_sandbox.app.log] == [503, 503, 200]


def test_a_429_is_retried_too(dnre, revenue_sandbox, sandbox_faults):
    # given
    sandbox_faults(revenue_sandbox, fail_next=1, fail_status=429)
    # when
    run = source_pull(source=dnre, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.attempts) == (RunStatus.SUCCEEDED, 2)


def test_a_timeout_is_retried_after_the_client_gives_up(
    inps, inps_sandbox, sandbox_faults, settings
):
    # given
    settings.COMPLIANCE_HTTP_TIMEOUT = 0.3
    sandbox_faults(inps_sandbox, timeout_next=1, timeout_seconds=1.0)
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.attempts, run.records_stored) == (RunStatus.SUCCEEDED, 2, 415)


def test_timeouts_on_every_attempt_fail_the_pull_and_keep_what_we_had(
    inps, inps_sandbox, sandbox_faults, settings, maria
):
    # given
    source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    settings.COMPLIANCE_HTTP_TIMEOUT = 0.2
    settings.COMPLIANCE_HTTP_RETRIES = 1
    sandbox_faults(inps_sandbox, timeout_next=2, timeout_seconds=0.6)
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=datetime.date(2026, 9, 30))
    # then
    assert (run.status, run.attempts, run.records_received, run.records_stored) == (
        RunStatus.FAILED,
        2,
        0,
        0,
    )
    assert run.error == (
        "The registry is unavailable: no answer within the time limit after 2 attempts."
    )
    assert RegistryRecord.objects.count() == 415
    assert list(RegistryRecord.objects.filter(party=maria).values_list("as_of", flat=True)) == [
        AS_OF
    ]


def test_malformed_records_are_quarantined_with_their_position_and_the_rest_stored(
    inps, inps_sandbox, sandbox_faults, settings
):
    # given
    settings.COMPLIANCE_PAGE_SIZE = 150
    sandbox_faults(inps_sandbox, malformed_every=100)
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.records_received, run.records_stored, run.rows_quarantined) == (
        RunStatus.PARTIAL,
        415,
        411,
        4,
    )
    rows = list(run.quarantined.values_list("row_number", "reason"))
    assert rows == [
        (100, "as_of: not a date YYYY-MM-DD ('2026-10-32')"),
        (200, "nif: missing"),
        (300, "amount_due: not an amount such as 1500.00 ('N/D')"),
        (400, "as_of: not a date YYYY-MM-DD ('2026-10-32')"),
    ]
    spoilt = data.social_security_records(AS_OF)[199]
    assert QuarantinedRow.objects.get(run=run, row_number=200).raw.startswith(
        f'{{"ssn": "{spoilt["ssn"]}", "nif": null'
    )


def test_a_wrong_token_is_refused_once_not_retried(inps, inps_sandbox, monkeypatch):
    # given
    monkeypatch.setenv("INPS_API_TOKEN", "not-the-token")
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (run.status, run.attempts) == (RunStatus.FAILED, 1)
    assert run.error == (
        "The registry refused the request (HTTP 401): missing or invalid bearer token"
    )
    assert [entry["status"] for entry in inps_sandbox.app.log] == [401]
    assert RegistryRecord.objects.count() == 0


def test_a_missing_token_fails_clearly_without_calling_the_registry(db, inps_sandbox, monkeypatch):
    # given
    monkeypatch.delenv("INPS_API_TOKEN", raising=False)
    source = make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )
    # when
    run = source_pull(source=source, trigger=RunTrigger.SCHEDULE)
    # then
    assert (run.status, run.attempts) == (RunStatus.FAILED, 0)
    assert run.error == "The token is missing: the environment variable INPS_API_TOKEN is not set."
    assert Source.objects.get(pk=source.pk).last_error == run.error
    assert inps_sandbox.app.log == []


def test_the_same_payload_pulled_again_is_stored_once(inps):
    # given
    source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # when
    again = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    assert (again.status, again.records_received, again.records_stored) == (
        RunStatus.SUCCEEDED,
        415,
        0,
    )
    assert RegistryRecord.objects.count() == 415
    assert ReconciliationItem.objects.count() == 415


def test_foreign_and_mismatched_records_wait_in_the_reconciliation_queue(
    inps, loan_officer, compliance_officer
):
    # given
    person_7 = make_person(loan_officer, nif="100000007", social_security_number="700007")
    person_11 = make_person(loan_officer, nif="100000011", social_security_number="700011")
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    by_number = {r.registry_number: r for r in RegistryRecord.objects.select_related("party")}
    assert by_number["700011"].party_id == person_11.pk
    mismatch = by_number["700007"]
    assert (mismatch.party, mismatch.nif) == (None, "100000011")
    assert (mismatch.reconciliation.reason, mismatch.reconciliation.candidates) == (
        ReconciliationReason.IDENTIFIER_MISMATCH,
        sorted([person_7.pk, person_11.pk]),
    )
    for foreign in ("700901", "700902", "800903"):
        item = by_number[foreign].reconciliation
        assert (item.reason, item.candidates, item.status) == (
            ReconciliationReason.NO_MATCH,
            [],
            ReconciliationStatus.OPEN,
        )
    assert run.records_stored == 415
    assert ReconciliationItem.objects.count() == 414  # every record but person 11's own
    assert RegistryRecord.objects.filter(party__isnull=False).count() == 1


def test_an_enterprise_is_matched_by_its_social_security_number_when_it_has_no_nif(
    inps, loan_officer
):
    # given
    shop = make_enterprise(loan_officer, social_security_number="800001")
    # when
    source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    record = RegistryRecord.objects.get(registry_number="800001")
    assert (record.party_id, record.nif) == (shop.pk, "200000001")
    assert not ReconciliationItem.objects.filter(record=record).exists()


def test_a_queued_record_is_matched_to_a_party_and_audited(inps, loan_officer, compliance_officer):
    # given
    person_7 = make_person(loan_officer, nif="100000007", social_security_number="700007")
    make_person(loan_officer, nif="100000011", social_security_number="700011")
    source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    item = ReconciliationItem.objects.get(record__registry_number="700007")
    # when
    resolved = reconciliation_resolve(actor=compliance_officer, item=item, party=person_7)
    # then
    assert (resolved.status, resolved.resolved_by) == (
        ReconciliationStatus.MATCHED,
        compliance_officer,
    )
    assert RegistryRecord.objects.get(registry_number="700007").party_id == person_7.pk
    event = AuditEvent.objects.get(action="compliance.reconciliation.matched")
    assert (event.actor, event.object_id, event.after["party"]) == (
        compliance_officer,
        str(item.pk),
        person_7.pk,
    )


def test_a_dismissed_item_cannot_be_resolved_again(inps, compliance_officer, maria):
    # given
    source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    item = ReconciliationItem.objects.get(record__registry_number="700901")
    reconciliation_resolve(actor=compliance_officer, item=item)
    # when
    with pytest.raises(ValidationError) as refusal:
        reconciliation_resolve(actor=compliance_officer, item=item, party=maria)
    # then
    assert refusal.value.message_dict == {"status": ["This item has already been resolved."]}
    assert RegistryRecord.objects.get(registry_number="700901").party is None
    assert ReconciliationItem.objects.get(pk=item.pk).status == ReconciliationStatus.DISMISSED


def test_a_loan_officer_may_not_resolve_queue_items(inps, loan_officer, maria):
    # given
    source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    item = ReconciliationItem.objects.get(record__registry_number="700901")
    # when
    with pytest.raises(PermissionDenied):
        reconciliation_resolve(actor=loan_officer, item=item, party=maria)
    # then
    assert ReconciliationItem.objects.get(pk=item.pk).status == ReconciliationStatus.OPEN


def test_a_source_is_unavailable_from_its_first_failure_until_its_next_success(
    dnre, revenue_sandbox, sandbox_faults, settings
):
    # given
    settings.COMPLIANCE_HTTP_RETRIES = 1
    ok = source_pull(source=dnre, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    sandbox_faults(revenue_sandbox, fail_next=4)
    # when
    first = source_pull(source=dnre, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    second = source_pull(source=dnre, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    down = Source.objects.get(pk=dnre.pk)
    back = source_pull(source=dnre, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    up = Source.objects.get(pk=dnre.pk)
    # then
    assert (first.status, second.status, back.status) == (
        RunStatus.FAILED,
        RunStatus.FAILED,
        RunStatus.SUCCEEDED,
    )
    assert down.unavailable_since == first.finished_at
    assert down.last_success_at == ok.finished_at
    assert down.last_pull_at == second.finished_at
    assert down.last_error == "The registry is unavailable: HTTP 500 after 2 attempts."
    assert (up.unavailable_since, up.last_error, up.last_success_at) == (None, "", back.finished_at)


def test_each_pull_leaves_one_audit_event_with_its_counts(inps):
    # when
    run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    event = AuditEvent.objects.get(action="compliance.source.pulled")
    assert event.object_id == str(run.pk)
    assert {key: event.after[key] for key in ("status", "records_received", "records_stored")} == {
        "status": "succeeded",
        "records_received": 415,
        "records_stored": 415,
    }
    assert (event.before["last_success_at"], event.after["unavailable_since"]) == (None, None)


def test_a_file_source_cannot_be_pulled(compliance_officer):
    # given
    source = make_source(SourceKind.SOCIAL_SECURITY, transport="file")
    # when
    with pytest.raises(ValidationError):
        source_pull(source=source, trigger=RunTrigger.ON_DEMAND, actor=compliance_officer)
    # then
    assert source.runs.count() == 0


def test_refreshing_a_party_asks_every_http_source_about_it(
    inps,
    dnre,
    bca,
    cecv,
    inps_sandbox,
    revenue_sandbox,
    bca_sandbox,
    cecv_sandbox,
    maria,
    compliance_officer,
):
    # given
    month_end = data.reporting_month_end(datetime.date.today())
    # when
    runs = party_refresh(actor=compliance_officer, party=maria)
    # then
    assert [(run.source, run.trigger, run.party, run.records_stored) for run in runs] == [
        (inps, RunTrigger.ON_DEMAND, maria, 1),
        (dnre, RunTrigger.ON_DEMAND, maria, 1),
        (bca, RunTrigger.ON_DEMAND, maria, 1),
        (cecv, RunTrigger.ON_DEMAND, maria, 1),  # "no facility here", stored as evidence
    ]
    assert RegistryRecord.objects.get(party=maria, source=cecv).status == "none"
    assert _gets(inps_sandbox, "/api/v1/contributions/700001") == 1
    assert _gets(revenue_sandbox, "/api/v1/tax-compliance/100000001") == 1
    assert _gets(bca_sandbox, "/api/v1/credit-status/100000001") == 1
    assert _gets(cecv_sandbox, "/api/v1/credit-status/100000001") == 1
    expected = data.employer_status("700001", month_end)
    record = RegistryRecord.objects.get(party=maria, source=inps)
    assert (record.as_of, record.status, record.data["amount_due"]) == (
        datetime.date.fromisoformat(expected["as_of"]),
        expected["status"],
        expected["amount_due"],
    )
    assert Source.objects.get(pk=inps.pk).last_pull_at is None  # the schedule is not moved


def test_refreshing_skips_sources_the_party_has_no_identifier_for(
    inps, dnre, inps_sandbox, loan_officer, compliance_officer
):
    # given
    party = make_person(loan_officer, nif="100000002")
    # when
    runs = party_refresh(actor=compliance_officer, party=party)
    # then
    assert [run.source for run in runs] == [dnre]
    assert inps_sandbox.app.log == []


def test_a_party_unknown_to_a_registry_gets_an_empty_successful_run(
    dnre, loan_officer, compliance_officer
):
    # given
    party = make_person(loan_officer, nif="199999999")
    # when
    (run,) = party_refresh(actor=compliance_officer, party=party)
    # then
    assert (run.status, run.records_received, run.attempts) == (RunStatus.SUCCEEDED, 0, 1)


def test_an_auditor_may_not_refresh(dnre, auditor, maria):
    # when
    with pytest.raises(PermissionDenied):
        party_refresh(actor=auditor, party=maria)
    # then
    assert dnre.runs.count() == 0


@pytest.fixture
def rules(praia):
    return chart_install()


def _without_facility(bank_code: str, skip: int = 0) -> str:
    """The NIF of a demo person the bank holds no facility for (deterministic data)."""
    nifs = [f"1{index:08d}" for index in range(1, 301)]
    return [nif for nif in nifs if not data.credit_facilities(bank_code, nif, AS_OF)][skip]


def test_a_bank_pull_says_no_facility_for_monitored_borrowers_absent_from_its_list(
    bca, loan_officer, branch_manager, rules
):
    # given: one borrower the bank does not know, and a person without any loan
    nif = _without_facility("BCA")
    loan = monitored_loan(loan_officer, branch_manager, rules, nif=nif)
    no_loan = make_person(loan_officer, nif=_without_facility("BCA", skip=1))
    # when
    source_pull(source=bca, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    # then
    record = RegistryRecord.objects.get(party=loan.borrower)
    assert (record.status, record.registry_number, record.as_of, record.data) == (
        "none",
        "",
        AS_OF,
        {"bank_code": "BCA"},
    )
    assert not RegistryRecord.objects.filter(party=no_loan, status="none").exists()


def test_a_bank_lookup_of_a_borrower_without_facility_is_stored_as_none(
    bca, loan_officer, compliance_officer
):
    # given
    party = make_person(loan_officer, nif=_without_facility("BCA"))
    # when
    (run,) = party_refresh(actor=compliance_officer, party=party)
    # then
    assert (run.status, run.records_stored) == (RunStatus.SUCCEEDED, 1)
    record = RegistryRecord.objects.get(party=party)
    assert (record.status, record.data["days_past_due"]) == ("none", 0)
