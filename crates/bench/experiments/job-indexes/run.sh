#!/usr/bin/env bash
# Claim→complete of 50,000 jobs, 1,000 a statement, in PostgreSQL alone, alternating ROUNDS times:
#   before  `jobs` as migrations up to 0015 made it (JobId and listing indexes on the table);
#   now     `jobs` as migrations up to 0018 made it (those two indexes in `job_keys`, 0016; 0019
#           moved the state out of `jobs` and the indexes back, which run.sh of hot-lease measures);
#   split   the state in a narrow table of its own beside an immutable job table (schema-split.sql).
# Prints pgbench's mean per claim+verdict pair of statements.
# usage: crates/bench/experiments/job-indexes/run.sh [rounds]   (DATABASE_URL's server; default 3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
rounds="${1:-3}"
server="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
before="job_indexes_before_$$" now="job_indexes_now_$$"
psql "$server" -qc "CREATE DATABASE $before" -c "CREATE DATABASE $now"
trap 'psql "$server" -qc "DROP DATABASE $before WITH (FORCE)" -c "DROP DATABASE $now WITH (FORCE)"' EXIT
url() { echo "${server%/*}/$1"; }
for m in "$repo"/migrations/*.sql; do
  [[ "$(basename "$m")" < 0019 ]] || continue
  psql "$(url $now)" -q -v ON_ERROR_STOP=1 -f "$m" >/dev/null
  [[ "$(basename "$m")" > 0016 ]] || psql "$(url $before)" -q -v ON_ERROR_STOP=1 -f "$m" >/dev/null
done
psql "$(url $now)" -q -v ON_ERROR_STOP=1 -f "$here/schema-split.sql" 2>/dev/null
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)"
for round in $(seq "$rounds"); do
  for variant in before now split; do
    case $variant in
      before) db=$before fill=jobs table=jobs ;;
      now) db=$now fill=jobs table=jobs ;;
      split) db=$now fill=split table=split_states ;;
    esac
    psql "$(url $db)" -q -v ON_ERROR_STOP=1 -f "$here/fill-$fill.sql" >/dev/null
    ms=$("$pgbench" -n -t 50 -c 1 -f "$here/claim-complete-$fill.sql" "$(url $db)" 2>&1 |
      sed -n 's/latency average = \([0-9.]*\) ms/\1/p')
    done_jobs=$(psql "$(url $db)" -Atc "SELECT count(*) FROM $table WHERE state = 2")
    [ "$done_jobs" = 50000 ] || { echo "$variant: $done_jobs of 50000 completed" >&2; exit 1; }
    echo "round $round $variant: $ms ms per 1,000 claimed and completed"
  done
done
