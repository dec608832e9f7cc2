"""P2P builders on the real services: platforms, consenting borrowers with recent loans, photos
made by code, and publications ready to validate.

Loans are the reference product of ``tests.loans.factories`` (120,000 CVE, 12 monthly
installments) but disbursed ten days ago, so they are current (no arrears) whatever today is.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from crm.choices import ConsentPurpose
from crm.services import consent_record
from p2p_export import services
from p2p_export.choices import LookupKind, PlatformKind
from p2p_export.models import Platform, Publication
from tests.crm.factories import make_person
from tests.loans.factories import active_loan, cash_product

D = Decimal
STORY = (
    "Maria runs a small grocery shop near the market of Plateau. Every morning she sells rice, "
    "oil, soap and fresh bread to her neighbours. With this loan she buys her stock in bulk at "
    "better prices and keeps the shelves full."
)


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def jpeg_bytes(size=(1200, 900), *, exif: Image.Exif | None = None, fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    for x in range(size[0] // 2):  # a mark on the left half, to see orientation
        image.putpixel((x, 0), (0, 0, 255))
    output = io.BytesIO()
    image.save(output, format=fmt, **({"exif": exif} if exif is not None else {}))
    return output.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def waiver_scan() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "waiver.pdf", b"%PDF-1.4 signed waiver", content_type="application/pdf"
    )


def make_platform(kind: str = PlatformKind.KIVA, **fields) -> Platform:
    defaults = {
        "code": "kiva" if kind == PlatformKind.KIVA else "babyloan",
        "name": "Kiva" if kind == PlatformKind.KIVA else "Babyloan",
        "kind": kind,
        "language": "en",
        "allowed_currencies": ["CVE", "EUR", "USD"],
        "photo_width": 400,
        "photo_height": 300,
    }
    defaults.update(fields)
    return Platform.objects.create(**defaults)


def consenting_person(actor, *, photo: bool = True, **overrides):
    """A person of the actor's branch who consented to P2P publication (and of their photo)."""
    person = make_person(actor, **overrides)
    given = days_ago(30)
    consent_record(
        actor=actor, party=person, purpose=ConsentPurpose.P2P_PUBLICATION, given_on=given
    )
    if photo:
        consent_record(
            actor=actor, party=person, purpose=ConsentPurpose.PHOTO_PUBLICATION, given_on=given
        )
    return person


def recent_loan(officer, approver, rules, *, borrower=None, disbursed_days_ago: int = 10, **opts):
    """The reference loan, disbursed ``disbursed_days_ago`` days ago."""
    disbursed = days_ago(disbursed_days_ago)
    return active_loan(
        officer,
        approver,
        opts.pop("product", None) or cash_product(approver, rules),
        borrower=borrower or consenting_person(officer),
        submitted_on=disbursed - datetime.timedelta(days=6),
        approved_on=disbursed - datetime.timedelta(days=3),
        expected_disbursement_date=disbursed,
        disbursed_on=disbursed,
        **opts,
    )


def ready_publication(
    manager, platform: Platform, loan, *, photo: bool = True, waiver: bool = True
) -> Publication:
    """Selected, profile written, photo added and waiver filed: ready to validate."""
    publication = services.publication_select(actor=manager, platform=platform, loan=loan)
    data = {"story": STORY, "is_not_pictured": not photo}
    activity = platform.lookups.filter(kind=LookupKind.ACTIVITY, sector="retail").first()
    if activity is not None:
        data["activity"] = activity
    services.profile_update(actor=manager, publication=publication, data=data)
    if photo:
        services.photo_add(actor=manager, publication=publication, file=upload(jpeg_bytes()))
    if waiver:
        services.waiver_add(
            actor=manager,
            loan=loan,
            person=loan.borrower.person,
            signed_on=days_ago(5),
            scan=waiver_scan(),
        )
    publication.refresh_from_db()
    return publication


def previous_month() -> tuple[int, int]:
    last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    return last.year, last.month


def loan_repaid_last_month(officer, approver, rules, **options):
    """The reference loan disbursed on the 5th two months ago, every installment due so far paid
    on its due date: the first (principal 8,947.15) falls in the previous month."""
    from loans.services import repayment_record

    year, month = previous_month()
    first_of_previous = datetime.date(year, month, 1)
    disbursed = (first_of_previous - datetime.timedelta(days=1)).replace(day=5)
    loan = recent_loan(
        officer,
        approver,
        rules,
        disbursed_days_ago=(timezone.localdate() - disbursed).days,
        **options,
    )
    for installment in loan.installments.filter(due_date__lte=timezone.localdate()):
        repayment_record(
            actor=officer, loan=loan, amount=installment.total_due, value_date=installment.due_date
        )
    loan.refresh_from_db()
    return loan


def publish_and_poll(manager, publication, polls: int) -> Publication:
    """Validate and push, then poll the platform ``polls`` times (the Kiva sandbox moves a loan
    one step per poll: fundraising, raised, paying back)."""
    services.publication_validate(actor=manager, publication=publication)
    services.publication_push(actor=manager, publication=publication)
    for _poll in range(polls):
        services.publication_sync_status(actor=None, publication=publication)
    publication.refresh_from_db()
    return publication
