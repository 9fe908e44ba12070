#!/usr/bin/env bash
# Micro-benchmarks (JMH, src/test/java/dev/mxd/bench): SMTP command parsing, DATA decoding
# (also printed in MB/s), and MX plan lookups from the cache and uncached against mxd's own DNS
# server on loopback (bench/dns.sh does the same against Knot).
# Usage: bench/jmh.sh [JMH options]   (default: 1 fork x 3 x 2 s measurement after 2 x 1 s warm-up)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_prepare
(cd "$bench_root" && ./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test)
cp="$bench_root/target/test-classes:$bench_root/target/classes:$(cat "$bench_root/target/bench.classpath")"
work=$(mktemp -d /tmp/mxd-jmh.XXXXXX)
trap 'stop_pid "${DNS_PID:-}"; rm -rf "$work"' EXIT
start_dns "$work"
cat > "$work/multi.zone" <<'ZONE'
$ORIGIN multi.test.
$TTL 3600
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   127.0.0.1
@    IN MX  10 a
@    IN MX  20 b
@    IN MX  30 c
a    IN A   127.0.1.1
b    IN A   127.0.1.2
c    IN A   127.0.1.3
c    IN AAAA ::1
ZONE
stop_pid "$DNS_PID"
java -Xmx64m -jar "$bench_root/target/mxd.jar" dns --zone "$work/multi.zone" --listen "127.0.0.1:$DNS_PORT" >"$work/dns.log" 2>&1 &
DNS_PID=$!
for _ in $(seq 1 100); do dig +short +norec +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 multi.test MX 2>/dev/null | grep -q a.multi && break; sleep 0.2; done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
java -cp "$cp" org.openjdk.jmh.Main 'SmtpCodecBenchmark|MxLookupBenchmark' -p dns="127.0.0.1:$DNS_PORT" -p domain=multi.test \
  -f 1 -wi 2 -w 1s -i 3 -r 2s "$@" | tee "$work/jmh.txt" | grep -E "^(Benchmark|SmtpCodec|MxLookup)"
echo "DATA decoding in MB/s:"
awk '/^SmtpCodecBenchmark.decodeData/ {size=$(NF-6); printf "  %8d-octet messages: %.0f MB/s\n", size, $(NF-3)*size/1048576}' "$work/jmh.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
