"""Screens of the registry sources: health badges, runs, uploads, quarantined rows, the
reconciliation queue and a party's registry panel; permissions and query counts."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.choices import ReconciliationStatus, RunStatus, RunTrigger, SourceKind, Transport
from compliance.ingest import file_ingest, source_pull
from compliance.models import ReconciliationItem, RegistryRecord, Source, SourceRun
from tests.compliance.factories import make_source
from tests.crm.factories import make_person

HEADER = "ssn,nif,name,as_of,status,months_in_arrears,amount_due,currency,declared_employees\n"
ROWS = (
    "700001,100000001,Maria Varela Tavares,2026-10-31,irregular,3,9000.00,CVE,0\n"
    "700901,100000901,Estrangeira,2026-10-31,regular,0,0.00,CVE,3\n"
    "700002,1234,Ana Lopes,2026-10-31,regular,0,0.00,CVE,1\n"
)
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.COMPLIANCE_HTTP_BACKOFF = 0.01
    settings.COMPLIANCE_HTTP_RETRIES = 0
    settings.COMPLIANCE_HTTP_TIMEOUT = 1.0


@pytest.fixture
def inps_files(db):
    return make_source(
        SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-files", name="INPS files"
    )


@pytest.fixture
def maria(loan_officer):
    return make_person(loan_officer, nif="100000001", social_security_number="700001")


@pytest.fixture
def ingested(inps_files, maria):
    """A file with Maria's record, a foreign employer's (queued) and a bad row (line 4)."""
    upload = SimpleUploadedFile("2026-10.csv", (HEADER + ROWS).encode())
    return file_ingest(source=inps_files, path_or_file=upload, trigger=RunTrigger.UPLOAD)


def _csv(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_the_source_list_shows_health_and_counts_in_a_fixed_number_of_queries(
    client, compliance_officer, ingested, registry_tokens, django_assert_max_num_queries
):
    # given
    for number in range(5):
        make_source(SourceKind.BANK, bank_code=f"B{number}", base_url=UNREACHABLE)
    down = make_source(SourceKind.REVENUE, base_url=UNREACHABLE, token_env="DNRE_API_TOKEN")
    failed = source_pull(source=down, trigger=RunTrigger.SCHEDULE)
    client.force_login(compliance_officer)
    # when
    with django_assert_max_num_queries(10):
        response = client.get("/compliance/sources/")
    # then
    assert response.status_code == 200
    assert len(response.context["sources"]) == 7
    html = response.content.decode()
    down = Source.objects.get(pk=down.pk)
    assert f"Source unavailable since {down.unavailable_since:%d/%m/%Y}" in html
    assert failed.error in html
    assert failed.error.startswith("The registry is unavailable: connection failed")
    files = next(s for s in response.context["sources"] if s.pk == ingested.source_id)
    assert (files.records_this_month, files.open_items, files.fresh) == (2, 1, True)


def test_the_unavailable_badge_goes_away_after_a_successful_pull(
    client, compliance_officer, inps_sandbox, registry_tokens
):
    # given
    source = make_source(
        SourceKind.SOCIAL_SECURITY, base_url=UNREACHABLE, token_env="INPS_API_TOKEN"
    )
    source_pull(source=source, trigger=RunTrigger.SCHEDULE)
    Source.objects.filter(pk=source.pk).update(base_url=inps_sandbox.url)
    source.refresh_from_db()
    source_pull(source=source, trigger=RunTrigger.SCHEDULE)
    client.force_login(compliance_officer)
    # when
    response = client.get(f"/compliance/sources/{source.pk}/")
    # then
    assert b"Source unavailable since" not in response.content
    assert b'data-testid="fresh"' in response.content


@pytest.mark.parametrize("persona", ["field_agent", "service_desk", "coach"])
def test_roles_without_compliance_reading_get_403(client, persona, request, ingested):
    # given
    client.force_login(request.getfixturevalue(persona))
    # when
    pages = [
        "/compliance/sources/",
        f"/compliance/sources/{ingested.source_id}/",
        f"/compliance/sources/runs/{ingested.pk}/",
        "/compliance/reconciliation/",
    ]
    # then
    assert [client.get(page).status_code for page in pages] == [403, 403, 403, 403]


@pytest.mark.parametrize("persona", ["loan_officer", "auditor"])
def test_readers_without_manage_cannot_pull_upload_or_resolve(client, persona, request, ingested):
    # given
    client.force_login(request.getfixturevalue(persona))
    item = ReconciliationItem.objects.get()
    # when
    detail = client.get(f"/compliance/sources/{ingested.source_id}/")
    upload = client.post(
        f"/compliance/sources/{ingested.source_id}/upload/", {"file": _csv("x.csv", HEADER)}
    )
    pull = client.post(f"/compliance/sources/{ingested.source_id}/pull/")
    resolve = client.post(f"/compliance/reconciliation/{item.pk}/", {"decision": "dismiss"})
    # then
    assert detail.status_code == 200
    assert b'data-testid="upload-form"' not in detail.content
    assert (upload.status_code, pull.status_code, resolve.status_code) == (403, 403, 403)
    assert SourceRun.objects.count() == 1
    assert ReconciliationItem.objects.get().status == ReconciliationStatus.OPEN


def test_a_compliance_officer_uploads_a_file_and_sees_its_quarantined_rows(
    client, compliance_officer, inps_files, maria
):
    # given
    client.force_login(compliance_officer)
    # when
    response = client.post(
        f"/compliance/sources/{inps_files.pk}/upload/", {"file": _csv("2026-10.csv", HEADER + ROWS)}
    )
    # then
    run = SourceRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/compliance/sources/runs/{run.pk}/"
    assert (run.status, run.records_stored, run.rows_quarantined, run.triggered_by) == (
        RunStatus.PARTIAL,
        2,
        1,
        compliance_officer,
    )
    page = client.get(response["Location"])
    rows = list(page.context["page"].object_list)
    assert [(row.row_number, row.reason) for row in rows] == [
        (4, "nif: not a NIF of 9 digits ('1234')")
    ]
    assert b"700002,1234,Ana Lopes" in page.content


def test_uploading_the_same_file_again_is_refused_on_the_form(client, compliance_officer, ingested):
    # given
    client.force_login(compliance_officer)
    # when
    response = client.post(
        f"/compliance/sources/{ingested.source_id}/upload/",
        {"file": _csv("again.csv", HEADER + ROWS)},
    )
    # then
    assert response.status_code == 400
    assert (
        response.context["upload_form"]
        .errors["file"][0]
        .startswith("This file was already ingested on")
    )
    assert SourceRun.objects.count() == 1


def test_a_file_that_is_not_csv_is_refused_before_any_run(client, compliance_officer, inps_files):
    # given
    client.force_login(compliance_officer)
    # when
    response = client.post(
        f"/compliance/sources/{inps_files.pk}/upload/",
        {"file": SimpleUploadedFile("scan.pdf", b"%PDF-1.4\x00\x01")},
    )
    # then
    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"] == [
        "Upload the registry's CSV file (a text file ending in .csv)."
    ]
    assert SourceRun.objects.count() == 0


def test_branch_staff_see_run_counts_but_not_raw_registry_rows(client, branch_manager, ingested):
    # given
    client.force_login(branch_manager)
    # when
    response = client.get(f"/compliance/sources/runs/{ingested.pk}/")
    # then
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert b"Ana Lopes" not in response.content


def test_pull_now_runs_the_pull_through_the_task(
    client, compliance_officer, inps_sandbox, registry_tokens, django_capture_on_commit_callbacks
):
    # given
    source = make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )
    client.force_login(compliance_officer)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/compliance/sources/{source.pk}/pull/", {"as_of": "2026-11-05"})
    # then
    run = SourceRun.objects.get()
    assert response.status_code == 302
    assert (run.trigger, run.triggered_by, run.records_stored) == (
        RunTrigger.ON_DEMAND,
        compliance_officer,
        415,
    )
    assert set(RegistryRecord.objects.values_list("as_of", flat=True)) == {
        datetime.date(2026, 10, 31)
    }


def test_the_reconciliation_queue_lists_items_with_candidates_in_fixed_queries(
    client, compliance_officer, inps_files, loan_officer, django_assert_max_num_queries
):
    # given
    make_person(loan_officer, nif="100000007", social_security_number="700007")
    make_person(loan_officer, nif="100000011", social_security_number="700011")
    lines = "".join(
        f"{800000 + n},2{n:08d},Empresa {n},2026-10-31,regular,0,0.00,CVE,1\n" for n in range(1, 21)
    )
    mismatch = "700007,100000011,Carlos,2026-10-31,irregular,4,12000.00,CVE,0\n"
    file_ingest(
        source=inps_files,
        path_or_file=_csv("f.csv", HEADER + lines + mismatch),
        trigger=RunTrigger.UPLOAD,
    )
    client.force_login(compliance_officer)
    # when
    with django_assert_max_num_queries(10):
        response = client.get("/compliance/reconciliation/")
    # then
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 21
    assert b"NIF and registry number point to different parties" in response.content


def test_a_branch_user_sees_no_queue(client, branch_manager, ingested):
    # given
    client.force_login(branch_manager)
    # when
    response = client.get("/compliance/reconciliation/")
    # then
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    assert b"Estrangeira" not in response.content


def test_a_queued_record_is_matched_to_a_party_found_by_search(
    client, compliance_officer, ingested, loan_officer
):
    # given
    foreign = make_person(loan_officer, first_name="Estrela", last_name="Fortes")
    item = ReconciliationItem.objects.get()
    client.force_login(compliance_officer)
    # when
    found = client.get(f"/compliance/reconciliation/{item.pk}/", {"q": "Estrela"})
    response = client.post(
        f"/compliance/reconciliation/{item.pk}/", {"decision": "match", "party": foreign.pk}
    )
    # then
    assert [party.pk for party in found.context["found"]] == [foreign.pk]
    assert response.status_code == 302
    assert RegistryRecord.objects.get(registry_number="700901").party_id == foreign.pk
    assert ReconciliationItem.objects.get().status == ReconciliationStatus.MATCHED


def test_matching_without_a_party_is_a_form_error(client, compliance_officer, ingested):
    # given
    item = ReconciliationItem.objects.get()
    client.force_login(compliance_officer)
    # when
    response = client.post(f"/compliance/reconciliation/{item.pk}/", {"decision": "match"})
    # then
    assert response.status_code == 400
    assert response.context["form"].errors["party"] == ["Choose the party this record belongs to."]
    assert ReconciliationItem.objects.get().status == ReconciliationStatus.OPEN


def test_the_party_panel_shows_the_latest_record_and_history(client, loan_officer, maria, ingested):
    # given
    client.force_login(loan_officer)
    # when
    response = client.get(f"/compliance/party/{maria.pk}/registries/")
    # then
    assert response.status_code == 200
    (latest,) = response.context["latest"]
    assert (latest.status, latest.data["amount_due"]) == ("irregular", "9000.00")
    assert [record.pk for record in response.context["history"]] == [latest.pk]
    assert b'data-testid="refresh-form"' not in response.content


def test_the_party_panel_of_another_branch_is_404_and_field_agents_get_403(
    client, outsider, field_agent, maria, ingested
):
    # when
    client.force_login(outsider)
    other_branch = client.get(f"/compliance/party/{maria.pk}/registries/")
    refresh_other = client.post(f"/compliance/party/{maria.pk}/registries/refresh/")
    client.force_login(field_agent)
    agent = client.get(f"/compliance/party/{maria.pk}/registries/")
    # then
    assert (other_branch.status_code, refresh_other.status_code, agent.status_code) == (
        404,
        403,
        403,
    )


def test_refresh_now_asks_the_registries_through_the_task(
    client, branch_manager, maria, inps_sandbox, registry_tokens, django_capture_on_commit_callbacks
):
    # given
    source = make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )
    client.force_login(branch_manager)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/compliance/party/{maria.pk}/registries/refresh/")
    # then
    assert response.status_code == 302
    run = SourceRun.objects.get(source=source)
    assert (run.party_id, run.triggered_by, run.records_stored) == (maria.pk, branch_manager, 1)
    assert RegistryRecord.objects.get().party_id == maria.pk


def test_an_outsider_cannot_refresh_a_party_of_another_branch(
    client, maria, db, head_office, mindelo, django_capture_on_commit_callbacks
):
    # given
    from tests.factories import UserFactory
    from users.roles import Role

    mindelo_manager = UserFactory(role=Role.BRANCH_MANAGER, branch=mindelo)
    client.force_login(mindelo_manager)
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/compliance/party/{maria.pk}/registries/refresh/")
    # then
    assert response.status_code == 404
    assert callbacks == []
    assert SourceRun.objects.count() == 0
