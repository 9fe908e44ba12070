#!/usr/bin/env bash
# Where mxd's time goes per message, for one workload: smtp-source (N messages of 4 KB, 50 sessions,
# 1 recipient) -> a freshly started mxd -> smtp-sink, as bench/relay.sh runs it. Prints per message:
# CPU split between the JVM's user time and the kernel, bytes allocated on the Java heap, and, with
# MODE=strace, every system call (strace -c -f over the counted messages: fsyncs and file-system
# operations among them), or with MODE=perf, the kernel's and the JIT's shares of the samples, or with
# MODE=threads, CPU and context switches per message by thread (the pool's threads summed, from /proc).
#
# Usage: bench/profile.sh [conn|session [N [MODE]]]     (default conn 3000 cpu; MODE cpu|strace|perf|threads)
# Env:   WARM=M         first relay M uncounted messages (same workload), pause 20 s, then count N
#        MXD_JAVA_OPTS  extra JVM options for mxd (e.g. -XX:TieredStopAtLevel=1); MXD_JAVA another JDK
#        OUT=DIR        where strace's table / perf's data go (default: a temp dir, printed)
# strace slows mxd several times over: read its counts, not its rates.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
W=${1:-conn}; N=${2:-3000}; MODE=${3:-cpu}; SESSIONS=50; LIMIT=900
case "$W" in conn) d="" ;; session) d="-d" ;; *) die "workload is conn or session, not $W" ;; esac
case "$MODE" in cpu|strace|perf|threads) ;; *) die "MODE is cpu, strace, perf or threads, not $MODE" ;; esac

bench_prepare
work=$(mktemp -d /tmp/mxd-profile.XXXXXX)
OUT=${OUT:-$(mktemp -d /tmp/mxd-profile-out.XXXXXX)}
mkdir -p "$OUT"
TRACER=""
cleanup() { stop_pid "$TRACER"; stop_pid "${MXD_PID:-}"; stop_pid "${SINK_PID:-}"; stop_pid "${DNS_PID:-}"; rm -rf "$work"; }
trap cleanup EXIT
start_dns "$work"

sink() { # [MESSAGES]
  stop_pid "${SINK_PID:-}"
  SINK_PORT=${SINK_PORT:-$(free_port)}
  smtp-sink -u nobody ${1:+-M "$1"} "127.0.0.1:$SINK_PORT" 1024 >"$work/sink.out" 2>&1 &
  SINK_PID=$!
  wait_port "$SINK_PORT" 10 || die "smtp-sink did not listen"
}
send() { # MESSAGES
  timeout "$LIMIT" smtp-source $d -s "$SESSIONS" -m "$1" -l 4096 -f bench@client.test -t user@sink.test \
    "127.0.0.1:$MXD_PORT" >"$work/source.out" 2>&1 || die "smtp-source: $(tail -1 "$work/source.out")"
}
await_sink() {
  local deadline=$((SECONDS + LIMIT))
  while [ -d "/proc/$SINK_PID" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  [ ! -d "/proc/$SINK_PID" ] || die "the sink did not get all messages in ${LIMIT}s"
  wait "$SINK_PID" 2>/dev/null || true; SINK_PID=""
}
# Bytes allocated so far, about: eden filled once per young collection, plus what it holds now.
allocated() {
  "$(jstat_bin)" -gc "$MXD_PID" | awk 'NR==1 {for (i=1;i<=NF;i++) h[$i]=i} NR==2 {printf "%.0f\n", ($h["YGC"]*$h["EC"] + $h["EU"]) * 1024}'
}

if [ -n "${WARM:-}" ]; then sink; else sink "$N"; fi
start_mxd "$work/mxd" "$SINK_PORT"
if [ -n "${WARM:-}" ]; then
  send "$WARM"; sleep 20; sink "$N"
fi

case "$MODE" in
  strace) strace -qq -c -f -p "$MXD_PID" -o "$OUT/strace-$W.txt" & TRACER=$!; sleep 2 ;;
  perf) perf record -g -p "$MXD_PID" -o "$OUT/perf-$W.data" >/dev/null 2>&1 & TRACER=$!; sleep 1 ;;
esac
# threads: per thread "name user-ticks kernel-ticks context-switches", from /proc
thread_ticks() {
  local t
  for t in /proc/"$MXD_PID"/task/*; do
    printf '%s\t%s %s\n' "$(cat "$t/comm" 2>/dev/null)" "$(stat_ticks "$t/stat" 2>/dev/null)" \
      "$(awk '/ctxt_switches/ {n += $2} END {print n}' "$t/status" 2>/dev/null)"
  done
}
[ "$MODE" = threads ] && thread_ticks >"$OUT/threads-before.txt"
read -r u0 s0 < <(jvm_ticks); a0=$(allocated); t0=$(date +%s.%N)
send "$N"; await_sink
t1=$(date +%s.%N); read -r u1 s1 < <(jvm_ticks); a1=$(allocated)
if [ -n "$TRACER" ]; then kill -INT "$TRACER" 2>/dev/null || true; wait "$TRACER" 2>/dev/null || true; TRACER=""; fi
[ "$MODE" = threads ] && thread_ticks >"$OUT/threads-after.txt"

echo "mxd, $W, ${WARM:+after $WARM uncounted messages, }$N messages counted ($(readlink -f "/proc/$MXD_PID/exe" 2>/dev/null || echo java) ${MXD_JAVA_OPTS:-}; load $(cut -d' ' -f1 /proc/loadavg))"
awk -v n="$N" -v t="$(echo "$t1 - $t0" | bc -l)" -v u="$((u1 - u0))" -v s="$((s1 - s0))" -v hz="$CLK_TCK" -v a="$((a1 - a0))" 'BEGIN {
  printf "  end to end %.0f msgs/s; CPU per message: user (JVM) %.2f ms, kernel %.2f ms, kernel share %.0f %%; allocated %.0f KB per message\n",
    n / t, u / hz / n * 1000, s / hz / n * 1000, ((u + s) > 0 ? 100 * s / (u + s) : 0), a / n / 1024 }'
if [ "$MODE" = strace ]; then
  echo "  system calls per message (strace -c -f; calls, errors):"
  awk -v n="$N" 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" {
      calls = $4; err = (NF == 6) ? $5 : 0
      printf "    %-18s %8.2f%s\n", $NF, calls / n, (err > 0 ? sprintf("  (%.2f failed)", err / n) : "") }' "$OUT/strace-$W.txt" | head -40
  echo "  (strace's table: $OUT/strace-$W.txt)"
fi
if [ "$MODE" = perf ]; then
  echo "  samples by where they ran:"
  perf report -i "$OUT/perf-$W.data" --no-children --sort dso -g none 2>/dev/null | awk '/%/ {printf "    %s\n", $0}' | head -6
  echo "  kernel paths (children, top):"
  perf report -i "$OUT/perf-$W.data" --children --sort sym -g none 2>/dev/null | awk '/\[k\]/ {printf "    %s\n", $0}' | head -30
fi
if [ "$MODE" = threads ]; then
  echo "  by thread (a pool's threads together; ms of CPU and context switches per message):"
  # a thread's name without its number (mxd-store-12 -> mxd-store); threads that ended meanwhile are not counted
  awk -F'\t' -v n="$N" -v hz="$CLK_TCK" '
    { g = $1; sub(/[-#]?[0-9]+$/, "", g); split($2, v, " ") }
    FNR == NR { u0[g] += v[1]; s0[g] += v[2]; c0[g] += v[3]; next }
    { u1[g] += v[1]; s1[g] += v[2]; c1[g] += v[3] }
    END {
      for (g in u1) {
        u = (u1[g] - u0[g]) / hz / n * 1000; s = (s1[g] - s0[g]) / hz / n * 1000; c = (c1[g] - c0[g]) / n
        tu += u; ts += s; tc += c
        if (u + s >= 0.005 || c >= 0.05) printf "%.4f\t    %-24s user %.3f  kernel %.3f  switches %.2f\n", u + s, g, u, s, c
      }
      printf "-1\t    %-24s user %.3f  kernel %.3f  switches %.2f\n", "all threads", tu, ts, tc
    }' "$OUT/threads-before.txt" "$OUT/threads-after.txt" | sort -t"$(printf '\t')" -k1,1gr | cut -f2-
fi
