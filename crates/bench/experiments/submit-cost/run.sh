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
source "$here/../rev-dbs.sh"
for rev in "$@"; do
  rev_db "submit_cost_$$_${#dbs[@]}" "$rev"
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
