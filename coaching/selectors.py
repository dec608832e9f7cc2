"""Reads of coaching data, always scoped to the user.

Coaches see only their own engagements; branch staff the engagements of their branch's parties;
head office every engagement. An engagement out of scope is indistinguishable from a missing one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from coaching.choices import (
    LOAD_SESSION_STATUSES,
    OPEN_ENGAGEMENT_STATUSES,
    CoachLanguage,
    EngagementStatus,
    SessionStatus,
)
from coaching.matching import CoachCandidate, MatchRequest, normalise_skills, rank_coaches
from coaching.models import Coach, CoachingProduct, Engagement, Feedback, Session
from crm.choices import Island, PartyKind, Sector
from users.roles import Capability

HUNDREDTH = Decimal("0.01")
MINUTES_PER_HOUR = Decimal(60)


def minutes_to_hours(minutes: int | None) -> Decimal:
    """Minutes as hours to the hundredth (half up): 50 → 0.83, 90 → 1.50."""
    return (Decimal(minutes or 0) / MINUTES_PER_HOUR).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def month_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The calendar month of ``day`` in the institution's time zone, as aware datetimes."""
    start = datetime.datetime(day.year, day.month, 1)
    end = datetime.datetime(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return timezone.make_aware(start), timezone.make_aware(end)


def _held_minutes() -> Coalesce:
    return Coalesce(
        Sum("sessions__duration_minutes", filter=Q(sessions__status=SessionStatus.HELD)),
        Value(0),
        output_field=IntegerField(),
    )


# --- engagements and sessions ----------------------------------------------------------------


def _engagements_in_scope(user) -> QuerySet[Engagement]:
    if not user.is_authenticated or not user.has_capability(Capability.COACHING_VIEW):
        return Engagement.objects.none()
    engagements = Engagement.objects.all()
    if user.sees_assigned_only:
        return engagements.filter(coach__user=user)
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return engagements
    return engagements.filter(party__branch_id__in=branch_ids)


def engagements_visible_to(user) -> QuerySet[Engagement]:
    """Every engagement the user may see, with its held minutes (``held_minutes``) annotated."""
    return (
        _engagements_in_scope(user)
        .select_related("party", "party__branch", "product", "coach", "coach__user")
        .annotate(held_minutes=_held_minutes())
    )


def engagement_get_for_user(*, user, engagement_id: int) -> Engagement:
    """The engagement, or Http404 if it does not exist *or* is out of the user's scope."""
    engagement = (
        engagements_visible_to(user).select_related("requested_by").filter(pk=engagement_id).first()
    )
    if engagement is None:
        raise Http404("No such engagement")
    return engagement


def engagement_list(*, user, status: str = "", mine: bool = False) -> QuerySet[Engagement]:
    """The dashboard list: open engagements first, then the most recent."""
    engagements = engagements_visible_to(user)
    if status:
        engagements = engagements.filter(status=status)
    if mine:
        engagements = engagements.filter(coach__user=user)
    return engagements.order_by("-requested_on", "-pk")


@dataclass(frozen=True)
class HoursUsed:
    """Hours of held sessions against the package, in hours to the hundredth."""

    used: Decimal
    package: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(self.package - self.used, Decimal(0))

    @property
    def over_package(self) -> Decimal:
        return max(self.used - self.package, Decimal(0))


def engagement_hours(*, engagement: Engagement) -> HoursUsed:
    minutes = getattr(engagement, "held_minutes", None)
    if minutes is None:
        minutes = engagement.sessions.filter(status=SessionStatus.HELD).aggregate(
            total=Sum("duration_minutes")
        )["total"]
    return HoursUsed(used=minutes_to_hours(minutes), package=engagement.package_hours)


def engagement_sessions(*, engagement: Engagement) -> QuerySet[Session]:
    return engagement.sessions.select_related(
        "logged_by", "confirmation_recorded_by"
    ).prefetch_related("action_items")


def sessions_visible_to(user) -> QuerySet[Session]:
    """Sessions of the engagements the user may see."""
    if not user.is_authenticated or not user.has_capability(Capability.COACHING_VIEW):
        return Session.objects.none()
    sessions = Session.objects.select_related(
        "engagement", "engagement__party", "engagement__coach__user"
    ).prefetch_related("action_items")
    if user.sees_assigned_only:
        return sessions.filter(engagement__coach__user=user)
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return sessions
    return sessions.filter(engagement__party__branch_id__in=branch_ids)


def session_get_for_user(*, user, session_id: int) -> Session:
    session = sessions_visible_to(user).filter(pk=session_id).first()
    if session is None:
        raise Http404("No such session")
    return session


def coaching_dashboard_counts(*, user) -> dict[str, int]:
    """Counts by status of the engagements in the user's scope, in one query."""
    return _engagements_in_scope(user).aggregate(
        requested=Count("pk", filter=Q(status=EngagementStatus.REQUESTED)),
        accepted=Count("pk", filter=Q(status=EngagementStatus.ACCEPTED)),
        active=Count("pk", filter=Q(status=EngagementStatus.ACTIVE)),
        completed=Count("pk", filter=Q(status=EngagementStatus.COMPLETED)),
    )


# --- products and coaches ----------------------------------------------------------------------


def products_for_list(*, active_only: bool = False) -> QuerySet[CoachingProduct]:
    products = CoachingProduct.objects.select_related("programme").order_by("name")
    return products.filter(is_active=True) if active_only else products


def coach_for_user(user) -> Coach | None:
    """The coach profile of a signed-in user, if they have one."""
    if not user.is_authenticated:
        return None
    return Coach.objects.select_related("user").filter(user=user).first()


def coach_month_load(*, coach_ids: list[int], as_of: datetime.date) -> dict[int, Decimal]:
    """Hours of planned and held sessions of each coach in the calendar month of ``as_of``."""
    start, end = month_bounds(as_of)
    rows = (
        Session.objects.filter(
            engagement__coach_id__in=coach_ids,
            status__in=LOAD_SESSION_STATUSES,
            scheduled_at__gte=start,
            scheduled_at__lt=end,
        )
        .values("engagement__coach_id")
        .annotate(minutes=Sum("duration_minutes"))
    )
    load = {coach_id: Decimal(0) for coach_id in coach_ids}
    for row in rows:
        load[row["engagement__coach_id"]] = minutes_to_hours(row["minutes"])
    return load


def rating_average(ratings_sum: int | None, ratings_count: int) -> Decimal | None:
    """Average of 1–5 ratings to two decimals (half up), None when there is no rating."""
    if not ratings_count:
        return None
    return (Decimal(ratings_sum) / Decimal(ratings_count)).quantize(
        HUNDREDTH, rounding=ROUND_HALF_UP
    )


def coach_average_rating(*, coach: Coach) -> Decimal | None:
    totals = Feedback.objects.filter(engagement__coach=coach).aggregate(
        total=Sum("rating"), count=Count("pk")
    )
    return rating_average(totals["total"], totals["count"])


@dataclass(frozen=True)
class CoachRow:
    """One line of the coaches list: the coach, this month's load and spare hours, the number
    of open engagements and the average rating."""

    coach: Coach
    load_hours: Decimal
    spare_hours: Decimal
    open_engagements: int
    average_rating: Decimal | None
    ratings_count: int
    accreditation_expired: bool


def coaches_visible_to(user) -> QuerySet[Coach]:
    """Coaches see their own profile; others with the coaching view see every coach."""
    if not user.is_authenticated or not user.has_capability(Capability.COACHING_VIEW):
        return Coach.objects.none()
    coaches = Coach.objects.select_related("user", "user__branch")
    if user.sees_assigned_only:
        return coaches.filter(user=user)
    return coaches


def coaches_with_load(*, user, as_of: datetime.date | None = None) -> list[CoachRow]:
    """The coaches list with capacity and load this month, in three queries."""
    as_of = as_of or timezone.localdate()
    coaches = list(
        coaches_visible_to(user)
        .annotate(
            open_engagements=Count(
                "engagements",
                filter=Q(engagements__status__in=OPEN_ENGAGEMENT_STATUSES),
                distinct=True,
            ),
            ratings_sum=Sum("engagements__feedback__rating"),
            ratings_count=Count("engagements__feedback", distinct=True),
        )
        .order_by("-is_active", "user__first_name", "user__last_name", "pk")
    )
    load = coach_month_load(coach_ids=[coach.pk for coach in coaches], as_of=as_of)
    return [
        CoachRow(
            coach=coach,
            load_hours=load[coach.pk],
            spare_hours=coach.capacity_hours_per_month - load[coach.pk],
            open_engagements=coach.open_engagements,
            average_rating=rating_average(coach.ratings_sum, coach.ratings_count),
            ratings_count=coach.ratings_count,
            accreditation_expired=not coach.accreditation_valid_on(as_of),
        )
        for coach in coaches
    ]


# --- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoachSuggestion:
    coach: Coach
    score: int
    spare_hours: Decimal
    reasons: tuple[str, ...]


def _labels() -> dict[str, str]:
    return {
        **{value: str(label) for value, label in Sector.choices},
        **{value: str(label) for value, label in Island.choices},
        **{value: str(label) for value, label in CoachLanguage.choices},
    }


def match_request_for(
    *,
    request_party,
    skills=(),
    sector: str | None = None,
    island: str | None = None,
    language: str | None = None,
) -> MatchRequest:
    """The request's criteria; an omitted (None) sector or island comes from the party
    (an enterprise's sector, the party's island). An empty string means "no preference"."""
    if sector is None:
        sector = ""
        if request_party is not None and request_party.kind == PartyKind.ENTERPRISE:
            sector = request_party.specific.sector
    if island is None:
        island = request_party.island if request_party is not None else ""
    return MatchRequest(
        skills=tuple(normalise_skills(skills or ())),
        sector=sector or "",
        island=island or "",
        language=language or "",
    )


def coach_suggestions(
    *,
    request_party,
    skills=(),
    sector: str | None = None,
    island: str | None = None,
    language: str | None = None,
    as_of: datetime.date | None = None,
) -> list[CoachSuggestion]:
    """Active coaches ranked for the request (see ``coaching.matching`` for the score), each with
    the reasons of its score. Coaches whose accreditation expired before ``as_of`` are left out."""
    as_of = as_of or timezone.localdate()
    request = match_request_for(
        request_party=request_party, skills=skills, sector=sector, island=island, language=language
    )
    coaches = {
        coach.pk: coach
        for coach in Coach.objects.filter(is_active=True, user__is_active=True).select_related(
            "user"
        )
    }
    load = coach_month_load(coach_ids=list(coaches), as_of=as_of)
    candidates = [
        CoachCandidate(
            key=coach.pk,
            name=coach.display_name,
            skills=coach.skills,
            sectors=coach.sectors,
            islands=coach.islands,
            languages=coach.languages,
            capacity_hours=coach.capacity_hours_per_month,
            load_hours=load[coach.pk],
            accreditation_expires_on=coach.accreditation_expires_on,
        )
        for coach in coaches.values()
    ]
    ranked = rank_coaches(candidates, request, as_of=as_of, labels=_labels())
    return [
        CoachSuggestion(
            coach=coaches[item.key],
            score=item.score,
            spare_hours=item.spare_hours,
            reasons=item.reasons,
        )
        for item in ranked
    ]


def feedback_for_engagement(*, engagement: Engagement) -> Feedback | None:
    return Feedback.objects.filter(engagement=engagement).select_related("recorded_by").first()


# --- billing ---------------------------------------------------------------------------------


def invoices_visible_to(user) -> QuerySet:
    """Coaching invoices of the user's scope, for those who manage coaching (invoices are money:
    coaches, who only log sessions, do not see them)."""
    from coaching.models import CoachingInvoice

    if not user.is_authenticated or not user.has_capability(Capability.COACHING_MANAGE):
        return CoachingInvoice.objects.none()
    invoices = CoachingInvoice.objects.select_related("party", "branch", "engagement__product")
    branch_ids = user.branch_scope_ids()
    if branch_ids is None:
        return invoices
    return invoices.filter(branch_id__in=branch_ids)


def invoice_list(*, user, status: str = "") -> QuerySet:
    invoices = invoices_visible_to(user)
    if status:
        invoices = invoices.filter(status=status)
    return invoices.order_by("-issue_date", "-pk")


def invoice_get_for_user(*, user, invoice_id: int):
    """The invoice with its lines and payments, or Http404 when missing or out of scope."""
    invoice = (
        invoices_visible_to(user)
        .select_related("journal_entry", "engagement__coach__user")
        .prefetch_related("lines", "payments")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


@dataclass(frozen=True)
class VolunteerHoursRow:
    """Hours a volunteer coach gave (held sessions) in a period, valued at their hourly rate."""

    coach: Coach
    sessions: int
    hours: Decimal
    value: Decimal
    currency: str


def volunteer_hours(
    *, user, date_from: datetime.date, date_to: datetime.date
) -> list[VolunteerHoursRow]:
    """Held sessions of volunteer coaches from ``date_from`` to ``date_to`` (inclusive, local
    dates), per coach, in the user's engagement scope. Value = minutes × hourly rate ÷ 60,
    rounded once to the coach's currency."""
    from mfi.money import round_money

    start = timezone.make_aware(datetime.datetime.combine(date_from, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min)
    )
    totals = (
        Session.objects.filter(
            engagement__in=_engagements_in_scope(user),
            engagement__coach__is_volunteer=True,
            status=SessionStatus.HELD,
            scheduled_at__gte=start,
            scheduled_at__lt=end,
        )
        .values("engagement__coach")
        .annotate(minutes=Sum("duration_minutes"), count=Count("pk"))
    )
    by_coach = {row["engagement__coach"]: row for row in totals}
    coaches = Coach.objects.filter(pk__in=by_coach).select_related("user")
    rows = [
        VolunteerHoursRow(
            coach=coach,
            sessions=by_coach[coach.pk]["count"],
            hours=minutes_to_hours(by_coach[coach.pk]["minutes"]),
            value=round_money(
                Decimal(by_coach[coach.pk]["minutes"]) * coach.hourly_rate / MINUTES_PER_HOUR,
                coach.currency,
            ),
            currency=coach.currency,
        )
        for coach in coaches
    ]
    return sorted(rows, key=lambda row: (row.coach.display_name, row.coach.pk))
