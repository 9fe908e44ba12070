#!/usr/bin/env bash
# MX plan lookups per second, cached and uncached, against a real Knot DNS on loopback.
# Usage: bench/dns.sh [JMH options]   (default: 2 forks x 3 x 3 s measurement)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
command -v knotd >/dev/null || { echo "bench/dns.sh: installing knot" >&2; apt-get update -qq; apt-get install -y -qq knot >/dev/null; }

./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test
cp="target/test-classes:target/classes:$(cat target/bench.classpath)"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/run" "$work/db"
cat > "$work/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$port
    rundir: $work/run
database:
    storage: $work/db
template:
  - id: default
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: mx.test
    file: $here/src/test/resources/zones/resolver/mx.test.zone
CONF
knotd -c "$work/knot.conf" >"$work/knotd.log" 2>&1 &
knot_pid=$!
trap 'kill $knot_pid 2>/dev/null; wait $knot_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do dig +short +norec -p "$port" @127.0.0.1 mx.test SOA >/dev/null 2>&1 && break; sleep 0.1; done

echo "Knot $(knotd --version | head -1) on 127.0.0.1:$port; domain multi.mx.test (3 MX, 4 addresses)"
java -cp "$cp" org.openjdk.jmh.Main MxLookupBenchmark -p dns="127.0.0.1:$port" -f 2 -wi 2 -w 2s -i 3 -r 3s "$@" \
  | tee "$work/jmh.txt" | grep -E "^(Benchmark|MxLookup)"
