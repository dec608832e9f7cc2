"""CSV file drops: uploads and inbound folders, row-by-row validation with exact line numbers,
duplicate files, the same record by file and by API stored once, registry-wide files."""

from __future__ import annotations

import datetime
import io
import threading

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from audit.models import AuditEvent
from compliance import ingest
from compliance.choices import RunStatus, RunTrigger, SourceKind, Transport
from compliance.ingest import file_ingest, inbound_ingest, source_pull
from compliance.models import QuarantinedRow, ReconciliationItem, RegistryRecord, Source, SourceRun
from compliance.tasks import pull_source
from sandbox import data
from tests.compliance.factories import make_source
from tests.crm.factories import make_person

AS_OF = datetime.date(2026, 10, 31)
HEADER = "ssn,nif,name,as_of,status,months_in_arrears,amount_due,currency,declared_employees\n"
FILE_WITH_BAD_ROWS = (
    HEADER
    + "700001,100000001,Maria Varela Tavares,2026-10-31,irregular,3,9000.00,CVE,0\n"
    + "700002,12345,Ana Lopes,2026-10-31,regular,0,0.00,CVE,1\n"
    + '700003,100000003,"Lopes, Ana",2026-10-31,regular,0,0.00,CVE,2\n'
    + "700004,100000004,Rui Fortes,2026-10-31,regular,0,0.00,CVE\n"
    + "\n"
    + "700005,100000005,Rosa Semedo,2026-02-30,regular,0,0.00,CVE,0\n"
    + "700006,100000006,Rui Monteiro,2026-10-31,late,0,0.00,CVE,0\n"
)


@pytest.fixture
def inps_files(db):
    return make_source(SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-files")


def _upload(text: str, name: str = "2026-10.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_an_uploaded_file_quarantines_its_bad_rows_with_their_line_numbers(
    inps_files, compliance_officer, loan_officer
):
    # given
    maria = make_person(loan_officer, nif="100000001", social_security_number="700001")
    # when
    run = file_ingest(
        source=inps_files,
        path_or_file=_upload(FILE_WITH_BAD_ROWS),
        actor=compliance_officer,
        trigger=RunTrigger.UPLOAD,
    )
    # then
    assert (run.status, run.records_received, run.records_stored, run.rows_quarantined) == (
        RunStatus.PARTIAL,
        6,
        2,
        4,
    )
    assert (run.file_name, run.triggered_by, run.attempts) == ("2026-10.csv", compliance_officer, 0)
    assert list(run.quarantined.values_list("row_number", "reason", "raw")) == [
        (
            3,
            "nif: not a NIF of 9 digits ('12345')",
            "700002,12345,Ana Lopes,2026-10-31,regular,0,0.00,CVE,1",
        ),
        (
            5,
            "expected 9 values, found 8",
            "700004,100000004,Rui Fortes,2026-10-31,regular,0,0.00,CVE",
        ),
        (
            7,
            "as_of: not a date YYYY-MM-DD ('2026-02-30')",
            "700005,100000005,Rosa Semedo,2026-02-30,regular,0,0.00,CVE,0",
        ),
        (
            8,
            "status: not one of irregular, regular ('late')",
            "700006,100000006,Rui Monteiro,2026-10-31,late,0,0.00,CVE,0",
        ),
    ]
    assert RegistryRecord.objects.get(registry_number="700001").party_id == maria.pk
    assert RegistryRecord.objects.get(registry_number="700003").data["name"] == "Lopes, Ana"
    source = Source.objects.get(pk=inps_files.pk)
    assert (source.last_success_at, source.unavailable_since) == (run.finished_at, None)
    assert AuditEvent.objects.get(action="compliance.source.file_ingested").object_id == str(run.pk)


def test_a_value_over_several_lines_keeps_the_following_line_numbers_right(inps_files):
    # given
    text = (
        HEADER
        + '700001,100000001,"Maria\nVarela",2026-10-31,regular,0,0.00,CVE,0\n'
        + "700002,100000002,Ana,2026-10-32,regular,0,0.00,CVE,0\n"
    )
    # when
    run = file_ingest(source=inps_files, path_or_file=_upload(text), trigger=RunTrigger.UPLOAD)
    # then
    assert (run.records_received, run.records_stored) == (2, 1)
    assert list(run.quarantined.values_list("row_number", flat=True)) == [4]
    assert RegistryRecord.objects.get().data["name"] == "Maria\nVarela"


def test_columns_in_another_order_and_loose_values_are_read_and_normalised(inps_files):
    # given
    text = (
        "NIF,SSN,Name,As_of,Status,Months_in_arrears,Amount_due,Currency,Declared_employees,Extra\n"
        "100.000.001, 700001 ,Maria,2026-10-31,Irregular,03,9000.5,CVE,0,x\n"
    )
    # when
    run = file_ingest(source=inps_files, path_or_file=_upload(text), trigger=RunTrigger.UPLOAD)
    # then
    assert run.status == RunStatus.SUCCEEDED
    record = RegistryRecord.objects.get()
    assert (record.nif, record.registry_number, record.status) == (
        "100000001",
        "700001",
        "irregular",
    )
    assert (record.data["months_in_arrears"], record.data["amount_due"]) == (3, "9000.50")


def test_a_file_without_the_protocol_header_fails_as_a_whole(inps_files):
    # given
    text = "nif,name\n100000001,Maria\n"
    # when
    run = file_ingest(source=inps_files, path_or_file=_upload(text), trigger=RunTrigger.UPLOAD)
    # then
    assert (run.status, run.records_stored, run.rows_quarantined) == (RunStatus.FAILED, 0, 0)
    assert run.error == (
        "The file's header lacks the columns ssn, as_of, status, months_in_arrears, amount_due, "
        "currency, declared_employees; expected: ssn,nif,name,as_of,status,months_in_arrears,"
        "amount_due,currency,declared_employees."
    )
    source = Source.objects.get(pk=inps_files.pk)
    assert (source.last_error, source.unavailable_since, source.last_success_at) == (
        run.error,
        None,
        None,
    )


def test_the_same_file_is_refused_a_second_time(inps_files, compliance_officer):
    # given
    first = file_ingest(
        source=inps_files, path_or_file=_upload(FILE_WITH_BAD_ROWS), trigger=RunTrigger.UPLOAD
    )
    # when
    with pytest.raises(ValidationError) as refusal:
        file_ingest(
            source=inps_files,
            path_or_file=_upload(FILE_WITH_BAD_ROWS, name="again.csv"),
            actor=compliance_officer,
            trigger=RunTrigger.UPLOAD,
        )
    # then
    assert refusal.value.error_dict["file"][0].code == "duplicate_file"
    assert f"(run {first.pk})" in refusal.value.message_dict["file"][0]
    assert inps_files.runs.count() == 1


def test_files_dropped_in_the_inbound_folder_are_ingested_moved_and_a_copy_skipped(
    inps_files, settings, tmp_path
):
    # given
    settings.COMPLIANCE_INBOUND_DIR = tmp_path
    folder = tmp_path / "inps-files"
    folder.mkdir()
    (folder / "2026-10.csv").write_text(FILE_WITH_BAD_ROWS)
    (folder / "notes.txt").write_text("not a registry file")
    # when
    runs = inbound_ingest(source=inps_files)
    (folder / "copy-of-2026-10.csv").write_text(FILE_WITH_BAD_ROWS)
    again = inbound_ingest(source=inps_files)
    # then
    assert [(run.trigger, run.file_name, run.records_stored) for run in runs] == [
        (RunTrigger.INBOUND, "2026-10.csv", 2)
    ]
    assert again == []
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt", "processed"]
    assert sorted(path.name for path in (folder / "processed").iterdir()) == [
        "2026-10.csv",
        "copy-of-2026-10.csv",
    ]
    assert inps_files.runs.count() == 1


def test_the_registry_month_file_and_the_api_give_the_same_records(
    db, inps_sandbox, registry_tokens, settings
):
    # given
    settings.COMPLIANCE_HTTP_BACKOFF = 0.01
    source = make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )
    source_pull(source=source, trigger=RunTrigger.SCHEDULE, as_of=AS_OF)
    month_file = httpx.get(
        f"{inps_sandbox.url}/files/2026-10.csv",
        headers={"Authorization": f"Bearer {registry_tokens['INPS_API_TOKEN']}"},
    )
    # when
    run = file_ingest(
        source=source, path_or_file=io.BytesIO(month_file.content), trigger=RunTrigger.UPLOAD
    )
    # then
    assert (run.status, run.records_received, run.records_stored) == (RunStatus.SUCCEEDED, 415, 0)
    assert RegistryRecord.objects.count() == 415
    assert Source.objects.get(pk=source.pk).last_success_at < run.finished_at  # API health kept


def test_a_registry_wide_file_keeps_only_our_parties_records(
    inps_files, settings, tmp_path, loan_officer
):
    # given
    settings.COMPLIANCE_UNMATCHED_LIMIT = 100
    maria = make_person(loan_officer, nif="100000001", social_security_number="700001")
    path = tmp_path / "national.csv"
    data.write_social_security_csv(path, 1000, AS_OF, malformed_every=250)
    # when
    run = file_ingest(source=inps_files, path_or_file=path, trigger=RunTrigger.INBOUND)
    # then
    assert (run.status, run.records_received, run.rows_quarantined) == (RunStatus.PARTIAL, 1000, 4)
    assert (run.records_stored, run.unmatched_skipped) == (1, 995)
    assert RegistryRecord.objects.get().party_id == maria.pk
    assert ReconciliationItem.objects.count() == 0
    assert list(QuarantinedRow.objects.values_list("row_number", flat=True)) == [
        251,
        501,
        751,
        1001,
    ]


@pytest.mark.django_db(transaction=True)
def test_a_source_busy_elsewhere_is_left_alone_and_its_files_wait(settings, tmp_path):
    # given
    settings.COMPLIANCE_INBOUND_DIR = tmp_path
    source = make_source(SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-busy")
    (tmp_path / "inps-busy").mkdir()
    waiting = tmp_path / "inps-busy" / "2026-10.csv"
    waiting.write_text(FILE_WITH_BAD_ROWS)
    locked, release = threading.Event(), threading.Event()

    def hold_the_source():
        with transaction.atomic():
            Source.objects.select_for_update().get(pk=source.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_source)
    holder.start()
    locked.wait(10)
    # when
    try:
        runs = inbound_ingest(source=source)
        with pytest.raises(ValidationError) as refusal:
            file_ingest(source=source, path_or_file=waiting, trigger=RunTrigger.UPLOAD)
        pulled = pull_source(source.pk)
    finally:
        release.set()
        holder.join()
    # then
    assert (runs, pulled, refusal.value.code) == ([], None, "source_busy")
    assert waiting.exists()
    assert SourceRun.objects.count() == 0


def test_small_reading_blocks_give_the_same_rows_and_line_numbers(inps_files, monkeypatch):
    # given
    monkeypatch.setattr(ingest, "_BATCH_CHARS", 50)
    text = (
        HEADER
        + "700001,100000001,Maria,2026-10-31,regular,0,0.00,CVE,0\n"
        + '700002,100000002,"Ana\nLopes\nSemedo",2026-10-31,regular,0,0.00,CVE,1\n'
        + "700003,100000003,Rui ,2026-10-31,regular,0,0.00,CVE,2\r\n"
        + "700004,100000004,Rosa,2026-02-29,regular,0,0.00,CVE,2\n"
        + "700005,100000005,Nelson,2028-02-29,regular,0,0.00,CVE,2"
    )
    # when
    run = file_ingest(source=inps_files, path_or_file=_upload(text), trigger=RunTrigger.UPLOAD)
    # then
    assert (run.records_received, run.records_stored) == (5, 4)
    assert list(run.quarantined.values_list("row_number", "reason")) == [
        (7, "as_of: not a date YYYY-MM-DD ('2026-02-29')")
    ]
    names = dict(RegistryRecord.objects.values_list("registry_number", "data__name"))
    assert names == {
        "700001": "Maria",
        "700002": "Ana\nLopes\nSemedo",
        "700003": "Rui",
        "700005": "Nelson",
    }
