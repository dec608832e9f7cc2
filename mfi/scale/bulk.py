"""Bulk writing: rows as PostgreSQL COPY text, ids reserved from the tables' sequences, and the
row triggers suspended while a load runs (the checks they make are then made set-based, see
``mfi.scale.checks``).
"""

from __future__ import annotations

import datetime
import io
import queue
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.db.utils import DatabaseError

FLUSH_ROWS = 200_000


def text(value) -> str:
    """One value in COPY text format (None is NULL; tabs, newlines and backslashes escaped)."""
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    if isinstance(value, datetime.date | Decimal | int):
        return str(value)
    raise TypeError(f"No COPY text for {type(value).__name__}")


class Writer:
    """Sends COPY payloads on the current database connection from a background thread, so
    PostgreSQL loads one batch while Python formats the next (two cores both busy). The main
    thread must not use the connection until ``close()``, except through this writer."""

    def __init__(self):
        self.raw = connection.connection  # the psycopg2 connection of this transaction
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="scale-copy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None:
                continue
            sql, payload = item
            try:
                with self.raw.cursor() as cursor:
                    cursor.copy_expert(sql, payload)
            except BaseException as exc:  # handed to the main thread by close()
                self.error = exc

    def send(self, sql: str, payload: io.StringIO) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((sql, payload))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class Copy:
    """Rows for one table, sent with ``COPY ... FROM STDIN`` every ``FLUSH_ROWS`` rows
    (through ``writer`` when given, else at once).

    ``add`` takes values; ``add_line`` takes a line already in COPY text (the hot tables format
    their rows themselves, with values known to need no escaping)."""

    def __init__(self, table: str, columns: Iterable[str], writer: Writer | None = None):
        self.table = table
        self.columns = list(columns)
        self.lines: list[str] = []
        self.count = 0
        self.writer = writer

    def add(self, *values) -> None:
        self.lines.append("\t".join([text(value) for value in values]))
        if len(self.lines) >= FLUSH_ROWS:
            self.flush()

    def add_line(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        payload = io.StringIO("\n".join(self.lines) + "\n")
        self.count += len(self.lines)
        self.lines = []
        sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
        if self.writer is not None:
            self.writer.send(sql, payload)
            return
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(sql, payload)


def reserve_ids(table: str, count: int) -> int:
    """The first of ``count`` consecutive ids taken from ``table``'s id sequence."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = cursor.fetchone()[0]
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


def set_sequence(name: str, last_value: int) -> None:
    """Make ``name`` continue after ``last_value`` (loan and journal entry numbers)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(%s, %s)", [name, max(last_value, 1)])


@contextmanager
def triggers_suspended(tables: Iterable[str]):
    """Inside the current transaction, load without firing row triggers (the ledger's checks,
    the audit guard, foreign-key checks), as ``pg_restore --disable-triggers`` does. With a
    role that may not change ``session_replication_role``, the tables' own triggers are
    disabled instead (foreign keys are then still checked). Yields how it was done."""
    tables = list(tables)
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():  # a savepoint: a refusal leaves the transaction usable
                cursor.execute("SET LOCAL session_replication_role = replica")
            mode = "session_replication_role = replica"
        except DatabaseError:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            mode = "ALTER TABLE ... DISABLE TRIGGER USER"
        try:
            yield mode
        finally:
            if mode.startswith("session"):
                cursor.execute("SET LOCAL session_replication_role = origin")
            else:
                for table in tables:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


@contextmanager
def indexes_deferred(tables: Iterable[str]):
    """Load empty tables without their secondary indexes, then build them once (sorted, in
    bulk: several times faster than maintaining them row by row). Unique constraints come back
    as they were, and so re-check the loaded rows. Tables that already hold rows keep theirs."""
    saved: list[tuple[str, str, str | None]] = []  # (table, definition, constraint name)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # noqa: S608 - our names
            if cursor.fetchone()[0]:
                continue
            cursor.execute(
                """
                SELECT i.indexname, i.indexdef, c.conname, pg_get_constraintdef(c.oid)
                  FROM pg_indexes i
                  LEFT JOIN pg_constraint c
                    ON c.conname = i.indexname AND c.conrelid = %s::regclass
                 WHERE i.tablename = %s AND i.schemaname = current_schema()
                   AND (c.contype IS NULL OR c.contype = 'u')
                """,
                [table, table],
            )
            for name, definition, constraint, constraint_definition in cursor.fetchall():
                if constraint:
                    cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
                    saved.append((table, constraint_definition, constraint))
                else:
                    cursor.execute(f'DROP INDEX "{name}"')
                    saved.append((table, definition, None))
    yield len(saved)
    with connection.cursor() as cursor:
        for table, definition, constraint in saved:
            if constraint:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {definition}')
            else:
                cursor.execute(definition)
