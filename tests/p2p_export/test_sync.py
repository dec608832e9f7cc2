"""Status polling, defaulted borrowers, the file platform's packages and return file, and the
``p2p_sync`` command."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from PIL import Image

from p2p_export import services
from p2p_export.models import FilePackage, OutboxMessage, Publication
from p2p_export.sync import sync_platform
from tests.p2p_export.conftest import sandbox_log, sandbox_state
from tests.p2p_export.factories import publish_and_poll, ready_publication, recent_loan


@pytest.fixture
def loan(loan_officer, branch_manager, rules):
    return recent_loan(loan_officer, branch_manager, rules)


def test_status_follows_the_platform_poll_after_poll(manager, kiva_platform, loan):
    # given
    publication = publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 0)
    states = [publication.state]

    # when
    for _poll in range(4):
        services.publication_sync_status(actor=None, publication=publication)
        publication.refresh_from_db()
        states.append(publication.state)

    # then
    assert states == ["awaiting_confirmation", "fundraising", "funded", "repaying", "repaying"]
    assert publication.platform_loan_id == "2000001"
    assert publication.funded_amount == 120000
    assert list(publication.events.values_list("to_state", flat=True)) == [
        "selected",
        "prepared",
        "validated",
        "pushed",
        "awaiting_confirmation",
        "fundraising",
        "funded",
        "repaying",
    ]


def test_a_defaulted_borrower_is_anonymised_here_and_on_the_platform(
    manager, kiva_platform, kiva_server, loan, django_capture_on_commit_callbacks
):
    # given
    publication = publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 3)
    httpx.put(
        f"{kiva_server.url}/sandbox/loans/{loan.number}", json={"status": "defaulted"}, timeout=5
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.publication_sync_status(actor=None, publication=publication)

    # then
    publication.refresh_from_db()
    assert (publication.state, publication.is_anonymised) == ("defaulted", True)
    assert publication.profile.first_name == ""
    assert OutboxMessage.objects.get(kind="anonymise").status == "sent"
    assert sandbox_state(kiva_server)["drafts"][0]["anonymized"] is True


def test_p2p_sync_runs_one_cycle_and_prints_a_summary(manager, kiva_platform, kiva_server, loan):
    # given one validated profile
    publication = ready_publication(manager, kiva_platform, loan)
    services.publication_validate(actor=manager, publication=publication)
    out = io.StringIO()

    # when
    call_command("p2p_sync", "--platform", "kiva", stdout=out)

    # then
    assert out.getvalue().splitlines() == [
        "kiva:",
        "  push 1 profile(s) (0 already on the platform), 0 refused",
        "  poll statuses: 1 changed",
        "  send 0 repayment line(s)",
        "  news: 0 drafted, send 0",
        "  takedowns/anonymisations send 0; withdrawn for lost consent 0",
        "  lookups refreshed 0; packages -",
    ]
    publication.refresh_from_db()
    assert publication.state == "fundraising"
    assert publication.platform.last_synced_at is not None


def test_p2p_sync_dry_run_prints_the_payload_and_sends_nothing(
    manager, kiva_platform, kiva_server, loan
):
    # given
    publication = ready_publication(manager, kiva_platform, loan)
    services.publication_validate(actor=manager, publication=publication)
    out = io.StringIO()

    # when
    call_command("p2p_sync", "--dry-run", stdout=out)

    # then
    text = out.getvalue()
    assert text.splitlines()[:3] == [
        "kiva (dry run):",
        "  would push 1 profile(s) (0 already on the platform), 0 refused",
        "  would poll statuses: 0 changed",
    ]
    payload = json.loads(text[text.index("{") :])
    assert payload["internal_loan_id"] == loan.number
    assert payload["image_encoded"].startswith("<") and payload["image_encoded"].endswith(
        "characters of base64 JPEG>"
    )
    assert sandbox_log(kiva_server) == []
    publication.refresh_from_db()
    assert publication.state == "validated"


def test_p2p_sync_refuses_an_unknown_platform(db):
    # when / then
    with pytest.raises(CommandError, match="No active platform with the code 'nope'."):
        call_command("p2p_sync", "--platform", "nope", stdout=io.StringIO())


def test_the_file_platform_gets_a_package_and_sends_back_statuses(
    manager, files_platform, files_server, loan
):
    # given
    publication = ready_publication(manager, files_platform, loan)
    services.publication_validate(actor=manager, publication=publication)

    # when: the first cycle queues the profile and delivers the package
    first = sync_platform(actor=None, platform=files_platform)

    # then
    package = FilePackage.objects.get()
    assert first.packages == [package.filename]
    assert (package.status, package.profiles, package.updates, package.repayments) == (
        "delivered",
        1,
        0,
        0,
    )
    publication.refresh_from_db()
    assert (publication.state, publication.platform_draft_id) == (
        "awaiting_confirmation",
        package.filename,
    )
    (received,) = sandbox_state(files_server)["packages"]
    assert received["files"] == [
        "manifest.json",
        f"photos/{loan.number}.jpg",
        "profiles.csv",
        "profiles.json",
        "repayments.csv",
        "repayments.json",
        "updates.csv",
        "updates.json",
    ]
    archive = zipfile.ZipFile(package.file.open("rb"))
    (row,) = json.loads(archive.read("profiles.json"))
    assert (row["first_name"], row["amount"], row["currency"]) == ("Maria", "120000.00", "CVE")
    assert loan.borrower.person.last_name not in archive.read("profiles.csv").decode()
    photo = Image.open(io.BytesIO(archive.read(f"photos/{loan.number}.jpg")))
    assert dict(photo.getexif()) == {}

    # when: the next cycle reads the platform's return file
    second = sync_platform(actor=None, platform=files_platform)

    # then
    publication.refresh_from_db()
    assert second.statuses_changed == 1
    assert (publication.state, publication.platform_loan_id) == ("fundraising", "BL-90001")


def test_a_return_file_uploaded_by_staff_is_applied(manager, files_platform, loan):
    # given a profile packaged for the platform
    publication = ready_publication(manager, files_platform, loan)
    services.publication_validate(actor=manager, publication=publication)
    services.publication_push(actor=manager, publication=publication)
    from p2p_export.packages import package_build

    package_build(actor=manager, platform=files_platform)
    content = (
        "internal_loan_id,platform_loan_id,status,funded_amount,changed_on\n"
        f"{loan.number},BL-7,funded,120000.00,2026-11-20\n"
        "L9999999,BL-8,online,,2026-11-20\n"
    ).encode()

    # when
    counts = services.return_file_import(actor=manager, platform=files_platform, content=content)

    # then
    assert counts == {"changed": 1, "unchanged": 0, "unknown": 1}
    publication.refresh_from_db()
    assert (publication.state, publication.platform_loan_id, publication.funded_amount) == (
        "funded",
        "BL-7",
        120000,
    )


def test_a_malformed_return_file_is_refused_whole(manager, files_platform):
    # when
    with pytest.raises(ValidationError) as caught:
        services.return_file_import(
            actor=manager,
            platform=files_platform,
            content=b"internal_loan_id,platform_loan_id,status\nL1,BL-1,exploded\n",
        )

    # then
    assert caught.value.message_dict == {"file": ["Line 2 cannot be read."]}
    assert not Publication.objects.exists()


def test_a_package_of_every_branchs_borrowers_is_for_head_office_only(
    client, manager, branch_manager, files_platform, loan
):
    # given a package with a Praia borrower's profile
    publication = ready_publication(manager, files_platform, loan)
    services.publication_validate(actor=manager, publication=publication)
    services.publication_push(actor=manager, publication=publication)
    from p2p_export.packages import package_build

    package_build(actor=manager, platform=files_platform)
    package = FilePackage.objects.get()
    download = f"/p2p/packages/{package.pk}/download/"
    # when: a branch manager (one branch's scope) and the head-office manager ask for it
    client.force_login(branch_manager)
    branch_answer = client.get(download)
    branch_list = client.get(f"/p2p/platforms/{files_platform.code}/packages/")
    client.force_login(manager)
    head_office_answer = client.get(download)
    # then
    assert branch_answer.status_code == 404
    assert package.filename not in branch_list.content.decode()
    assert head_office_answer.status_code == 200
    assert head_office_answer["Content-Type"] == "application/zip"
