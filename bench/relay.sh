#!/usr/bin/env bash
# Relay throughput, mxd against every other MTA on this machine, in one run and alternating:
#   smtp-source (N messages of SIZE bytes, S sessions, 1 recipient) -> the MTA -> smtp-sink.
# Two workloads: conn (a connection per message: smtp-source without -d, as most mail reaches
# an MX) and session (smtp-source -d: every session sends message after message).
# The MTAs: mxd (finds the sink through a real MX lookup of sink.test, served by `mxd dns`, and
# relays for a trusted loopback client), stock Postfix (relayhost = [127.0.0.1]:sink), Exim 4.96
# and OpenSMTPD 6.8 (Debian's packages unpacked into a private root, they conflict with postfix)
# and Haraka (npm); bench/lib.sh starts each and says what was changed from stock.
# Each runs in its own cgroup: CPU is the cgroup's cpuacct usage over the run (children that
# Exim never waits for included), memory the peak of the summed PSS of its processes.
# Every MTA's durability is measured once (strace: an fsync between the 354 and the 250?).
#
# Usage: bench/relay.sh [MESSAGES [SESSIONS [RUNS [SIZE]]]]     (default 20000 50 3 4096)
# Env:   WORKLOADS="conn session"  which workloads (default both)
#        MTAS="mxd postfix exim opensmtpd haraka"  which MTAs, in this order in every run (any subset;
#                       "baseline" too with BASELINE_JAR, which is then in the default list)
#        PHASE=cold     (default) every run a freshly started MTA, counted from its first message
#        PHASE=warm     the same MTA instance first relays WARM_MSGS uncounted messages (default
#                       40000, half a connection per message, half in sessions), then SETTLE
#                       seconds of pause, then the counted run
#        BASELINE_JAR   another build of mxd (e.g. an older commit's target/mxd.jar) measured as
#                       "baseline" in the same run, alternating with this tree's build
#        MXD_JAVA_OPTS  extra JVM options for mxd (e.g. -XX:StartFlightRecording=filename=x.jfr)
#        SETTLE=35      seconds of pause before every run (see settle below)
#        KEEP=1         keep the work directory (logs) for a look afterwards
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${1:-20000}
SESSIONS=${2:-50}
RUNS=${3:-3}
SIZE=${4:-4096}
WORKLOADS=${WORKLOADS:-conn session}
PHASE=${PHASE:-cold}
WARM_MSGS=${WARM_MSGS:-40000}
MTAS=${MTAS:-mxd ${BASELINE_JAR:+baseline} postfix exim opensmtpd haraka}
LIMIT=900 # seconds any one phase may take
case $PHASE in cold|warm) ;; *) die "PHASE is cold or warm, not $PHASE" ;; esac
for w in $WORKLOADS; do case $w in conn|session) ;; *) die "unknown workload $w (conn session)" ;; esac; done

bench_prepare
peers_prepare $MTAS
work=$(mktemp -d /tmp/mxd-relay.XXXXXX)
chmod 755 "$work" # Postfix and Exim daemons run as their own users
SINK_PID="" SAMPLER_PID=""
cleanup() {
  stop_pid "$SAMPLER_PID"
  stop_all_peers
  stop_pid "$SINK_PID"
  stop_pid "${DNS_PID:-}"
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
start_dns "$work"
export CG=1 # every MTA in its own cgroup

now() { date +%s.%N; }

start_sink() { # [MESSAGES [PORT]]: smtp-sink exits after that many messages (none: runs until stopped)
  SINK_PORT=${2:-$(free_port)}
  smtp-sink -u nobody ${1:+-M "$1"} "127.0.0.1:$SINK_PORT" 1024 >"$work/sink.out" 2>&1 &
  SINK_PID=$!
  wait_port "$SINK_PORT" 10 || die "smtp-sink did not listen"
}

source_to() { # PORT WORKLOAD [MESSAGES]: smtp-source's run, bounded
  local flags="" 
  [ "$2" = session ] && flags=-d
  timeout "$LIMIT" smtp-source $flags -s "$SESSIONS" -m "${3:-$N}" -l "$SIZE" -f bench@client.test -t user@sink.test \
    "127.0.0.1:$1" >"$work/source.out" 2>&1 || echo "  (smtp-source: $(tail -1 "$work/source.out"))" >&2
}

# The sink exits by itself after its -M messages; wait for it, bounded. 1 when it is still waiting.
await_sink() {
  local deadline=$((SECONDS + LIMIT))
  while [ -d "/proc/$SINK_PID" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if [ -d "/proc/$SINK_PID" ]; then
    echo "  sink still waiting after ${LIMIT}s: not every message arrived" >&2
    stop_pid "$SINK_PID"; SINK_PID=""; return 1
  fi
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=""
}

# Each run deletes N spool files. On ext4 without a journal (this machine's) the inode allocator
# skips inodes freed in the last 30 s, so a run started right after another pays for the other's
# deletions: wait that long first (SETTLE seconds), so every run starts from the same state.
settle() { sleep "${SETTLE:-35}"; }

# warm_up NAME: WARM_MSGS uncounted messages through the running MTA (half without -d, half with),
# all delivered, then the sink is started afresh on the same port for the counted run.
warm_up() {
  local half=$((WARM_MSGS / 2)) sink=$SINK_PORT
  stop_pid "$SINK_PID"
  start_sink "$WARM_MSGS" "$sink"
  source_to "$PEER_PORT" conn "$half"
  source_to "$PEER_PORT" session "$((WARM_MSGS - half))"
  await_sink || echo "  ($1: warm-up incomplete)" >&2
  settle
  start_sink "$N" "$sink"
}

# run_one NAME WORKLOAD: one measured run; appends "accept e2e pss_mb cpu_ms_per_msg" to $work/NAME.WORKLOAD.txt
run_one() {
  local name=$1 wl=$2 t0 t1 t2 c0 c1 e2e_ok=1
  start_sink "$N"
  start_peer "$name" "$work/$name" "$SINK_PORT"
  rm -f "$work/peak"
  cg_sample_peak "$BENCH_CG" "$work/peak" & SAMPLER_PID=$!
  [ "$PHASE" = warm ] && warm_up "$name"
  c0=$(cg_cpu_ns)
  t0=$(now); source_to "$PEER_PORT" "$wl"; t1=$(now)
  await_sink || e2e_ok=0
  t2=$(now)
  c1=$(cg_cpu_ns)
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
  stop_peer "$name"; rm -rf "${work:?}/$name"
  stop_pid "$SINK_PID"; SINK_PID=""
  awk -v n="$N" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v c0="$c0" -v c1="$c1" -v ok="$e2e_ok" -v pk="$(cat "$work/peak" 2>/dev/null || echo 0)" \
    'BEGIN {printf "%.0f %.0f %.0f %.2f\n", n/(t1-t0), ok ? n/(t2-t0) : 0, pk/1024, (c1-c0)/1e6/n}' | tee -a "$work/$name.$wl.txt" \
    | awk -v r="$name" -v ok="$e2e_ok" '{printf "  %-9s accept %6s/s  end-to-end %6s/s%s  CPU %5s ms/msg  peak PSS %5s MB\n", r, $1, $2, ok ? "" : " (INCOMPLETE)", $4, $3}'
}

ceiling_one() { # WORKLOAD
  start_sink
  local t0 t1
  t0=$(now); source_to "$SINK_PORT" "$1"; t1=$(now)
  stop_pid "$SINK_PID"; SINK_PID=""
  awk -v n="$N" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f\n", n/(t1-t0)}' | tee -a "$work/ceiling.$1.txt" \
    | awk '{printf "  ceiling   smtp-source -> smtp-sink %6s/s\n", $1}'
}

# Once per MTA: its durability (fsync before the 250, measured) and its listen backlog.
probe_one() { # NAME
  start_sink 20
  start_peer "$1" "$work/$1" "$SINK_PORT"
  local backlog
  backlog=$(listen_backlog "$PEER_PORT")
  # ./mxd picks the JDK (the newest 25+ installed) and its options: say which, not the java on PATH
  [ "$1" = mxd ] && echo "mxd runs as: $(tr '\0' ' ' < "/proc/$MXD_PID/cmdline" | sed 's/ -jar .*//')"
  fsync_probe "$1" "$PEER_PORT" /dev/null | sed "s/\$/; listen backlog ${backlog:-?}/" | tee -a "$work/durability.txt"
  await_sink || echo "  ($1: not all 20 probe messages arrived)" >&2
  stop_peer "$1"; rm -rf "${work:?}/$1"
}

echo "relay benchmark: $N messages of $SIZE bytes, $SESSIONS sessions, 1 recipient, $RUNS runs each; workloads: $WORKLOADS"
if [ "$PHASE" = warm ]; then
  echo "phase: warm (each MTA first relays $WARM_MSGS uncounted messages, half a connection per message, half in sessions, then ${SETTLE:-35} s of pause)"
else
  echo "phase: cold (each run a freshly started MTA, counted from its first message)"
fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "MTAs: $(for m in $MTAS; do printf '%s; ' "$(peer_version "$m")"; done)"
echo "durability and listen backlog, measured (strace over 20 messages, one session at a time):"
for m in $MTAS; do probe_one "$m"; done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$RUNS"); do
  for wl in $WORKLOADS; do
    echo "run $r, $wl: $([ "$wl" = conn ] && echo "a connection per message" || echo "many messages per session (-d)") (load $(cut -d' ' -f1 /proc/loadavg))"
    ceiling_one "$wl"
    for m in $MTAS; do settle; run_one "$m" "$wl"; done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

col() { [ -f "$work/$1.txt" ] && awk -v c="$2" '{print $c}' "$work/$1.txt" | median || echo n/a; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "n/a" && b != "n/a" && b > 0) printf "%.2f", a/b; else print "n/a"}'; }
for wl in $WORKLOADS; do
  echo
  echo "$wl ($([ "$wl" = conn ] && echo "a connection per message" || echo "many messages per session")), $PHASE, median of $RUNS; ratios are mxd's figure divided by the MTA's"
  printf '%-10s %9s %9s %8s %8s | %9s %9s %8s %8s\n' MTA "accept/s" "e2e/s" "CPU ms" "PSS MB" "mxd/accpt" "mxd/e2e" "mxd/CPU" "mxd/PSS"
  for m in $MTAS; do
    a=$(col "mxd.$wl" 1) e=$(col "mxd.$wl" 2) p=$(col "mxd.$wl" 3) c=$(col "mxd.$wl" 4)
    ma=$(col "$m.$wl" 1) me=$(col "$m.$wl" 2) mp=$(col "$m.$wl" 3) mc=$(col "$m.$wl" 4)
    printf '%-10s %9s %9s %8s %8s | %9s %9s %8s %8s\n' "$m" "$ma" "$me" "$mc" "$mp" \
      "$(ratio "$a" "$ma")" "$(ratio "$e" "$me")" "$(ratio "$c" "$mc")" "$(ratio "$p" "$mp")"
  done
  printf '%-10s %9s\n' ceiling "$(median < "$work/ceiling.$wl.txt")"
done
echo
echo "durability and listen backlog (measured above):"
sed 's/^/  /' "$work/durability.txt"
