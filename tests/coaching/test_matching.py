"""The matching score as a pure function: exact points, exact reasons, exact order."""

import datetime
from decimal import Decimal

from coaching.matching import (
    CoachCandidate,
    MatchRequest,
    format_hours,
    parse_skills,
    rank_coaches,
    score_coach,
)

D = Decimal
AS_OF = datetime.date(2026, 3, 15)
LABELS = {"retail": "Retail trade", "santiago": "Santiago", "kea": "Kriolu (Kabuverdianu)"}
REQUEST = MatchRequest(
    skills=("Bookkeeping", " marketing "), sector="retail", island="santiago", language="kea"
)


def _candidate(key, name, **overrides):
    values = {
        "key": key,
        "name": name,
        "skills": (),
        "sectors": (),
        "islands": (),
        "languages": (),
        "capacity_hours": D("10"),
        "load_hours": D("0"),
        "accreditation_expires_on": None,
    }
    values.update(overrides)
    return CoachCandidate(**values)


ANA = _candidate(
    1,
    "Ana",
    skills=("bookkeeping", "marketing"),
    sectors=("retail",),
    islands=("santiago",),
    languages=("kea",),
    capacity_hours=D("20"),
    load_hours=D("5"),
)
BRUNO = _candidate(
    2,
    "Bruno",
    skills=("marketing",),
    sectors=("retail", "food"),
    islands=("sao_vicente",),
    languages=("kea", "pt"),
    capacity_hours=D("10"),
    load_hours=D("2.50"),
)
CARLA = _candidate(
    3,
    "Carla",
    skills=("Bookkeeping", "marketing", "pricing"),
    sectors=("agriculture",),
    islands=("santiago",),
    languages=("pt",),
    capacity_hours=D("10"),
    load_hours=D("10"),
)
DUARTE = _candidate(
    4,
    "Duarte",
    skills=("bookkeeping", "marketing"),
    sectors=("retail",),
    islands=("santiago",),
    languages=("kea",),
    capacity_hours=D("40"),
    accreditation_expires_on=AS_OF - datetime.timedelta(days=1),
)
EVA = _candidate(
    5,
    "Eva",
    sectors=("retail",),
    islands=("santiago",),
    languages=("kea",),
    capacity_hours=D("8"),
)


def test_coaches_are_ranked_by_score_with_their_reasons_and_the_expired_one_is_left_out():
    # when
    ranked = rank_coaches([CARLA, DUARTE, EVA, BRUNO, ANA], REQUEST, as_of=AS_OF, labels=LABELS)
    # then
    assert [(item.name, item.score) for item in ranked] == [
        ("Ana", 49),
        ("Bruno", 30),
        ("Eva", 27),
        ("Carla", 26),
    ]
    assert [item.reasons for item in ranked] == [
        (
            "Skills: bookkeeping, marketing (2 of 2) +20",
            "Covers the sector Retail trade +8",
            "Works on Santiago +6",
            "Speaks Kriolu (Kabuverdianu) +5",
            "Spare this month: 15 h of 20 h +10",
        ),
        (
            "Skills: marketing (1 of 2) +10",
            "Covers the sector Retail trade +8",
            "Does not work on Santiago +0",
            "Speaks Kriolu (Kabuverdianu) +5",
            "Spare this month: 7.5 h of 10 h +7",
        ),
        (
            "None of the skills asked for +0",
            "Covers the sector Retail trade +8",
            "Works on Santiago +6",
            "Speaks Kriolu (Kabuverdianu) +5",
            "Spare this month: 8 h of 8 h +8",
        ),
        (
            "Skills: bookkeeping, marketing (2 of 2) +20",
            "Does not cover the sector Retail trade +0",
            "Works on Santiago +6",
            "Does not speak Kriolu (Kabuverdianu) +0",
            "No spare capacity this month: 10 h booked of 10 h +0",
        ),
    ]


def test_an_accreditation_expiring_on_the_day_still_counts_and_one_expired_the_day_before_does_not():
    # given
    expiring_today = _candidate(6, "Fatima", accreditation_expires_on=AS_OF)
    expired = _candidate(7, "Gil", accreditation_expires_on=AS_OF - datetime.timedelta(days=1))
    # when
    today_score = score_coach(expiring_today, MatchRequest(), as_of=AS_OF)
    expired_score = score_coach(expired, MatchRequest(), as_of=AS_OF)
    # then
    assert today_score is not None
    assert today_score.reasons == ("Spare this month: 10 h of 10 h +10",)
    assert expired_score is None


def test_equal_scores_go_to_the_coach_with_more_spare_hours_then_by_name():
    # given: all three score 10 on capacity alone; Zeca has more spare hours than the others
    zeca = _candidate(1, "Zeca", capacity_hours=D("30"), load_hours=D("10"))
    bia = _candidate(2, "Bia", capacity_hours=D("12"), load_hours=D("0"))
    abel = _candidate(3, "Abel", capacity_hours=D("12"), load_hours=D("0"))
    # when
    ranked = rank_coaches([bia, zeca, abel], MatchRequest(), as_of=AS_OF)
    # then
    assert [(item.name, item.score, item.spare_hours) for item in ranked] == [
        ("Zeca", 10, D("20")),
        ("Abel", 10, D("12")),
        ("Bia", 10, D("12")),
    ]


def test_capacity_points_count_whole_spare_hours_and_overbooked_coaches_get_none():
    # given
    almost_full = _candidate(1, "Ana", capacity_hours=D("10"), load_hours=D("9.25"))
    overbooked = _candidate(2, "Bruno", capacity_hours=D("10"), load_hours=D("12.50"))
    # when
    scores = [score_coach(item, MatchRequest(), as_of=AS_OF) for item in (almost_full, overbooked)]
    # then
    assert [(item.score, item.reasons) for item in scores] == [
        (0, ("Spare this month: 0.75 h of 10 h +0",)),
        (0, ("No spare capacity this month: 12.5 h booked of 10 h +0",)),
    ]


def test_without_labels_the_reasons_show_the_choice_values():
    # when
    scored = score_coach(ANA, MatchRequest(island="fogo"), as_of=AS_OF)
    # then
    assert scored.reasons == ("Does not work on fogo +0", "Spare this month: 15 h of 20 h +10")
    assert scored.score == 10


def test_skills_typed_as_a_line_are_trimmed_lower_cased_and_unique():
    # then
    assert parse_skills(" Bookkeeping;  Marketing , bookkeeping,, Cash  flow ") == [
        "bookkeeping",
        "marketing",
        "cash flow",
    ]
    assert [format_hours(D(value)) for value in ("20.00", "7.50", "0.75", "3.333")] == [
        "20",
        "7.5",
        "0.75",
        "3.33",
    ]
