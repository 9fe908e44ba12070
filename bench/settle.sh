#!/usr/bin/env bash
# When does the JIT settle? One freshly started mxd relays BATCHES batches of N messages (4 KB,
# 50 sessions) to smtp-sink, one batch after another, and prints per batch: the accept rate
# (mxd's end to end equals it: delivery keeps up), the JVM's user and kernel CPU per message,
# and what the JIT compiled meanwhile (`jstat -compiler`: methods, seconds). Warm is where the
# compile time per batch has fallen to about nothing.
# Usage: bench/settle.sh [conn|session [N [BATCHES]]]   (default conn 10000 14)
# Env:   MXD_JAVA_OPTS  extra JVM options for mxd; PERF_FROM=B records `perf record -g` from batch B
#        on (PERF_OUT, default /tmp/mxd-settle.perf.data)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
W=${1:-conn}; N=${2:-10000}; BATCHES=${3:-14}; SESSIONS=50; LIMIT=900
case "$W" in conn) d="" ;; session) d="-d" ;; *) die "workload is conn or session, not $W" ;; esac
bench_prepare
work=$(mktemp -d /tmp/mxd-settle.XXXXXX)
PERF_PID=""
cleanup() { stop_pid "$PERF_PID"; stop_pid "${MXD_PID:-}"; stop_pid "${SINK_PID:-}"; stop_pid "${DNS_PID:-}"; rm -rf "$work"; }
trap cleanup EXIT
start_dns "$work"
SINK_PORT=$(free_port)
smtp-sink -u nobody "127.0.0.1:$SINK_PORT" 1024 >"$work/sink.out" 2>&1 &
SINK_PID=$!
wait_port "$SINK_PORT" 10 || die "smtp-sink did not listen"
start_mxd "$work/mxd" "$SINK_PORT"
compiled() { "$(jstat_bin)" -compiler "$MXD_PID" | awk 'NR == 2 {print $1, $4}'; } # methods compiled, seconds

echo "mxd, $W, $BATCHES batches of $N ($(readlink -f "/proc/$MXD_PID/exe") ${MXD_JAVA_OPTS:-}; load $(cut -d' ' -f1 /proc/loadavg))"
for b in $(seq 1 "$BATCHES"); do
  if [ "$b" = "${PERF_FROM:-0}" ]; then
    perf record -g -p "$MXD_PID" -o "${PERF_OUT:-/tmp/mxd-settle.perf.data}" >/dev/null 2>&1 & PERF_PID=$!
    sleep 1
  fi
  read -r u0 s0 < <(jvm_ticks); read -r c0 ct0 < <(compiled); t0=$(date +%s.%N)
  timeout "$LIMIT" smtp-source $d -s "$SESSIONS" -m "$N" -l 4096 -f bench@client.test -t user@sink.test \
    "127.0.0.1:$MXD_PORT" >"$work/source.out" 2>&1 || die "smtp-source: $(tail -1 "$work/source.out")"
  t1=$(date +%s.%N); read -r u1 s1 < <(jvm_ticks); read -r c1 ct1 < <(compiled)
  awk -v b="$b" -v n="$N" -v t="$(echo "$t1 - $t0" | bc -l)" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$CLK_TCK" \
      -v c=$((c1 - c0)) -v ct="$(echo "$ct1 - $ct0" | bc -l)" -v done=$((b * N)) 'BEGIN {
    printf "batch %2d (%7d messages so far): %5.0f msgs/s  CPU user %.2f + kernel %.2f = %.2f ms/msg  JIT: %4d methods, %4.1f s\n",
      b, done, n / t, u / hz / n * 1000, s / hz / n * 1000, (u + s) / hz / n * 1000, c, ct }'
done
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=""; fi
