"""Coaching builders on top of the real services (``coaching.services``).

Dates: engagements are requested and accepted just before the first day of the previous month,
and their sessions fall in the previous month, so every "held" session is in the past and every
month-load figure is computed on a month that is over, whatever day the suite runs.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from coaching import services
from coaching.choices import EngagementStatus, SessionMode, SessionStatus
from coaching.models import Coach, CoachingProduct, Engagement, Session
from tests.factories import UserFactory
from users.roles import Role

D = Decimal
_numbers = itertools.count(1)


def month_start() -> datetime.date:
    """The first day of the previous month: the month the test sessions fall in."""
    first_of_this_month = timezone.localdate().replace(day=1)
    return (first_of_this_month - datetime.timedelta(days=1)).replace(day=1)


def day(number: int) -> datetime.date:
    """Day ``number`` (1–28) of the previous month."""
    return month_start() + datetime.timedelta(days=number - 1)


REQUESTED_OFFSET = datetime.timedelta(days=5)
ACCEPTED_OFFSET = datetime.timedelta(days=4)


def requested_on() -> datetime.date:
    return month_start() - REQUESTED_OFFSET


def accepted_on() -> datetime.date:
    return month_start() - ACCEPTED_OFFSET


def at(on: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    """An aware local date-time."""
    return timezone.make_aware(datetime.datetime.combine(on, datetime.time(hour, minute)))


def make_product(actor, **overrides) -> CoachingProduct:
    values = {
        "name": f"Business coaching {next(_numbers)}",
        "package_hours": D("10"),
        "price": D("15000.00"),
        "currency": "CVE",
    }
    values.update(overrides)
    return services.coaching_product_create(actor=actor, **values)


def coach_user(username: str, first_name: str, last_name: str = "Coach", branch=None):
    return UserFactory(
        username=username,
        first_name=first_name,
        last_name=last_name,
        role=Role.COACH,
        branch=branch,
    )


def make_coach(actor, user, **overrides) -> Coach:
    values = {
        "capacity_hours_per_month": D("20"),
        "skills": ["bookkeeping"],
        "sectors": ["retail"],
        "languages": ["kea", "pt"],
        "islands": ["santiago"],
        "hourly_rate": D("1500"),
    }
    values.update(overrides)
    return services.coach_create(actor=actor, user=user, **values)


def make_engagement(actor, *, party, product, coach, **overrides) -> Engagement:
    values = {"requested_on": requested_on()}
    values.update(overrides)
    return services.engagement_request(
        actor=actor, party=party, product=product, coach=coach, **values
    )


def accepted_engagement(actor, **kwargs) -> Engagement:
    engagement = make_engagement(actor, **kwargs)
    return services.engagement_transition(
        actor=actor, engagement=engagement, to_status=EngagementStatus.ACCEPTED, on=accepted_on()
    )


def log_session(
    actor,
    engagement,
    *,
    on: datetime.date | None = None,
    minutes: int = 60,
    status: str = SessionStatus.HELD,
    hour: int = 10,
    **extra,
) -> Session:
    return services.session_log(
        actor=actor,
        engagement=engagement,
        scheduled_at=at(on or day(3), hour),
        duration_minutes=minutes,
        mode=extra.pop("mode", SessionMode.IN_PERSON),
        status=status,
        **extra,
    )


def held_sessions(actor, engagement, minutes: list[int], *, first_day: int = 3) -> list[Session]:
    """Held sessions of the given lengths, one a day from ``first_day`` of the previous month."""
    return [
        log_session(actor, engagement, on=day(first_day + number), minutes=length)
        for number, length in enumerate(minutes)
    ]
