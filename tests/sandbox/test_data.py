"""The sandbox registries' data: who is known where, spells of irregularity, the volume file."""

from __future__ import annotations

import csv
import time
from datetime import date, timedelta

import pytest

from sandbox import data

DEMO_NIFS = {subject.nif for subject in data.demo_subjects()}
REGISTRIES = ("inps", "dnre", "bank-bca", "bank-cecv")
# Eighteen reporting months around the demo's present (Nov 2026).
MONTHS = [data.reporting_month_end(date(2025, 8, 1) + timedelta(days=31 * n)) for n in range(18)]


def month_rows(registry: str, as_of: date) -> list[dict]:
    if registry == "inps":
        return data.social_security_records(as_of)
    if registry == "dnre":
        return data.revenue_records(as_of)
    return data.bank_records(registry.removeprefix("bank-"), as_of)


def subjects_behind(registry: str, as_of: date) -> tuple[set[str], set[str]]:
    """(NIFs of the month's subjects, NIFs irregular or in arrears)."""
    rows = month_rows(registry, as_of)
    behind = {r["nif"] for r in rows if r["status"] in ("irregular", "arrears")}
    return {r["nif"] for r in rows}, behind


@pytest.mark.parametrize("registry", REGISTRIES)
def test_roughly_a_tenth_to_a_fifth_of_subjects_are_behind_in_every_month(registry):
    # when
    shares = [
        len(behind) / len(known) for known, behind in map(subjects_behind, [registry] * 18, MONTHS)
    ]
    # then
    assert all(0.09 <= share <= 0.21 for share in shares), shares


@pytest.mark.parametrize("registry", REGISTRIES)
def test_a_year_of_history_shows_spells_that_start_and_are_cured(registry):
    # given
    months = [subjects_behind(registry, as_of)[1] for as_of in MONTHS[:12]]
    # when
    cured = {
        nif for before, after in zip(months, months[1:], strict=False) for nif in before - after
    }
    fell_behind = {
        nif for before, after in zip(months, months[1:], strict=False) for nif in after - before
    }
    # then
    assert len(cured) >= 15
    assert len(fell_behind) >= 15


@pytest.mark.parametrize(("registry", "absent"), [("inps", 8), ("dnre", 12)])
def test_a_few_demo_parties_are_unknown_to_each_registry(registry, absent):
    # when
    known = {r["nif"] for r in month_rows(registry, date(2026, 10, 31))}
    # then: person 7 is at INPS, but under person 11's NIF
    unknown = DEMO_NIFS - known - {"100000007"}
    assert len(unknown) == absent
    assert all(not data.is_registered(registry, nif) for nif in unknown)


@pytest.mark.parametrize("registry", REGISTRIES)
def test_each_registry_reports_three_subjects_who_are_not_demo_parties(registry):
    # when
    foreign = [r for r in month_rows(registry, date(2026, 10, 31)) if r["nif"] not in DEMO_NIFS]
    # then
    assert sorted(r["nif"] for r in foreign) == ["100000901", "100000902", "200000903"]


def test_one_employer_record_carries_the_nif_of_another_demo_person():
    # when
    record = data.employer_status("700007", date(2026, 10, 31))
    holders = [r["ssn"] for r in data.social_security_records(date(2026, 10, 31))]
    # then
    assert record["nif"] == "100000011"
    assert data.employer_status("700011", date(2026, 10, 31))["nif"] == "100000011"
    assert len(holders) == len(set(holders))


def test_an_employer_in_arrears_owes_contributions_and_a_regular_one_owes_nothing():
    # when
    rows = data.social_security_records(date(2026, 10, 31))
    # then
    for row in rows:
        owes = float(row["amount_due"]) > 0
        assert owes == (row["status"] == "irregular") == (row["months_in_arrears"] > 0)


def test_regular_taxpayers_hold_a_90_day_certificate_some_of_them_expired():
    # given
    as_of = date(2026, 10, 31)
    rows = data.revenue_records(as_of)
    regular = [r for r in rows if r["status"] == "regular"]
    irregular = [r for r in rows if r["status"] == "irregular"]
    # when
    expired = [r for r in regular if date.fromisoformat(r["valid_until"]) < as_of]
    # then
    assert 5 <= len(expired) <= 30
    assert all(
        date.fromisoformat(r["valid_until"]) - date.fromisoformat(r["issued_on"])
        == timedelta(days=90)
        for r in regular
    )
    assert all(r["certificate_number"].startswith("CRT-") for r in regular)
    assert all(r["certificate_number"] is None and float(r["tax_debt"]) > 0 for r in irregular)


def test_banks_lend_to_different_subjects_with_arrears_short_and_long():
    # given
    as_of = date(2026, 10, 31)
    bca, cecv = (data.bank_records(code, as_of) for code in data.BANK_CODES)
    # when
    both = {r["nif"] for r in bca} & {r["nif"] for r in cecv}
    days = [r["days_past_due"] for r in bca + cecv]
    # then
    assert 20 <= len(both) <= 80
    assert {r["nif"] for r in bca} != {r["nif"] for r in cecv}
    assert sum(1 <= d <= 30 for d in days) >= 5
    assert sum(d > 30 for d in days) >= 5
    assert all((r["status"] == "arrears") == (r["days_past_due"] > 0) for r in bca + cecv)


def test_the_data_functions_agree_with_the_lists():
    # given
    as_of = date(2026, 5, 31)
    # then
    assert data.tax_status("100000001", as_of) == data.revenue_records(as_of)[0]
    assert data.credit_facilities("CECV", "100000001", as_of) == [
        r for r in data.bank_records("CECV", as_of) if r["nif"] == "100000001"
    ]
    assert (
        data.employer_status("100000001", date(2026, 6, 17))
        == data.social_security_records(as_of)[0]
    )


def test_the_volume_file_writes_200_000_rows_fast_with_the_demo_employers_first(tmp_path):
    # given
    path = tmp_path / "inps.csv"
    as_of = date(2026, 10, 31)
    # when
    started = time.monotonic()
    written = data.write_social_security_csv(path, 200_000, as_of, malformed_every=1000)
    elapsed = time.monotonic() - started
    # then
    assert elapsed < 5
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert written == len(rows) == 200_000
    demo = data.malformed(data.social_security_records(as_of), 1000, "amount_due")
    assert rows[: len(demo)] == [{k: str(v) for k, v in r.items()} for r in demo]
    assert (rows[999]["as_of"], rows[1999]["nif"], rows[2999]["amount_due"]) == (
        "2026-10-32",
        "",
        "N/D",
    )
    assert len({row["ssn"] for row in rows}) == 200_000
    assert 0.10 < sum(row["status"] == "irregular" for row in rows) / 200_000 < 0.20
