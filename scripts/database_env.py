"""Print, as NAME=value lines for scripts/backup.sh and scripts/restore.sh, how to reach the
application's database: the one in ``DATABASE_URL``, or the embedded server under var/pgdata
when it is unset (started if needed, exactly as ``manage.py`` does).

Lines printed: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (libpq's own variables, so the
password never appears on a command line), PG_SERVER_MAJOR (the server's major version, to pick
pg_dump/pg_restore of the same version), MEDIA_ROOT, and DB_TABLES: the number of tables in the
database's own schemas, or ``missing`` when the database does not exist.

``--database NAME`` names another database on the same server (a restore into a fresh database
next to the live one); ``--create`` creates the database when it is missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _connect(database: dict, name: str):
    import psycopg2

    return psycopg2.connect(
        dbname=name,
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    )


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mfi.settings.base")
    from django.conf import settings
    from psycopg2 import errors, sql

    database = settings.DATABASES["default"]
    name = database["NAME"]
    if "--database" in argv:
        position = argv.index("--database") + 1
        if position >= len(argv) or not argv[position]:
            print("--database needs a database name", file=sys.stderr)
            return 2
        name = argv[position]
    server = _connect(database, "postgres")
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute("SHOW server_version_num")
            major = int(cursor.fetchone()[0]) // 10000
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cursor.fetchone() is not None
            if not exists and "--create" in argv:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                exists = True
    except errors.DuplicateDatabase:
        exists = True
    finally:
        server.close()
    tables = "missing"
    if exists:
        target = _connect(database, name)
        try:
            with target.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM pg_tables"
                    " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                )
                tables = str(cursor.fetchone()[0])
        finally:
            target.close()
    values = {
        "PGHOST": database["HOST"] or "",
        "PGPORT": str(database["PORT"] or ""),
        "PGUSER": database["USER"] or "",
        "PGPASSWORD": database["PASSWORD"] or "",
        "PGDATABASE": name,
        "PG_SERVER_MAJOR": str(major),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DB_TABLES": tables,
    }
    for key, value in values.items():
        if "\n" in value:
            print(f"{key} contains a line break; it cannot be passed on", file=sys.stderr)
            return 1
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
