# Sourced by the experiments that compare git revisions: `server` (DATABASE_URL's), `pgbench`,
# and `rev_db NAME REV`, which creates database NAME migrated as REV left `migrations/`, appends
# it to `dbs` and sets `url` to it (call it directly: a subshell would lose `dbs`). Every
# database made is dropped when the script exits.
server="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)"
dbs=()
trap 'for db in "${dbs[@]}"; do psql "$server" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done' EXIT
rev_db() {
  local db="$1" rev="$2" top
  url="${server%/*}/$1"
  top="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
  psql "$server" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"; dbs+=("$db")
  for m in $(git -C "$top" ls-tree --name-only "$rev" -- migrations/ | sort); do
    git -C "$top" show "$rev:$m" | psql "$url" -q -v ON_ERROR_STOP=1 >/dev/null
  done
}
