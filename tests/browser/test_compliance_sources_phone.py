"""The registry pages on a phone (390 × 844): sources with an unavailable one, a run with long
quarantined rows, the reconciliation queue and a party's registry panel fit without sideways
scrolling, and a file is uploaded from the phone."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from compliance.choices import RunTrigger, SourceKind, Transport
from compliance.ingest import file_ingest, source_pull
from compliance.models import ReconciliationItem, SourceRun
from tests.browser.support import PHONE, assert_no_horizontal_scroll, log_in
from tests.compliance.conftest import registry_tokens  # noqa: F401 - the fixture
from tests.compliance.factories import make_source
from tests.crm.factories import make_person
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser

HEADER = "ssn,nif,name,as_of,status,months_in_arrears,amount_due,currency,declared_employees\n"
ROWS = (
    "700001,100000001,Maria Varela Tavares,2026-10-31,irregular,3,9000.00,CVE,0\n"
    "700901,100000901,Empresa Estrangeira de Transportes e Comércio Internacional,2026-10-31,"
    "regular,0,0.00,CVE,3\n"
    "700002,1234,Ana Lopes,2026-10-31,regular,0,0.00,CVE,1," + "x" * 300 + "\n"
)


def test_the_registry_pages_fit_a_phone(
    open_page,
    compliance_officer,
    loan_officer,
    registry_tokens,  # noqa: F811 - the fixture imported above
    settings,
    tmp_path,
):
    # given
    settings.COMPLIANCE_HTTP_RETRIES = 0
    maria = make_person(loan_officer, nif="100000001", social_security_number="700001")
    files = make_source(
        SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-files", name="INPS files"
    )
    run = file_ingest(
        source=files,
        path_or_file=SimpleUploadedFile("2026-10.csv", (HEADER + ROWS).encode()),
        trigger=RunTrigger.UPLOAD,
    )
    down = make_source(
        SourceKind.REVENUE, base_url="http://127.0.0.1:9", token_env="DNRE_API_TOKEN"
    )
    source_pull(source=down, trigger=RunTrigger.SCHEDULE)
    item = ReconciliationItem.objects.get()
    page = open_page(PHONE)
    log_in(page, compliance_officer.username, TEST_PASSWORD)
    # when / then
    for url, text in (
        ("/compliance/sources/", "Source unavailable since"),
        (f"/compliance/sources/{down.pk}/", "connection failed"),
        (f"/compliance/sources/runs/{run.pk}/", "expected 9 values, found 10"),
        ("/compliance/reconciliation/", "No party with this NIF or number"),
        (f"/compliance/reconciliation/{item.pk}/?q=Maria", "Match to this party"),
        (f"/compliance/party/{maria.pk}/registries/", "9,000.00 CVE"),
    ):
        response = page.goto(url)
        assert response.status == 200, url
        expect(page.locator("main")).to_contain_text(text)
        assert_no_horizontal_scroll(page)
    upload = tmp_path / "2026-09.csv"
    upload.write_text(HEADER + "700001,100000001,Maria,2026-09-30,regular,0,0.00,CVE,0\n")
    page.goto(f"/compliance/sources/{files.pk}/")
    page.locator("input[type=file]").set_input_files(str(upload))
    page.locator("[data-testid=upload-form] button[type=submit]").click()
    expect(page.locator("[data-testid=run-status]")).to_have_text("Succeeded")
    assert_no_horizontal_scroll(page)
    assert SourceRun.objects.filter(source=files).count() == 2
