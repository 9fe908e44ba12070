#!/usr/bin/env bash
# Relay throughput, mxd against a stock Postfix on the same machine, in one run and alternating:
#   smtp-source (N messages of SIZE bytes, S sessions, 1 recipient) -> the MTA -> smtp-sink.
# mxd finds the sink through a real MX lookup (sink.test, served by `mxd dns`, cached) and relays
# for a trusted loopback client; Postfix relays through relayhost = [127.0.0.1]:sink.
# Each MTA starts fresh (empty queue) for every run and is stopped after it.
#
# Usage: bench/relay.sh [MESSAGES [SESSIONS [RUNS [SIZE]]]]     (default 20000 50 3 4096)
# Env:   MXD_JAVA_OPTS  extra JVM options for mxd (e.g. -XX:StartFlightRecording=filename=x.jfr)
#        KEEP=1         keep the work directory (logs) for a look afterwards
#        MTAS="mxd"     measure only these (default "mxd postfix", or "mxd baseline postfix" with BASELINE_JAR)
#        BASELINE_JAR   another build of mxd (e.g. an older commit's target/mxd.jar) measured as
#                       "baseline" in the same run, alternating with this tree's build
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${1:-20000}
SESSIONS=${2:-50}
RUNS=${3:-3}
SIZE=${4:-4096}
LIMIT=900 # seconds any one phase may take

bench_prepare
work=$(mktemp -d /tmp/mxd-relay.XXXXXX)
chmod 755 "$work" # Postfix daemons run as user postfix
SINK_PID="" SAMPLER_PID=""
cleanup() {
  stop_pid "$SAMPLER_PID"
  stop_pid "${MXD_PID:-}"
  stop_postfix
  stop_pid "$SINK_PID"
  stop_pid "${DNS_PID:-}"
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
start_dns "$work"

now() { date +%s.%N; }

start_sink() { # [MESSAGES]: smtp-sink exits after that many messages (none: runs until stopped)
  SINK_PORT=$(free_port)
  smtp-sink -u nobody ${1:+-M "$1"} "127.0.0.1:$SINK_PORT" 1024 >"$work/sink.out" 2>&1 &
  SINK_PID=$!
  wait_port "$SINK_PORT" 10 || die "smtp-sink did not listen"
}

source_to() { # PORT: smtp-source's run, bounded
  timeout "$LIMIT" smtp-source -d -s "$SESSIONS" -m "$N" -l "$SIZE" -f bench@client.test -t user@sink.test \
    "127.0.0.1:$1" >"$work/source.out" 2>&1 || echo "  (smtp-source: $(tail -1 "$work/source.out"))" >&2
}

# The sink exits by itself after N messages (-M); wait for it, bounded.
await_sink() {
  local deadline=$((SECONDS + LIMIT))
  while [ -d "/proc/$SINK_PID" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  [ -d "/proc/$SINK_PID" ] && { echo "  sink still waiting after ${LIMIT}s" >&2; return 1; }
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=""
}

# run_one NAME: one measured run; appends "accept e2e rss_mb cpu_per_1000" to $work/NAME.txt
run_one() {
  local name=$1 root t0 t1 t2 c0 c1
  start_sink "$N"
  if [ "$name" = mxd ] || [ "$name" = baseline ]; then
    if [ "$name" = baseline ]; then MXD_JAR=$BASELINE_JAR start_mxd "$work/mxd" "$SINK_PORT"; else start_mxd "$work/mxd" "$SINK_PORT"; fi
    root=$MXD_PID; port=$MXD_PORT
  else
    start_postfix "$work/postfix" "$SINK_PORT"
    root=$PF_MASTER; port=$PF_PORT
  fi
  rm -f "$work/peak"
  sample_peak "$root" "$work/peak" & SAMPLER_PID=$!
  c0=$(tree_cpu_ticks "$root")
  t0=$(now); source_to "$port"; t1=$(now)
  await_sink || true
  t2=$(now)
  c1=$(tree_cpu_ticks "$root")
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
  if [ "$name" != postfix ]; then stop_pid "$MXD_PID"; MXD_PID=""; rm -rf "$work/mxd"; else stop_postfix; rm -rf "$work/postfix"; fi
  stop_pid "$SINK_PID"; SINK_PID=""
  awk -v n="$N" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v c0="$c0" -v c1="$c1" -v hz="$CLK_TCK" -v pk="$(cat "$work/peak" 2>/dev/null || echo 0)" \
    'BEGIN {printf "%.0f %.0f %.0f %.2f\n", n/(t1-t0), n/(t2-t0), pk/1024, (c1-c0)/hz/n*1000}' | tee -a "$work/$name.txt" \
    | awk -v r="$name" '{printf "  %-8s accept %6s/s  end-to-end %6s/s  peak %5s MB  cpu %5s s/1000 msgs\n", r, $1, $2, $3, $4}'
}

ceiling_one() {
  start_sink
  local t0 t1
  t0=$(now); source_to "$SINK_PORT"; t1=$(now)
  stop_pid "$SINK_PID"; SINK_PID=""
  awk -v n="$N" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f\n", n/(t1-t0)}' | tee -a "$work/ceiling.txt" \
    | awk '{printf "  ceiling  smtp-source -> smtp-sink %6s/s\n", $1}'
}

# Each run deletes N spool files. On ext4 without a journal (this machine's) the inode allocator
# skips inodes freed in the last 30 s, so a run started right after another pays for the other's
# deletions: wait that long first (SETTLE seconds), so every run starts from the same state.
settle() { sleep "${SETTLE:-35}"; }

echo "relay benchmark: $N messages of $SIZE bytes, $SESSIONS sessions, 1 recipient, $RUNS runs each"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(java -version 2>&1 | head -1), $(postconf -d mail_version 2>/dev/null)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$RUNS"); do
  echo "run $r (load $(cut -d' ' -f1 /proc/loadavg))"
  ceiling_one
  for m in ${MTAS:-mxd ${BASELINE_JAR:+baseline} postfix}; do settle; run_one "$m"; done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

col() { [ -f "$work/$1.txt" ] && awk -v c="$2" '{print $c}' "$work/$1.txt" | median || echo n/a; }
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a/b; else print "n/a"}'; }
if [ -n "${BASELINE_JAR:-}" ]; then
  printf '%-28s %12s %12s %12s %10s %13s\n' "median of $RUNS" mxd baseline postfix mxd/postfix mxd/baseline
else
  printf '%-28s %12s %12s %10s\n' "median of $RUNS" mxd postfix mxd/postfix
fi
for m in "1 accept rate (msgs/s)" "2 end-to-end rate (msgs/s)" "3 peak memory PSS (MB)" "4 CPU s per 1000 msgs"; do
  c=${m%% *}; label=${m#* }
  a=$(col mxd "$c"); b=$(col postfix "$c")
  if [ -n "${BASELINE_JAR:-}" ]; then
    z=$(col baseline "$c")
    printf '%-28s %12s %12s %12s %10s %13s\n' "$label" "$a" "$z" "$b" "$(ratio "$a" "$b")" "$(ratio "$a" "$z")"
  else
    printf '%-28s %12s %12s %10s\n' "$label" "$a" "$b" "$(ratio "$a" "$b")"
  fi
done
printf '%-28s %12s\n' "ceiling source->sink (msgs/s)" "$(median < "$work/ceiling.txt")"
