"""Reads for the P2P screens and API, always scoped to what the user may see.

A publication belongs to its loan's branch: branch staff see their branch subtree, head-office
roles every branch; without P2P_VIEW nothing. Out-of-scope objects are indistinguishable from
missing ones (404). Platform-wide figures (reports, statements) are summed over the lines the
user may see. Pure reads: nothing here changes the database.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.selectors import events_for_objects
from crm.choices import ConsentPurpose, ConsentStatus, LinkKind, PartyKind
from crm.models import Consent, PartyLink
from loans.choices import LoanStatus
from loans.models import Loan
from mfi.money import ZERO
from p2p_export.choices import (
    EDITABLE_STATES,
    FINAL_STATES,
    JournalStatus,
    LookupKind,
    OutboxKind,
    PublicationState,
)
from p2p_export.models import (
    FilePackage,
    FundingReceipt,
    JournalDraft,
    OutboxMessage,
    Platform,
    PlatformLookup,
    PlatformRepayment,
    Publication,
    PublicationBorrower,
    PublicationEvent,
    PublicationPhoto,
    RepaymentReport,
    RepaymentReportLine,
    Waiver,
)
from users.roles import Capability

S = PublicationState
# Publications whose lenders' money is in: the "funded" figure of the dashboard.
FUNDED_STATES = (S.FUNDED, S.REPAYING, S.ENDED)


def _may_see(user) -> bool:
    return bool(user and user.is_authenticated and user.has_capability(Capability.P2P_VIEW))


def _scoped(queryset: QuerySet, user, branch_field: str) -> QuerySet:
    if not _may_see(user):
        return queryset.none()
    scope = user.branch_scope_ids()
    if scope is None:
        return queryset
    return queryset.filter(**{f"{branch_field}__in": scope})


# --- platforms and publications -------------------------------------------------------------------


def platforms_visible_to(user, *, active_only: bool = True) -> QuerySet[Platform]:
    """Platforms are configuration, visible to every P2P reader."""
    if not _may_see(user):
        return Platform.objects.none()
    platforms = Platform.objects.all()
    return platforms.filter(is_active=True) if active_only else platforms


def platform_get_for_user(user, code: str) -> Platform:
    platform = platforms_visible_to(user, active_only=False).filter(code=code).first()
    if platform is None:
        raise Http404
    return platform


def publications_visible_to(user) -> QuerySet[Publication]:
    """Every publication the user may see, with what a list row shows already joined."""
    return _scoped(
        Publication.objects.select_related(
            "platform", "loan", "loan__borrower", "loan__branch", "profile"
        ),
        user,
        "loan__branch_id",
    )


def publication_search(
    user,
    *,
    platform: Platform | None = None,
    state: str = "",
    has_error: bool = False,
    consent_gap: bool = False,
    text: str = "",
) -> QuerySet[Publication]:
    """The publications of the list screen and API, most recently changed first."""
    publications = publications_visible_to(user)
    if platform is not None:
        publications = publications.filter(platform=platform)
    if state:
        publications = publications.filter(state=state)
    if has_error:
        publications = publications_with_errors(publications)
    if consent_gap:
        publications = publications.filter(pk__in=publications_with_consent_gaps(publications))
    if text.strip():
        publications = publications.filter(
            Q(loan__number__icontains=text.strip()) | Q(profile__first_name__icontains=text.strip())
        )
    return publications.order_by("-updated_at", "-pk")


def publications_of(party) -> QuerySet[Publication]:
    """Every publication the party is in: their loan's, as a listed borrower or pictured."""
    return Publication.objects.filter(
        Q(loan__borrower=party) | Q(borrowers__person_id=party.pk) | Q(photos__person_id=party.pk)
    ).distinct()


def publication_get_for_user(user, pk: int) -> Publication:
    """The publication (profile, lookups and loan product joined), or 404."""
    publication = (
        publications_visible_to(user)
        .select_related(
            "selected_by",
            "profile__activity",
            "profile__theme",
            "profile__location",
            "loan__product_version__product",
        )
        .filter(pk=pk)
        .first()
    )
    if publication is None:
        raise Http404
    return publication


def publications_with_errors(queryset: QuerySet[Publication]) -> QuerySet[Publication]:
    """Profiles with something to fix before they can go (or go again) to the platform."""
    return queryset.exclude(state__in=FINAL_STATES).filter(~Q(field_errors={}) | ~Q(last_error=""))


def publication_history(publication: Publication) -> list[PublicationEvent]:
    """The state changes and notable actions, oldest first."""
    return list(publication.events.select_related("actor").order_by("created_at", "pk"))


def publication_audit_trail(publication: Publication) -> list[AuditEvent]:
    """Who selected, edited, approved, pushed or withdrew the profile (newest first): the audit
    events of the publication, its waivers and its news items."""
    targets = [
        publication,
        *Waiver.objects.filter(loan_id=publication.loan_id),
        *publication.journals.all(),
    ]
    return list(events_for_objects(targets=targets).order_by("-occurred_at", "-pk")[:100])


def publication_photos(publication: Publication) -> list[PublicationPhoto]:
    """Photos that have a processed copy (the original is never shown)."""
    return [photo for photo in publication.photos.select_related("person") if photo.processed]


def photo_get_for_user(user, pk: int) -> PublicationPhoto:
    photo = (
        PublicationPhoto.objects.filter(pk=pk, publication__in=publications_visible_to(user))
        .exclude(processed="")
        .first()
    )
    if photo is None:
        raise Http404
    return photo


def publication_borrowers(publication: Publication) -> list[PublicationBorrower]:
    return list(publication.borrowers.select_related("person").order_by("pk"))


def platform_lookups(platform: Platform, kind: str) -> QuerySet[PlatformLookup]:
    return platform.lookups.filter(kind=kind).order_by("name")


def publication_waivers(publication: Publication) -> list[Waiver]:
    """Every waiver signed for the publication's loan, withdrawn ones included."""
    return list(Waiver.objects.filter(loan_id=publication.loan_id).select_related("person"))


def waiver_get(publication: Publication, pk: int) -> Waiver:
    """A waiver of the publication's loan, or 404."""
    waiver = Waiver.objects.filter(pk=pk, loan_id=publication.loan_id).first()
    if waiver is None:
        raise Http404
    return waiver


def takedown_requests(publication: Publication) -> list[OutboxMessage]:
    """Takedown and anonymisation requests sent (or waiting to be sent) to the platform."""
    return list(
        publication.outbox.filter(kind__in=[OutboxKind.TAKEDOWN, OutboxKind.ANONYMISE]).order_by(
            "created_at", "pk"
        )
    )


# --- the consent gate ----------------------------------------------------------------------------


@dataclass
class ConsentLine:
    """One person's part of a publication's consent gate."""

    person_id: int
    first_name: str
    is_borrower: bool
    is_pictured: bool
    has_p2p_consent: bool
    has_photo_consent: bool
    waiver: Waiver | None
    withdrawn_waiver: Waiver | None

    @property
    def needs_waiver(self) -> bool:
        return self.is_pictured or self.is_main_borrower

    is_main_borrower: bool = False

    @property
    def is_complete(self) -> bool:
        return (
            (not self.is_borrower or self.has_p2p_consent)
            and (not self.needs_waiver or self.waiver is not None)
            and (not self.is_pictured or self.has_photo_consent)
        )


def consent_lines(publication: Publication) -> list[ConsentLine]:
    """The consent gate per person (the rules of ``validation.consent_gaps``): every borrower's
    P2P consent; a waiver of the main borrower and of every pictured person; the photo consent of
    every pictured person."""
    borrowers = publication_borrowers(publication)
    photo_people = {
        photo.person_id: photo.person
        for photo in publication.photos.select_related("person")
        if photo.person_id
    }
    people: dict[int, ConsentLine] = {}
    for index, borrower in enumerate(borrowers):
        people[borrower.person_id] = ConsentLine(
            person_id=borrower.person_id,
            first_name=borrower.person.first_name,
            is_borrower=True,
            is_pictured=not publication.is_not_pictured and borrower.is_pictured,
            has_p2p_consent=False,
            has_photo_consent=False,
            waiver=None,
            withdrawn_waiver=None,
            is_main_borrower=index == 0,
        )
    for person_id, person in photo_people.items():
        line = people.get(person_id)
        if line is None:
            people[person_id] = ConsentLine(
                person_id=person_id,
                first_name=person.first_name,
                is_borrower=False,
                is_pictured=not publication.is_not_pictured,
                has_p2p_consent=False,
                has_photo_consent=False,
                waiver=None,
                withdrawn_waiver=None,
            )
        elif not publication.is_not_pictured:
            line.is_pictured = True
    given = set(
        Consent.objects.filter(party_id__in=list(people), status=ConsentStatus.GIVEN).values_list(
            "party_id", "purpose"
        )
    )
    for waiver in Waiver.objects.filter(loan_id=publication.loan_id, person_id__in=list(people)):
        line = people[waiver.person_id]
        if waiver.is_active:
            line.waiver = waiver
        elif line.withdrawn_waiver is None:
            line.withdrawn_waiver = waiver
    for line in people.values():
        line.has_p2p_consent = (line.person_id, ConsentPurpose.P2P_PUBLICATION) in given
        line.has_photo_consent = (line.person_id, ConsentPurpose.PHOTO_PUBLICATION) in given
    return list(people.values())


def publications_with_consent_gaps(queryset: QuerySet[Publication]) -> set[int]:
    """Ids of the live publications (of ``queryset``) whose consent gate is not met, in a fixed
    number of queries (the dashboard's "consent gaps")."""
    live = queryset.exclude(state__in=FINAL_STATES)
    rows = list(
        PublicationBorrower.objects.filter(publication__in=live)
        .order_by("publication_id", "pk")
        .values_list(
            "publication_id",
            "person_id",
            "is_pictured",
            "publication__is_not_pictured",
            "publication__loan_id",
        )
    )
    photos = list(
        PublicationPhoto.objects.filter(publication__in=live, person__isnull=False)
        .filter(publication__is_not_pictured=False)
        .values_list("publication_id", "person_id", "publication__loan_id")
    )
    people = {row[1] for row in rows} | {row[1] for row in photos}
    given = set(
        Consent.objects.filter(party_id__in=people, status=ConsentStatus.GIVEN).values_list(
            "party_id", "purpose"
        )
    )
    loans = {row[4] for row in rows} | {row[2] for row in photos}
    waivers = set(
        Waiver.objects.filter(
            loan_id__in=loans, person_id__in=people, withdrawn_on__isnull=True
        ).values_list("loan_id", "person_id")
    )
    gaps = set()
    seen: set[int] = set()
    pictured: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for publication_id, person_id, is_pictured, not_pictured, loan_id in rows:
        is_main = publication_id not in seen
        seen.add(publication_id)
        if (person_id, ConsentPurpose.P2P_PUBLICATION) not in given:
            gaps.add(publication_id)
        if is_pictured and not not_pictured:
            pictured[publication_id].add((loan_id, person_id))
        elif is_main and (loan_id, person_id) not in waivers:
            gaps.add(publication_id)
    for publication_id, person_id, loan_id in photos:
        pictured[publication_id].add((loan_id, person_id))
    for publication_id, pairs in pictured.items():
        for loan_id, person_id in pairs:
            if (loan_id, person_id) not in waivers or (
                person_id,
                ConsentPurpose.PHOTO_PUBLICATION,
            ) not in given:
                gaps.add(publication_id)
    return gaps


# --- eligibility ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityCriteria:
    """What a manager narrows the eligible list to (None: no limit)."""

    platform: Platform
    branch_id: int | None = None
    product_id: int | None = None
    max_days_past_due: int | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None


def eligible_candidates(*, user, criteria: EligibilityCriteria) -> QuerySet[Loan]:
    """Active, disbursed loans in the user's scope matching the criteria, not yet selected for
    the platform (the eligibility reasons come from ``ineligibility_reasons``)."""
    if not _may_see(user):
        return Loan.objects.none()
    loans = _scoped(
        Loan.objects.select_related(
            "borrower", "branch", "product_version", "product_version__product"
        ),
        user,
        "branch_id",
    ).filter(status=LoanStatus.ACTIVE, disbursed_on__isnull=False)
    loans = loans.exclude(
        Exists(Publication.objects.filter(loan_id=OuterRef("pk"), platform=criteria.platform))
    )
    if criteria.branch_id:
        loans = loans.filter(branch_id=criteria.branch_id)
    if criteria.product_id:
        loans = loans.filter(product_version__product_id=criteria.product_id)
    if criteria.max_days_past_due is not None:
        loans = loans.filter(days_past_due__lte=criteria.max_days_past_due)
    if criteria.amount_min is not None:
        loans = loans.filter(principal__gte=criteria.amount_min)
    if criteria.amount_max is not None:
        loans = loans.filter(principal__lte=criteria.amount_max)
    return loans.order_by("days_past_due", "-disbursed_on", "number")


def loan_terms_problems(platform: Platform, loan: Loan, allowed_products: set[int]) -> list[str]:
    """Why the loan itself (status, arrears, product) keeps it off the platform; the borrowers'
    side (owners, consent) is checked by the callers. ``allowed_products``: the platform's
    product ids, empty when it takes every product."""
    problems = []
    if loan.status != LoanStatus.ACTIVE or loan.disbursed_on is None:
        problems.append(_("Only an active, disbursed loan can be published."))
    if loan.days_past_due > platform.max_days_past_due:
        problems.append(
            _("The loan is %(days)s days past due; %(platform)s takes loans up to %(limit)s.")
            % {
                "days": loan.days_past_due,
                "platform": platform.name,
                "limit": platform.max_days_past_due,
            }
        )
    if allowed_products and loan.product_version.product_id not in allowed_products:
        problems.append(_("%(platform)s does not take this product.") % {"platform": platform})
    return problems


def ineligibility_reasons(platform: Platform, loans: list[Loan]) -> dict[int, list[str]]:
    """Why each loan may not be published on the platform (empty list: it may), computed for a
    whole page of loans in a fixed number of queries. Mirrors
    ``services.eligibility_problems``, which the selection itself enforces."""
    allowed = set(platform.allowed_products.values_list("pk", flat=True))
    enterprises = [loan.borrower_id for loan in loans if loan.borrower.kind != PartyKind.PERSON]
    owners: dict[int, list[int]] = defaultdict(list)
    for enterprise_id, person_id in PartyLink.objects.filter(
        to_party_id__in=enterprises, kind=LinkKind.OWNER, from_party__kind=PartyKind.PERSON
    ).values_list("to_party_id", "from_party_id"):
        owners[enterprise_id].append(person_id)
    persons = {
        loan.pk: (
            [loan.borrower_id]
            if loan.borrower.kind == PartyKind.PERSON
            else owners.get(loan.borrower_id, [])
        )
        for loan in loans
    }
    consenting = set(
        Consent.objects.filter(
            party_id__in={pk for ids in persons.values() for pk in ids},
            purpose=ConsentPurpose.P2P_PUBLICATION,
            status=ConsentStatus.GIVEN,
        ).values_list("party_id", flat=True)
    )
    reasons: dict[int, list[str]] = {}
    for loan in loans:
        problems = loan_terms_problems(platform, loan, allowed)
        if not persons[loan.pk]:
            problems.append(_("The borrowing enterprise has no owner on file to publish."))
        elif not set(persons[loan.pk]) <= consenting:
            problems.append(_("No consent to P2P publication is on file for every borrower."))
        reasons[loan.pk] = problems
    return reasons


# --- dashboard ------------------------------------------------------------------------------------


def next_sync_at(now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When the scheduled P2P sync runs next (from the Celery beat schedule)."""
    entry = getattr(settings, "CELERY_BEAT_SCHEDULE", {}).get("p2p-sync")
    if not entry:
        return None
    now = now or timezone.localtime()
    schedule = entry["schedule"]
    if hasattr(schedule, "remaining_estimate"):
        return now + schedule.remaining_estimate(now)
    return now + datetime.timedelta(seconds=float(schedule))


@dataclass
class StateCount:
    state: str
    label: str
    count: int


@dataclass
class PlatformFigures:
    """One platform's box on the dashboard. Amounts are per currency."""

    platform: Platform
    states: list[StateCount]
    total: int
    fundraising: dict[str, Decimal]
    funded: dict[str, Decimal]
    errors: int
    consent_gaps: int
    last_synced_at: datetime.datetime | None
    last_sync: dict[str, int] = field(default_factory=dict)
    pending_journals: int = 0
    open_reports: int = 0


def _sync_summary(platform: Platform, publications: QuerySet) -> dict[str, int]:
    """What the last sync did: state changes, pushes and failures recorded in the hour before
    the platform's last synchronisation."""
    if platform.last_synced_at is None:
        return {}
    since = platform.last_synced_at - datetime.timedelta(hours=1)
    events = PublicationEvent.objects.filter(
        publication__in=publications,
        created_at__gte=since,
        created_at__lte=platform.last_synced_at + datetime.timedelta(minutes=5),
        actor__isnull=True,
    )
    counts = dict(events.values_list("action").annotate(n=Count("pk")).values_list("action", "n"))
    return {
        "pushed": counts.get("pushed", 0),
        "status_changes": counts.get("status_synced", 0),
        "failed": counts.get("push_failed", 0) + counts.get("push_refused", 0),
    }


def dashboard_figures(*, user) -> list[PlatformFigures]:
    """Per active platform: publications by state, amounts fundraising and funded, what needs
    fixing, consent gaps and the last synchronisation."""
    visible = publications_visible_to(user)
    by_platform_state: dict[tuple[int, str], int] = {}
    fundraising: dict[int, dict[str, Decimal]] = defaultdict(dict)
    funded: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for platform_id, state, currency, count, principal, raised in (
        visible.order_by()
        .values_list("platform_id", "state", "loan__currency")
        .annotate(Count("pk"), Sum("loan__principal"), Sum("funded_amount"))
    ):
        key = (platform_id, state)
        by_platform_state[key] = by_platform_state.get(key, 0) + count
        if state == S.FUNDRAISING:
            fundraising[platform_id][currency] = (
                fundraising[platform_id].get(currency, ZERO) + principal
            )
        if state in FUNDED_STATES:
            funded[platform_id][currency] = funded[platform_id].get(currency, ZERO) + raised
    errors = dict(
        publications_with_errors(visible)
        .order_by()
        .values_list("platform_id")
        .annotate(n=Count("pk"))
        .values_list("platform_id", "n")
    )
    gap_ids = publications_with_consent_gaps(visible)
    gaps: dict[int, int] = defaultdict(int)
    for platform_id in Publication.objects.filter(pk__in=gap_ids).values_list(
        "platform_id", flat=True
    ):
        gaps[platform_id] += 1
    journals = dict(
        JournalDraft.objects.filter(
            publication__in=visible, status__in=[JournalStatus.DRAFT, JournalStatus.APPROVED]
        )
        .order_by()
        .values_list("publication__platform_id")
        .annotate(n=Count("pk"))
        .values_list("publication__platform_id", "n")
    )
    reports = dict(
        RepaymentReport.objects.exclude(status="sent")
        .order_by()
        .values_list("platform_id")
        .annotate(n=Count("pk"))
        .values_list("platform_id", "n")
    )
    result = []
    for platform in platforms_visible_to(user):
        states = [
            StateCount(state, label, by_platform_state.get((platform.pk, state), 0))
            for state, label in PublicationState.choices
        ]
        result.append(
            PlatformFigures(
                platform=platform,
                states=states,
                total=sum(row.count for row in states),
                fundraising=fundraising.get(platform.pk, {}),
                funded=funded.get(platform.pk, {}),
                errors=errors.get(platform.pk, 0),
                consent_gaps=gaps.get(platform.pk, 0),
                last_synced_at=platform.last_synced_at,
                last_sync=_sync_summary(platform, visible.filter(platform=platform)),
                pending_journals=journals.get(platform.pk, 0),
                open_reports=reports.get(platform.pk, 0),
            )
        )
    return result


# --- profile suggestions ----------------------------------------------------------------------


def profile_suggestions(publication: Publication) -> dict[str, str]:
    """Text proposed for the family situation and standard of living from the borrower's record
    (household members on file, the business and its staff), for a profile that has none yet.
    Only what lenders may know: no names, no numbers that identify anyone."""
    person_ids = list(publication.borrowers.values_list("person_id", flat=True))
    links = PartyLink.objects.filter(
        Q(to_party_id__in=person_ids, kind=LinkKind.HOUSEHOLD_MEMBER)
        | Q(from_party_id__in=person_ids, kind=LinkKind.OWNER)
    ).select_related("to_party__enterprise")
    household = sum(1 for link in links if link.kind == LinkKind.HOUSEHOLD_MEMBER)
    businesses = [
        link.to_party.enterprise
        for link in links
        if link.kind == LinkKind.OWNER and hasattr(link.to_party, "enterprise")
    ]
    suggestions = {}
    if household:
        suggestions["family_situation"] = _("Lives in a household of %(count)s people.") % {
            "count": household + 1
        }
    if businesses:
        business = businesses[0]
        staff = (
            _("works alone")
            if not business.employees
            else _("employs %(count)s people") % {"count": business.employees}
        )
        suggestions["standard_of_living"] = _(
            "Runs a %(formal)s business in %(sector)s and %(staff)s."
        ) % {
            "formal": _("registered") if business.is_formal else _("informal"),
            "sector": business.get_sector_display().lower(),
            "staff": staff,
        }
    return suggestions


# --- journals, reports, money -----------------------------------------------------------------


def journals_visible_to(user) -> QuerySet[JournalDraft]:
    return _scoped(
        JournalDraft.objects.select_related(
            "publication",
            "publication__platform",
            "publication__loan",
            "publication__profile",
            "approved_by",
        ),
        user,
        "publication__loan__branch_id",
    )


def journal_get_for_user(user, pk: int) -> JournalDraft:
    journal = journals_visible_to(user).filter(pk=pk).first()
    if journal is None:
        raise Http404
    return journal


def reports_visible_to(user) -> QuerySet[RepaymentReport]:
    """Monthly reports are per platform; branch staff see them with their own lines only."""
    if not _may_see(user):
        return RepaymentReport.objects.none()
    return RepaymentReport.objects.select_related("platform", "finalised_by")


def report_get_for_user(user, pk: int) -> RepaymentReport:
    report = reports_visible_to(user).filter(pk=pk).first()
    if report is None:
        raise Http404
    return report


def report_lines(user, report: RepaymentReport) -> list[RepaymentReportLine]:
    return list(
        _scoped(
            report.lines.select_related(
                "publication", "publication__loan", "publication__profile", "loan_transaction"
            ),
            user,
            "publication__loan__branch_id",
        ).order_by("value_date", "pk")
    )


def _may_see_packages(user) -> bool:
    """A monthly package holds every branch's published borrowers: head-office scope only."""
    return _may_see(user) and user.branch_scope_ids() is None


def packages_visible_to(user, platform: Platform) -> QuerySet[FilePackage]:
    if not _may_see_packages(user):
        return FilePackage.objects.none()
    return platform.packages.select_related("created_by")


def package_get_for_user(user, pk: int) -> FilePackage:
    package = (
        FilePackage.objects.filter(pk=pk).select_related("platform").first()
        if _may_see_packages(user)
        else None
    )
    if package is None:
        raise Http404
    return package


def fundable_publications(user, platform: Platform) -> QuerySet[Publication]:
    """Publications of the platform that may receive funds (published, not withdrawn)."""
    from p2p_export.reconciliation import FUNDABLE_STATES

    return (
        publications_visible_to(user)
        .filter(platform=platform, state__in=FUNDABLE_STATES)
        .order_by("loan__number")
    )


@dataclass
class StatementLine:
    """One loan on the funding statement: when and how much the institution lent the borrower,
    what the platform paid for it and what was paid back to the platform."""

    publication: Publication
    fundings: list[FundingReceipt]
    repayments: list[PlatformRepayment]

    @property
    def funded(self) -> Decimal:
        return sum((row.amount for row in self.fundings), ZERO)

    @property
    def repaid(self) -> Decimal:
        return sum((row.amount for row in self.repayments), ZERO)


@dataclass
class FundingStatement:
    """A platform's statement for one month, per currency: funds received against the loans
    they refinance (with each loan's disbursement, the proof the money reached the borrower)
    and what was repaid to the platform."""

    platform: Platform
    year: int
    month: int
    currency: str
    lines: list[StatementLine]
    funded_total: Decimal
    repaid_total: Decimal
    exchange_difference_total: Decimal


def funding_statements(
    *, user, platform: Platform, year: int, month: int
) -> list[FundingStatement]:
    """The statement of a month, one per currency, over the loans the user may see."""
    from p2p_export.reconciliation import month_range

    first, last = month_range(year, month)
    fundings = list(
        _scoped(
            FundingReceipt.objects.filter(platform=platform, received_on__range=(first, last)),
            user,
            "publication__loan__branch_id",
        )
        .select_related("journal_entry")
        .order_by("received_on", "pk")
    )
    repayments = list(
        _scoped(
            PlatformRepayment.objects.filter(platform=platform, paid_on__range=(first, last)),
            user,
            "publication__loan__branch_id",
        )
        .select_related("journal_entry", "report")
        .order_by("paid_on", "pk")
    )
    ids = {row.publication_id for row in fundings} | {row.publication_id for row in repayments}
    publications = (
        Publication.objects.filter(pk__in=ids)
        .select_related("loan", "loan__branch", "profile")
        .prefetch_related(
            Prefetch("borrowers", queryset=PublicationBorrower.objects.order_by("pk"))
        )
        .in_bulk()
    )
    by_currency: dict[str, dict[int, StatementLine]] = defaultdict(dict)
    for row in [*fundings, *repayments]:
        publication = publications[row.publication_id]
        line = by_currency[row.currency].setdefault(
            row.publication_id, StatementLine(publication, [], [])
        )
        (line.fundings if isinstance(row, FundingReceipt) else line.repayments).append(row)
    statements = []
    for currency in sorted(by_currency):
        lines = sorted(
            by_currency[currency].values(), key=lambda line: line.publication.loan.number
        )
        statements.append(
            FundingStatement(
                platform=platform,
                year=year,
                month=month,
                currency=currency,
                lines=lines,
                funded_total=sum((line.funded for line in lines), ZERO),
                repaid_total=sum((line.repaid for line in lines), ZERO),
                exchange_difference_total=sum(
                    (row.exchange_difference for line in lines for row in line.fundings), ZERO
                ),
            )
        )
    return statements


def editable(publication: Publication) -> bool:
    return publication.state in EDITABLE_STATES


LOOKUP_KINDS = (LookupKind.ACTIVITY, LookupKind.THEME, LookupKind.LOCATION)
