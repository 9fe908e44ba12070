#!/usr/bin/env bash
# A large queue: with the destination down, N messages are accepted and deferred; then the heap
# (mxd runs with -Xmx512m), `mxd queue list` against the running server (first and middle page),
# the start-up time with them all on disk, paging through the spool, and the delivery of all of
# them once the destination (smtp-sink) comes back.
# Usage: bench/queue-scale.sh [N [SESSIONS]]   (default 100000 50; the issue's target is 1000000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${1:-100000}; SESSIONS=${2:-50}
LIMIT=$((N / 20 + 600)) # seconds any phase may take (20 msgs/s at worst)
export MXD_JAVA_OPTS="${MXD_JAVA_OPTS:-} -Xmx512m"

bench_prepare
(cd "$bench_root" && ./mvnw -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test)
cp="$bench_root/target/test-classes:$bench_root/target/classes:$(cat "$bench_root/target/bench.classpath")"
work=$(mktemp -d /tmp/mxd-queue.XXXXXX)
SINK_PID=""
cleanup() { stop_pid "${MXD_PID:-}"; stop_pid "$SINK_PID"; stop_pid "${DNS_PID:-}"; rm -rf "$work"; }
trap cleanup EXIT
start_dns "$work"
export MXD_ADMIN_PORT=$(free_port)
DEST=$(free_port) # nothing listens here until the destination "returns"
spool="$work/mxd/data/spool"
count() { find "$spool/$1" -name '*.json' 2>/dev/null | wc -l; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b-a}'; }

echo "queue scale: $N messages of 4 KB, destination down; load $(cut -d' ' -f1-3 /proc/loadavg); $(df -hT "$work" | awk 'NR==2 {print $2" on "$1}')"
start_mxd "$work/mxd" "$DEST"
t=$(now)
timeout "$LIMIT" smtp-source -d -s "$SESSIONS" -m "$N" -l 4096 -f bench@client.test -t user@sink.test "127.0.0.1:$MXD_PORT" \
  || echo "smtp-source: exit $?" >&2
accept=$(since "$t")
deadline=$((SECONDS + LIMIT))
while [ $((  $(count incoming) + $(count active) )) -gt 0 ] && [ $SECONDS -lt $deadline ]; do sleep 1; done
queued=$(since "$t")
echo "accepted $N in $accept s ($(awk -v n="$N" -v s="$accept" 'BEGIN {printf "%.0f", n/s}') msgs/s); all deferred after $queued s; deferred: $(count deferred)"
heap() { jstat -gc "$MXD_PID" | awk 'NR == 2 {printf "%.1f MB used of %.1f MB committed", ($3 + $4 + $6 + $8) / 1024, ($1 + $2 + $5 + $7) / 1024}'; }
echo "heap before a full GC: $(heap)"
jcmd "$MXD_PID" GC.run >/dev/null
echo "heap after a full GC: $(heap)"
echo "peak RSS: $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$MXD_PID/status)"
# mxd queue list, as an operator runs it (a JVM start included), against the server holding them all.
for offset in 0 $((N / 2)) 0; do
  t=$(now)
  lines=$("$bench_root/mxd" queue list --config "$work/mxd/mxd.yaml" --offset "$offset" --limit 100 | wc -l)
  echo "mxd queue list --offset $offset --limit 100: $lines lines in $(since "$t") s"
done
echo "heap after listing: $(heap)"
stop_pid "$MXD_PID"; MXD_PID=""

java -Xmx512m -cp "$cp" dev.mxd.bench.SpoolPaging "$spool"

# The destination returns; as an operator's flush (QueueManager.flush) does, every deferred
# message is made due now (its envelope's time is its next attempt), then mxd starts again.
find "$spool/deferred" -name '*.json' -exec touch -d @1 {} +
smtp-sink -u nobody -M "$N" "127.0.0.1:$DEST" 1024 >"$work/sink.out" 2>&1 &
SINK_PID=$!
wait_port "$DEST" 10 || die "smtp-sink did not listen"
t=$(now)
start_mxd "$work/mxd" "$DEST"
echo "start-up with $N queued: listening after $(since "$t") s"
deadline=$((SECONDS + LIMIT))
while [ -d "/proc/$SINK_PID" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
d=$(since "$t")
echo "delivered all $N after the destination returned: $d s ($(awk -v n="$N" -v s="$d" 'BEGIN {printf "%.0f", n/s}') msgs/s); left in the spool: $(( $(count deferred) + $(count incoming) + $(count active) ))"
echo "heap now: $(heap); load $(cut -d' ' -f1-3 /proc/loadavg)"
