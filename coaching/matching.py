"""Matching a coaching request to coaches: a transparent score, pure functions (no ORM).

Each criterion adds points and says so in a reason a person can read:

* skills: ``SKILL_POINTS`` per skill asked for that the coach has (case-insensitive);
* sector: ``SECTOR_POINTS`` when the coach covers the customer's sector;
* island: ``ISLAND_POINTS`` when the coach works on the customer's island;
* language: ``LANGUAGE_POINTS`` when the coach speaks the language asked for;
* spare capacity this month (capacity − hours of planned and held sessions this month):
  one point per whole spare hour, at most ``CAPACITY_POINTS_MAX``.

A coach whose accreditation has expired on the day of the request is not suggested at all.
Ties go to the coach with more spare hours, then by name.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.utils.translation import gettext as _

SKILL_POINTS = 10
SECTOR_POINTS = 8
ISLAND_POINTS = 6
LANGUAGE_POINTS = 5
CAPACITY_POINTS_MAX = 10
ZERO = Decimal(0)


def normalise_skills(skills: Iterable[str]) -> list[str]:
    """Skills as stored and compared: trimmed, lower-case, unique, in the order first given."""
    result: list[str] = []
    for skill in skills:
        word = " ".join(str(skill).split()).lower()
        if word and word not in result:
            result.append(word)
    return result


def parse_skills(text: str) -> list[str]:
    """Skills typed as one line, separated by commas or semicolons."""
    return normalise_skills((text or "").replace(";", ",").split(","))


def format_hours(hours: Decimal) -> str:
    """``Decimal('12.50')`` → ``"12.5"``, ``Decimal('20.00')`` → ``"20"``."""
    text = f"{hours.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class MatchRequest:
    """What the customer asks for. Empty strings and an empty skill list mean "no preference"."""

    skills: Sequence[str] = ()
    sector: str = ""
    island: str = ""
    language: str = ""


@dataclass(frozen=True)
class CoachCandidate:
    """What matching needs to know about one coach (built by the selector from the database)."""

    key: int
    name: str
    skills: Sequence[str]
    sectors: Sequence[str]
    islands: Sequence[str]
    languages: Sequence[str]
    capacity_hours: Decimal
    load_hours: Decimal
    accreditation_expires_on: datetime.date | None = None

    @property
    def spare_hours(self) -> Decimal:
        return self.capacity_hours - self.load_hours


@dataclass(frozen=True)
class CoachScore:
    key: int
    name: str
    score: int
    spare_hours: Decimal
    reasons: tuple[str, ...]


def score_coach(
    candidate: CoachCandidate,
    request: MatchRequest,
    *,
    as_of: datetime.date,
    labels: Mapping[str, str] | None = None,
) -> CoachScore | None:
    """The coach's score for the request with its reasons, or None when the coach may not be
    suggested (accreditation expired before ``as_of``). ``labels`` turns choice values (sector,
    island, language) into the names shown in the reasons."""
    if (
        candidate.accreditation_expires_on is not None
        and candidate.accreditation_expires_on < as_of
    ):
        return None
    labels = labels or {}
    score = 0
    reasons: list[str] = []

    wanted = normalise_skills(request.skills)
    if wanted:
        has = set(normalise_skills(candidate.skills))
        matched = [skill for skill in wanted if skill in has]
        points = SKILL_POINTS * len(matched)
        score += points
        if matched:
            reasons.append(
                _("Skills: %(skills)s (%(matched)s of %(wanted)s) +%(points)s")
                % {
                    "skills": ", ".join(matched),
                    "matched": len(matched),
                    "wanted": len(wanted),
                    "points": points,
                }
            )
        else:
            reasons.append(_("None of the skills asked for +0"))

    for value, offered, points, yes_text, no_text in (
        (
            request.sector,
            candidate.sectors,
            SECTOR_POINTS,
            _("Covers the sector %(name)s +%(points)s"),
            _("Does not cover the sector %(name)s +0"),
        ),
        (
            request.island,
            candidate.islands,
            ISLAND_POINTS,
            _("Works on %(name)s +%(points)s"),
            _("Does not work on %(name)s +0"),
        ),
        (
            request.language,
            candidate.languages,
            LANGUAGE_POINTS,
            _("Speaks %(name)s +%(points)s"),
            _("Does not speak %(name)s +0"),
        ),
    ):
        if not value:
            continue
        name = str(labels.get(value, value))
        if value in offered:
            score += points
            reasons.append(yes_text % {"name": name, "points": points})
        else:
            reasons.append(no_text % {"name": name})

    spare = candidate.spare_hours
    if spare > ZERO:
        points = min(int(spare.to_integral_value(rounding=ROUND_FLOOR)), CAPACITY_POINTS_MAX)
        score += points
        reasons.append(
            _("Spare this month: %(spare)s h of %(capacity)s h +%(points)s")
            % {
                "spare": format_hours(spare),
                "capacity": format_hours(candidate.capacity_hours),
                "points": points,
            }
        )
    else:
        reasons.append(
            _("No spare capacity this month: %(load)s h booked of %(capacity)s h +0")
            % {
                "load": format_hours(candidate.load_hours),
                "capacity": format_hours(candidate.capacity_hours),
            }
        )
    return CoachScore(
        key=candidate.key,
        name=candidate.name,
        score=score,
        spare_hours=spare,
        reasons=tuple(reasons),
    )


def rank_coaches(
    candidates: Iterable[CoachCandidate],
    request: MatchRequest,
    *,
    as_of: datetime.date,
    labels: Mapping[str, str] | None = None,
) -> list[CoachScore]:
    """Every suggestible coach, best first: score, then spare hours, then name, then key."""
    scores = [
        scored
        for candidate in candidates
        if (scored := score_coach(candidate, request, as_of=as_of, labels=labels)) is not None
    ]
    return sorted(scores, key=lambda item: (-item.score, -item.spare_hours, item.name, item.key))
