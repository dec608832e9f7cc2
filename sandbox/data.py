"""What the sandbox registries say about whom: pure, deterministic functions of the month.

Every value is derived from a hash of (registry, subject, reporting month), never from a random
generator or the clock, so the servers, the tests and the demo seed compute the same answers
without sharing state. Rows are returned exactly as the wire carries them (JSON-ready: dates as
ISO strings, amounts as strings with 2 decimals in CVE).

Who is known where (the demo parties of ``mfi/demo/parties.py``): persons i = 1..300 (NIF
``1{i:08d}``, SSN ``700000 + i``) and enterprises i = 1..120 (NIF ``2{i:08d}``, SSN ``800000 + i``).

- INPS (social security) and DNRE (revenue) know every demo party except ~3 % of them
  (``is_registered``), plus the three ``FOREIGN`` subjects who are not demo parties. INPS's record
  of SSN ``700007`` carries the NIF of person 11 (``IDENTIFIER_MISMATCH``), a clerical error.
- Each bank (``BANK_CODES``) lends to its own ~third of the subjects (some borrow from both), one
  or two facilities each, plus one facility to each ``FOREIGN`` subject.
- Irregularity comes in spells: in any month a spell of 1-6 months may start, so a subject falls
  behind, stays behind for a while and is cured later; ~10-20 % of subjects are irregular or in
  arrears in any month. Bank arrears grow 30 days a month (first month 1-30, then 31-60 ...).
- A regular taxpayer holds a certificate renewed every two months and valid 90 days; a few
  regular taxpayers let it lapse (expired certificate while the status is still regular).

The ``as_of`` argument of every function may be any date: it picks the reporting month that ends
on the last month-end on or before it (``reporting_month_end``), as the HTTP APIs do.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

PERSON_COUNT = 300
ENTERPRISE_COUNT = 120
BANK_CODES = ("BCA", "CECV")
CURRENCY = "CVE"

SOCIAL_SECURITY_FIELDS = (
    "ssn",
    "nif",
    "name",
    "as_of",
    "status",
    "months_in_arrears",
    "amount_due",
    "currency",
    "declared_employees",
)
REVENUE_FIELDS = (
    "nif",
    "name",
    "as_of",
    "status",
    "certificate_number",
    "issued_on",
    "valid_until",
    "tax_debt",
    "currency",
)
BANK_FIELDS = (
    "bank_code",
    "nif",
    "account",
    "as_of",
    "outstanding",
    "currency",
    "days_past_due",
    "status",
)
# The amount each registry reports (the field a "non-numeric amount" malformation spoils).
AMOUNT_FIELD = {"inps": "amount_due", "dnre": "tax_debt", "bank": "outstanding"}

# Share of demo parties a registry has never heard of, chance that an irregular spell starts in a
# month (spells last 1-6 months), share of subjects each bank lends to, lapsed certificates.
ABSENT_SHARE = 0.03
SPELL_START = {"inps": 0.042, "dnre": 0.036, "bank": 0.036}
MAX_SPELL_MONTHS = 6
BANK_CLIENT_SHARE = {"BCA": 0.35, "CECV": 0.30}
LAPSED_CERTIFICATE_SHARE = 0.05
CERTIFICATE_VALID_DAYS = 90
MALFORMATIONS = ("impossible_date", "missing_nif", "non_numeric_amount")


@dataclass(frozen=True)
class Subject:
    """A taxpayer as the registries know them: NIF and social security number."""

    nif: str
    ssn: str

    @property
    def is_enterprise(self) -> bool:
        return self.nif.startswith("2")


FOREIGN = (
    Subject("100000901", "700901"),
    Subject("100000902", "700902"),
    Subject("200000903", "800903"),
)
IDENTIFIER_MISMATCH = {"ssn": "700007", "nif": "100000011"}

FIRST_NAMES = ("Maria", "Ana", "Joana", "Fátima", "Rosa", "João", "José", "Carlos", "Nelson", "Rui")
LAST_NAMES = ("Silva", "Lopes", "Tavares", "Semedo", "Varela", "Monteiro", "Fortes", "Évora")
TRADES = ("Mercearia", "Padaria", "Oficina", "Pensão", "Peixaria", "Transportes", "Costura")


# --- hashing and months ---------------------------------------------------------------------------
def _roll(*parts) -> float:
    """A number in [0, 1) fixed by ``parts``: the sandbox's only source of variety."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _between(low: int, high: int, *parts) -> int:
    return low + int(_roll(*parts) * (high - low + 1))


def _pick(choices, *parts):
    return choices[int(_roll(*parts) * len(choices))]


def reporting_month_end(day: date) -> date:
    """The last month-end on or before ``day``: the reporting month a registry answers for."""
    return day if (day + timedelta(days=1)).day == 1 else day.replace(day=1) - timedelta(days=1)


def _month(as_of: date) -> int:
    end = reporting_month_end(as_of)
    return end.year * 12 + end.month - 1


def _day_of(month: int, day: int) -> date:
    return date(month // 12, month % 12 + 1, day)


def _end_of(month: int) -> date:
    return _day_of(month + 1, 1) - timedelta(days=1)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --- subjects -------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def demo_subjects() -> tuple[Subject, ...]:
    """The demo persons, then the demo enterprises, as the registries number them."""
    persons = (Subject(f"1{i:08d}", str(700000 + i)) for i in range(1, PERSON_COUNT + 1))
    enterprises = (Subject(f"2{i:08d}", str(800000 + i)) for i in range(1, ENTERPRISE_COUNT + 1))
    return (*persons, *enterprises)


def subject_name(nif: str) -> str:
    """The name a registry holds for a NIF (registries spell names their own way)."""
    last = _pick(LAST_NAMES, "last", nif)
    if nif.startswith("2"):
        return f"{_pick(TRADES, 'trade', nif)} {last}, Lda"
    return f"{_pick(FIRST_NAMES, 'first', nif)} {_pick(LAST_NAMES, 'middle', nif)} {last}"


def is_registered(registry: str, nif: str) -> bool:
    """Whether a registry (``inps``, ``dnre``, ``bank-bca``, ``bank-cecv``) knows this NIF at all.

    For a bank: whether it holds a facility of this NIF (the same in every month). True for
    person 7 at INPS, whose only record carries person 11's NIF (``IDENTIFIER_MISMATCH``).
    """
    if any(subject.nif == nif for subject in FOREIGN):
        return True
    if nif not in _demo_nifs():
        return False
    if registry.startswith("bank-"):
        bank_code = registry.removeprefix("bank-").upper()
        return _roll("client", bank_code, nif) < BANK_CLIENT_SHARE[bank_code]
    return nif in IDENTIFIER_MISMATCH.values() or _roll("absent", registry, nif) >= ABSENT_SHARE


@lru_cache(maxsize=1)
def _demo_nifs() -> frozenset[str]:
    return frozenset(subject.nif for subject in demo_subjects())


@lru_cache(maxsize=8)
def _known_by(registry: str) -> tuple[Subject, ...]:
    return tuple(s for s in (*demo_subjects(), *FOREIGN) if is_registered(registry, s.nif))


# --- spells of irregularity -----------------------------------------------------------------------
def _spell_length(family: str, key: str, month: int) -> int:
    """Months of a spell of irregularity starting in ``month`` (0: none starts)."""
    chance = _roll("spell", family, key, month)
    share = SPELL_START[family]
    return 1 + int(chance / share * MAX_SPELL_MONTHS) if chance < share else 0


def _is_behind(family: str, key: str, month: int) -> bool:
    first = month - MAX_SPELL_MONTHS + 1
    return any(
        _spell_length(family, key, start) > month - start for start in range(first, month + 1)
    )


def months_behind(family: str, key: str, as_of: date) -> int:
    """Consecutive months (up to 36) a subject has been irregular or in arrears, 0 when in order.

    ``family`` is ``inps`` or ``dnre`` with a NIF as ``key``, or ``bank`` with a facility account.
    """
    month, count = _month(as_of), 0
    while count < 36 and _is_behind(family, key, month - count):
        count += 1
    return count


# --- one row per registry -------------------------------------------------------------------------
def _employer_row(subject: Subject, month: int) -> dict:
    end = _end_of(month)
    behind = months_behind("inps", subject.nif, end)
    base = _between(0, 3, "staff", subject.nif)
    if subject.is_enterprise:
        base = _between(2, 24, "staff", subject.nif)
    employees = max(0, base + _between(-2, 1, "staff", subject.nif, month))
    monthly_cents = (3000 + 4600 * employees) * 100
    mismatch = subject.ssn == IDENTIFIER_MISMATCH["ssn"]
    return {
        "ssn": subject.ssn,
        "nif": IDENTIFIER_MISMATCH["nif"] if mismatch else subject.nif,
        "name": subject_name(subject.nif),
        "as_of": end.isoformat(),
        "status": "irregular" if behind else "regular",
        "months_in_arrears": behind,
        "amount_due": _money(behind * monthly_cents),
        "currency": CURRENCY,
        "declared_employees": employees,
    }


def _certificate_issued_on(nif: str, month: int) -> date:
    """Certificates are renewed every two months on the taxpayer's own day; a lapsed one is old."""
    renewal = month - (month + _between(0, 1, "parity", nif)) % 2
    if _roll("lapsed", nif, month) < LAPSED_CERTIFICATE_SHARE:
        renewal -= 4
    return _day_of(renewal, _between(1, 28, "renewal-day", nif))


def _taxpayer_row(subject: Subject, month: int) -> dict:
    end = _end_of(month)
    behind = months_behind("dnre", subject.nif, end)
    row = {"nif": subject.nif, "name": subject_name(subject.nif), "as_of": end.isoformat()}
    if behind:
        debt_cents = behind * _between(4000, 60000, "debt", subject.nif) * 100
        return row | {
            "status": "irregular",
            "certificate_number": None,
            "issued_on": None,
            "valid_until": None,
            "tax_debt": _money(debt_cents),
            "currency": CURRENCY,
        }
    issued = _certificate_issued_on(subject.nif, month)
    serial = _between(1, 999999, "certificate", subject.nif, issued)
    return row | {
        "status": "regular",
        "certificate_number": f"CRT-{issued.year}-{serial:06d}",
        "issued_on": issued.isoformat(),
        "valid_until": (issued + timedelta(days=CERTIFICATE_VALID_DAYS)).isoformat(),
        "tax_debt": "0.00",
        "currency": CURRENCY,
    }


def _facility_rows(bank_code: str, subject: Subject, month: int) -> list[dict]:
    """A subject's facilities at one bank: amortising loans, renewed when paid off."""
    end = _end_of(month)
    is_foreign = subject in FOREIGN
    count = 1 if is_foreign else 1 + (_roll("second", bank_code, subject.nif) < 0.25)
    low, high = (100, 3000) if subject.is_enterprise else (20, 500)
    rows = []
    for number in range(1, count + 1):
        serial = int(subject.nif[0]) * 100000 + int(subject.nif[1:]) * 10 + number
        account = f"{bank_code}-{serial:06d}"
        principal_cents = _between(low, high, "principal", account) * 1000 * 100
        term = _between(12, 60, "term", account)
        remaining = term - (month - _between(0, 120, "start", account)) % term
        behind = months_behind("bank", account, end)
        days = 30 * (behind - 1) + _between(1, 30, "dpd", account, month) if behind else 0
        rows.append(
            {
                "bank_code": bank_code,
                "nif": subject.nif,
                "account": account,
                "as_of": end.isoformat(),
                "outstanding": _money(principal_cents * remaining // term),
                "currency": CURRENCY,
                "days_past_due": days,
                "status": "arrears" if days else "current",
            }
        )
    return rows


@lru_cache(maxsize=64)
def _month_rows(registry: str, month: int) -> tuple[dict, ...]:
    subjects = _known_by(registry)
    if registry == "inps":
        rows = sorted((_employer_row(s, month) for s in subjects), key=lambda r: r["ssn"])
    elif registry == "dnre":
        rows = sorted((_taxpayer_row(s, month) for s in subjects), key=lambda r: r["nif"])
    else:
        bank_code = registry.removeprefix("bank-").upper()
        facilities = (row for s in subjects for row in _facility_rows(bank_code, s, month))
        rows = sorted(facilities, key=lambda r: r["account"])
    return tuple(rows)


# --- what the registries answer -------------------------------------------------------------------
def _rows(registry: str, as_of: date) -> list[dict]:
    return [dict(row) for row in _month_rows(registry, _month(as_of))]


def social_security_records(as_of: date) -> list[dict]:
    """INPS's EmployerStatus list for the month, ordered by social security number."""
    return _rows("inps", as_of)


def revenue_records(as_of: date) -> list[dict]:
    """DNRE's TaxStatus list for the month, ordered by NIF."""
    return _rows("dnre", as_of)


def bank_records(bank_code: str, as_of: date) -> list[dict]:
    """A bank's CreditStatus list for the month (one row per facility), ordered by account."""
    return _rows(f"bank-{bank_code.lower()}", as_of)


def employer_status(ssn_or_nif: str, as_of: date) -> dict | None:
    """INPS's record with this social security number (or else the first with this NIF)."""
    rows = social_security_records(as_of)
    by_ssn = (row for row in rows if row["ssn"] == ssn_or_nif)
    by_nif = (row for row in rows if row["nif"] == ssn_or_nif)
    return next(by_ssn, None) or next(by_nif, None)


def tax_status(nif: str, as_of: date) -> dict | None:
    """DNRE's record of this NIF, or None (the API answers 404)."""
    return next((row for row in revenue_records(as_of) if row["nif"] == nif), None)


def credit_facilities(bank_code: str, nif: str, as_of: date) -> list[dict]:
    """A bank's facilities of this NIF (empty when the bank does not lend to them)."""
    return [row for row in bank_records(bank_code, as_of) if row["nif"] == nif]


# --- malformed rows and CSV files -----------------------------------------------------------------
def _corrupt(row: dict, position: int, every: int, amount_field: str) -> dict:
    kind = MALFORMATIONS[(position // every - 1) % len(MALFORMATIONS)]
    if kind == "impossible_date":
        return row | {"as_of": f"{row['as_of'][:7]}-32"}
    if kind == "missing_nif":
        return row | {"nif": None}
    return row | {amount_field: "N/D"}


def malformed(rows: list[dict], every: int, amount_field: str) -> list[dict]:
    """The rows with every ``every``-th one (1-based position) spoilt, in rotation: an impossible
    date in ``as_of``, no NIF, then a non-numeric amount. ``every`` = 0 leaves them intact."""
    if not every:
        return rows
    return [
        _corrupt(row, position, every, amount_field) if position % every == 0 else row
        for position, row in enumerate(rows, start=1)
    ]


def csv_text(rows: list[dict], fields: tuple[str, ...], *, header: bool = True) -> str:
    """A month file: header row, then one row per record (``None`` becomes an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(fields)
    writer.writerows([row[field] for field in fields] for row in rows)
    return buffer.getvalue()


def _synthetic_employer_lines(first: int, last: int, month: int):
    """CSV lines of employers beyond the demo parties (SSN ``1000000 + j``, NIF ``5{j:08d}``),
    about 14 % irregular, written as plain text because volume tests need millions of them."""
    as_of = _end_of(month).isoformat()
    regular = f",{as_of},regular,0,0.00,{CURRENCY},"
    for j in range(first, last + 1):
        spread = (j * 2654435761 + month * 40503) % 4294967296
        employees = j % 25
        if spread % 100 < 14:
            behind = 1 + (spread >> 8) % 6
            amount = behind * (3000 + 4600 * employees)
            yield (
                f"{1000000 + j},5{j:08d},Empresa {j},{as_of},irregular,{behind},{amount}.00,"
                f"{CURRENCY},{employees}\r\n"
            )
        else:
            yield f"{1000000 + j},5{j:08d},Empresa {j}{regular}{employees}\r\n"


def _spoil_line(line: str, position: int, every: int) -> str:
    values = next(csv.reader([line]))
    row = dict(zip(SOCIAL_SECURITY_FIELDS, values, strict=True))
    return csv_text(
        [_corrupt(row, position, every, "amount_due")], SOCIAL_SECURITY_FIELDS, header=False
    )


def write_social_security_csv(
    path: str | Path, rows: int, as_of: date, malformed_every: int = 0
) -> int:
    """Write an INPS month file of ``rows`` records: the demo employers first (as the sandbox
    serves them), then synthetic ones; ``malformed_every`` spoils rows as ``malformed`` does.
    Fast enough for volume tests (a million rows in a few seconds). Returns the rows written."""
    rows = max(rows, 0)
    demo = social_security_records(as_of)[:rows]
    lines = itertools.chain(
        csv_text(demo, SOCIAL_SECURITY_FIELDS).splitlines(keepends=True),
        _synthetic_employer_lines(len(demo) + 1, rows, _month(as_of)),
    )
    if malformed_every:
        lines = (
            _spoil_line(line, position, malformed_every)
            if position and position % malformed_every == 0
            else line
            for position, line in enumerate(lines)
        )
    with open(path, "w", newline="", encoding="utf-8") as file:
        file.writelines(lines)
    return rows
