"""What every source adapter does: read records (over HTTP or from CSV rows) and validate them.

A record, whether a JSON object or a CSV row, is laid out as the text values of the adapter's
``fields`` (the protocol's CSV header, which also names the JSON keys), trimmed of spaces, and
``validate`` turns them into canonical text (identifiers normalised like ``crm`` does, dates ISO,
amounts with 2 decimals, whole numbers without leading zeros): the columns of the staging table.
One
validation serves both transports, so the same registry answer is the same record however it
arrived. ``record_sql`` says, in SQL over those columns, what a ``RegistryRecord`` stores (its
``data`` as a JSON object); the payload hash is computed there too (see ``compliance.ingest``).
``data`` keeps the protocol's field names (``declared_employees``, ``tax_debt``,
``certificate_number``...) and the normalised aliases (``employees``, ``amount_due``,
``certificate``), so readers of either vocabulary find their value.

Month files are large, so an adapter also has ``fast_line``: a pattern that a plain, well-formed
CSV line (no quotes) matches only if its values are already valid and canonical; such a line goes
to the staging table as is, and every other line through ``validate``.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from compliance.sources.http import RegistryClient, SourceError
from crm.identifiers import normalise_nif, normalise_social_security_number

_AMOUNT = re.compile(r"([0-9]{1,16})(?:\.([0-9]{1,2}))?")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_COUNT = 1_000_000
MAX_TEXT = 200

# Pieces of the fast-path patterns: each accepts only values ``validate`` would leave unchanged.
# A line pattern (``fast_line``) is the values joined by commas, without the line end.
FAST_NIF = r"[0-9]{9}"
FAST_SSN = r"[0-9]{6,12}"
# Free text without quotes, commas, tabs, backslashes or control characters. Values are
# trimmed of spaces: a line with ", " or " ," (a value with a space at an end) is never fast.
FAST_TEXT = r"[^\",\t\\\x00-\x1f\x7f\ufffd]{0,200}"
FAST_CODE = r"[A-Za-z0-9/.\-]"
# A real calendar date from year 1000 (29 February, being real one year in four, goes the long way).
FAST_DATE = (
    r"([1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8])))"
)
FAST_COUNT = r"(?:0|[1-9][0-9]{0,5}|1000000)"
FAST_AMOUNT = r"(?:0|[1-9][0-9]{0,15})\.[0-9]{2}"
FAST_CURRENCY = r"[A-Z]{3}"
FAST_END = r"\r?\n?"

_valid_dates: dict[str, bool] = {}


def is_date(value: str) -> bool:
    """Whether an ISO ``YYYY-MM-DD`` text is a real calendar date (cached: months repeat)."""
    known = _valid_dates.get(value)
    if known is None:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            known = False
        else:
            known = len(value) == 10
        if len(_valid_dates) < 10_000:
            _valid_dates[value] = known
    return known


class RowInvalid(Exception):
    """A record that fails validation; the message is the reason kept with the quarantined row."""


def _invalid(field: str, problem: str, value: str) -> RowInvalid:
    shown = value if len(value) <= 40 else value[:40] + "…"
    return RowInvalid(
        _("%(field)s: %(problem)s (%(value)s)")
        % {"field": field, "problem": problem, "value": repr(shown)}
    )


def _missing(field: str) -> RowInvalid:
    return RowInvalid(_("%(field)s: missing") % {"field": field})


def nif_value(value: str, field: str = "nif", *, required: bool = True) -> str:
    if len(value) == 9 and value.isascii() and value.isdigit():
        return value
    if not value:
        if required:
            raise _missing(field)
        return ""
    try:
        return normalise_nif(value)
    except ValidationError:
        raise _invalid(field, _("not a NIF of 9 digits"), value) from None


def ssn_value(value: str, field: str = "ssn") -> str:
    if 6 <= len(value) <= 12 and value.isascii() and value.isdigit():
        return value
    if not value:
        raise _missing(field)
    try:
        return normalise_social_security_number(value)
    except ValidationError:
        raise _invalid(field, _("not a social security number of 6 to 12 digits"), value) from None


def date_value(value: str, field: str, *, required: bool = True) -> str | None:
    if not value:
        if required:
            raise _missing(field)
        return None
    if is_date(value):
        return value
    raise _invalid(field, _("not a date YYYY-MM-DD"), value)


def amount_value(value: str, field: str) -> str:
    """A non-negative amount as text with exactly 2 decimals (JSON cannot hold a Decimal)."""
    match = _AMOUNT.fullmatch(value)
    if match is None:
        if not value:
            raise _missing(field)
        raise _invalid(field, _("not an amount such as 1500.00"), value)
    whole, cents = match.groups()
    return f"{int(whole)}.{(cents or '').ljust(2, '0')}"


def count_value(value: str, field: str) -> str:
    """A whole number from 0 to 1,000,000, as text without leading zeros."""
    if value.isascii() and value.isdigit() and len(value) <= 7:
        number = int(value)
        if number <= MAX_COUNT:
            return str(number)
    if not value:
        raise _missing(field)
    raise _invalid(field, _("not a whole number from 0 to 1,000,000"), value)


def currency_value(value: str, field: str = "currency") -> str:
    if _CURRENCY.fullmatch(value):
        return value
    if not value:
        raise _missing(field)
    raise _invalid(field, _("not an ISO 4217 currency code"), value)


def choice_value(value: str, field: str, allowed: frozenset[str]) -> str:
    if value in allowed:
        return value
    lowered = value.lower()
    if lowered in allowed:
        return lowered
    if not value:
        raise _missing(field)
    raise _invalid(
        field, _("not one of %(allowed)s") % {"allowed": ", ".join(sorted(allowed))}, value
    )


def text_value(value: str, field: str, *, required: bool = False, max_length: int = MAX_TEXT):
    """Free text (a name, a certificate or account number) that PostgreSQL and JSON can hold."""
    if not value:
        if required:
            raise _missing(field)
        return ""
    if len(value) > max_length:
        raise _invalid(field, _("longer than %(max)s characters") % {"max": max_length}, value)
    if "\x00" in value:
        raise _invalid(field, _("contains a NUL character"), value)
    if not value.isascii() and ("\ufffd" in value or not _encodable(value)):
        raise _invalid(field, _("contains bytes that are not valid UTF-8 text"), value)
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def record_values(record: Any, fields: Sequence[str]) -> list[str]:
    """A JSON record laid out as the text values of ``fields`` (None and absent keys → "")."""
    if not isinstance(record, dict):
        raise RowInvalid(_("not a JSON object"))
    values = []
    for field in fields:
        value = record.get(field)
        if value is None:
            values.append("")
        elif isinstance(value, (bool, dict, list)):
            raise _invalid(field, _("not a single value"), json.dumps(value))
        else:
            values.append(str(value).strip(" "))
    return values


class SourceAdapter:
    """How to read one kind of source. Subclasses set the paths, fields, ``fast_line`` and
    ``record_sql``, and write ``validate``.

    ``subject_identifier`` names the party attribute a per-party lookup is keyed on.
    """

    kind: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    list_path: ClassVar[str]
    subject_path: ClassVar[str]
    subject_identifier: ClassVar[str] = "nif"
    # Registry numbers of this kind are social security numbers, matched to parties.
    matches_registry_number: ClassVar[bool] = False
    # A regex over one CSV line in ``fields`` order (no line end); its groups are the dates.
    fast_line: ClassVar[str]
    # SQL over the staging columns for each stored column: nif, registry_number, as_of,
    # valid_until, status and data (a jsonb object).
    record_sql: ClassVar[dict[str, str]]

    # Whether a run of fast lines may be passed on at once: no rule beyond the pattern (such as
    # one between two fields, see ``fast_dates_ok``).
    fast_batches: ClassVar[bool] = True

    def __init__(self, source):
        self.source = source
        body = self.fast_pattern()
        self.fast_match = re.compile(body + FAST_END).fullmatch
        # The longest run of such lines from a position (each ending in a newline).
        self.fast_run_match = re.compile(f"(?:{body}\\r?\\n)*").match if self.fast_batches else None

    def fast_pattern(self) -> str:
        return self.fast_line

    def fast_dates_ok(self, dates: tuple[str | None, ...]) -> bool:
        """Whether the dates a fast line's pattern captured are real (and consistent)."""
        return all(date is None or is_date(date) for date in dates)

    def validate(self, values: Sequence[str]) -> tuple[str | None, ...]:  # pragma: no cover
        """The record's canonical staging values (in ``fields`` order), or ``RowInvalid``."""
        raise NotImplementedError

    # --- HTTP ----------------------------------------------------------------------------------
    def client(self, **overrides) -> RegistryClient:
        """A client for this source, with its token read from the environment variable it names."""
        source = self.source
        if not source.base_url:
            raise SourceError(_("This source has no base URL to pull from."))
        if not source.token_env:
            raise SourceError(_("This source names no environment variable for its token."))
        token = os.environ.get(source.token_env, "")
        if not token:
            raise SourceError(
                _("The token is missing: the environment variable %(name)s is not set.")
                % {"name": source.token_env}
            )
        return RegistryClient(base_url=source.base_url, token=token, **overrides)

    @staticmethod
    def _as_of_params(as_of: datetime.date | None) -> dict[str, str]:
        return {"as_of": as_of.isoformat()} if as_of else {}

    def records(self, client: RegistryClient, *, as_of: datetime.date | None) -> Iterator[Any]:
        """Every record of the reporting month (all pages)."""
        return client.pages(self.list_path, self._as_of_params(as_of))

    def subject_key(self, party) -> str:
        return getattr(party, self.subject_identifier, "") or ""

    def subject_records(
        self, client: RegistryClient, *, key: str, as_of: datetime.date | None = None
    ) -> list[Any]:
        """The registry's records about one subject (none when it does not know them)."""
        payload = client.get_json(
            self.subject_path.format(key=key), self._as_of_params(as_of), missing_ok=True
        )
        return [] if payload is None else self.unwrap_subject(payload)

    def unwrap_subject(self, payload: Any) -> list[Any]:
        return [payload]
