#!/usr/bin/env bash
# Claim→verdict in PostgreSQL alone, alternating ROUNDS times:
#   jobs  `jobs` (migrations to 0018) through claim_jobs and record_verdicts, as the store called them;
#   bare  `jobs` through pair-hot.sql's statements (the same SQL as hot, on 0018's design);
#   hot   the HOT-lease tables (schema-hot.sql);
# with 1 and 2 clients draining JOBS jobs, 1,000 a claim; then the submit of those jobs, 1,000 a
# statement, into each design. Prints jobs/s (pgbench tps × 1,000) and, for the drain, the share
# of row updates that were HOT. With HOLD=1 a transaction holds one snapshot through each drain
# (a long report or a backup), so that no old version can be pruned.
# usage: [HOLD=1] crates/bench/experiments/hot-lease/run.sh [rounds] [jobs]
#        (DATABASE_URL's server; 3 rounds of 50000 jobs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
rounds="${1:-3}" jobs="${2:-50000}"
server="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="hot_lease_$$" url="${server%/*}/hot_lease_$$"
psql "$server" -qc "CREATE DATABASE $db"
trap 'psql "$server" -qc "DROP DATABASE $db WITH (FORCE)"' EXIT
# `jobs` as migration 0018 left it: 0019 is this design, built.
for m in "$repo"/migrations/*.sql; do
  [[ "$(basename "$m")" < 0019 ]] || continue
  psql "$url" -q -v ON_ERROR_STOP=1 -f "$m" >/dev/null
done
psql "$url" -q -v ON_ERROR_STOP=1 -f "$here/schema-hot.sql" 2>/dev/null
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)"
updates() { psql "$url" -Atc "SELECT n_tup_upd || ' ' || n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = '$1'"; }
for round in $(seq "$rounds"); do
  for clients in 1 2; do
    for variant in jobs bare hot; do
      table=$([ $variant = hot ] && echo hot_jobs || echo jobs) fill=$([ $variant = hot ] && echo hot || echo jobs)
      psql "$url" -q -v ON_ERROR_STOP=1 -v n="$jobs" -f "$here/fill-$fill.sql" >/dev/null
      read -r upd0 hot0 <<<"$(updates $table)"
      if [ "${HOLD:-0}" = 1 ]; then
        psql "$url" -qc "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT count(*) FROM queues" -c "SELECT pg_sleep(3600)" \
          >/dev/null 2>&1 & holder=$!
        sleep 0.5
      fi
      tps=$("$pgbench" -n -c "$clients" -j "$clients" -t $((jobs / 1000 / clients)) -f "$here/pair-$variant.sql" "$url" 2>&1 |
        sed -n 's/tps = \([0-9.]*\) .*/\1/p')
      read -r upd1 hot1 <<<"$(updates $table)"
      [ "${HOLD:-0}" != 1 ] || { psql "$url" -qAtc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                   WHERE query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()" >/dev/null; wait $holder || true; }
      done_jobs=$(psql "$url" -Atc "SELECT count(*) FROM $table WHERE state = 2")
      [ "$done_jobs" = "$jobs" ] || { echo "$variant: $done_jobs of $jobs completed" >&2; exit 1; }
      printf 'round %s, %s client(s), %-4s %6.0f jobs/s, %3.0f %% of updates HOT\n' "$round" "$clients" "$variant" \
        "$(echo "$tps * 1000" | bc)" "$(echo "100 * ($hot1 - $hot0) / ($upd1 - $upd0)" | bc)"
    done
  done
  for variant in jobs hot; do
    psql "$url" -q -v ON_ERROR_STOP=1 -v n=0 -f "$here/fill-$variant.sql" >/dev/null
    tps=$("$pgbench" -n -t $((jobs / 1000)) -f "$here/submit-$variant.sql" "$url" 2>&1 | sed -n 's/tps = \([0-9.]*\) .*/\1/p')
    printf 'round %s, submit,      %-4s %6.0f jobs/s\n' "$round" "$variant" "$(echo "$tps * 1000" | bc)"
  done
done
