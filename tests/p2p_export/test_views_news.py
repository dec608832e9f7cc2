"""News screens: drafts generated from real events, edited, approved and sent to the Kiva
sandbox; a text revealing contact details refused on the form; read-only roles change nothing.
File platforms: the package built and downloaded, the return file applied."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loans.services import repayment_record
from p2p_export.models import FilePackage, JournalDraft, Publication
from tests.p2p_export.conftest import sandbox_state
from tests.p2p_export.factories import publish_and_poll, ready_publication, recent_loan


@pytest.fixture
def funded(manager, loan_officer, branch_manager, rules, kiva_platform):
    """A funded Kiva publication whose borrower has repaid a third of the principal."""
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 2)
    repayment_record(actor=loan_officer, loan=loan, amount=Decimal("40000.00"))
    return publication


def url(name: str, *args) -> str:
    return reverse(f"p2p_export:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_news_is_drafted_edited_approved_and_sent(client, manager, funded, kiva_server):
    # given
    client.force_login(manager)

    # when
    generated = client.post(url("journal_generate", "kiva"), follow=True)
    journal = JournalDraft.objects.get()
    edited = client.post(
        url("journal_edit", journal.pk),
        {"subject": "Maria is a quarter of the way", "body": "Maria has repaid 25 % already."},
        follow=True,
    )
    approved = client.post(url("journal_approve", journal.pk), follow=True)
    sent = client.post(url("journal_send", journal.pk), follow=True)

    # then
    assert messages_of(generated) == ["1 news item drafted."]
    assert [item.subject for item in generated.context["page"].object_list] == [
        "Maria has repaid 25 % of the loan"
    ]
    assert messages_of(edited) == ["News item saved."]
    assert messages_of(approved) == ["News item approved."]
    assert messages_of(sent) == ["News item sent (or queued for the next package)."]
    journal.refresh_from_db()
    assert (journal.status, journal.approved_by) == ("sent", manager)
    (published,) = sandbox_state(kiva_server)["journals"]
    assert (published["subject"], published["internal_loan_id"]) == (
        "Maria is a quarter of the way",
        funded.loan.number,
    )


def test_news_revealing_a_phone_number_is_refused_on_the_form(client, manager, funded):
    # given
    client.force_login(manager)
    client.post(url("journal_generate", "kiva"))
    journal = JournalDraft.objects.get()

    # when
    response = client.post(
        url("journal_edit", journal.pk),
        {"subject": "News", "body": "Call Maria on +238 991 23 45 to buy bread."},
    )

    # then
    assert response.status_code == 400
    assert response.context["form"].errors["body"] == [
        "Remove the phone number: contact details are never published."
    ]
    journal.refresh_from_db()
    assert journal.subject == "Maria has repaid 25 % of the loan"


def test_an_auditor_reads_news_but_cannot_act(client, manager, auditor, funded):
    # given
    client.force_login(manager)
    client.post(url("journal_generate", "kiva"))
    journal = JournalDraft.objects.get()
    client.force_login(auditor)

    # when
    page = client.get(url("journal_edit", journal.pk))
    edit = client.post(url("journal_edit", journal.pk), {"subject": "x", "body": "y"})
    approve = client.post(url("journal_approve", journal.pk))
    generate = client.post(url("journal_generate", "kiva"))

    # then
    assert page.status_code == 200
    assert (edit.status_code, approve.status_code, generate.status_code) == (403, 403, 403)
    journal.refresh_from_db()
    assert (journal.status, journal.subject) == ("draft", "Maria has repaid 25 % of the loan")


def test_the_news_list_runs_a_fixed_number_of_queries(
    client, manager, funded, django_assert_max_num_queries
):
    # given
    client.force_login(manager)
    client.post(url("journal_generate", "kiva"))

    # when
    with django_assert_max_num_queries(10):
        response = client.get(url("journal_list"), {"platform": "kiva"})

    # then
    assert response.context["page"].paginator.count == 1


def test_a_file_package_is_built_downloaded_and_its_return_file_applied(
    client, manager, loan_officer, branch_manager, rules, files_platform, files_server
):
    # given a validated profile pushed to the file platform (queued for the package)
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = publish_and_poll(manager, ready_publication(manager, files_platform, loan), 0)
    client.force_login(manager)

    # when
    page = client.get(url("package_list", "babyloan"))
    built = client.post(url("package_build", "babyloan"), follow=True)
    package = FilePackage.objects.get()
    download = client.get(url("package_download", package.pk))
    returned = client.post(
        url("return_file_import", "babyloan"),
        {
            "file": SimpleUploadedFile(
                "returns.csv",
                (
                    "internal_loan_id,platform_loan_id,status,funded_amount,changed_on\n"
                    f"{loan.number},BL-1,online,,2026-01-01\n"
                ).encode(),
                content_type="text/csv",
            )
        },
        follow=True,
    )

    # then
    assert page.context["pending"] == {"profiles": 1, "updates": 0, "repayments": 0}
    assert messages_of(built) == ["Package built."]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert f"photos/{loan.number}.jpg" in archive.namelist()
    assert messages_of(returned) == [
        "Return file applied.",
        "1 loan changed state; 0 unchanged, 0 unknown.",
    ]
    publication = Publication.objects.get(pk=publication.pk)
    assert (publication.state, publication.platform_loan_id) == ("fundraising", "BL-1")
