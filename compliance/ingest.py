"""Getting registry data in: pulls over HTTP, per-party lookups and CSV files, one storage path.

Every record, from an API page or a file row, is validated by its source's adapter. Bad ones are
quarantined with their position and reason (never dropped, never stopping the rest); good ones are
streamed with ``COPY`` into a temporary staging table, then stored set-based into
``RegistryRecord`` (the unique payload constraint drops what we already hold) and matched to
parties: by NIF, then by social security number. A record matching no party, several parties, or
two different parties by NIF and number goes to the reconciliation queue, unless a run brings
more records of unknown subjects than ``unmatched_limit()``: such a registry-wide file is not
our portfolio, and its unknown subjects are counted on the run but not kept.

Nothing is held in memory but the current page or a few thousand lines: files are read as a
stream and quarantined rows spill to a temporary file. A failed pull or file stores nothing (its savepoint is rolled
back) and so leaves the data we had untouched; the run keeps the error, and the source's health
shows it (``unavailable_since`` is set at the first failure after a success, cleared on success).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import logging
import operator
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, snapshot
from compliance.choices import ReconciliationStatus, RunStatus, RunTrigger, SourceKind, Transport
from compliance.models import (
    QuarantinedRow,
    ReconciliationItem,
    RegistryRecord,
    Source,
    SourceRun,
)
from compliance.sources import SourceAdapter, SourceError, adapter_for
from compliance.sources.base import RowInvalid, record_values
from compliance.sources.selectors import inbound_folder
from crm.models import Party
from loans.choices import PORTFOLIO_STATUSES
from loans.models import Loan
from mfi.outbox import outbox_enqueue
from users.roles import Capability

logger = logging.getLogger("compliance.ingest")

_COPY_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\ufffd"}
)
_COPY_NULL = "\\N"
_EOL = "\r\n"
_UNTRIMMED, _UNTRIMMED_END = ", ", " ,"
_CHUNK_CHARS = 1 << 16
_BATCH_CHARS = 1 << 17
_HASH_CHUNK = 1 << 20
RUN_FIELDS = [
    "status",
    "records_received",
    "records_stored",
    "rows_quarantined",
    "unmatched_skipped",
    "attempts",
    "error",
]
HEALTH_FIELDS = ["last_pull_at", "last_success_at", "unavailable_since", "last_error"]


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


# --- the feed: records in, COPY lines out, bad records aside ----------------------------------


class _Feed:
    """Validates records into staging-table COPY lines and quarantines the bad ones.

    A ``SourceError`` raised while reading (the registry went away, the file has no header)
    ends the feed and is kept in ``error``; quarantined rows spill to a temporary file.
    """

    def __init__(self, adapter: SourceAdapter, *, run_id: int):
        self.adapter = adapter
        self.run_id = run_id
        self.received = 0
        self.quarantined = 0
        self.error: SourceError | None = None
        self.quarantine = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by _store
            max_size=1 << 20, mode="w+", encoding="utf-8", newline=""
        )

    def checked(self, position: int, item: Any, values_of: Callable, raw_of: Callable):
        """The COPY line of a valid item, or None once the item is quarantined."""
        try:
            values = self.adapter.validate(values_of(item))
        except RowInvalid as exc:
            self.quarantined += 1
            self.quarantine.write(
                f"{self.run_id}\t{position}\t{_copy_text(raw_of(item))}\t"
                f"{_copy_text(str(exc)[:300])}\tf\n"
            )
            return None
        fields = "\t".join(_COPY_NULL if value is None else _copy_text(value) for value in values)
        return f"{fields}\n"

    def guarded(self, chunks: Iterator[str]) -> Iterator[str]:
        try:
            yield from chunks
        except SourceError as exc:
            self.error = exc


def _json_lines(feed: _Feed, items: Iterable[tuple[int, Any]]) -> Iterator[str]:
    """COPY lines of JSON records (an API's answer); a bad one is quarantined with its position
    in the answer (from 1, across pages)."""
    values_of = partial(record_values, fields=feed.adapter.fields)
    for position, record in items:
        feed.received += 1
        line = feed.checked(position, record, values_of, _json_raw)
        if line is not None:
            yield line


def _csv_header(adapter: SourceAdapter, line: str) -> tuple[Callable, bool]:
    """How to lay a row out in ``fields`` order, and whether the file's columns are in the
    protocol's order (then a well-formed line can take the fast path as it is)."""
    expected = adapter.fields
    names = [name.strip().lower() for name in next(csv.reader([line]), [])]
    missing = [name for name in expected if name not in names]
    if missing:
        raise SourceError(
            _("The file's header lacks the columns %(missing)s; expected: %(expected)s.")
            % {"missing": ", ".join(missing), "expected": ",".join(expected)}
        )
    width = len(names)
    pick = operator.itemgetter(*(names.index(name) for name in expected))

    def values_of(row: list[str]) -> list[str]:
        if len(row) != width:
            raise RowInvalid(
                _("expected %(expected)s values, found %(found)s")
                % {"expected": width, "found": len(row)}
            )
        return [value.strip(" ") for value in pick(row)]

    return values_of, names == list(expected)


def _fast_text(body: str) -> str:
    """Fast-path lines as COPY text: commas become tabs, line ends plain newlines (the pattern
    allowed no tab, backslash, quote or carriage return inside a value)."""
    body = body.replace(",", "\t").replace("\r", "")
    return body if body.endswith("\n") else body + "\n"


class _CsvFile:
    """The COPY text of a CSV file, read as a stream, ~128 KB at a time.

    The longest run of plain well-formed lines is found by one pattern in one go and passed on
    as it is. Any other line (quoted values, odd spacing, errors) is parsed and validated in
    full and, if bad, quarantined with its line number in the file (the header is line 1).
    """

    def __init__(self, feed: _Feed, binary: BinaryIO):
        self.feed, self.adapter = feed, feed.adapter
        self.text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
        self.line_number = 1
        self.received = 0
        self.known_dates: dict[tuple, bool] = {}  # a month file repeats the same few dates
        self.values_of: Callable = list
        self.fast: Callable | None = None
        self.plain_run: Callable | None = None
        self.carry = ""  # the start of a line cut by the end of a block

    def __iter__(self) -> Iterator[str]:
        try:
            self.values_of, in_order = _csv_header(self.adapter, self.text.readline())
            if in_order:
                self.fast = self.adapter.fast_match
                self.plain_run = self.adapter.fast_run_match
            while block := self.text.read(_BATCH_CHARS):
                block = self.carry + block
                cut = block.rfind("\n") + 1
                self.carry = block[cut:]
                if cut:
                    yield from self._batch(block[:cut])
            if self.carry:  # the last line, without a line end
                last, self.carry = self.carry + "\n", ""
                yield from self._batch(last)
        except csv.Error as exc:
            raise SourceError(
                _("The file is not a readable CSV file (line %(line)s: %(error)s).")
                % {"line": self.line_number, "error": exc}
            ) from exc
        finally:
            self.feed.received = self.received
            self.text.detach()

    def _batch(self, body: str) -> Iterator[str]:
        position, size = 0, len(body)
        while position < size:
            if self.plain_run is not None:
                end = self.plain_run(body, position).end()
                if end > position:
                    yield from self._plain(body[position:end])
                    position = end
                    continue
            stop = body.index("\n", position) + 1
            line, position = body[position:stop], stop
            self.line_number += 1
            start = self.line_number
            while line.count('"') % 2:  # a quoted value running over several lines
                if position < size:
                    stop = body.index("\n", position) + 1
                    more, position = body[position:stop], stop
                else:
                    more = self._next_line()
                if not more:
                    break
                line += more
                self.line_number += 1
            checked = self._line(start, line)
            if checked is not None:
                yield checked

    def _next_line(self) -> str:
        """The line after the current block (for a quoted value that runs on)."""
        if "\n" in self.carry:
            stop = self.carry.index("\n") + 1
            line, self.carry = self.carry[:stop], self.carry[stop:]
            return line
        line, self.carry = self.carry + self.text.readline(), ""
        return line

    def _plain(self, run: str) -> Iterator[str]:
        """Lines the pattern accepted: passed on whole, unless a value has a space at an end
        (which the long way trims)."""
        if _UNTRIMMED in run or _UNTRIMMED_END in run:
            for line in run[:-1].split("\n"):  # (str.splitlines would split at U+2028 too)
                self.line_number += 1
                checked = self._line(self.line_number, line + "\n")
                if checked is not None:
                    yield checked
            return
        count = run.count("\n")
        self.line_number += count
        self.received += count
        yield _fast_text(run)

    def _line(self, number: int, line: str) -> str | None:
        """One record's COPY line, or None (a blank line, or the record quarantined)."""
        if not line.strip():
            return None
        self.received += 1
        if self._fast_ok(line):
            return _fast_text(line)
        raw = line.rstrip(_EOL)
        row = next(csv.reader([line]), [])
        return self.feed.checked(number, row, self.values_of, lambda _row: raw)

    def _fast_ok(self, line: str) -> bool:
        if _UNTRIMMED in line or _UNTRIMMED_END in line:
            return False
        match = self.fast(line) if self.fast is not None else None
        if match is None:
            return False
        dates = match.groups()
        good = self.known_dates.get(dates)
        if good is None:
            good = self.adapter.fast_dates_ok(dates)
            if len(self.known_dates) < 10_000:
                self.known_dates[dates] = good
        return good


class _LineReader:
    """A file-like view of an iterator of COPY text, for ``copy_expert`` (~64 KB per read)."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines

    def read(self, size: int = -1) -> str:
        chunk: list[str] = []
        length = 0
        for line in self._lines:
            chunk.append(line)
            length += len(line)
            if length >= _CHUNK_CHARS:
                break
        return "".join(chunk)

    readline = read


@dataclass
class _Outcome:
    received: int = 0
    stored: int = 0
    quarantined: int = 0
    queued: int = 0
    party_ids: list[int] = field(default_factory=list)
    unmatched_skipped: int = 0
    error: str = ""


def unmatched_limit() -> int:
    """Most records of unknown subjects one run may queue for reconciliation
    (``COMPLIANCE_UNMATCHED_LIMIT``, default 1,000). A run with more is a registry-wide file,
    not our portfolio: its unknown subjects are counted on the run and not kept, since staff
    cannot reconcile them and the institution has no reason to hold data about them."""
    return int(getattr(settings, "COMPLIANCE_UNMATCHED_LIMIT", 1000))


_MATCH_SQL = """
    WITH by_nif AS (
        SELECT nif AS key, array_agg(id ORDER BY id) AS ids FROM {party}
        WHERE nif <> '' GROUP BY nif
    ), by_number AS (
        SELECT social_security_number AS key, array_agg(id ORDER BY id) AS ids FROM {party}
        WHERE %(match_number)s AND social_security_number <> '' GROUP BY social_security_number
    )
"""

# The payload hash covers what we store, in a canonical text form (jsonb prints its keys in a
# fixed order): nif, registry number, as-of, validity, status and data, joined by U+001F.
# Valid records whose subject is none of our parties (by NIF, nor by registry number).
_UNMATCHED_SQL = (
    _MATCH_SQL  # noqa: S608 - table names from the models, values as parameters
    + """
    SELECT count(*) FROM (SELECT {nif} AS nif, {registry_number} AS registry_number
                          FROM {staging}) c
    WHERE NOT EXISTS (SELECT 1 FROM by_nif n WHERE n.key = c.nif)
      AND NOT EXISTS (SELECT 1 FROM by_number r WHERE r.key = c.registry_number)
"""
)

_STORE_SQL = (
    _MATCH_SQL  # noqa: S608 - table names from the models, values as parameters
    + """
    , inserted AS (
        INSERT INTO {record} (source_id, run_id, party_id, nif, registry_number, as_of,
                              retrieved_at, valid_until, status, data, payload_sha256)
        SELECT %(source)s, %(run)s,
               CASE WHEN cardinality(n.ids) > 1 OR cardinality(r.ids) > 1 THEN NULL
                    WHEN n.ids IS NOT NULL AND r.ids IS NOT NULL AND n.ids <> r.ids THEN NULL
                    ELSE coalesce(n.ids[1], r.ids[1]) END,
               c.nif, c.registry_number, c.as_of, %(now)s, c.valid_until, c.status, c.data,
               encode(sha256(convert_to(concat_ws(chr(31), c.nif, c.registry_number,
                   c.as_of::text, coalesce(c.valid_until::text, ''), c.status, c.data::text),
                   'UTF8')), 'hex')
        FROM (
            SELECT {nif} AS nif, {registry_number} AS registry_number, {as_of} AS as_of,
                   {valid_until} AS valid_until, {status} AS status, {data} AS data
            FROM {staging}
        ) c
        LEFT JOIN by_nif n ON n.key = c.nif
        LEFT JOIN by_number r ON r.key = c.registry_number
        WHERE %(keep_unmatched)s OR n.ids IS NOT NULL OR r.ids IS NOT NULL
        ON CONFLICT (source_id, nif, registry_number, as_of, payload_sha256) DO NOTHING
        RETURNING id, party_id, nif, registry_number
    )
    INSERT INTO {new} SELECT id, party_id, nif, registry_number FROM inserted
"""
)

_QUEUE_SQL = (
    _MATCH_SQL  # noqa: S608 - table names from the models, values as parameters
    + """
    INSERT INTO {item} (record_id, reason, status, candidates, created_at)
    SELECT w.id,
           CASE WHEN n.ids IS NULL AND r.ids IS NULL THEN 'no_match'
                WHEN cardinality(n.ids) > 1 OR cardinality(r.ids) > 1 THEN 'ambiguous'
                ELSE 'identifier_mismatch' END,
           'open',
           to_jsonb(ARRAY(SELECT DISTINCT candidate FROM unnest(
               coalesce(n.ids, '{{}}'::bigint[]) || coalesce(r.ids, '{{}}'::bigint[])) AS candidate
               ORDER BY candidate)),
           %(now)s
    FROM {new} w
    LEFT JOIN by_nif n ON n.key = w.nif
    LEFT JOIN by_number r ON r.key = w.registry_number
    WHERE w.party_id IS NULL
"""
)


# A bank's monthly list is exhaustive: a monitored borrower missing from it has no facility
# there. One ``none`` record per such party says so (the evaluation counts it as no arrears).
_NO_FACILITY_SQL = """
    WITH month AS (SELECT max(as_of::date) AS as_of FROM {staging}),
    inserted AS (
        INSERT INTO {record} (source_id, run_id, party_id, nif, registry_number, as_of,
                              retrieved_at, valid_until, status, data, payload_sha256)
        SELECT %(source)s, %(run)s, p.id, p.nif, '', month.as_of, %(now)s, NULL, 'none',
               jsonb_build_object('bank_code', %(bank_code)s),
               encode(sha256(convert_to(concat_ws(chr(31), p.nif, '', month.as_of::text, '',
                   'none', jsonb_build_object('bank_code', %(bank_code)s)::text), 'UTF8')), 'hex')
        FROM {party} p CROSS JOIN month
        WHERE month.as_of IS NOT NULL AND p.nif <> ''
          AND EXISTS (SELECT 1 FROM {loan} l WHERE l.borrower_id = p.id
                      AND l.status = ANY(%(monitored)s))
          AND NOT EXISTS (SELECT 1 FROM {staging} s WHERE s.nif = p.nif)
        ON CONFLICT (source_id, nif, registry_number, as_of, payload_sha256) DO NOTHING
        RETURNING id, party_id, nif, registry_number
    )
    INSERT INTO {new} SELECT id, party_id, nif, registry_number FROM inserted
"""


def _store(*, run: SourceRun, feed: _Feed, lines: Iterator[str]) -> _Outcome:
    """COPY the lines into staging, then store, match and queue set-based. Raises the feed's
    error (after the COPY) so the caller's savepoint drops everything of this run."""
    adapter = feed.adapter
    quote = connection.ops.quote_name
    staging, new = f"compliance_staging_{run.pk}", f"compliance_new_{run.pk}"
    names = {
        **adapter.record_sql,
        "party": quote(Party._meta.db_table),
        "record": quote(RegistryRecord._meta.db_table),
        "item": quote(ReconciliationItem._meta.db_table),
        "staging": staging,
        "new": new,
    }
    params = {
        "source": run.source_id,
        "run": run.pk,
        "now": timezone.now(),
        "match_number": adapter.matches_registry_number,
    }
    columns = ", ".join(f"{quote(name)} text" for name in adapter.fields)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {staging} ({columns}) "
                f"ON COMMIT DROP; CREATE TEMPORARY TABLE {new} (id bigint, party_id bigint, "
                "nif varchar(9), registry_number varchar(30)) ON COMMIT DROP"
            )
            cursor.copy_expert(f"COPY {staging} FROM STDIN", _LineReader(feed.guarded(lines)))
            if feed.error is not None:
                raise feed.error
            cursor.execute(_UNMATCHED_SQL.format(**names), params)
            unmatched = cursor.fetchone()[0]
            params["keep_unmatched"] = unmatched <= unmatched_limit()
            cursor.execute(_STORE_SQL.format(**names), params)
            cursor.execute(_QUEUE_SQL.format(**names), params)
            queued = cursor.rowcount
            if adapter.kind == SourceKind.BANK and run.party_id is None:
                names["loan"] = quote(Loan._meta.db_table)
                params["bank_code"] = run.source.bank_code.upper()
                params["monitored"] = [str(status) for status in PORTFOLIO_STATUSES]
                cursor.execute(_NO_FACILITY_SQL.format(**names), params)
            cursor.execute(
                "SELECT count(*), coalesce(array_agg(DISTINCT party_id) "  # noqa: S608
                f"FILTER (WHERE party_id IS NOT NULL), '{{}}') FROM {new}"
            )
            stored, party_ids = cursor.fetchone()
            feed.quarantine.seek(0)
            cursor.copy_expert(
                f"COPY {quote(QuarantinedRow._meta.db_table)} "
                "(run_id, row_number, raw, reason, is_resolved) FROM STDIN",
                feed.quarantine,
            )
            cursor.execute(f"DROP TABLE {staging}, {new}")
    finally:
        feed.quarantine.close()
    return _Outcome(
        received=feed.received,
        stored=stored,
        quarantined=feed.quarantined,
        queued=queued,
        party_ids=sorted(party_ids),
        unmatched_skipped=0 if params["keep_unmatched"] else unmatched,
    )


def _ingest(run: SourceRun, adapter: SourceAdapter, make_lines: Callable) -> _Outcome:
    """Store what ``make_lines(feed)`` yields in a savepoint: all of it, or on a SourceError
    nothing (the outcome then carries the error)."""
    feed = _Feed(adapter, run_id=run.pk)
    try:
        with transaction.atomic():
            return _store(run=run, feed=feed, lines=make_lines(feed))
    except SourceError as exc:
        logger.warning("Run %s of %s failed: %s", run.pk, run.source.code, exc)
        return _Outcome(received=feed.received, error=str(exc))


def _json_raw(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False, default=str)


# --- runs, health, audit ----------------------------------------------------------------------


def _require_manage(actor) -> None:
    """Scheduled work runs without an actor; a person needs the capability to act on sources."""
    if actor is not None and not actor.has_capability(Capability.COMPLIANCE_MANAGE):
        raise PermissionDenied(_("Your role may not pull registries or ingest files."))


def _lock_source(source: Source) -> Source:
    try:
        return Source.objects.select_for_update(nowait=True).get(pk=source.pk)
    except OperationalError:
        raise ValidationError(
            _("This source is being pulled or a file of it ingested right now; try again shortly."),
            code="source_busy",
        ) from None


def _health(source_id: int, *, ok: bool, error: str, at: datetime.datetime, full: bool) -> None:
    """Set-based, so a per-party lookup needs no lock on the source. Only full pulls and files
    (``full``) move ``last_pull_at`` (the schedule) and ``last_success_at`` (the freshness)."""
    changes: dict[str, Any]
    if ok:
        changes = {"unavailable_since": None, "last_error": ""}
        if full:
            changes.update(last_pull_at=at, last_success_at=at)
    else:
        changes = {"unavailable_since": Coalesce("unavailable_since", at), "last_error": error}
        if full:
            changes["last_pull_at"] = at
    Source.objects.filter(pk=source_id).update(**changes)


def _schedule_evaluation(party_ids: list[int]) -> None:
    """Re-evaluate the loans of parties that got new evidence, once this transaction commits
    (through the task outbox: the request is kept even if the broker is down)."""
    if not party_ids:
        return
    from compliance.tasks import evaluate_parties

    outbox_enqueue(evaluate_parties, list(party_ids))


def _run_finish(
    run: SourceRun,
    outcome: _Outcome,
    *,
    actor,
    action: str,
    attempts: int = 0,
    health: str = "full",
) -> SourceRun:
    """Record the outcome on the run, the source's health and one audit event for the run.

    ``health`` is ``full`` (pulls, files of file sources), ``lookup`` (per-party lookups) or
    ``none`` (a file uploaded for an HTTP source, which says nothing of the API's health).
    """
    now = timezone.now()
    source = run.source
    before = snapshot(source, HEALTH_FIELDS)
    run.status = (
        RunStatus.FAILED
        if outcome.error
        else RunStatus.PARTIAL
        if outcome.quarantined
        else RunStatus.SUCCEEDED
    )
    run.records_received = outcome.received
    run.records_stored = outcome.stored
    run.rows_quarantined = outcome.quarantined
    run.unmatched_skipped = outcome.unmatched_skipped
    run.attempts = attempts
    run.error = outcome.error
    run.finished_at = now
    run.save(update_fields=[*RUN_FIELDS, "finished_at"])
    if health != "none":
        _health(source.pk, ok=not outcome.error, error=outcome.error, at=now, full=health == "full")
        source.refresh_from_db(fields=HEALTH_FIELDS)
    audit_record(
        actor=actor,
        action=action,
        target=run,
        branch_id=run.party.branch_id if run.party_id else None,
        before=before,
        after={
            **snapshot(run, RUN_FIELDS),
            "reconciliation_items_opened": outcome.queued,
            **snapshot(source, HEALTH_FIELDS),
        },
    )
    _schedule_evaluation(outcome.party_ids)
    return run


class _HttpItems:
    """Records fetched lazily, so a token or network error surfaces inside the guarded ingest;
    remembers the client's attempt count for the run."""

    def __init__(self, adapter: SourceAdapter, fetch: Callable):
        self.adapter, self.fetch, self.attempts = adapter, fetch, 0

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        with self.adapter.client() as client:
            try:
                yield from enumerate(self.fetch(client), start=1)
            finally:
                self.attempts = client.attempts


def _http_run(run: SourceRun, adapter: SourceAdapter, fetch: Callable) -> tuple[_Outcome, int]:
    items = _HttpItems(adapter, fetch)
    outcome = _ingest(run, adapter, lambda feed: _json_lines(feed, items))
    return outcome, items.attempts


# --- services ---------------------------------------------------------------------------------


@transaction.atomic
def source_pull(
    *, source: Source, trigger: str, actor=None, as_of: datetime.date | None = None
) -> SourceRun:
    """Pull a source's whole reporting month (``as_of``, default the registry's latest) over
    HTTP, every page. A failure is recorded on the run and the source; no data changes."""
    _require_manage(actor)
    source = _lock_source(source)
    if source.transport != Transport.HTTP:
        raise ValidationError({"source": _("This source delivers files; upload a file instead.")})
    run = SourceRun.objects.create(source=source, trigger=trigger, triggered_by=actor)
    adapter = adapter_for(source)
    outcome, attempts = _http_run(run, adapter, lambda client: adapter.records(client, as_of=as_of))
    return _run_finish(
        run, outcome, actor=actor, action="compliance.source.pulled", attempts=attempts
    )


def party_refresh(*, actor, party: Party) -> list[SourceRun]:
    """Ask every active HTTP source, now, about one party (by its NIF or social security
    number; sources it has no identifier for are skipped). One run per source asked, each
    committed on its own so one registry being down does not lose the others' answers."""
    if actor is None or not actor.has_capability(Capability.COMPLIANCE_MANAGE):
        raise PermissionDenied(_("Your role may not refresh registry data."))
    runs = []
    sources = Source.objects.filter(is_active=True, transport=Transport.HTTP).order_by("pk")
    for source in sources:
        adapter = adapter_for(source)
        key = adapter.subject_key(party)
        if key:
            runs.append(_party_lookup(actor=actor, party=party, adapter=adapter, key=key))
    return runs


@transaction.atomic
def _party_lookup(*, actor, party: Party, adapter: SourceAdapter, key: str) -> SourceRun:
    run = SourceRun.objects.create(
        source=adapter.source, trigger=RunTrigger.ON_DEMAND, party=party, triggered_by=actor
    )
    outcome, attempts = _http_run(
        run, adapter, lambda client: adapter.subject_records(client, key=key)
    )
    return _run_finish(
        run,
        outcome,
        actor=actor,
        action="compliance.party.registries_refreshed",
        attempts=attempts,
        health="lookup",
    )


def _file_sha256(binary: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(partial(binary.read, _HASH_CHUNK), b""):
        digest.update(chunk)
    binary.seek(0)
    return digest.hexdigest()


def _open_binary(path_or_file) -> tuple[BinaryIO, str, bool]:
    """The file as a binary stream, its name, and whether we opened it (and must close it)."""
    if isinstance(path_or_file, (str, Path)):
        path = Path(path_or_file)
        return path.open("rb"), path.name, True
    path_or_file.seek(0)
    name = str(getattr(path_or_file, "name", "") or "")
    return getattr(path_or_file, "file", path_or_file), Path(name).name, False


def file_ingest(*, source: Source, path_or_file, actor=None, trigger: str) -> SourceRun:
    """Ingest one CSV file of a source (uploaded, or picked up from its inbound folder).

    A file already ingested (same SHA-256, run not failed) is refused with code
    ``duplicate_file``; bad rows are quarantined with their line number; a file without the
    protocol's header fails as a whole.
    """
    _require_manage(actor)
    binary, name, opened = _open_binary(path_or_file)
    try:
        return _file_ingest(source, binary, name=name, actor=actor, trigger=trigger)
    finally:
        if opened:
            binary.close()


@transaction.atomic
def _file_ingest(source: Source, binary: BinaryIO, *, name: str, actor, trigger: str):
    sha256 = _file_sha256(binary)
    source = _lock_source(source)
    previous = source.runs.filter(file_sha256=sha256).exclude(status=RunStatus.FAILED).first()
    if previous is not None:
        raise ValidationError(
            {
                "file": ValidationError(
                    _("This file was already ingested on %(date)s (run %(run)s).")
                    % {
                        "date": timezone.localtime(previous.started_at).strftime("%Y-%m-%d %H:%M"),
                        "run": previous.pk,
                    },
                    code="duplicate_file",
                )
            }
        )
    run = SourceRun.objects.create(
        source=source, trigger=trigger, triggered_by=actor, file_name=name[:255], file_sha256=sha256
    )
    outcome = _ingest(run, adapter_for(source), lambda feed: iter(_CsvFile(feed, binary)))
    if source.transport != Transport.FILE:
        health = "none"
    elif outcome.error:
        Source.objects.filter(pk=source.pk).update(last_error=outcome.error)
        health = "none"
    else:
        health = "full"
    return _run_finish(
        run, outcome, actor=actor, action="compliance.source.file_ingested", health=health
    )


def _move_processed(path: Path) -> None:
    target_dir = path.parent / "processed"
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
        target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
    shutil.move(str(path), str(target))


def inbound_ingest(*, source: Source) -> list[SourceRun]:
    """Ingest every ``*.csv`` waiting in the source's inbound folder (oldest name first) and move
    each to ``processed/`` afterwards; a file already ingested is moved without a new run."""
    folder = inbound_folder(source)
    if not folder.is_dir():
        return []
    runs = []
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    for path in paths:
        try:
            runs.append(file_ingest(source=source, path_or_file=path, trigger=RunTrigger.INBOUND))
        except ValidationError as exc:
            if getattr(exc, "code", None) == "source_busy":
                break  # the rest waits for the next scan
            logger.info("Skipped %s of %s: %s", path.name, source.code, " ".join(exc.messages))
        except FileNotFoundError:
            continue  # another worker took it
        try:
            _move_processed(path)
        except FileNotFoundError:
            continue
    return runs


@transaction.atomic
def reconciliation_resolve(*, actor, item: ReconciliationItem, party: Party | None = None):
    """Decide a queued record: attach it to ``party``, or dismiss it (``party`` None)."""
    if not actor.has_capability(Capability.COMPLIANCE_MANAGE):
        raise PermissionDenied(_("Your role may not work the reconciliation queue."))
    locked = (
        ReconciliationItem.objects.select_for_update(of=("self",))
        .select_related("record")
        .get(pk=item.pk)
    )
    if locked.status != ReconciliationStatus.OPEN:
        raise ValidationError({"status": _("This item has already been resolved.")})
    if party is not None:
        scope = actor.branch_scope_ids()
        if scope is not None and party.branch_id not in scope:
            raise PermissionDenied(_("This party is outside your scope."))
    before = snapshot(locked)
    record = locked.record
    if party is not None:
        record.party = party
        record.save(update_fields=["party"])
        locked.status = ReconciliationStatus.MATCHED
    else:
        locked.status = ReconciliationStatus.DISMISSED
    locked.resolved_by = actor
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["status", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor,
        action=f"compliance.reconciliation.{locked.status}",
        target=locked,
        branch_id=party.branch_id if party is not None else None,
        before=before,
        after={**snapshot(locked), "party": party.pk if party is not None else None},
    )
    _schedule_evaluation([party.pk] if party is not None else [])
    return locked
