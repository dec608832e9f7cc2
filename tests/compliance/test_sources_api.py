"""The sources API: sources, pull now, file upload, runs with quarantined rows, scoped registry
records with their filters, and the reconciliation queue."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from compliance.choices import ReconciliationStatus, RunTrigger, SourceKind, Transport
from compliance.ingest import file_ingest
from compliance.models import ReconciliationItem, RegistryRecord, SourceRun
from tests.compliance.factories import make_source
from tests.crm.factories import make_person

API = "/api/v1/compliance/"
HEADER = "ssn,nif,name,as_of,status,months_in_arrears,amount_due,currency,declared_employees\n"
OCTOBER = (
    "700001,100000001,Maria,2026-10-31,irregular,3,9000.00,CVE,0\n"
    "700002,100000002,Ana,2026-10-31,regular,0,0.00,CVE,1\n"
    "700901,100000901,Estrangeira,2026-10-31,regular,0,0.00,CVE,3\n"
    "700003,12,Bad,2026-10-31,regular,0,0.00,CVE,1\n"
)
SEPTEMBER = "700001,100000001,Maria,2026-09-30,regular,0,0.00,CVE,0\n"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def inps_files(db):
    return make_source(SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-files")


@pytest.fixture
def parties(loan_officer, outsider):
    """Maria in Praia, Ana in Mindelo."""
    return (
        make_person(loan_officer, nif="100000001", social_security_number="700001"),
        make_person(outsider, nif="100000002", social_security_number="700002"),
    )


@pytest.fixture
def run(inps_files, parties):
    file_ingest(
        source=inps_files,
        path_or_file=SimpleUploadedFile("09.csv", (HEADER + SEPTEMBER).encode()),
        trigger=RunTrigger.UPLOAD,
    )
    return file_ingest(
        source=inps_files,
        path_or_file=SimpleUploadedFile("10.csv", (HEADER + OCTOBER).encode()),
        trigger=RunTrigger.UPLOAD,
    )


def test_sources_are_listed_with_their_health(api, loan_officer, inps_files):
    # given
    api.force_authenticate(loan_officer)
    # when
    response = api.get(f"{API}sources/")
    # then
    assert response.status_code == 200
    assert [
        (s["code"], s["transport"], s["fresh"], s["unavailable_since"]) for s in response.json()
    ] == [("inps-files", "file", False, None)]


def test_a_file_is_uploaded_through_the_api(api, compliance_officer, inps_files, parties):
    # given
    api.force_authenticate(compliance_officer)
    upload = SimpleUploadedFile("10.csv", (HEADER + OCTOBER).encode(), content_type="text/csv")
    # when
    response = api.post(
        f"{API}sources/{inps_files.pk}/upload/", {"file": upload}, format="multipart"
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["records_received"], body["records_stored"]) == ("partial", 4, 3)
    assert (body["rows_quarantined"], body["file_name"], body["trigger"]) == (1, "10.csv", "upload")


def test_a_duplicate_file_is_a_400_with_the_reason(api, compliance_officer, run):
    # given
    api.force_authenticate(compliance_officer)
    upload = SimpleUploadedFile("copy.csv", (HEADER + OCTOBER).encode(), content_type="text/csv")
    # when
    response = api.post(
        f"{API}sources/{run.source_id}/upload/", {"file": upload}, format="multipart"
    )
    # then
    assert response.status_code == 400
    assert response.json()["file"][0].startswith("This file was already ingested on")
    assert SourceRun.objects.count() == 2


def test_a_loan_officer_may_not_upload_or_pull(api, loan_officer, inps_files):
    # given
    api.force_authenticate(loan_officer)
    upload = SimpleUploadedFile("10.csv", (HEADER + OCTOBER).encode(), content_type="text/csv")
    # when
    uploaded = api.post(
        f"{API}sources/{inps_files.pk}/upload/", {"file": upload}, format="multipart"
    )
    pulled = api.post(f"{API}sources/{inps_files.pk}/pull/", {}, format="json")
    # then
    assert (uploaded.status_code, pulled.status_code) == (403, 403)
    assert SourceRun.objects.count() == 0


def test_pull_now_answers_with_the_run(api, compliance_officer, inps_sandbox, registry_tokens):
    # given
    source = make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )
    api.force_authenticate(compliance_officer)
    # when
    response = api.post(f"{API}sources/{source.pk}/pull/", {"as_of": "2026-10-31"}, format="json")
    # then
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["records_stored"]) == ("succeeded", 415)
    assert response.json()["triggered_by"] == compliance_officer.pk


def test_pulling_a_file_source_is_a_400(api, compliance_officer, inps_files):
    # given
    api.force_authenticate(compliance_officer)
    # when
    response = api.post(f"{API}sources/{inps_files.pk}/pull/", {}, format="json")
    # then
    assert response.status_code == 400
    assert response.json() == {"source": ["This source delivers files; upload a file instead."]}


def test_a_run_shows_its_quarantined_rows_to_head_office_only(
    api, compliance_officer, branch_manager, run
):
    # when
    api.force_authenticate(compliance_officer)
    head_office = api.get(f"{API}source-runs/{run.pk}/").json()
    api.force_authenticate(branch_manager)
    branch = api.get(f"{API}source-runs/{run.pk}/").json()
    # then
    assert head_office["quarantined_rows"] == [
        {
            "row_number": 5,
            "raw": "700003,12,Bad,2026-10-31,regular,0,0.00,CVE,1",
            "reason": "nif: not a NIF of 9 digits ('12')",
            "is_resolved": False,
        }
    ]
    assert (branch["rows_quarantined"], branch["quarantined_rows"]) == (1, [])


def test_records_are_scoped_to_the_branch_and_filtered(
    api, loan_officer, outsider, compliance_officer, parties, run, django_assert_max_num_queries
):
    # given
    maria, ana = parties
    # when
    api.force_authenticate(loan_officer)
    with django_assert_max_num_queries(6):
        praia = api.get(f"{API}registry-records/").json()
    api.force_authenticate(outsider)
    mindelo = api.get(f"{API}registry-records/", {"party": maria.pk}).json()
    api.force_authenticate(compliance_officer)
    everything = api.get(f"{API}registry-records/").json()
    october = api.get(
        f"{API}registry-records/", {"nif": "100000001", "as_of_after": "2026-10-01"}
    ).json()
    by_source = api.get(
        f"{API}registry-records/", {"source": run.source_id, "as_of_before": "2026-09-30"}
    ).json()
    # then
    assert [(r["party"], r["as_of"]) for r in praia["results"]] == [
        (maria.pk, "2026-10-31"),
        (maria.pk, "2026-09-30"),
    ]
    assert mindelo["count"] == 0
    assert everything["count"] == 4
    assert [(r["status"], r["data"]["amount_due"]) for r in october["results"]] == [
        ("irregular", "9000.00")
    ]
    assert [r["as_of"] for r in by_source["results"]] == ["2026-09-30"]


def test_the_queue_is_listed_and_an_item_resolved(
    api, compliance_officer, branch_manager, parties, run
):
    # given
    maria, _ = parties
    item = ReconciliationItem.objects.get()
    # when
    api.force_authenticate(branch_manager)
    branch = api.get(f"{API}reconciliation-items/").json()
    refused = api.post(f"{API}reconciliation-items/{item.pk}/resolve/", {}, format="json")
    api.force_authenticate(compliance_officer)
    listed = api.get(f"{API}reconciliation-items/").json()
    resolved = api.post(
        f"{API}reconciliation-items/{item.pk}/resolve/", {"party": maria.pk}, format="json"
    )
    # then
    assert branch["count"] == 0
    assert refused.status_code == 404
    assert [(i["reason"], i["record"]["nif"]) for i in listed["results"]] == [
        ("no_match", "100000901")
    ]
    assert resolved.status_code == 200
    assert resolved.json()["status"] == ReconciliationStatus.MATCHED
    assert RegistryRecord.objects.get(registry_number="700901").party_id == maria.pk


# The enum names the sources API needs in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
SOURCES_ENUM_OVERRIDES = {
    "SourceKindEnum": "compliance.choices.SourceKind",
    "SourceTransportEnum": "compliance.choices.Transport",
    "SourceRunStatusEnum": "compliance.choices.RunStatus",
    "SourceRunTriggerEnum": "compliance.choices.RunTrigger",
    "ReconciliationReasonEnum": "compliance.choices.ReconciliationReason",
    "ReconciliationStatusEnum": "compliance.choices.ReconciliationStatus",
}


def test_the_schema_documents_the_sources_api_without_enum_collisions(monkeypatch):
    # given
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.plumbing import _load_enum_name_overrides
    from drf_spectacular.settings import spectacular_settings

    overrides = {**spectacular_settings.ENUM_NAME_OVERRIDES, **SOURCES_ENUM_OVERRIDES}
    monkeypatch.setattr(spectacular_settings, "ENUM_NAME_OVERRIDES", overrides)
    _load_enum_name_overrides.cache_clear()
    # when
    schema = SchemaGenerator().get_schema(request=None, public=True)
    _load_enum_name_overrides.cache_clear()
    # then
    assert {
        "/api/v1/compliance/sources/",
        "/api/v1/compliance/sources/{id}/",
        "/api/v1/compliance/sources/{id}/pull/",
        "/api/v1/compliance/sources/{id}/upload/",
        "/api/v1/compliance/source-runs/",
        "/api/v1/compliance/source-runs/{id}/",
        "/api/v1/compliance/registry-records/",
        "/api/v1/compliance/reconciliation-items/",
        "/api/v1/compliance/reconciliation-items/{id}/resolve/",
    } <= set(schema["paths"])
    components = schema["components"]["schemas"]
    assert set(SOURCES_ENUM_OVERRIDES) <= set(components)
    assert components["ReconciliationItem"]["properties"]["reason"] == {
        "$ref": "#/components/schemas/ReconciliationReasonEnum"
    }
    ours = {tuple(choice.values) for choice in (SourceKind, RunTrigger, ReconciliationStatus)}
    hashed = [
        name for name in components if name.endswith("Enum") and any(c.isdigit() for c in name)
    ]
    assert not [name for name in hashed if tuple(components[name].get("enum", ())) in ours]
