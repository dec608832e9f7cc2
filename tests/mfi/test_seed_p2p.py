"""The demo P2P data (``mfi/demo/p2p.py``) on top of the demo organisation, parties, ledger and
loans: every publication state on both platforms, processed photos without metadata, news, a
reconciled month that balances in the ledger; idempotent and quick."""

from __future__ import annotations

import io
import time
from collections import Counter

from PIL import Image

from accounting.models import JournalLine
from mfi.demo.ledger import seed_ledger
from mfi.demo.loans import seed_loans
from mfi.demo.organisation import seed_organisation
from mfi.demo.p2p import STATES, seed_p2p
from mfi.demo.parties import seed_parties
from p2p_export.models import (
    FundingReceipt,
    JournalDraft,
    OutboxMessage,
    Platform,
    PlatformRepayment,
    Publication,
    PublicationPhoto,
    RepaymentReport,
)
from p2p_export.selectors import dashboard_figures, funding_statements
from p2p_export.validation import profile_errors


def _footprint() -> tuple[int, ...]:
    return (
        Platform.objects.count(),
        Publication.objects.count(),
        PublicationPhoto.objects.count(),
        JournalDraft.objects.count(),
        FundingReceipt.objects.count(),
        RepaymentReport.objects.count(),
        PlatformRepayment.objects.count(),
    )


def test_demo_p2p_has_every_state_on_both_platforms_and_a_reconciled_month(
    db, settings, tmp_path, client
):
    # given
    settings.MEDIA_ROOT = tmp_path
    settings.KIVA_API_BASE_URL = ""  # no sandbox running: the seed starts its own
    users = seed_organisation()
    seed_parties(actor=users["admin"])
    seed_ledger(maker=users["accountant"], checker=users["manager"])
    seed_loans(users=users)

    # when
    started = time.monotonic()
    created = seed_p2p(users=users)
    seconds = time.monotonic() - started
    footprint = _footprint()
    created_again = seed_p2p(users=users)

    # then: one publication per state on each platform, nothing more on a second run
    assert created == 2 * len(STATES) == 24
    assert created_again == 0
    assert _footprint() == footprint
    assert seconds < 60  # the brief allows about 30 s on a developer machine
    by_platform = Counter(Publication.objects.values_list("platform__code", "state"))
    assert by_platform == {(code, state): 1 for code in ("kiva", "babyloan") for state in STATES}

    # Kiva's ids come from the sandbox; the prepared profiles have errors left to fix
    kiva = Publication.objects.filter(platform__code="kiva")
    assert all(
        p.platform_draft_id for p in kiva.exclude(state__in=["selected", "prepared", "validated"])
    )
    prepared = Publication.objects.filter(state="prepared")
    assert all(set(p.field_errors) == {"story", "photo"} for p in prepared)
    validated = Publication.objects.get(platform__code="kiva", state="validated")
    assert profile_errors(validated) == {}

    # photos: processed copies only, at the platform's size, without metadata
    for photo in PublicationPhoto.objects.select_related("publication__platform"):
        with photo.processed.open("rb") as handle:
            image = Image.open(io.BytesIO(handle.read()))
        platform = photo.publication.platform
        assert image.size == (platform.photo_width, platform.photo_height)
        assert not image.getexif()
    anonymised = Publication.objects.filter(is_anonymised=True)
    assert {(p.platform.code, p.state) for p in anonymised} == {
        ("kiva", "defaulted"),
        ("kiva", "withdrawn"),
        ("babyloan", "defaulted"),
    }
    assert not PublicationPhoto.objects.filter(publication__in=anonymised).exists()

    # takedowns: sent to Kiva, waiting for Babyloan's next package
    requests = Counter(
        OutboxMessage.objects.exclude(kind="draft").values_list("platform__code", "kind", "status")
    )
    assert requests == {
        ("kiva", "takedown", "sent"): 1,
        ("kiva", "anonymise", "sent"): 2,
        ("babyloan", "anonymise", "pending"): 1,
        ("babyloan", "takedown", "pending"): 1,
    }

    # news from real events, some sent
    statuses = Counter(JournalDraft.objects.values_list("publication__platform__code", "status"))
    assert statuses[("kiva", "sent")] == 1
    assert statuses[("babyloan", "approved")] == 1
    assert JournalDraft.objects.filter(source="manual").count() == 1

    # October reconciled on Kiva: funds in, report sent, repayment out, all balanced
    report = RepaymentReport.objects.get(platform__code="kiva", year=2026, month=10)
    assert report.status == "sent"
    assert report.total > 0
    fundings = FundingReceipt.objects.filter(platform__code="kiva")
    assert fundings.count() == 3  # funded, repaying and ended
    (statement,) = funding_statements(
        user=users["manager"], platform=report.platform, year=2026, month=10
    )
    assert statement.funded_total == sum(f.amount for f in fundings)
    repaid = PlatformRepayment.objects.filter(report=report)
    assert repaid.exists()
    for entry_id in [
        *fundings.values_list("journal_entry", flat=True),
        *repaid.values_list("journal_entry", flat=True),
    ]:
        lines = JournalLine.objects.filter(entry_id=entry_id)
        assert sum(line.debit for line in lines) == sum(line.credit for line in lines)
    euro = FundingReceipt.objects.get(platform__code="babyloan")
    assert (euro.received_currency, euro.currency) == ("EUR", "CVE")

    # the dashboard tells the story
    figures = {box.platform.code: box for box in dashboard_figures(user=users["manager"])}
    assert figures["kiva"].total == figures["babyloan"].total == 12
    assert figures["kiva"].errors >= 1

    # and every screen shows it (the manager's view of each publication, whatever its state)
    client.force_login(users["manager"])
    pages = ["/p2p/", "/p2p/publications/", "/p2p/news/", "/p2p/reports/"]
    pages += ["/p2p/reconciliation/?platform=kiva&year=2026&month=10"]
    pages += ["/p2p/reconciliation/statement/?platform=kiva&year=2026&month=10&format=pdf"]
    for publication in Publication.objects.all():
        pages += [
            f"/p2p/publications/{publication.pk}/",
            f"/p2p/publications/{publication.pk}/preview/",
        ]
    assert {path: client.get(path).status_code for path in pages} == dict.fromkeys(pages, 200)
