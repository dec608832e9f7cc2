"""Every place that accepts a file, attacked: an HTML page or script disguised under a .pdf, .jpg
or .csv name, and a file over the size limit, are refused with a clear message and nothing is
stored; stored files live outside the web root and leave only through views that check the
user's scope (another branch's file is a 404).
"""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, resolve, reverse
from rest_framework.test import APIClient

from compliance.choices import SourceKind, Transport
from compliance.models import FollowUp, SourceRun
from crm.models import Consent
from crm.services import consent_record
from elearning.models import Lesson
from loans.models import LoanDocument
from loans.services import loan_document_add
from p2p_export import journals
from p2p_export.choices import PlatformKind
from p2p_export.models import JournalDraft, PublicationPhoto, Waiver
from tests.accounting.factories import chart
from tests.compliance.factories import make_source
from tests.compliance.test_field_support import client_with_case, photo, record
from tests.crm.factories import make_person
from tests.elearning.factories import make_course
from tests.factories import UserFactory
from tests.loans.factories import cash_product, document_file, submitted_loan
from tests.p2p_export.factories import (
    days_ago,
    make_platform,
    ready_publication,
    recent_loan,
)
from users.roles import Role

LIMIT = 1_048_576  # 1 MB, so the oversized files stay small
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/parties/')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>'
TOO_LARGE_MESSAGE = "The file is too large (1.5 MB); the limit is 1.0 MB."
NOT_A_DOCUMENT = "This file type is not accepted; upload a PDF, PNG or JPEG file."
NOT_A_PHOTO = "This file is not a photo we can use; upload a JPEG or PNG image."


def oversized(head: bytes) -> bytes:
    """A file of the right type by its first bytes, 1.5 MB long."""
    return head + b"0" * (LIMIT + LIMIT // 2 - len(head))


BIG_PDF = oversized(b"%PDF-1.4\n")
BIG_JPEG = oversized(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
BIG_CSV = oversized(b"a,b\n").replace(b"0" * 63, b"0" * 62 + b"\n")


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_MAX_BYTES = LIMIT
    settings.COMPLIANCE_UPLOAD_MAX_BYTES = LIMIT
    return settings.MEDIA_ROOT


def stored(media_root: Path) -> list[str]:
    """Every file under MEDIA_ROOT."""
    return sorted(
        str(path.relative_to(media_root)) for path in media_root.rglob("*") if path.is_file()
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def upload(name: str, content: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def mindelo_manager(mindelo):
    return UserFactory(username="branchmanager.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo)


@pytest.fixture
def rules(head_office, praia, mindelo):
    return chart()


# --- the web root ------------------------------------------------------------------------------


def test_uploaded_files_are_stored_outside_the_web_root_and_no_url_serves_them():
    media = Path(django_settings.MEDIA_ROOT).resolve()
    served = [Path(django_settings.STATIC_ROOT).resolve()] + [
        # an entry is a directory or a (prefix, directory) pair
        Path(entry[1] if isinstance(entry, tuple) else entry).resolve()
        for entry in django_settings.STATICFILES_DIRS
    ]
    for root in served:
        assert not media.is_relative_to(root) and not root.is_relative_to(media), root
    assert getattr(django_settings, "WHITENOISE_ROOT", None) is None
    for path in (
        f"{django_settings.MEDIA_URL}loans/1/a.pdf",
        f"{django_settings.MEDIA_URL}consents/1/a.pdf",
    ):
        with pytest.raises(Resolver404):
            resolve(path)


# --- loan documents ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [(HTML, NOT_A_DOCUMENT), (SVG, NOT_A_DOCUMENT), (BIG_PDF, TOO_LARGE_MESSAGE)],
    ids=["html-as-pdf", "svg-as-pdf", "oversized"],
)
def test_a_loan_document_in_disguise_or_too_large_is_refused(
    client, media_root, loan_officer, rules, manager, content, message
):
    # given
    loan = submitted_loan(loan_officer, cash_product(manager, rules))
    client.force_login(loan_officer)
    # when
    response = client.post(
        reverse("loans:document_add", args=[loan.pk]),
        {"kind": "id_card", "file": upload("contract.pdf", content, "application/pdf")},
    )
    # then
    assert response.status_code == 302
    assert messages_of(response) == [message]
    assert LoanDocument.objects.count() == 0
    assert stored(media_root) == []


def test_a_loan_document_is_served_in_scope_and_404_to_another_branch(
    client, media_root, loan_officer, outsider, rules, manager
):
    # given
    loan = submitted_loan(loan_officer, cash_product(manager, rules))
    document = loan_document_add(
        actor=loan_officer, loan=loan, kind="id_card", file=document_file("id.pdf")
    )
    url = reverse("loans:document_download", args=[loan.pk, document.pk])
    # when
    client.force_login(loan_officer)
    mine = client.get(url)
    client.force_login(outsider)
    theirs = client.get(url)
    as_media = client.get(f"{django_settings.MEDIA_URL}{document.file.name}")
    # then
    assert (mine.status_code, b"".join(mine.streaming_content)) == (
        200,
        b"%PDF-1.4 test document",
    )
    assert (theirs.status_code, as_media.status_code) == (404, 404)


# --- consent evidence (CRM) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [(HTML, NOT_A_DOCUMENT), (BIG_PDF, TOO_LARGE_MESSAGE)],
    ids=["html-as-pdf", "oversized"],
)
def test_a_consent_evidence_in_disguise_or_too_large_is_refused(
    client, media_root, loan_officer, content, message
):
    # given
    person = make_person(loan_officer)
    client.force_login(loan_officer)
    # when
    response = client.post(
        reverse("crm:consent_add", args=[person.pk]),
        {
            "purpose": "marketing",
            "given_on": "2026-11-01",
            "evidence": upload("signed.pdf", content, "application/pdf"),
        },
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["evidence"] == [message]
    assert Consent.objects.count() == 0
    assert stored(media_root) == []


def test_a_consent_evidence_is_404_to_another_branch(client, media_root, loan_officer, outsider):
    # given
    person = make_person(loan_officer)
    evidence = document_file("signed.pdf")
    consent = consent_record(
        actor=loan_officer,
        party=person,
        purpose="marketing",
        given_on=datetime.date(2026, 11, 1),
        evidence=evidence,
    )
    url = reverse("crm:consent_evidence", args=[person.pk, consent.pk])
    # when
    client.force_login(loan_officer)
    mine = client.get(url)
    client.force_login(outsider)
    theirs = client.get(url)
    # then
    assert (mine.status_code, theirs.status_code) == (200, 404)


# --- field follow-up photo (compliance) --------------------------------------------------------


def _follow_up_form(**overrides) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "kind": "visit",
        "outcome": "regularised",
        "notes": "Saw the new tax certificate.",
        "latitude": "",
        "longitude": "",
        "accuracy_m": "",
        **overrides,
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HTML, "The photo must be a PNG or JPEG picture."),
        (b"%PDF-1.4 a statement", "The photo must be a PNG or JPEG picture."),
        (BIG_JPEG, TOO_LARGE_MESSAGE),
    ],
    ids=["html-as-jpg", "pdf-as-jpg", "oversized"],
)
def test_a_follow_up_photo_in_disguise_or_too_large_is_refused_on_the_form_and_the_api(
    client, media_root, field_agent, content, message
):
    # given
    party, case = client_with_case(field_agent)
    client.force_login(field_agent)
    api = APIClient()
    api.force_authenticate(field_agent)
    # when
    form = client.post(
        f"{reverse('compliance:follow_up_new')}?case={case.pk}",
        _follow_up_form(photo=photo(content, "document.jpg")),
    )
    from_api = api.post(
        reverse("compliance-follow-up-list"),
        {
            **_follow_up_form(case=case.pk, party=party.pk),
            "photo": photo(content, "document.jpg"),
        },
        format="multipart",
    )
    # then
    assert (form.status_code, form.context["form"].errors["photo"]) == (200, [message])
    assert from_api.status_code == 400
    assert from_api.json()["photo"] == [message]
    assert FollowUp.objects.count() == 0
    assert stored(media_root) == []


def test_a_follow_up_photo_is_404_to_another_branch(client, media_root, field_agent, outsider):
    # given
    party, case = client_with_case(field_agent)
    follow_up = record(field_agent, party, case=case, photo=photo())
    url = reverse("compliance:follow_up_photo", args=[follow_up.pk])
    # when
    client.force_login(field_agent)
    mine = client.get(url)
    client.force_login(outsider)
    theirs = client.get(url)
    # then
    assert (mine.status_code, theirs.status_code) == (200, 404)


# --- lesson file (e-learning) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [(HTML, NOT_A_DOCUMENT), (BIG_PDF, TOO_LARGE_MESSAGE)],
    ids=["html-as-pdf", "oversized"],
)
def test_a_lesson_file_in_disguise_or_too_large_is_refused(
    client, media_root, coach, content, message
):
    # given
    course = make_course(coach)
    client.force_login(coach)
    # when
    response = client.post(
        reverse("elearning:lesson_create", args=[course.pk]),
        {"title": "Cash book", "file": upload("handout.pdf", content, "application/pdf")},
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [message]
    assert Lesson.objects.count() == 0
    assert stored(media_root) == []


# --- P2P: profile photo, signed waiver, news image, return file ---------------------------------


@pytest.fixture
def p2p_loan(media_root, rules, loan_officer, branch_manager):
    return make_platform(PlatformKind.FILES), recent_loan(loan_officer, branch_manager, rules)


@pytest.fixture
def publication(p2p_loan, manager):
    """Ready to validate: profile, photo and the borrower's signed waiver on file."""
    platform, loan = p2p_loan
    return ready_publication(manager, platform, loan)


def _p2p(name: str, *args) -> str:
    return reverse(f"p2p_export:{name}", args=args)


@pytest.mark.parametrize(
    ("content", "message"),
    [(HTML, NOT_A_PHOTO), (SVG, NOT_A_PHOTO), (BIG_JPEG, TOO_LARGE_MESSAGE)],
    ids=["html-as-jpg", "svg-as-jpg", "oversized"],
)
def test_a_profile_photo_in_disguise_or_too_large_is_refused(
    client, media_root, manager, publication, content, message
):
    # given
    before = stored(media_root)
    client.force_login(manager)
    # when
    response = client.post(
        _p2p("photo_upload", publication.pk), {"photo": upload("me.jpg", content, "image/jpeg")}
    )
    # then
    assert response.status_code == 302
    assert messages_of(response) == [message]
    assert PublicationPhoto.objects.filter(publication=publication).count() == 1
    assert stored(media_root) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [(HTML, NOT_A_DOCUMENT), (BIG_PDF, TOO_LARGE_MESSAGE)],
    ids=["html-as-pdf", "oversized"],
)
def test_a_signed_waiver_in_disguise_or_too_large_is_refused(
    client, media_root, manager, p2p_loan, content, message
):
    # given: a publication whose borrower's waiver is not on file yet
    platform, loan = p2p_loan
    publication = ready_publication(manager, platform, loan, waiver=False)
    borrower = loan.borrower.person
    before = stored(media_root)
    client.force_login(manager)
    # when
    response = client.post(
        _p2p("waiver_add", publication.pk),
        {
            "person": borrower.pk,
            "signed_on": days_ago(2).isoformat(),
            "scan": upload("waiver.pdf", content, "application/pdf"),
        },
    )
    # then
    assert response.status_code == 302
    assert messages_of(response) == [message]
    assert Waiver.objects.filter(loan=publication.loan).count() == 0
    assert stored(media_root) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [(HTML, NOT_A_PHOTO), (BIG_JPEG, TOO_LARGE_MESSAGE)],
    ids=["html-as-jpg", "oversized"],
)
def test_a_news_image_in_disguise_or_too_large_is_refused(
    client, media_root, manager, publication, content, message
):
    # given
    journal = journals.journal_create(
        actor=manager, publication=publication, subject="New stock", body="The shop grew."
    )
    before = stored(media_root)
    client.force_login(manager)
    # when
    response = client.post(
        _p2p("journal_edit", journal.pk),
        {
            "subject": "New stock",
            "body": "The shop grew.",
            "image": upload("shop.jpg", content, "image/jpeg"),
        },
    )
    # then
    journal.refresh_from_db()
    assert response.status_code == 400
    # the photo service's error, shown at the top of the form
    assert response.context["form"].non_field_errors() == [message]
    assert (journal.image.name, JournalDraft.objects.count()) == ("", 1)
    assert stored(media_root) == before


def test_p2p_photos_and_waiver_scans_are_404_to_another_branch(
    client, media_root, manager, mindelo_manager, branch_manager, publication
):
    # given
    photo_url = _p2p("photo", publication.photos.get().pk)
    scan_url = _p2p("waiver_scan", publication.pk, Waiver.objects.get(loan=publication.loan).pk)
    # when
    client.force_login(branch_manager)
    mine = (client.get(photo_url).status_code, client.get(scan_url).status_code)
    client.force_login(mindelo_manager)
    theirs = (client.get(photo_url).status_code, client.get(scan_url).status_code)
    # then
    assert mine == (200, 200)
    assert theirs == (404, 404)


CSV_REFUSED = "Upload a CSV file (UTF-8 text, comma-separated, ending in .csv)."


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("returns.csv", HTML, CSV_REFUSED),
        ("returns.csv", b"%PDF-1.4 a report", CSV_REFUSED),
        ("returns.csv", b"PK\x03\x04 a spreadsheet", CSV_REFUSED),
        ("returns.html", b"internal_loan_id,platform_loan_id,status\n", CSV_REFUSED),
        ("returns.csv", BIG_CSV, TOO_LARGE_MESSAGE),
    ],
    ids=["html-as-csv", "pdf-as-csv", "zip-as-csv", "wrong-name", "oversized"],
)
def test_a_p2p_return_file_in_disguise_or_too_large_is_refused(
    client, media_root, manager, rules, name, content, message
):
    # given
    platform = make_platform(PlatformKind.FILES)
    client.force_login(manager)
    # when
    response = client.post(
        _p2p("return_file_import", platform.code), {"file": upload(name, content, "text/csv")}
    )
    # then
    assert response.status_code == 302
    assert messages_of(response) == [f"Return file (CSV): {message}"]
    assert stored(media_root) == []


# --- registry CSV files (compliance) -----------------------------------------------------------

REGISTRY_REFUSED = "Upload the registry's CSV file (a text file ending in .csv)."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HTML, REGISTRY_REFUSED),
        (b"  \n<?xml version='1.0'?><rows/>", REGISTRY_REFUSED),
        ("nif,name\n1,Ana".encode("utf-16"), REGISTRY_REFUSED),
        (b"nif,name\n1,Jo\xe3o\n", REGISTRY_REFUSED),
        (BIG_CSV, TOO_LARGE_MESSAGE),
    ],
    ids=["html-as-csv", "xml-as-csv", "utf16", "latin1", "oversized"],
)
def test_a_registry_file_in_disguise_or_too_large_is_refused_on_the_form_and_the_api(
    client, media_root, compliance_officer, content, message
):
    # given
    source = make_source(
        SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-files", name="INPS files"
    )
    client.force_login(compliance_officer)
    api = APIClient()
    api.force_authenticate(compliance_officer)
    # when
    form = client.post(
        reverse("compliance:source_upload", args=[source.pk]),
        {"file": upload("2026-10.csv", content, "text/csv")},
    )
    from_api = api.post(
        f"/api/v1/compliance/sources/{source.pk}/upload/",
        {"file": upload("2026-10.csv", content, "text/csv")},
        format="multipart",
    )
    # then
    assert (form.status_code, form.context["upload_form"].errors["file"]) == (400, [message])
    assert (from_api.status_code, from_api.json()) == (400, {"file": [message]})
    assert SourceRun.objects.count() == 0
    assert stored(media_root) == []
