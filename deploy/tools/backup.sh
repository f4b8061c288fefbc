#!/bin/sh
# Scheduled PostgreSQL backups (the compose service `backup`, the Kubernetes CronJob): a
# custom-format dump of $DATABASE_URL into $BACKUP_DIR every $BACKUP_INTERVAL_SECONDS, dumps older
# than $BACKUP_KEEP_DAYS deleted; BACKUP_ONCE=1 makes one and exits (the CronJob, the test).
# Restore: docs/operations.md, "Back up and restore PostgreSQL".
set -eu
: "${DATABASE_URL:?DATABASE_URL is required}"
dir="${BACKUP_DIR:-/backups}"
keep="${BACKUP_KEEP_DAYS:-14}"
interval="${BACKUP_INTERVAL_SECONDS:-86400}"
mkdir -p "$dir"
while :; do
  target="$dir/otklik-$(date -u +%Y-%m-%dT%H%M%SZ).dump"
  # Written under a temporary name: a dump cut short never looks like a good one.
  if pg_dump --format=custom --no-owner --file="$target.partial" "$DATABASE_URL"; then
    mv "$target.partial" "$target"
    echo "backup: $target ($(wc -c < "$target") bytes)"
    find "$dir" -name 'otklik-*.dump' -mtime +"$keep" -print -delete
  else
    rm -f "$target.partial"
    echo "backup: pg_dump failed" >&2
    [ "${BACKUP_ONCE:-0}" = 1 ] && exit 1
  fi
  [ "${BACKUP_ONCE:-0}" = 1 ] && exit 0
  sleep "$interval"
done
