#!/usr/bin/env bash
# Messages per second through the whole mxd (SMTP in -> filter -> spool -> Maildir), with the
# gateway filter off and with clamd + spamd on, Postfix's smtp-source as the load (issue 7 point 5).
# Real daemons on loopback, started and stopped here by their PIDs, like the peer tests.
# Usage: bench/gateway.sh [MESSAGES [SESSIONS [BYTES]]]   (default 500 10 4096)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
messages=${1:-500}
sessions=${2:-10}
bytes=${3:-4096}
for tool in clamd spamd /usr/sbin/smtp-source; do
  command -v "$tool" >/dev/null || { echo "bench/gateway.sh: $tool missing: apt-get install -y clamav-daemon spamd postfix" >&2; exit 1; }
done

work=$(mktemp -d /tmp/mxd-gateway-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
await_port() { # PORT SECONDS
  for _ in $(seq 1 $(($2 * 10))); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench/gateway.sh: nothing listens on 127.0.0.1:$1 after $2 s" >&2; return 1
}

# clamd with its own EICAR signature (no download), spamd with the shipped rules, local tests only
mkdir -p "$work/clamd/db"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$work/eicar.txt"
echo "$(md5sum "$work/eicar.txt" | cut -d' ' -f1):68:Local.EICAR" > "$work/clamd/db/local.hdb"
clamd_port=$(free_port)
{ printf 'DatabaseDirectory %s\nTCPSocket %s\nTCPAddr 127.0.0.1\nForeground yes\nMaxThreads 4\n' "$work/clamd/db" "$clamd_port"
  printf 'TemporaryDirectory %s\n' "$work/clamd"
  [ "$(id -u)" -eq 0 ] && echo "User root"; } > "$work/clamd/clamd.conf"
clamd -c "$work/clamd/clamd.conf" > "$work/clamd/clamd.log" 2>&1 &
pids+=($!)
spamd_port=$(free_port)
spamd_user=(); [ "$(id -u)" -eq 0 ] && spamd_user=(-u nobody)
spamd -x -L -p "$spamd_port" -i 127.0.0.1 -A 127.0.0.1 --min-children 2 --max-children 2 -s stderr \
  --pidfile "$work/spamd.pid" "${spamd_user[@]}" > "$work/spamd.log" 2>&1 &
pids+=($!)
await_port "$clamd_port" 60
await_port "$spamd_port" 90

./mvnw -q -B -DskipTests package
jar=target/mxd.jar

# one run: CASE-NAME FILTER-YAML; prints "CASE msgs/s"
run() {
  local name=$1 filter=$2 dir="$work/$1" port
  port=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/mxd.yaml" <<YAML
hostname: mx1.example.test
listen:
  smtp: ["127.0.0.1:$port"]
data-dir: $dir/data
dns:
  servers: ["127.0.0.1:1"]
timeouts:
  greet-pause: 0s
limits:
  max-connections-per-ip: 100
filters:
  clamd: {address: "127.0.0.1:$clamd_port"}
  spamd: {address: "127.0.0.1:$spamd_port"}
  timeout: 60s
domains:
  example.test:
    role: local
    mailboxes: [alice]
    aliases: {postmaster: alice}
$filter
YAML
  MXD_LOG_LEVEL=WARN java -jar "$jar" serve --config "$dir/mxd.yaml" > "$dir/mxd.log" 2>&1 &
  local mxd=$!
  pids+=($mxd)
  await_port "$port" 60
  local start end delivered=0
  start=$(date +%s.%N)
  /usr/sbin/smtp-source -c -l "$bytes" -m "$messages" -s "$sessions" -f bench@client.test -t alice@example.test \
    "127.0.0.1:$port" > "$dir/smtp-source.log" 2>&1
  # until every message is in the Maildir (bounded: 10 minutes)
  for _ in $(seq 1 6000); do
    delivered=$(find "$dir/data/mail/example.test/alice/Maildir/new" -type f 2>/dev/null | wc -l)
    [ "$delivered" -ge "$messages" ] && break
    sleep 0.1
  done
  end=$(date +%s.%N)
  kill "$mxd"; wait "$mxd" 2>/dev/null || true
  awk -v n="$delivered" -v s="$start" -v e="$end" -v c="$name" \
    'BEGIN { printf "%-22s %6d delivered in %6.1f s: %8.1f msgs/s\n", c, n, e - s, n / (e - s) }'
}

echo "mxd end to end: $messages messages of $bytes bytes, $sessions smtp-source sessions, $(nproc) cores"
run "filter-off" ""
run "clamd" "    filter: {engines: [clamd], virus: reject}"
run "clamd+spamd" "    filter: {engines: [clamd, spamd], virus: reject, spam: {tag: 5.0, reject: 15.0}}"
