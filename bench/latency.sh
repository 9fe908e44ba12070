#!/usr/bin/env bash
# Accept latency (end of DATA -> 250) at a fixed offered rate, mxd against every other MTA on this
# machine (stock Postfix, Exim, OpenSMTPD, Haraka: started by bench/lib.sh as for bench/relay.sh),
# alternating, each freshly started for every run and relaying to smtp-sink. The load generator
# is dev.mxd.bench.AcceptLatency (src/test/java).
# Usage: bench/latency.sh [RATE [CONNECTIONS [SECONDS [RUNS]]]]   (default 200 20 30 3)
# Env:   WARMUP=S  seconds offered first and not counted (default 60), for every MTA: a daemon's
#                  steady state, after the JVM's compilers are done. WARMUP=0 is the cold start,
#                  counted from the first second (where mxd's p99 was about twice Postfix's:
#                  docs/performance.md)
#        MTAS="mxd postfix exim opensmtpd haraka"  which MTAs, in this order in every run
#        LATENCY_SAMPLES=FILE  the generator writes every counted sample there ("second latency-ms",
#                  one a line), to see where in the run the slow ones fall; each measurement
#                  overwrites it, so use it with one MTA and one run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RATE=${1:-200}; CONNS=${2:-20}; SECS=${3:-30}; RUNS=${4:-3}; WARMUP=${WARMUP:-60}
MTAS=${MTAS:-mxd postfix exim opensmtpd haraka}

bench_prepare
peers_prepare $MTAS
(cd "$bench_root" && ./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test)
cp="$bench_root/target/test-classes:$bench_root/target/classes:$(cat "$bench_root/target/bench.classpath")"
work=$(mktemp -d /tmp/mxd-latency.XXXXXX)
chmod 755 "$work" # Postfix and Exim daemons run as their own users
SINK_PID=""
cleanup() { stop_all_peers; stop_pid "$SINK_PID"; stop_pid "${DNS_PID:-}"; rm -rf "$work"; }
trap cleanup EXIT
start_dns "$work"
SINK_PORT=$(free_port)
smtp-sink -c -u nobody "127.0.0.1:$SINK_PORT" 1024 >"$work/sink.out" 2>&1 & # -c: a running count of messages
SINK_PID=$!
wait_port "$SINK_PORT" 10 || die "smtp-sink did not listen"

sink_count() { tr '\r' '\n' < "$work/sink.out" | awk -F'mesg=' 'NF > 1 {n = $2} END {print n + 0}'; }

# await_delivery NAME BEFORE: until the sink holds every message NAME accepted (bounded, 120 s).
await_delivery() {
  local ok got deadline=$((SECONDS + 120))
  ok=$(tail -1 "$work/$1.txt" | awk '{print $2 + 0}')
  while got=$(( $(sink_count) - $2 )); [ "$got" -lt "$ok" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  echo "  $1: $got of $ok accepted messages reached the sink$([ "$got" -lt "$ok" ] && echo " (NOT ALL, after 120 s)")"
}

measure() { # NAME PORT
  timeout $((SECS * 3 + WARMUP + 120)) java -cp "$cp" dev.mxd.bench.AcceptLatency "127.0.0.1:$2" "$RATE" "$CONNS" "$SECS" 4096 "$WARMUP" 2>>"$work/gen.err" \
    | tee -a "$work/$1.txt" | awk -v n="$1" '{printf "  %-9s sent %s ok %s failed %s  p50 %6.2f ms  p99 %7.2f ms  p99.9 %7.2f ms  max %7.2f ms  (worst lateness %s ms)\n", n, $1, $2, $3, $4, $5, $6, $7, $8}'
}

echo "accept latency: $RATE msgs/s offered over $CONNS connections for $SECS s after $WARMUP s not counted ($([ "$WARMUP" = 0 ] && echo "cold: counted from the first second" || echo steady)), 4 KB, $RUNS runs each"
echo "MTAs: $(for m in $MTAS; do printf '%s; ' "$(peer_version "$m")"; done)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$RUNS"); do
  echo "run $r (load $(cut -d' ' -f1 /proc/loadavg))"
  for m in $MTAS; do
    before=$(sink_count)
    CG=1 start_peer "$m" "$work/$m" "$SINK_PORT"; measure "$m" "$PEER_PORT"; await_delivery "$m" "$before"
    stop_peer "$m"; rm -rf "${work:?}/$m"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-10s %10s %10s %10s %10s\n' "median ms" p50 p99 p99.9 "mxd/p99"
mp99=$( { [ -f "$work/mxd.txt" ] && awk '{print $5}' "$work/mxd.txt" | median; } || echo n/a)
for m in $MTAS; do
  p99=$(awk '{print $5}' "$work/$m.txt" | median)
  printf '%-10s %10s %10s %10s %10s\n' "$m" "$(awk '{print $4}' "$work/$m.txt" | median)" "$(awk '{print $5}' "$work/$m.txt" | median)" "$(awk '{print $6}' "$work/$m.txt" | median)" \
    "$(awk -v a="$mp99" -v b="$p99" 'BEGIN {if (a != "n/a" && b != "n/a" && b > 0) printf "%.2f", a/b; else print "n/a"}')"
done
