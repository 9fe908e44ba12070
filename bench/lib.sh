# Shared pieces of the bench/ scripts (sourced, not run): tools, free ports, a private Postfix,
# mxd and its DNS zone, and per-process CPU and memory from /proc. Every wait here is bounded.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLK_TCK=$(getconf CLK_TCK)

die() { echo "bench: $*" >&2; exit 1; }

# Installs Postfix (for smtp-source, smtp-sink and the reference MTA) without configuring it,
# and builds target/mxd.jar. Idempotent.
bench_prepare() {
  if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null; then
    echo "bench: installing postfix (its smtp-source and smtp-sink are the load tools)" >&2
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix python3 >/dev/null
  fi
  command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; }
  (cd "$bench_root" && ./mvnw -q -B -DskipTests package) || die "build failed"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT SECONDS: until something accepts TCP connections on 127.0.0.1:PORT.
wait_port() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt "$deadline" ]; do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# A process and all its descendants (Postfix's master and its daemons).
tree_pids() {
  local pids=("$1") i=0 p
  while [ $i -lt ${#pids[@]} ]; do
    for p in $(pgrep -P "${pids[$i]}" 2>/dev/null); do pids+=("$p"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}

# CPU ticks of a process tree: utime+stime of every live process, plus cutime+cstime of the
# root (children it already reaped, such as Postfix daemons that exited after max_use).
tree_cpu_ticks() {
  local root=$1 total=0 p f
  for p in $(tree_pids "$root"); do
    f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    # after "pid (comm) ": field 3 is state, so utime is word 12, stime 13, cutime 14, cstime 15
    set -- $f
    total=$((total + ${12} + ${13}))
    [ "$p" = "$root" ] && total=$((total + ${14} + ${15}))
  done
  echo $total
}

# Proportional set size of a process tree in KB (shared libraries counted once overall).
tree_pss_kb() {
  local total=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^Pss:/ {print $2; exit}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo $total
}

# sample_peak ROOT_PID OUT_FILE: writes the peak PSS (KB) of the tree to OUT_FILE until
# ROOT_PID's tree is stopped by killing this sampler (it also stops after 30 minutes).
sample_peak() {
  local root=$1 out=$2 peak=0 v deadline=$((SECONDS + 1800))
  while [ $SECONDS -lt $deadline ] && [ -d "/proc/$root" ]; do
    v=$(tree_pss_kb "$root")
    [ "$v" -gt "$peak" ] && { peak=$v; echo $peak > "$out"; }
    sleep 0.5
  done
}

# --- mxd dns: the zone that sends mail for sink.test to 127.0.0.1 ---------------------------
start_dns() { # WORK -> sets DNS_PORT, DNS_PID
  local work=$1
  DNS_PORT=$(free_port)
  cat > "$work/sink.test.zone" <<'ZONE'
$ORIGIN sink.test.
$TTL 3600
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   127.0.0.1
@    IN MX  10 mx1
mx1  IN A   127.0.0.1
ZONE
  java -Xmx64m -jar "$bench_root/target/mxd.jar" dns --zone "$work/sink.test.zone" --listen "127.0.0.1:$DNS_PORT" \
    >"$work/dns.log" 2>&1 &
  DNS_PID=$!
  local deadline=$((SECONDS + 20))
  until dig +short +norec +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 sink.test MX 2>/dev/null | grep -q mx1; do
    [ $SECONDS -lt $deadline ] || die "mxd dns did not answer within 20 s: $(cat "$work/dns.log")"
    sleep 0.2
  done
}

# --- mxd ----------------------------------------------------------------------------------
# start_mxd DIR SINK_PORT [JAVA_OPTS...] -> sets MXD_PID, MXD_PORT (and the admin listener on
# MXD_ADMIN_PORT when that is set). MXD_JAR, when set, runs that jar instead of this tree's
# build (with the launcher's JVM options), to compare two builds in one run. Relays sink.test (MX lookup
# through mxd dns) for trusted loopback clients, as stock as possible: no greet pause (Postfix
# has none without postscreen) and room for 50+ sessions from one address.
start_mxd() {
  local dir=$1 sink=$2; shift 2
  MXD_PORT=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/mxd.yaml" <<YAML
hostname: mx.relay.test
listen:
  smtp: ["127.0.0.1:$MXD_PORT"]${MXD_ADMIN_PORT:+
  admin: "127.0.0.1:$MXD_ADMIN_PORT"}
data-dir: $dir/data
dns:
  servers: ["127.0.0.1:$DNS_PORT"]
domains:
  relay.test:
    role: local
    mailboxes: [postmaster]
limits:
  max-connections-per-ip: 500
timeouts:
  greet-pause: 0s
delivery:
  port: $sink
YAML
  if [ -n "${MXD_JAR:-}" ]; then
    MXD_LOG_LEVEL=${MXD_LOG_LEVEL:-WARN} java -XX:+UseSerialGC ${MXD_JAVA_OPTS:-} "$@" -jar "$MXD_JAR" serve --config "$dir/mxd.yaml" \
      >"$dir/mxd.log" 2>&1 &
  else
    MXD_LOG_LEVEL=${MXD_LOG_LEVEL:-WARN} MXD_JAVA_OPTS="${MXD_JAVA_OPTS:-} $*" "$bench_root/mxd" serve --config "$dir/mxd.yaml" \
      >"$dir/mxd.log" 2>&1 &
  fi
  MXD_PID=$!
  wait_port "$MXD_PORT" 60 || die "mxd did not listen within 60 s: $(tail -20 "$dir/mxd.log")"
}

stop_pid() { # PID: SIGTERM, up to 30 s, then SIGKILL
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# --- a private Postfix (never /etc/postfix's configuration or /var/spool/postfix) --------
# start_postfix DIR RELAY_PORT -> sets PF_PORT, PF_MASTER, PF_DIR
start_postfix() {
  PF_DIR=$1
  local relay=$2
  PF_PORT=$(free_port)
  mkdir -p "$PF_DIR/etc" "$PF_DIR/queue" "$PF_DIR/data"
  chmod 755 "$PF_DIR"
  chown postfix "$PF_DIR/data"
  cat > "$PF_DIR/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.relay.test
mydomain = relay.test
myorigin = relay.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [127.0.0.1]:$relay
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
maillog_file_prefixes = $PF_DIR
maillog_file = $PF_DIR/postfix.log
CF
  # The stock master.cf services a relay uses, none chrooted; SMTP on its own loopback port.
  cat > "$PF_DIR/etc/master.cf" <<CF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
CF
  postfix -c "$PF_DIR/etc" start >"$PF_DIR/start.out" 2>&1 || die "postfix start failed: $(cat "$PF_DIR/start.out")"
  local deadline=$((SECONDS + 30))
  PF_MASTER=""
  while [ $SECONDS -lt $deadline ]; do
    [ -s "$PF_DIR/queue/pid/master.pid" ] && PF_MASTER=$(tr -d ' \n' < "$PF_DIR/queue/pid/master.pid")
    [ -n "$PF_MASTER" ] && wait_port "$PF_PORT" 1 && return 0
    sleep 0.1
  done
  die "postfix did not listen within 30 s: $(tail -20 "$PF_DIR/postfix.log" 2>/dev/null)"
}

# postfix stop is asynchronous: wait (at most 20 s) until the master and all its daemons are gone.
stop_postfix() {
  [ -n "${PF_MASTER:-}" ] || return 0
  local pids p i
  pids=$(tree_pids "$PF_MASTER")
  postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 || kill "$PF_MASTER" 2>/dev/null || true
  for i in $(seq 1 200); do
    local alive=""
    for p in $pids; do [ -d "/proc/$p" ] && alive="$alive $p"; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for p in $pids; do [ -d "/proc/$p" ] && kill -9 "$p" 2>/dev/null; done
  PF_MASTER=""
}

# Postfix's queue is empty when no queue file is left in incoming/active/deferred/maildrop.
postfix_queue_empty() {
  [ -z "$(find "$PF_DIR/queue/incoming" "$PF_DIR/queue/active" "$PF_DIR/queue/deferred" "$PF_DIR/queue/maildrop" -type f -print -quit 2>/dev/null)" ]
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
