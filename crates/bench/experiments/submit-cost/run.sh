#!/usr/bin/env bash
# The submit's cost in PostgreSQL alone: `submit_jobs` of 64 jobs a call (a POST /jobs batch, no
# worker waiting), on a database migrated as each git revision given left it, alternating ROUNDS
# times. Commits without waiting for the WAL flush (PGOPTIONS), so that the figure is the
# statement's work, not the disk's. Prints jobs/s (pgbench tps × 64).
# usage: crates/bench/experiments/submit-cost/run.sh [rounds] [seconds] rev...
#        (DATABASE_URL's server; e.g. `run.sh 5 6 31f487f b48a9e9 HEAD`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rounds="${1:-5}" seconds="${2:-6}"; shift 2
server="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)"
dbs=()
trap 'for db in "${dbs[@]}"; do psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done' EXIT
for rev in "$@"; do
  db="submit_cost_$$_${#dbs[@]}" url="${server%/*}/$db"
  psql "$server" -qc "CREATE DATABASE $db"; dbs+=("$db")
  for m in $(git -C "$here" ls-tree --name-only "$rev" -- ../../../../migrations/ | sort); do
    git -C "$here" show "$rev:migrations/$(basename "$m")" | psql "$url" -q -v ON_ERROR_STOP=1 >/dev/null
  done
  psql "$url" -qc "INSERT INTO queues (queue_id, bucket, name) VALUES ('q1','bench-1250000000','q')"
done
for round in $(seq "$rounds"); do
  i=0
  for rev in "$@"; do
    url="${server%/*}/${dbs[$i]}"; i=$((i + 1))
    psql "$url" -qc "TRUNCATE jobs CASCADE" -c "VACUUM ANALYZE" 2>/dev/null
    tps=$(PGOPTIONS="-c synchronous_commit=off" "$pgbench" -n -T "$seconds" -f "$here/submit.sql" "$url" 2>&1 |
      sed -n 's/tps = \([0-9.]*\) .*/\1/p')
    printf 'round %s %-10s %6.0f jobs/s\n' "$round" "$rev" "$(echo "$tps * 64" | bc)"
  done
done
