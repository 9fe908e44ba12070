#!/usr/bin/env bash
# Floods `mxd dns` from 127.0.0.2 with junk packets and TXT queries for SECONDS while 127.0.1.3
# asks one query at a time, once without and once with response-rate limiting; prints what
# came back and how much the server's log grew (docs/reliability.md, "mxd dns under a flood").
# Loopback only; the flood stops by itself after SECONDS.
# Usage: bench/dns-flood.sh [seconds=10]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
seconds=${1:-10}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
./mxd --version >/dev/null # builds the jar first, outside the measurement
for limit in 0 20; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  ./mxd dns --zone src/test/resources/zones/server/srv.test.zone --listen "127.0.0.1:$port" --rate-limit "$limit" \
    >"$work/log-$limit" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 srv.test SOA >/dev/null 2>&1 && break; sleep 0.2; done
  before=$(wc -c <"$work/log-$limit")
  echo "rate limit $limit/s:"
  python3 bench/dns-flood.py "$port" "$seconds"
  echo "  log grew by $(( $(wc -c <"$work/log-$limit") - before )) bytes"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
