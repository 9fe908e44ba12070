#!/usr/bin/env bash
# Cost curves: mxd and a stock Postfix on the same axes, one parameter varied at a time around a
# base point (50 sessions, 4 KB, 1 recipient, session reuse `smtp-source -d`, queue empty):
#   sessions  concurrent smtp-source sessions              SESSIONS_LIST (default "1 10 50 200")
#   size      message size in bytes (decimal KB/MB)        SIZES (default "1000 100000 10000000")
#   rcpt      recipients per message (smtp-source -r)      RCPTS (default "1 10 100")
#   depth     messages queued when delivery resumes        DEPTHS (default "0 100000 1000000")
# Every point: smtp-source -> the MTA -> smtp-sink, both MTAs alternating, each started fresh with
# an empty queue and stopped after the point. Per point: end-to-end messages/s (and recipients/s),
# and CPU ms per message of the MTA's processes (utime+stime from /proc, reaped children included).
#
# The depth axis: the destination is down (nothing listens on the MTA's delivery port), DEPTH
# messages are accepted and deferred, then smtp-sink starts on that port and both MTAs are made
# to retry at once (mxd: POST /api/queue/flush on its admin listener, as `mxd queue flush`;
# Postfix: `postqueue -f`). Measured from the flush until the sink has them all: the drain rate
# and the CPU per message during the drain. Depth 0 has nothing to drain: it is the base point
# (destination up from the start, accept and delivery together).
#
# Usage: bench/curves.sh
# Env:   N=10000           messages per point (size axis: at most BYTES_CAP / size of them)
#        BYTES_CAP=2000000000   bound on the bytes sent in one point of the size axis
#        RUNS=1            runs per point (the plots show the median, error bars min..max)
#        SETTLE=35         seconds of pause before every run (ext4's inode allocator: relay.sh)
#        AXES="sessions size rcpt depth"   which series to measure
#        MTAS="mxd postfix"               which MTAs
#        DEPTH_MTAS="mxd postfix"         which MTAs run the depths above BIG_DEPTH (default 100000):
#                                         1,000,000 for Postfix takes long; the skipped points are listed
#        LIMIT=900         seconds any one phase of a point may take (depth: DEPTH/20 + 600)
#        OUT=DIR           results directory (default a new /tmp/mxd-curves.* directory, printed at the end)
#        DOCS=1            also copy the plots to docs/img/curves-AXIS.png
#        KEEP=1            keep the work directory (logs)
#        MXD_JAVA_OPTS     extra JVM options for mxd
# Output: OUT/curves.tsv (every run), OUT/curves-summary.tsv (median, min, max per point),
#         OUT/curves-AXIS.png (throughput and CPU per message, mxd and Postfix on the same axes).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-10000}
BYTES_CAP=${BYTES_CAP:-2000000000}
RUNS=${RUNS:-1}
SETTLE=${SETTLE:-35}
AXES=${AXES:-"sessions size rcpt depth"}
MTAS=${MTAS:-"mxd postfix"}
SESSIONS_LIST=${SESSIONS_LIST:-"1 10 50 200"}
SIZES=${SIZES:-"1000 100000 10000000"}
RCPTS=${RCPTS:-"1 10 100"}
DEPTHS=${DEPTHS:-"0 100000 1000000"}
DEPTH_MTAS=${DEPTH_MTAS:-"mxd postfix"}
BIG_DEPTH=${BIG_DEPTH:-100000}
LIMIT=${LIMIT:-900}
BASE_SESSIONS=50 BASE_SIZE=4096 BASE_RCPT=1

# gnuplot draws the plots; installed once, without the recommended X and ImageMagick packages.
if ! command -v gnuplot >/dev/null; then
  echo "curves: installing gnuplot-nox" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null \
    || die "could not install gnuplot-nox"
fi
bench_prepare

OUT=${OUT:-$(mktemp -d /tmp/mxd-curves.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
tsv="$OUT/curves.tsv"
printf 'axis\tx\tmta\trun\tmessages\tsessions\tsize\trcpts\tseconds\tmsgs_per_s\trcpts_per_s\tcpu_ms_per_msg\taccept_msgs_per_s\tstatus\n' > "$tsv"
: > "$OUT/skipped.txt"

work=$(mktemp -d /tmp/mxd-curves-work.XXXXXX)
chmod 755 "$work" # Postfix daemons run as user postfix
SINK_PID=""
cleanup() {
  stop_pid "${MXD_PID:-}"
  stop_postfix
  stop_pid "$SINK_PID"
  stop_pid "${DNS_PID:-}"
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_dns "$work"
# lib.sh's `mxd dns` keeps its stock response-rate limit (20 UDP answers a second to 127.0.0.0/24),
# made against reflection attacks, not for a resolver's own MTA: a fresh mxd's first deliveries and
# its client-name lookups ask more than that at once, answers are dropped, lookups time out and
# mail is deferred. Unless lib.sh already turns it off, it is started again on the same zone and
# port without the limit.
if ! declare -f start_dns | grep -q -- '--rate-limit'; then
  stop_pid "$DNS_PID"
  java -Xmx64m -jar "$bench_root/target/mxd.jar" dns --zone "$work/sink.test.zone" --listen "127.0.0.1:$DNS_PORT" --rate-limit 0 \
    >"$work/dns.log" 2>&1 &
  DNS_PID=$!
  dns_deadline=$((SECONDS + 20))
  until dig +short +norec +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 sink.test MX 2>/dev/null | grep -q mx1; do
    [ $SECONDS -lt $dns_deadline ] || die "mxd dns --rate-limit 0 did not answer within 20 s: $(cat "$work/dns.log")"
    sleep 0.2
  done
fi

now() { date +%s.%N; }
settle() { [ "$SETTLE" = 0 ] || sleep "$SETTLE"; }

# Postfix hands a relay at most this many recipients of one message per delivery (stock: 50), so a
# message with more reaches the sink as several transactions; mxd sends one per destination domain.
PF_RCPT_LIMIT=$(postconf -dxh smtp_destination_recipient_limit 2>/dev/null || echo 50)
transactions_per_msg() { # MTA RCPTS
  if [ "$1" = postfix ]; then echo $(( ($2 + PF_RCPT_LIMIT - 1) / PF_RCPT_LIMIT )); else echo 1; fi
}

start_sink() { # PORT TRANSACTIONS: smtp-sink exits after that many transactions
  smtp-sink -u nobody -M "$2" "127.0.0.1:$1" 1024 >"$work/sink.out" 2>&1 &
  SINK_PID=$!
  wait_port "$1" 10 || die "smtp-sink did not listen on $1"
}

# await_sink SECONDS [MTA DIR]: until the sink has had all its transactions and exited; 1 if it
# has not in time. With MTA and DIR: 2 as soon as the MTA has had nothing to deliver now for 5 s
# (nothing in its incoming or active queues: a delivery was deferred, and its retry would come
# minutes later, or smtp-source failed and sent fewer): the point is not counted.
await_sink() {
  local deadline=$((SECONDS + $1)) next=$((SECONDS + 1)) stuck=0
  while [ -d "/proc/$SINK_PID" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.05
    if [ $# -ge 3 ] && [ $SECONDS -ge $next ]; then
      next=$((SECONDS + 1))
      if [ "$(undeferred "$2" "$3")" = 0 ]; then stuck=$((stuck + 1)); else stuck=0; fi
      [ $stuck -lt 5 ] || break
    fi
  done
  if [ -d "/proc/$SINK_PID" ]; then
    stop_pid "$SINK_PID"; SINK_PID=""
    [ $stuck -lt 5 ] || return 2
    return 1
  fi
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=""
}

# start_mta MTA DIR DELIVERY_PORT [SESSIONS] -> ROOT (process tree to count), PORT (its SMTP port)
start_mta() {
  if [ "$1" = mxd ]; then
    MXD_ADMIN_PORT=$(free_port) # global: the depth axis flushes through it
    start_mxd "$2" "$3" # with room for 500 sessions from 127.0.0.1 (bench/lib.sh), as relay.sh runs it
    ROOT=$MXD_PID PORT=$MXD_PORT
  else
    start_postfix "$2" "$3"
    ROOT=$PF_MASTER PORT=$PF_PORT
  fi
}
stop_mta() { # MTA DIR
  if [ "$1" = mxd ]; then stop_pid "$MXD_PID"; MXD_PID=""; else stop_postfix; fi
  rm -rf "$2"
}

# Messages the MTA holds that are not (yet) deferred: mxd's incoming/ and active/, Postfix's
# incoming, active and maildrop queues.
undeferred() { # MTA DIR
  if [ "$1" = mxd ]; then
    find "$2/data/spool/incoming" "$2/data/spool/active" -name '*.json' 2>/dev/null | wc -l
  else
    find "$2/queue/incoming" "$2/queue/active" "$2/queue/maildrop" -type f 2>/dev/null | wc -l
  fi
}
deferred() { # MTA DIR
  if [ "$1" = mxd ]; then find "$2/data/spool/deferred" -name '*.json' 2>/dev/null | wc -l
  else find "$2/queue/deferred" -type f 2>/dev/null | wc -l; fi
}

# keep_evidence NAME MTA DIR: for a point not counted, the MTA's log and a few of the envelopes it
# still holds go to OUT/failed-NAME/, to say why.
keep_evidence() {
  local to="$OUT/failed-$1" f
  mkdir -p "$to"
  cp "$work/source.out" "$work/sink.out" "$to/" 2>/dev/null || true
  if [ "$2" = mxd ]; then
    cp "$3/mxd.log" "$to/" 2>/dev/null || true
    for f in $(find "$3/data/spool/deferred" "$3/data/spool/incoming" "$3/data/spool/active" -name '*.json' 2>/dev/null | head -5); do
      cp "$f" "$to/"
    done
  else
    tail -200 "$3/postfix.log" > "$to/postfix.log" 2>/dev/null || true
    postqueue -c "$3/etc" -p 2>/dev/null | head -50 > "$to/postqueue.txt" || true
  fi
  echo "    (why: $to)"
}

# source_to PORT MESSAGES SESSIONS SIZE RCPTS SECONDS: smtp-source's run, bounded; 1 if it failed.
source_to() {
  timeout "$6" smtp-source -d -s "$3" -m "$2" -l "$4" -r "$5" -f bench@client.test -t user@sink.test \
    "127.0.0.1:$1" >"$work/source.out" 2>&1 || { echo "    smtp-source: $(tail -1 "$work/source.out")" >&2; return 1; }
}

# record AXIS X MTA RUN MESSAGES SESSIONS SIZE RCPTS T0 T_ACCEPTED T_DONE C0 C1 STATUS
record() {
  awk -v OFS='\t' -v a="$1" -v x="$2" -v m="$3" -v r="$4" -v n="$5" -v s="$6" -v z="$7" -v rc="$8" \
      -v t0="$9" -v ta="${10}" -v t2="${11}" -v c0="${12}" -v c1="${13}" -v st="${14}" -v hz="$CLK_TCK" \
    'BEGIN {
       secs = t2 - t0; acc = (ta > t0) ? sprintf("%.1f", n / (ta - t0)) : "-"
       print a, x, m, r, n, s, z, rc, sprintf("%.2f", secs), sprintf("%.1f", n / secs), sprintf("%.1f", n * rc / secs),
             sprintf("%.3f", (c1 - c0) / hz / n * 1000), acc, st
     }' | tee -a "$tsv" | awk -F'\t' '{printf "    %-8s %9s msgs/s %10s rcpts/s  %7s CPU ms/msg  (%s msgs, %s s, %s)\n", $3, $10, $11, $12, $5, $9, $14}'
}

# relay_point AXIS X MTA RUN MESSAGES SESSIONS SIZE RCPTS: the sink up from the start, queue empty.
relay_point() {
  local axis=$1 x=$2 mta=$3 run=$4 n=$5 s=$6 size=$7 rc=$8 dir="$work/$3" sink t0 t1 t2 c0 c1 status=ok
  sink=$(free_port)
  start_sink "$sink" $(( n * $(transactions_per_msg "$mta" "$rc") ))
  start_mta "$mta" "$dir" "$sink" "$s"
  c0=$(tree_cpu_ticks "$ROOT")
  t0=$(now)
  source_to "$PORT" "$n" "$s" "$size" "$rc" "$LIMIT" || status=source-failed
  t1=$(now)
  await_sink "$LIMIT" "$mta" "$dir" || [ "$status" != ok ] || status="incomplete($(deferred "$mta" "$dir") deferred)"
  t2=$(now)
  c1=$(tree_cpu_ticks "$ROOT")
  [ "$status" = ok ] || keep_evidence "$axis-$x-$mta-$run" "$mta" "$dir"
  stop_mta "$mta" "$dir"
  record "$axis" "$x" "$mta" "$run" "$n" "$s" "$size" "$rc" "$t0" "$t1" "$t2" "$c0" "$c1" "$status"
}

# depth_point X MTA RUN DEPTH: DEPTH messages deferred with the destination down, then the drain.
depth_point() {
  local x=$1 mta=$2 run=$3 depth=$4 dir="$work/$2" dest limit t0 t1 c0 c1 status=ok deadline queued
  limit=$((depth / 20 + 600))
  dest=$(free_port) # nothing listens here until the destination "returns"
  start_mta "$mta" "$dir" "$dest"
  t0=$(now)
  source_to "$PORT" "$depth" "$BASE_SESSIONS" "$BASE_SIZE" "$BASE_RCPT" "$limit" || status=source-failed
  deadline=$((SECONDS + limit))
  while [ "$(undeferred "$mta" "$dir")" -gt 0 ] && [ $SECONDS -lt $deadline ]; do sleep 1; done
  queued=$(deferred "$mta" "$dir")
  echo "    $mta: $depth sent in $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", b-a}') s, $queued deferred, $(undeferred "$mta" "$dir") not yet"
  [ "$queued" = "$depth" ] || status=not-all-deferred
  [ "$queued" -gt 0 ] || { stop_mta "$mta" "$dir"; echo "    $mta: nothing queued, no drain" >&2; return 0; }
  start_sink "$dest" "$queued"
  c0=$(tree_cpu_ticks "$ROOT")
  t0=$(now)
  if [ "$mta" = mxd ]; then
    if command -v curl >/dev/null; then
      curl -fsS -m 60 -X POST -H "Authorization: Bearer $(cat "$dir/data/admin.token")" \
        "http://127.0.0.1:$MXD_ADMIN_PORT/api/queue/flush" >"$work/flush.out" 2>&1 || status=flush-failed
    else
      timeout 60 "$bench_root/mxd" queue flush --config "$dir/mxd.yaml" >"$work/flush.out" 2>&1 || status=flush-failed
    fi
  else
    timeout 60 postqueue -c "$PF_DIR/etc" -f >"$work/flush.out" 2>&1 || status=flush-failed
  fi
  await_sink "$limit" || status=incomplete
  t1=$(now)
  c1=$(tree_cpu_ticks "$ROOT")
  [ "$status" = ok ] || keep_evidence "depth-$x-$mta-$run" "$mta" "$dir"
  stop_mta "$mta" "$dir"
  record depth "$x" "$mta" "$run" "$queued" "$BASE_SESSIONS" "$BASE_SIZE" "$BASE_RCPT" "$t0" 0 "$t1" "$c0" "$c1" "$status"
}

# The x values of an axis, and the label each gets on the plot.
axis_values() {
  case $1 in
    sessions) echo "$SESSIONS_LIST" ;; size) echo "$SIZES" ;; rcpt) echo "$RCPTS" ;; depth) echo "$DEPTHS" ;;
    *) die "unknown axis $1 (sessions, size, rcpt, depth)" ;;
  esac
}

echo "cost curves: $N messages per point (size axis: at most $BYTES_CAP bytes), $RUNS run(s) each, ${SETTLE} s pause before each run"
echo "base point: $BASE_SESSIONS sessions, $BASE_SIZE bytes, $BASE_RCPT recipient, smtp-source -d; axes: $AXES; MTAs: $MTAS"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(java -version 2>&1 | head -1), $(postconf -d mail_version 2>/dev/null)"
echo "Postfix: stock limits (smtpd processes: $(postconf -dxh default_process_limit), recipients per delivery: $PF_RCPT_LIMIT, message_size_limit: $(postconf -dxh message_size_limit))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for axis in $AXES; do
  for x in $(axis_values "$axis"); do
    for run in $(seq 1 "$RUNS"); do
      echo "$axis = $x, run $run (load $(cut -d' ' -f1 /proc/loadavg))"
      for mta in $MTAS; do
        case $axis in
          sessions) settle; relay_point sessions "$x" "$mta" "$run" "$N" "$x" "$BASE_SIZE" "$BASE_RCPT" ;;
          size)
            n=$(( BYTES_CAP / x )); [ "$n" -lt "$N" ] || n=$N; [ "$n" -ge 1 ] || n=1
            settle; relay_point size "$x" "$mta" "$run" "$n" "$BASE_SESSIONS" "$x" "$BASE_RCPT" ;;
          rcpt) settle; relay_point rcpt "$x" "$mta" "$run" "$N" "$BASE_SESSIONS" "$BASE_SIZE" "$x" ;;
          depth)
            if [ "$x" -gt "$BIG_DEPTH" ] && [[ " $DEPTH_MTAS " != *" $mta "* ]]; then
              echo "    $mta: SKIPPED (depth $x > $BIG_DEPTH and $mta not in DEPTH_MTAS=\"$DEPTH_MTAS\")"
              [ "$run" != 1 ] || echo "$mta at depth $x (above BIG_DEPTH=$BIG_DEPTH; DEPTH_MTAS=\"$DEPTH_MTAS\")" >> "$OUT/skipped.txt"
            elif [ "$x" = 0 ]; then
              settle; relay_point depth 0 "$mta" "$run" "$N" "$BASE_SESSIONS" "$BASE_SIZE" "$BASE_RCPT"
            else
              settle; depth_point "$x" "$mta" "$run" "$x"
            fi ;;
        esac
      done
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Median, min and max per point, and one data file per axis and MTA for gnuplot:
# x  label  msgs/s (median min max)  CPU ms/msg (median min max)  rcpts/s (median min max)
python3 - "$OUT" "$DEPTHS" <<'PY'
import csv, os, statistics, sys
out, depths = sys.argv[1], sys.argv[2].split()
rows = [r for r in csv.DictReader(open(os.path.join(out, "curves.tsv")), delimiter="\t") if r["status"] == "ok"]
def label(axis, x):
    v = int(x)
    if axis == "size":
        return f"{v // 1000000} MB" if v >= 1000000 else f"{v // 1000} KB" if v >= 1000 else f"{v} B"
    if axis == "depth":
        return f"{v // 1000000}M" if v >= 1000000 and v % 1000000 == 0 else f"{v // 1000}k" if v >= 1000 and v % 1000 == 0 else str(v)
    return str(v)
def position(axis, x):  # the depth axis is drawn as categories, in the order of DEPTHS
    return str(depths.index(x) + 1) if axis == "depth" and x in depths else x
groups = {}
for r in rows:
    groups.setdefault((r["axis"], r["mta"], r["x"]), []).append(r)
summary = open(os.path.join(out, "curves-summary.tsv"), "w")
summary.write("axis\tx\tmta\truns\tmsgs_per_s\tmin\tmax\trcpts_per_s\tcpu_ms_per_msg\tmin\tmax\n")
files = {}
for (axis, mta, x), rs in sorted(groups.items(), key=lambda k: (k[0][0], k[0][1], int(k[0][2]))):
    cols = []
    for key in ("msgs_per_s", "cpu_ms_per_msg", "rcpts_per_s"):
        vs = [float(r[key]) for r in rs]
        cols += [statistics.median(vs), min(vs), max(vs)]
    f = files.setdefault((axis, mta), open(os.path.join(out, f"curves-{axis}-{mta}.dat"), "w"))
    f.write("\t".join([position(axis, x), label(axis, x)] + [f"{v:.3f}" for v in cols]) + "\n")
    summary.write(f"{axis}\t{x}\t{mta}\t{len(rs)}\t{cols[0]:.1f}\t{cols[1]:.1f}\t{cols[2]:.1f}\t{cols[6]:.1f}\t{cols[3]:.3f}\t{cols[4]:.3f}\t{cols[5]:.3f}\n")
for f in files.values():
    f.close()
PY

for axis in $AXES; do
  for mta in mxd postfix; do [ -f "$OUT/curves-$axis-$mta.dat" ] || : > "$OUT/curves-$axis-$mta.dat"; done
  gnuplot -e "dir='$OUT'; axis='$axis'; ndepths=$(echo "$DEPTHS" | wc -w); out='$OUT/curves-$axis.png'" \
    "$bench_root/bench/plot-curves.gp" 2>"$work/gnuplot-$axis.err" \
    || echo "gnuplot failed for $axis: $(cat "$work/gnuplot-$axis.err")" >&2
  if [ "${DOCS:-0}" = 1 ] && [ -s "$OUT/curves-$axis.png" ]; then
    mkdir -p "$bench_root/docs/img"
    cp "$OUT/curves-$axis.png" "$bench_root/docs/img/curves-$axis.png"
  fi
done

echo
column -t -s $'\t' "$OUT/curves-summary.tsv"
if [ -s "$OUT/skipped.txt" ]; then echo; echo "skipped, not measured:"; sed 's/^/  /' "$OUT/skipped.txt"; fi
bad=$(awk -F'\t' 'NR > 1 && $14 != "ok"' "$tsv" | wc -l)
[ "$bad" = 0 ] || { echo; echo "runs not counted (status other than ok): $bad"; awk -F'\t' 'NR > 1 && $14 != "ok" {print "  " $1 "=" $2 " " $3 " run " $4 ": " $14}' "$tsv"; }
echo
echo "results: $tsv, $OUT/curves-summary.tsv; plots: $(ls "$OUT"/curves-*.png 2>/dev/null | tr '\n' ' ')"
[ "${DOCS:-0}" = 1 ] && echo "plots copied to $bench_root/docs/img/curves-*.png"
exit 0
