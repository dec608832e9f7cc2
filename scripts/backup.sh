#!/usr/bin/env bash
# Back up the application's database (DATABASE_URL, or the embedded server when it is unset) and
# its uploaded files: var/backups/<UTC timestamp>.dump (pg_dump custom format),
# <timestamp>.media.tar.gz (MEDIA_ROOT) and <timestamp>.sha256. See docs/backups.md.
#
#   scripts/backup.sh            # BACKUP_DIR (default var/backups), BACKUP_KEEP (default 14 dumps)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg_common.sh"

BACKUP_DIR="${BACKUP_DIR:-$ROOT/var/backups}"
BACKUP_KEEP="${BACKUP_KEEP:-14}"
[[ "$BACKUP_KEEP" =~ ^[0-9]+$ ]] || die "BACKUP_KEEP must be a number of dumps (0 keeps all)"

load_database_env
[[ "$DB_TABLES" != "missing" ]] || die "database $PGDATABASE does not exist"
PG_DUMP="$(pg_tool pg_dump)"
PG_RESTORE="$(pg_tool pg_restore)"

mkdir -p "$BACKUP_DIR"
umask 077 # dumps hold personal and financial data: owner only
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
dump="$BACKUP_DIR/$stamp.dump"
media="$BACKUP_DIR/$stamp.media.tar.gz"

# one consistent snapshot of the database (pg_dump runs in a single repeatable-read transaction)
"$PG_DUMP" --format=custom --compress=6 --no-owner --no-privileges --file="$dump.partial" "$PGDATABASE"
# a dump that pg_restore cannot list is no backup
"$PG_RESTORE" --list "$dump.partial" >/dev/null || die "the dump $dump.partial is unreadable"
mv "$dump.partial" "$dump"

if [[ -d "$MEDIA_ROOT" ]]; then
    tar -czf "$media.partial" -C "$MEDIA_ROOT" .
else
    tar -czf "$media.partial" --files-from /dev/null
fi
mv "$media.partial" "$media"
(cd "$BACKUP_DIR" && sha256sum "$stamp.dump" "$stamp.media.tar.gz" >"$stamp.sha256")

if [[ "$BACKUP_KEEP" -gt 0 ]]; then
    # the newest BACKUP_KEEP dumps stay; older ones go with their media archive and checksums
    mapfile -t old < <(ls -1 "$BACKUP_DIR" | grep -E '^[0-9]{8}T[0-9]{6}Z\.dump$' | sort -r | tail -n +"$((BACKUP_KEEP + 1))")
    for name in "${old[@]}"; do
        base="${name%.dump}"
        rm -f "$BACKUP_DIR/$base.dump" "$BACKUP_DIR/$base.media.tar.gz" "$BACKUP_DIR/$base.sha256"
    done
fi

echo "Database $PGDATABASE ($DB_TABLES tables) backed up to $dump"
echo "Uploaded files ($MEDIA_ROOT) backed up to $media"
