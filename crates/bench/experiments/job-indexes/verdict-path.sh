#!/usr/bin/env bash
# A verdict's cost in PostgreSQL alone, by the indexes of `jobs` (migration 0018), ROUNDS times:
#   1. the update a verdict makes to 1,000 claimed jobs (execution time, median of 12), with the
#      indexes migrations up to 0017 made, and without `jobs_finished` (0018), the two suspicious
#      indexes, the workflow and batch indexes, or all five;
#   2. pgbench of claim_jobs then record_verdicts, 1,000 a statement, 50 pairs, on a database
#      migrated to 0017 and one migrated to 0018, alternated (mean ms per statement).
# usage: crates/bench/experiments/job-indexes/verdict-path.sh [rounds]   (DATABASE_URL's server)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
rounds="${1:-2}"
server="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
url() { echo "${server%/*}/$1"; }
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)"
declare -A drop=([v0017]="" [v0018]="jobs_finished" [nosusp]="jobs_suspicious, jobs_suspicious_type"
                 [noreq]="jobs_workflow, jobs_batch"
                 [none]="jobs_finished, jobs_suspicious, jobs_suspicious_type, jobs_workflow, jobs_batch")
dbs=()
trap 'for d in "${dbs[@]}"; do psql "$server" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)"; done' EXIT
for v in v0017 v0018 nosusp noreq none; do
  db="verdict_${v}_$$"; dbs+=("$db")
  psql "$server" -qc "CREATE DATABASE $db"
  for m in "$repo"/migrations/*.sql; do
    [[ "$(basename "$m")" < 0018 ]] || continue
    psql "$(url "$db")" -q -v ON_ERROR_STOP=1 -f "$m" >/dev/null
  done
  [ -z "${drop[$v]}" ] || psql "$(url "$db")" -qc "DROP INDEX ${drop[$v]}"
done
# The real 0018 on the database the pgbench pairs compare with 0017.
psql "$(url "verdict_v0018_$$")" -qc "CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN (2, 3, 4)"
for m in "$repo"/migrations/*.sql; do
  [[ "$(basename "$m")" < 0018 ]] || psql "$(url "verdict_v0018_$$")" -q -v ON_ERROR_STOP=1 -f "$m" >/dev/null
done
for round in $(seq "$rounds"); do
  for v in v0017 v0018 nosusp noreq none; do
    db="$(url "verdict_${v}_$$")"
    psql "$db" -q -v ON_ERROR_STOP=1 -f "$here/fill-queue.sql" >/dev/null
    ms=$(for i in $(seq 12); do psql "$db" -q -f "$here/verdict-update.sql"; done |
      sed -n 's/Execution Time: \([0-9.]*\) ms/\1/p' | sort -n | sed -n 6,7p | tr '\n' ' ')
    echo "round $round update, $v: $ms ms (the middle two of 12)"
  done
  for v in v0018 v0017; do
    db="$(url "verdict_${v}_$$")"
    psql "$db" -q -v ON_ERROR_STOP=1 -f "$here/fill-queue.sql" >/dev/null
    ms=$("$pgbench" -n -r -t 50 -c 1 -f "$here/claim-verdict.sql" "$db" 2>&1 |
      awk '/^ +[0-9.]+ +[0-9]+ /{print $1}' | tr '\n' ' ')
    echo "round $round claim, verdict, $v: $ms ms"
  done
done
