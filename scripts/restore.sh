#!/usr/bin/env bash
# Restore a dump made by scripts/backup.sh into the database of DATABASE_URL (or the embedded
# server when it is unset), created when missing, and its uploaded files into MEDIA_ROOT; then
# check the restored ledger and loans reconcile (scripts/verify_restore.py). Refuses a database
# that already has tables, or a MEDIA_ROOT that already has files, unless --force.
# See docs/backups.md.
#
#   scripts/restore.sh [--database NAME] [--force] [--no-media] [--no-verify] DUMP_FILE
#   --database NAME: restore into NAME on the same server instead (e.g. a fresh copy to verify)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg_common.sh"

force=0
with_media=1
verify=1
dump=""
target=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --force) force=1 ;;
        --no-media) with_media=0 ;;
        --no-verify) verify=0 ;;
        --database)
            [[ -n "${2:-}" ]] || die "--database needs a database name"
            target=(--database "$2")
            shift
            ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) [[ -z "$dump" ]] || die "one dump file at a time"; dump="$1" ;;
    esac
    shift
done
[[ -n "$dump" ]] || die "usage: restore.sh [--database NAME] [--force] [--no-media] [--no-verify] DUMP_FILE"
[[ -f "$dump" ]] || die "no such dump: $dump"

directory="$(cd "$(dirname "$dump")" && pwd)"
base="$(basename "$dump" .dump)"
media="$directory/$base.media.tar.gz"
checksums="$directory/$base.sha256"

if [[ -f "$checksums" ]]; then
    (cd "$directory" && sha256sum --quiet --check --ignore-missing "$checksums") \
        || die "$dump does not match its checksum ($checksums): refusing a damaged backup"
fi

load_database_env --create "${target[@]}"
if [[ "$DB_TABLES" != "0" && "$force" -ne 1 ]]; then
    echo "restore.sh: database $PGDATABASE already has $DB_TABLES tables; restore into a fresh" \
        "database or pass --force to replace its contents" >&2
    exit 2
fi
if [[ "$with_media" -eq 1 && -f "$media" && "$force" -ne 1 && -d "$MEDIA_ROOT" ]] \
    && [[ -n "$(ls -A "$MEDIA_ROOT")" ]]; then
    echo "restore.sh: $MEDIA_ROOT already holds files; pass --no-media, --force, or set" \
        "MEDIA_ROOT to an empty directory" >&2
    exit 2
fi

PG_RESTORE="$(pg_tool pg_restore)"
options=(--no-owner --no-privileges --exit-on-error --single-transaction)
if [[ "$DB_TABLES" != "0" ]]; then
    options+=(--clean --if-exists)
fi
"$PG_RESTORE" "${options[@]}" --dbname="$PGDATABASE" "$dump"
echo "Restored $dump into database $PGDATABASE"

if [[ "$with_media" -eq 1 ]]; then
    if [[ -f "$media" ]]; then
        mkdir -p "$MEDIA_ROOT"
        tar -xzf "$media" -C "$MEDIA_ROOT"
        echo "Restored uploaded files from $media into $MEDIA_ROOT"
    else
        echo "No uploaded files archive ($media) next to the dump: MEDIA_ROOT left as it is" >&2
    fi
fi

if [[ "$verify" -eq 1 ]]; then
    "$PYTHON" "$ROOT/scripts/verify_restore.py" --database "$PGDATABASE"
fi
