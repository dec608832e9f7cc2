"""Demo P2P export: two platforms, publications in every state on each, processed photos made by
code, news drafted from real events and a reconciled month.

- **Kiva** (Kiva-compatible partner API, profiles in English) and **Babyloan** (monthly file
  packages, profiles in French, paying in EUR).
- 24 active, current CVE loans of the demo (the first by loan number whose borrower is a
  person), one publication per loan, one per state on each platform. Borrowers without a P2P or
  photo consent on file give it first (recorded in the CRM); every published borrower signs a
  waiver (a scan) and has a portrait made by code with Pillow (abstract shapes and initials, no
  real person), which goes through the photo service like any upload.
- Everything goes through the services. Kiva states come from the Kiva sandbox over real HTTP:
  the configured one (``KIVA_API_BASE_URL``) when it answers as a sandbox, else a sandbox
  started in this process on a free port for the seed's duration (``make run`` seeds before
  starting the sandboxes). The push goes to the sandbox, each status poll moves a loan one step
  (fundraising, raised, paying back) and the sandbox's controls set ended, expired and
  defaulted. The one exception is Kiva's transient "pushed" state (the draft sent, the
  platform's answer not yet recorded): that publication's draft is sent with the adapter and
  the move recorded with ``publication_transition``. Babyloan states come from a monthly package
  (``package_build``) and the platform's return file (``return_file_import``).
- News: drafted from the real repayments of the funded loans (``journal_generate``), some
  approved and sent, plus one written by staff.
- The reconciled month is October 2026 on Kiva: the repayment report built from the loans'
  actual repayments, finalised and sent; the funds received for each funded loan posted to the
  ledger in October; the repayment owed to Kiva paid on 5 November. Babyloan paid one loan in
  EUR (exchange difference booked).

Deterministic apart from the ids the sandbox gives; idempotent: nothing happens once the demo
platforms have publications.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
from decimal import Decimal
from random import Random

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from accounting.models import Account
from crm.choices import ConsentPurpose, ConsentStatus, Island, PartyKind, Sector
from crm.models import Consent
from crm.services import consent_record
from loans.choices import LoanStatus
from loans.models import Loan
from mfi.demo.loans import PDF_BYTES
from p2p_export import journals, packages, reconciliation, services
from p2p_export.choices import (
    LookupKind,
    OutboxKind,
    OutboxStatus,
    PlatformKind,
    PublicationState,
)
from p2p_export.models import OutboxMessage, Platform, PlatformLookup, Publication
from p2p_export.payload import draft_payload, payload_hash
from p2p_export.platforms import adapter_for
from sandbox import kiva
from sandbox.core import RunningServer
from users.models import User

S = PublicationState
REQUEST_KINDS = (OutboxKind.TAKEDOWN, OutboxKind.ANONYMISE)
SEED = 20261124
AS_OF = datetime.date(2026, 11, 20)
CONSENT_ON = datetime.date(2026, 9, 1)
WAIVER_ON = datetime.date(2026, 10, 1)
RECONCILED = (2026, 10)
FUNDS_ON = datetime.date(2026, 10, 28)
REPAID_ON = datetime.date(2026, 11, 5)

PLATFORMS = [
    {
        "code": "kiva",
        "name": "Kiva",
        "kind": PlatformKind.KIVA,
        "language": "en",
        "allowed_currencies": ["CVE", "EUR", "USD"],
        "photo_width": 800,
        "photo_height": 600,
        "story_min_length": 150,
        "max_days_past_due": 30,
    },
    {
        "code": "babyloan",
        "name": "Babyloan",
        "kind": PlatformKind.FILES,
        "language": "fr",
        "allowed_currencies": ["CVE", "EUR"],
        "payout_currency": "EUR",
        "photo_width": 600,
        "photo_height": 600,
        "story_min_length": 200,
        "max_days_past_due": 15,
    },
]
STATES = [
    S.SELECTED,
    S.PREPARED,
    S.VALIDATED,
    S.PUSHED,
    S.AWAITING_CONFIRMATION,
    S.FUNDRAISING,
    S.FUNDED,
    S.REPAYING,
    S.ENDED,
    S.REFUNDED,
    S.DEFAULTED,
    S.WITHDRAWN,
]
# Kiva activity ids (the sandbox's list) mapped to our sectors; locations to our islands.
ACTIVITY_SECTORS = {
    "61": Sector.AGRICULTURE,
    "104": Sector.FISHING,
    "120": Sector.FOOD,
    "25": Sector.RETAIL,
    "9": Sector.CRAFTS,
    "58": Sector.CONSTRUCTION,
    "142": Sector.TOURISM,
    "87": Sector.TRANSPORT,
    "64": Sector.SERVICES,
    "113": Sector.OTHER,
}
LOCATION_ISLANDS = {
    "238": Island.SANTIAGO,
    "240": Island.SAO_VICENTE,
    "241": Island.SAL,
    "242": Island.FOGO,
    "243": Island.SANTO_ANTAO,
}
# Words of the loan purpose → (Kiva activity, trade in English, use in English, in French).
BUSINESSES = [
    (
        "mercearia",
        "25",
        "runs a small grocery shop",
        "to buy stock in bulk for the grocery shop",
        "tient une petite épicerie",
        "à acheter du stock en gros pour l'épicerie",
    ),
    (
        "costura",
        "33",
        "makes and mends clothes",
        "to buy an industrial sewing machine",
        "confectionne et retouche des vêtements",
        "à acheter une machine à coudre industrielle",
    ),
    (
        "horta",
        "61",
        "grows vegetables",
        "to install drip irrigation in the vegetable garden",
        "cultive des légumes",
        "à installer un goutte-à-goutte dans le potager",
    ),
    (
        "pesca",
        "104",
        "fishes along the coast",
        "to buy an engine for the fishing boat",
        "pêche le long de la côte",
        "à acheter un moteur pour le bateau de pêche",
    ),
    (
        "padaria",
        "82",
        "bakes bread for the neighbourhood",
        "to buy an oven and a dough mixer",
        "fait le pain du quartier",
        "à acheter un four et un pétrin",
    ),
    (
        "cabeleireiro",
        "64",
        "runs a hair salon",
        "to renovate the hair salon",
        "tient un salon de coiffure",
        "à rénover le salon de coiffure",
    ),
    (
        "peixe",
        "82",
        "sells fresh fish",
        "to buy a freezer to keep the fish fresh",
        "vend du poisson frais",
        "à acheter un congélateur pour garder le poisson",
    ),
    (
        "carpintaria",
        "9",
        "works as a carpenter",
        "to buy carpentry tools",
        "travaille comme menuisier",
        "à acheter des outils de menuiserie",
    ),
    (
        "cabras",
        "61",
        "raises goats",
        "to buy more goats for the herd",
        "élève des chèvres",
        "à agrandir le troupeau de chèvres",
    ),
    (
        "construção",
        "58",
        "sells building materials",
        "to buy a stock of building materials",
        "vend des matériaux de construction",
        "à acheter un stock de matériaux",
    ),
    (
        "legumes",
        "82",
        "sells fruit and vegetables at the market",
        "to buy fruit and vegetables for the market stall",
        "vend des fruits et légumes au marché",
        "à acheter des fruits et légumes pour l'étal",
    ),
    (
        "roupa",
        "33",
        "sells clothes and shoes at the fair",
        "to buy clothes and shoes to resell",
        "vend des vêtements et des chaussures à la foire",
        "à acheter des vêtements et des chaussures à revendre",
    ),
    (
        "telemóveis",
        "64",
        "repairs mobile phones",
        "to equip the phone repair workshop",
        "répare des téléphones portables",
        "à équiper l'atelier de réparation",
    ),
    (
        "café",
        "120",
        "runs a small café",
        "to open a café and snack bar",
        "tient un petit café",
        "à ouvrir un café-snack",
    ),
    (
        "solares",
        "64",
        "installs solar kits in homes",
        "to buy solar kits for homes",
        "installe des kits solaires chez les familles",
        "à acheter des kits solaires",
    ),
    (
        "entregas",
        "87",
        "delivers goods around town",
        "to buy a van for the delivery service",
        "livre des marchandises en ville",
        "à acheter une camionnette de livraison",
    ),
]
DEFAULT_BUSINESS = (
    "",
    "25",
    "runs a small shop",
    "to buy stock for the shop",
    "tient une petite boutique",
    "à acheter du stock pour la boutique",
)
FAMILIES = [
    ("Married, with two children at school.", "Mariée, deux enfants scolarisés."),
    ("Lives with a partner and three children.", "Vit en couple avec trois enfants."),
    ("Single parent of one child.", "Parent seul d'un enfant."),
    ("Lives with parents and a younger sister.", "Vit avec ses parents et une sœur cadette."),
]
LIVING = [
    (
        "A modest house of concrete blocks with running water.",
        "Une maison modeste en parpaings avec l'eau courante.",
    ),
    (
        "A rented two-room flat; electricity, no running water.",
        "Un deux-pièces loué ; électricité, pas d'eau courante.",
    ),
    ("The family home, shared with relatives.", "La maison familiale, partagée avec des proches."),
]
PALETTE = [(38, 70, 83), (42, 157, 143), (233, 196, 106), (244, 162, 97), (231, 111, 81)]


def _business(purpose: str) -> tuple[str, ...]:
    lowered = purpose.lower()
    return next((row for row in BUSINESSES if row[0] in lowered), DEFAULT_BUSINESS)


def _story(person, loan, language: str, place: str) -> tuple[str, str]:
    """(story, loan use) in the platform's language: first name only, third person."""
    business = _business(loan.purpose)
    name = person.first_name
    if language == "fr":
        return (
            f"{name} habite à {place} et {business[4]}. {name} a su fidéliser sa clientèle et "
            f"veut faire grandir son activité. Ce prêt servira {business[5]}, pour que {name} "
            "puisse servir plus de clients et assurer un revenu plus régulier à sa famille.",
            business[5].removeprefix("à "),
        )
    return (
        f"{name} lives in {place} and {business[2]}. {name} has worked hard to build a loyal "
        "group of customers and wants the business to grow. This loan is "
        f"{business[3]}, so that {name} can serve more customers and earn a steadier income "
        "for the family.",
        business[3],
    )


def portrait(initials: str, rng: Random, size=(1200, 900)) -> bytes:
    """An abstract "portrait" made by code: coloured shapes and the initials (no real person)."""
    background, *colours = rng.sample(PALETTE, len(PALETTE))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for colour in colours:
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        radius = rng.randrange(size[1] // 6, size[1] // 2)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    font = ImageFont.load_default(size=size[1] // 3)
    draw.text((size[0] // 2, size[1] // 2), initials, fill=(255, 255, 255), font=font, anchor="mm")
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=90)
    return output.getvalue()


@contextlib.contextmanager
def kiva_sandbox():
    """The Kiva sandbox the seed talks to: the configured one when it answers as a sandbox
    (never a real platform), else one started here on a free port for the seed's duration."""
    base = settings.KIVA_API_BASE_URL.rstrip("/")
    if base:
        try:
            if httpx.get(f"{base}/sandbox/state", timeout=1).status_code == 200:
                yield base
                return
        except httpx.HTTPError:
            pass
    server = RunningServer(kiva.build_app()).start()
    try:
        with override_settings(
            KIVA_API_BASE_URL=server.url,
            KIVA_AUTH_URL=f"{server.url}/oauth/token",
            KIVA_CLIENT_ID=kiva.CLIENT_ID,
            KIVA_CLIENT_SECRET=kiva.CLIENT_SECRET,
            KIVA_PARTNER_ID="1",
        ):
            yield server.url
    finally:
        server.stop()


def _sandbox_status(base: str, loan_number: str, status: str) -> None:
    """The sandbox's control: the platform changed the loan's status (ended, expired...)."""
    httpx.put(f"{base}/sandbox/loans/{loan_number}", json={"status": status}, timeout=5)


def _platforms(admin) -> dict[str, Platform]:
    platforms = {}
    for config in PLATFORMS:
        platform, _created = Platform.objects.get_or_create(
            code=config["code"], defaults={**config}
        )
        platforms[platform.code] = platform
    babyloan = platforms["babyloan"]
    if babyloan.exchange_difference_account_id is None:
        babyloan.exchange_difference_account = Account.objects.filter(code="5900").first()
        babyloan.save(update_fields=["exchange_difference_account"])
    return platforms


def _map_lookups(platform: Platform) -> None:
    services.lookups_refresh(actor=None, platform=platform)
    for kind, mapping, field in (
        (LookupKind.ACTIVITY, ACTIVITY_SECTORS, "sector"),
        (LookupKind.LOCATION, LOCATION_ISLANDS, "island"),
    ):
        for external_id, value in mapping.items():
            lookup = PlatformLookup.objects.filter(
                platform=platform, kind=kind, external_id=external_id
            ).first()
            if lookup is not None:
                services.lookup_map(actor=None, lookup=lookup, **{field: value})


def _candidate_loans(count: int) -> list[Loan]:
    loans = list(
        Loan.objects.filter(
            status=LoanStatus.ACTIVE,
            currency="CVE",
            disbursed_on__isnull=False,
            days_past_due__lte=min(config["max_days_past_due"] for config in PLATFORMS),
            borrower__kind=PartyKind.PERSON,
        )
        .select_related("borrower", "borrower__person")
        .order_by("number")[:count]
    )
    if len(loans) < count:
        raise ValidationError(f"The demo needs {count} current loans; it has {len(loans)}.")
    return loans


def _consents(admin, loans: list[Loan]) -> None:
    """The borrowers agree to publication (and of their photo), recorded in the CRM."""
    given = set(
        Consent.objects.filter(
            party_id__in=[loan.borrower_id for loan in loans], status=ConsentStatus.GIVEN
        ).values_list("party_id", "purpose")
    )
    for loan in loans:
        for purpose in (ConsentPurpose.P2P_PUBLICATION, ConsentPurpose.PHOTO_PUBLICATION):
            if (loan.borrower_id, purpose) not in given:
                consent_record(
                    actor=admin, party=loan.borrower, purpose=purpose, given_on=CONSENT_ON
                )


def _publish(manager, platform: Platform, loan: Loan, rng: Random, state: str):
    """Select the loan, write the profile, add the portrait and the signed waiver (a loan only
    selected keeps the profile as the selection filled it)."""
    publication = services.publication_select(actor=manager, platform=platform, loan=loan)
    if state == S.SELECTED:
        return publication
    complete = state != S.PREPARED
    person = loan.borrower.person
    place = person.municipality or (Island(person.island).label if person.island else "Praia")
    story, use = _story(person, loan, platform.language, place)
    french = platform.language == "fr"
    family = rng.choice(FAMILIES)[french]
    living = rng.choice(LIVING)[french]
    data = {
        "first_name": person.first_name,
        "story": story if complete else story[:90],
        "loan_use": use,
        "family_situation": family,
        "standard_of_living": living,
        "description_language": platform.language,
    }
    if platform.kind == PlatformKind.KIVA:
        lookups = platform.lookups
        data["activity"] = lookups.get(
            kind=LookupKind.ACTIVITY, external_id=_business(loan.purpose)[1]
        )
        island_location = lookups.filter(kind=LookupKind.LOCATION, island=person.island).first()
        data["location"] = island_location or lookups.get(
            kind=LookupKind.LOCATION, external_id="238"
        )
    services.profile_update(actor=manager, publication=publication, data=data)
    initials = f"{person.first_name[:1]}{person.last_name[:1]}".upper()
    if complete:
        services.photo_add(
            actor=manager,
            publication=publication,
            file=SimpleUploadedFile("portrait.jpg", portrait(initials, rng), "image/jpeg"),
        )
    services.waiver_add(
        actor=manager,
        loan=loan,
        person=person,
        signed_on=WAIVER_ON,
        scan=SimpleUploadedFile("waiver.pdf", PDF_BYTES, "application/pdf"),
    )
    return publication


def _validated(manager, publication: Publication) -> Publication:
    return services.publication_validate(actor=manager, publication=publication)


def _poll(publication: Publication, times: int) -> None:
    for _poll_number in range(times):
        services.publication_sync_status(actor=None, publication=publication)


def _kiva_sent_unanswered(manager, publication: Publication) -> None:
    """The draft sent to the sandbox, the platform's answer not recorded yet (pushed)."""
    publication = Publication.objects.select_related("platform", "loan", "profile").get(
        pk=publication.pk
    )
    payload = draft_payload(publication)
    result = adapter_for(publication.platform).push_draft(
        internal_loan_id=publication.internal_loan_id, payload=payload
    )
    with transaction.atomic():
        locked = Publication.objects.select_for_update(of=("self",)).get(pk=publication.pk)
        locked.platform_draft_id = result.remote.draft_id
        locked.pushed_at = timezone.now()
        locked.last_pushed_hash = payload_hash(payload)
        services.publication_transition(
            locked,
            S.PUSHED,
            actor=manager,
            action="pushed",
            update_fields=("platform_draft_id", "pushed_at", "last_pushed_hash"),
        )


def _kiva(users, platform: Platform, loans: list[Loan], rng: Random, base: str) -> list:
    manager = users["manager"]
    made = []
    for state, loan in zip(STATES, loans, strict=True):
        publication = _publish(manager, platform, loan, rng, state)
        made.append(publication)
        if state == S.SELECTED:
            continue
        if state == S.PREPARED:
            with contextlib.suppress(ValidationError):  # the errors stay on the profile to fix
                _validated(manager, publication)
            continue
        _validated(manager, publication)
        if state == S.VALIDATED:
            continue
        if state == S.PUSHED:
            _kiva_sent_unanswered(manager, publication)
            continue
        services.publication_push(actor=manager, publication=publication)
        steps = {S.FUNDRAISING: 1, S.FUNDED: 2, S.REPAYING: 3, S.ENDED: 3, S.DEFAULTED: 3}
        _poll(publication, steps.get(state, 1 if state in (S.REFUNDED, S.WITHDRAWN) else 0))
        platform_status = {S.ENDED: "ended", S.REFUNDED: "expired", S.DEFAULTED: "defaulted"}
        if state in platform_status:
            _sandbox_status(base, publication.internal_loan_id, platform_status[state])
            _poll(publication, 1)
        if state == S.WITHDRAWN:
            services.waiver_withdraw(
                actor=manager, waiver=loan.p2p_waivers.get(), withdrawn_on=AS_OF
            )
    # Takedown and anonymisation requests go out after commit; send any still waiting (as the
    # sync's first step would) so the demo does not depend on when callbacks run.
    for message in OutboxMessage.objects.filter(
        platform=platform, status=OutboxStatus.PENDING, kind__in=REQUEST_KINDS
    ).order_by("pk"):
        services.outbox_send(message=message)
    return made


RETURN_STATUSES = {
    S.FUNDRAISING: "online",
    S.FUNDED: "funded",
    S.REPAYING: "repaying",
    S.ENDED: "repaid",
    S.REFUNDED: "expired",
    S.DEFAULTED: "defaulted",
    S.WITHDRAWN: "online",
}


def _babyloan(users, platform: Platform, loans: list[Loan], rng: Random) -> list:
    manager = users["manager"]
    made = []
    later = []
    for state, loan in zip(STATES, loans, strict=True):
        publication = _publish(manager, platform, loan, rng, state)
        made.append((state, publication))
        if state == S.PREPARED:
            with contextlib.suppress(ValidationError):
                _validated(manager, publication)
        elif state == S.PUSHED:
            later.append(publication)  # pushed after this month's package is built
        elif state != S.SELECTED:
            _validated(manager, publication)
            if state != S.VALIDATED:
                services.publication_push(actor=manager, publication=publication)
    packages.package_build(actor=manager, platform=platform, today=AS_OF)
    for publication in later:
        _validated(manager, publication)
        services.publication_push(actor=manager, publication=publication)
    lines = io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(
        ["internal_loan_id", "platform_loan_id", "status", "funded_amount", "changed_on"]
    )
    for number, (state, publication) in enumerate(made, start=1):
        if state in RETURN_STATUSES:
            funded = publication.loan.principal if state in (S.FUNDED, S.REPAYING, S.ENDED) else ""
            writer.writerow(
                [
                    publication.internal_loan_id,
                    f"BL-{70000 + number}",
                    RETURN_STATUSES[state],
                    funded,
                    AS_OF.isoformat(),
                ]
            )
    services.return_file_import(actor=manager, platform=platform, content=lines.getvalue().encode())
    for state, publication in made:
        if state == S.WITHDRAWN:
            services.publication_withdraw(
                actor=manager, publication=publication, reason="Le bailleur retire le prêt."
            )
    return [publication for _state, publication in made]


def _news(users, publications: list[Publication]) -> None:
    """Drafts from the loans' real repayments; the first of each platform approved and sent."""
    manager = users["manager"]
    sent = set()
    for publication in publications:
        publication.refresh_from_db()
        drafts = journals.journal_generate(actor=manager, publication=publication)
        if drafts and publication.platform_id not in sent:
            sent.add(publication.platform_id)
            approved = journals.journal_approve(actor=manager, journal=drafts[0])
            journals.journal_send(actor=manager, journal=approved)
    funded = next(
        (p for p in publications if p.state in journals.NEWS_STATES and not p.is_anonymised),
        None,
    )
    if funded is not None:
        journals.journal_create(
            actor=manager,
            publication=funded,
            subject=f"{funded.profile.first_name} took part in the market fair",
            body=(
                f"{funded.profile.first_name} had a stand at the town's market fair this month "
                "and met many new customers."
            ),
        )


def _reconcile(users, kiva_publications: list, babyloan_publications: list) -> None:
    """October on Kiva: funds received per funded loan, the report built from the repayments,
    finalised, sent and paid back; one Babyloan loan paid in EUR."""
    manager, accountant = users["manager"], users["accountant"]
    year, month = RECONCILED
    for number, publication in enumerate(kiva_publications, start=1):
        publication.refresh_from_db()
        if publication.state in (S.FUNDED, S.REPAYING, S.ENDED):
            reconciliation.funding_record(
                actor=accountant,
                publication=publication,
                received_on=FUNDS_ON,
                reference=f"KIVA-{year}{month:02d}-{number:03d}",
                amount=publication.loan.principal,
            )
    platform = kiva_publications[0].platform
    for report in reconciliation.repayment_report_build(
        actor=manager, platform=platform, year=year, month=month
    ):
        report = reconciliation.repayment_report_finalise(actor=manager, report=report)
        report = reconciliation.repayment_report_send(actor=manager, report=report)
        with contextlib.suppress(ValidationError):  # nothing owed when nothing was repaid
            reconciliation.platform_repayment_record(
                actor=accountant, report=report, paid_on=REPAID_ON, reference="KIVA-REPAY-2026-10"
            )
    funded = next((p for p in babyloan_publications if p.state in (S.FUNDED, S.REPAYING)), None)
    if funded is not None:
        principal = funded.loan.principal
        rate = Decimal("110.265")
        reconciliation.funding_record(
            actor=accountant,
            publication=funded,
            received_on=REPAID_ON,
            reference="BABYLOAN-2026-11-001",
            amount=principal,
            received_amount=(principal / rate).quantize(Decimal("0.01")),
            received_currency="EUR",
            exchange_rate=rate,
        )


def seed_p2p(*, users: dict[str, User]) -> int:
    """Create the demo platforms and publications; returns how many publications were created
    (0 when the demo platforms already have some)."""
    admin = users["admin"]
    platforms = _platforms(admin)
    if Publication.objects.filter(platform__in=platforms.values()).exists():
        return 0
    rng = Random(SEED)
    loans = _candidate_loans(2 * len(STATES))
    _consents(admin, loans)
    with kiva_sandbox() as base:
        _map_lookups(platforms["kiva"])
        kiva_made = _kiva(users, platforms["kiva"], loans[: len(STATES)], rng, base)
        babyloan_made = _babyloan(users, platforms["babyloan"], loans[len(STATES) :], rng)
        _news(users, [*kiva_made, *babyloan_made])
        _reconcile(users, kiva_made, babyloan_made)
    return len(kiva_made) + len(babyloan_made)
