#!/usr/bin/env bash
# Claim→verdict in PostgreSQL alone on databases migrated as each git revision given left them:
# fill-jobs.sql's 50,000 jobs, then pair-jobs.sql (the real claim_jobs and record_verdicts) with
# two clients, alternating ROUNDS times (4). Prints jobs/s and the share of HOT updates so far.
# usage: ROUNDS=5 crates/bench/experiments/hot-lease/revs.sh b48a9e9 HEAD   (DATABASE_URL's server)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../rev-dbs.sh"
for rev in "$@"; do
  rev_db "revs_$$_${#dbs[@]}" "$rev"
done
for round in $(seq ${ROUNDS:-4}); do
  i=0
  for rev in "$@"; do
    url="${server%/*}/${dbs[$i]}"; i=$((i + 1))
    psql "$url" -q -v ON_ERROR_STOP=1 -v n=50000 -f "$here/fill-jobs.sql" >/dev/null
    tps=$("$pgbench" -n -c 2 -j 2 -t 25 -f "$here/pair-jobs.sql" "$url" 2>&1 | sed -n 's/tps = \([0-9.]*\) .*/\1/p')
    hot=$(psql "$url" -Atc "SELECT round(100.0 * n_tup_hot_upd / greatest(n_tup_upd, 1)) FROM pg_stat_user_tables WHERE relname = 'jobs'")
    printf 'round %s %-10s %6.0f jobs/s  hot%% %s\n' "$round" "$rev" "$(echo "$tps * 1000" | bc)" "$hot"
  done
done
