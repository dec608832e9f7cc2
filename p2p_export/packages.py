"""Monthly packages for file-based platforms.

A package is a zip of:
- ``manifest.json``: platform, period, number, creation time and counts;
- ``profiles.csv`` / ``profiles.json``: new profiles (``payload.profile_row``);
- ``updates.csv`` / ``updates.json``: news (approved journals), takedowns and anonymisations;
- ``repayments.csv`` / ``repayments.json``: lines of finalised repayment reports;
- ``photos/<internal loan id>.jpg`` and ``photos/journal-<id>.jpg``: processed copies only.

Building a package hands its contents over: profiles move from pushed to awaiting confirmation,
journals and reports become sent, takedown requests are marked sent. Staff download it, and it is
uploaded to ``P2P_FILES_DELIVERY_URL`` when one is configured.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import zipfile

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from mfi.money import round_money
from p2p_export.choices import (
    JournalStatus,
    OutboxKind,
    OutboxStatus,
    PackageStatus,
    PlatformKind,
    PublicationState,
    ReportStatus,
)
from p2p_export.models import (
    FilePackage,
    JournalDraft,
    OutboxMessage,
    Platform,
    Publication,
    RepaymentReport,
)
from p2p_export.payload import photo_bytes, primary_photo, profile_row
from p2p_export.platforms import adapter_for
from p2p_export.services import _outbox_done, _require, publication_transition

S = PublicationState
UPDATE_COLUMNS = ("kind", "internal_loan_id", "platform_loan_id", "subject", "body", "image")
REPAYMENT_COLUMNS = (
    "internal_loan_id",
    "platform_loan_id",
    "value_date",
    "amount",
    "currency",
    "period",
)


def _csv(rows: list[dict], columns) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _contents(platform: Platform):
    """What the next package carries: publications, journals, outbox requests, reports."""
    publications = list(
        Publication.objects.filter(platform=platform, state=S.PUSHED)
        .select_related("loan", "profile", "profile__activity", "profile__location", "platform")
        .order_by("pk")
    )
    journals = list(
        JournalDraft.objects.filter(publication__platform=platform, status=JournalStatus.APPROVED)
        .select_related("publication", "publication__loan")
        .order_by("pk")
    )
    requests = list(
        OutboxMessage.objects.filter(
            platform=platform,
            status=OutboxStatus.PENDING,
            kind__in=[OutboxKind.TAKEDOWN, OutboxKind.ANONYMISE],
        )
        .select_related("publication", "publication__loan")
        .order_by("pk")
    )
    reports = list(
        RepaymentReport.objects.filter(platform=platform, status=ReportStatus.FINALISED).order_by(
            "year", "month", "currency"
        )
    )
    return publications, journals, requests, reports


def package_pending(platform: Platform) -> dict[str, int]:
    """Counts of what the next package would carry (for the dashboard and dry runs)."""
    publications, journals, requests, reports = _contents(platform)
    return {
        "profiles": len(publications),
        "updates": len(journals) + len(requests),
        "repayments": sum(report.lines.count() for report in reports),
    }


@transaction.atomic
def package_build(
    *, actor, platform: Platform, today: datetime.date | None = None
) -> FilePackage | None:
    """Build the next package of a file platform (None when there is nothing to send)."""
    _require(actor)
    if platform.kind != PlatformKind.FILES:
        raise ValidationError(_("Only file-based platforms receive packages."))
    Platform.objects.select_for_update().filter(pk=platform.pk).first()
    publications, journals, requests, reports = _contents(platform)
    if not (publications or journals or requests or reports):
        return None
    day = today or timezone.localdate()
    buffer = io.BytesIO()
    profiles, updates, repayments = [], [], []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for publication in publications:
            row = profile_row(publication)
            photo = primary_photo(publication)
            if photo is not None:
                archive.writestr(row["photo"], photo_bytes(photo))
            profiles.append(row)
        for journal in journals:
            image = f"photos/journal-{journal.pk}.jpg" if journal.image else ""
            if image:
                with journal.image.open("rb") as handle:
                    archive.writestr(image, handle.read())
            updates.append(
                {
                    "kind": "news",
                    "internal_loan_id": journal.publication.internal_loan_id,
                    "platform_loan_id": journal.publication.platform_loan_id,
                    "subject": journal.subject,
                    "body": journal.body,
                    "image": image,
                }
            )
        for message in requests:
            updates.append(
                {
                    "kind": message.kind,
                    "internal_loan_id": message.publication.internal_loan_id,
                    "platform_loan_id": message.publication.platform_loan_id,
                }
            )
        for report in reports:
            for line in report.lines.select_related("publication", "publication__loan"):
                repayments.append(
                    {
                        "internal_loan_id": line.publication.internal_loan_id,
                        "platform_loan_id": line.publication.platform_loan_id,
                        "value_date": line.value_date.isoformat(),
                        "amount": str(round_money(line.amount, report.currency)),
                        "currency": report.currency,
                        "period": f"{report.year}-{report.month:02d}",
                    }
                )
        sequence = (
            FilePackage.objects.filter(platform=platform, year=day.year, month=day.month).aggregate(
                last=Max("sequence")
            )["last"]
            or 0
        ) + 1
        manifest = {
            "platform": platform.code,
            "period": f"{day.year}-{day.month:02d}",
            "sequence": sequence,
            "created_at": timezone.now().isoformat(),
            "counts": {
                "profiles": len(profiles),
                "updates": len(updates),
                "repayments": len(repayments),
            },
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        columns = list(profiles[0]) if profiles else ["internal_loan_id"]
        archive.writestr("profiles.csv", _csv(profiles, columns))
        archive.writestr("updates.csv", _csv(updates, UPDATE_COLUMNS))
        archive.writestr("repayments.csv", _csv(repayments, REPAYMENT_COLUMNS))
        for name, rows in (
            ("profiles", profiles),
            ("updates", updates),
            ("repayments", repayments),
        ):
            archive.writestr(f"{name}.json", json.dumps(rows, indent=2, ensure_ascii=False))
    content = buffer.getvalue()
    package = FilePackage(
        platform=platform,
        year=day.year,
        month=day.month,
        sequence=sequence,
        sha256=hashlib.sha256(content).hexdigest(),
        profiles=len(profiles),
        updates=len(updates),
        repayments=len(repayments),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    package.file.save(package.filename, ContentFile(content), save=False)
    package.save()
    now = timezone.now()
    for publication in publications:
        publication.platform_draft_id = package.filename
        publication.save(update_fields=["platform_draft_id", "updated_at"])
        publication_transition(
            publication,
            S.AWAITING_CONFIRMATION,
            actor=actor,
            action="packaged",
            note=package.filename,
        )
        for message in OutboxMessage.objects.filter(
            idempotency_key=publication.idempotency_key, status=OutboxStatus.PENDING
        ):
            _outbox_done(message, response={"package": package.filename})
    JournalDraft.objects.filter(pk__in=[j.pk for j in journals]).update(
        status=JournalStatus.SENT, sent_at=now, platform_journal_id=package.filename[:60]
    )
    for message in requests:
        _outbox_done(message, response={"package": package.filename})
    RepaymentReport.objects.filter(pk__in=[r.pk for r in reports]).update(
        status=ReportStatus.SENT, sent_at=now
    )
    audit_record(
        actor=actor,
        action="p2p_package.built",
        target=package,
        after={
            "file": package.filename,
            "sha256": package.sha256,
            "profiles": package.profiles,
            "updates": package.updates,
            "repayments": package.repayments,
        },
    )
    return package


@transaction.atomic
def package_deliver(*, actor, package: FilePackage) -> FilePackage:
    """Upload a built package to the platform's endpoint (``P2P_FILES_DELIVERY_URL``)."""
    _require(actor)
    locked = FilePackage.objects.select_for_update().select_related("platform").get(pk=package.pk)
    if locked.status == PackageStatus.DELIVERED:
        return locked
    with locked.file.open("rb") as handle:
        content = handle.read()
    receipt = adapter_for(locked.platform).deliver_package(
        filename=locked.filename, content=content
    )
    locked.status = PackageStatus.DELIVERED
    locked.delivered_at = timezone.now()
    locked.save(update_fields=["status", "delivered_at"])
    audit_record(
        actor=actor,
        action="p2p_package.delivered",
        target=locked,
        after={"file": locked.filename, "receipt": receipt},
    )
    return locked
