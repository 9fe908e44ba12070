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
  # dig waits for the benchmark's `mxd dns` to answer (start_dns)
  command -v dig >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bind9-dnsutils >/dev/null; }
  # The launcher builds target/mxd.jar when the sources are newer (a package run would rewrite the
  # shaded jar every time) and then makes its AOT cache (JDK 25 and later), a training of 30-60 s:
  # both now, so that no measured start pays for them or runs into start_mxd's 60 s wait.
  "$bench_root/mxd" --version >/dev/null || die "./mxd --version failed (build or launcher)"
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
client IN A 127.0.0.1
ZONE
  # The loopback clients' names: 127.0.0.1 is client.sink.test, and that name has the address back,
  # so mxd's forward-confirmed client name (one PTR and one A question per new client) gets answers it
  # can cache, as it would from a real resolver. (Postfix, Exim and OpenSMTPD find 127.0.0.1 in
  # /etc/hosts; an unanswered PTR would make mxd ask again on every connection.)
  cat > "$work/127.in-addr.arpa.zone" <<'ZONE'
$ORIGIN 127.in-addr.arpa.
$TTL 3600
@     IN SOA ns1.sink.test. hostmaster.sink.test. 1 3600 600 86400 60
@     IN NS  ns1.sink.test.
1.0.0 IN PTR client.sink.test.
ZONE
  # --rate-limit 0: the default response-rate limit (20 answers a second to one network) would drop
  # answers to mxd when hundreds of new connections a second are looked up, and each drop costs mxd
  # its 3 s resolver timeout.
  java -Xmx64m -jar "$bench_root/target/mxd.jar" dns --zone "$work/sink.test.zone" --zone "$work/127.in-addr.arpa.zone" \
    --listen "127.0.0.1:$DNS_PORT" --rate-limit 0 >"$work/dns.log" 2>&1 &
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
# has none without postscreen) and room for 200+ sessions from one address and its network.
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
  max-connections-per-network: 500
timeouts:
  greet-pause: 0s
delivery:
  port: $sink
YAML
  if [ -n "${MXD_JAR:-}" ]; then
    MXD_LOG_LEVEL=${MXD_LOG_LEVEL:-WARN} "${CG_EXEC[@]}" java -XX:+UseSerialGC ${MXD_JAVA_OPTS:-} "$@" -jar "$MXD_JAR" serve --config "$dir/mxd.yaml" \
      >"$dir/mxd.log" 2>&1 &
  else
    MXD_LOG_LEVEL=${MXD_LOG_LEVEL:-WARN} MXD_JAVA_OPTS="${MXD_JAVA_OPTS:-} $*" "${CG_EXEC[@]}" "$bench_root/mxd" serve --config "$dir/mxd.yaml" \
      >"$dir/mxd.log" 2>&1 &
  fi
  MXD_PID=$!
  wait_port "$MXD_PORT" 60 || die "mxd did not listen within 60 s: $(tail -20 "$dir/mxd.log")"
}

# The JVM that start_mxd started (./mxd execs it, so MXD_PID is the java process): its user and
# kernel CPU so far in clock ticks (CLK_TCK), and the jstat of its JDK.
jvm_ticks() { stat_ticks "/proc/$MXD_PID/stat"; }
# STAT (a /proc/PID/stat or /proc/PID/task/TID/stat): its user and kernel CPU in clock ticks.
stat_ticks() { awk '{sub(/^.*\) /, ""); print $12, $13}' "$1"; }
jstat_bin() { local j; j=$(readlink -f "/proc/$MXD_PID/exe"); echo "${j%/java}/jstat"; }

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
  "${CG_EXEC[@]}" postfix -c "$PF_DIR/etc" start >"$PF_DIR/start.out" 2>&1 || die "postfix start failed: $(cat "$PF_DIR/start.out")"
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

# --- cgroups: CPU and memory of one MTA and every process it starts --------------------------
# Exim ignores SIGCHLD, so its delivery processes' CPU never reaches /proc's cutime; a cgroup sees
# all of it. cg_new NAME makes a fresh cpuacct cgroup (v1) or cgroup (v2, with the cpu controller)
# below this shell's own and sets BENCH_CG to it and CG_EXEC to a prefix that puts the command it
# runs into it (`"${CG_EXEC[@]}" cmd ...` keeps cmd's PID: sh writes its own PID, then execs).
CG_EXEC=() BENCH_CG="" BENCH_CGS=()
declare -A CG_OF=() # MTA name -> its cgroup (start_peer with CG=1)
cg_base() {
  local rel
  if [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
    rel=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3; exit}' /proc/self/cgroup)
    echo "/sys/fs/cgroup/cpuacct${rel%/}"
  elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    rel=$(awk -F: '$1 == 0 {print $3; exit}' /proc/self/cgroup)
    echo "/sys/fs/cgroup${rel%/}"
  else
    return 1
  fi
}
cg_new() { # NAME -> BENCH_CG, CG_EXEC
  local base
  base=$(cg_base) || die "no cpuacct cgroup (v1) nor cgroup v2 with the cpu controller"
  BENCH_CG="$base/mxd-bench.$$.$1"
  [ -d "$BENCH_CG" ] && cg_remove "$BENCH_CG"
  mkdir "$BENCH_CG" || die "cannot create cgroup $BENCH_CG"
  BENCH_CGS+=("$BENCH_CG")
  CG_EXEC=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$BENCH_CG")
}
cg_cpu_ns() { # [CG]: CPU time of every process that ever ran in it, in ns
  local cg=${1:-$BENCH_CG}
  if [ -f "$cg/cpuacct.usage" ]; then cat "$cg/cpuacct.usage"
  else awk '$1 == "usage_usec" {printf "%.0f\n", $2 * 1000}' "$cg/cpu.stat"; fi
}
cg_pids() { cat "${1:-$BENCH_CG}/cgroup.procs" 2>/dev/null || true; }
cg_pss_kb() { # [CG]: sum of Pss over the processes in it
  local total=0 p v
  for p in $(cg_pids "${1:-}"); do
    v=$(awk '/^Pss:/ {print $2; exit}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
    total=$((total + ${v:-0}))
  done
  echo $total
}
# cg_sample_peak CG OUT_FILE: peak PSS (KB) into OUT_FILE every 0.5 s until killed (at most 30 min).
cg_sample_peak() {
  local cg=$1 out=$2 peak=0 v deadline=$((SECONDS + 1800))
  while [ $SECONDS -lt $deadline ] && [ -d "$cg" ]; do
    v=$(cg_pss_kb "$cg")
    [ "$v" -gt "$peak" ] && { peak=$v; echo $peak > "$out"; }
    sleep 0.5
  done
}
cg_wait_empty() { # CG SECONDS: until no process is left in it; 1 if some still are
  local deadline=$((SECONDS + $2))
  while [ -n "$(cg_pids "$1")" ]; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
cg_remove() { # [CG]: SIGKILL what is left in it (only processes this script started), then remove it
  local cg=${1:-$BENCH_CG} p
  [ -n "$cg" ] && [ -d "$cg" ] || return 0
  for p in $(cg_pids "$cg"); do kill -9 "$p" 2>/dev/null || true; done
  cg_wait_empty "$cg" 10 || true
  rmdir "$cg" 2>/dev/null || true
}
cg_remove_all() { local cg; for cg in "${BENCH_CGS[@]}"; do cg_remove "$cg"; done; BENCH_CGS=(); }

# listen_backlog PORT: the backlog of the socket listening on 127.0.0.1:PORT (ss's Send-Q).
listen_backlog() { ss -ltnH "sport = :$1" 2>/dev/null | awk '{print $3; exit}'; }

# --- peers that conflict with the postfix package: unpacked into a private root -------------
PEER_CACHE=${PEER_CACHE:-/var/cache/mxd-bench}
PEER_ROOT="$PEER_CACHE/root"
EXIM_DEBS="exim4-base exim4-daemon-light exim4-config"
OPENSMTPD_DEBS="opensmtpd"
HARAKA_VERSION=${HARAKA_VERSION:-3.3.4}

# peer_unpack: downloads the .debs of Exim and OpenSMTPD once (apt-get download) and unpacks them
# into $PEER_ROOT (never installed: they conflict with postfix); installs the shared libraries
# they need (which do not conflict), their users, and the backlog shim. Idempotent.
peer_unpack() {
  mkdir -p "$PEER_CACHE/debs"
  local p missing=""
  for p in $EXIM_DEBS $OPENSMTPD_DEBS; do ls "$PEER_CACHE/debs/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "bench: downloading$missing into $PEER_CACHE/debs" >&2
    (cd "$PEER_CACHE/debs" && apt-get download $missing >/dev/null 2>&1) \
      || { apt-get update -qq && (cd "$PEER_CACHE/debs" && apt-get download $missing >/dev/null); } || die "apt-get download$missing failed"
  fi
  if [ ! -x "$PEER_ROOT/usr/sbin/exim4" ] || [ ! -x "$PEER_ROOT/usr/sbin/smtpd" ]; then
    mkdir -p "$PEER_ROOT"
    for p in "$PEER_CACHE"/debs/*.deb; do dpkg-deb -x "$p" "$PEER_ROOT"; done
    # the private copy runs as the Exim user, never setuid root
    chmod u-s "$PEER_ROOT/usr/sbin/exim4"
  fi
  local libs
  libs=$(ldd "$PEER_ROOT/usr/sbin/exim4" "$PEER_ROOT/usr/sbin/smtpd" 2>/dev/null | awk '/not found/ {print $1}' | sort -u)
  if [ -n "$libs" ]; then
    local pkgs="" l
    for l in $libs; do
      case $l in
        libidn.so.12) pkgs="$pkgs libidn12" ;;
        libevent-2.1.so.7) pkgs="$pkgs libevent-2.1-7" ;;
        libgnutls-dane.so.0) pkgs="$pkgs libgnutls-dane0" ;;
        libdb-5.3.so) pkgs="$pkgs libdb5.3" ;;
        libpcre2-8.so.0) pkgs="$pkgs libpcre2-8-0" ;;
        libnsl.so.2) pkgs="$pkgs libnsl2" ;;
        *) die "no package known for $l (needed by the unpacked Exim or OpenSMTPD)" ;;
      esac
    done
    echo "bench: installing the shared libraries Exim and OpenSMTPD need:$pkgs" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null; } || die "apt-get install$pkgs failed"
  fi
  local u
  for u in Debian-exim opensmtpd opensmtpq; do # Debian builds OpenSMTPD with these names, not _smtpd/_smtpq
    getent passwd "$u" >/dev/null || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
  done
  # mount points OpenSMTPD's compiled-in paths need (private directories are bound onto them)
  mkdir -p /var/spool/smtpd /var/lib/opensmtpd/empty
  if [ ! -f "$PEER_CACHE/backlog.so" ] || [ "$bench_root/bench/peers/backlog.c" -nt "$PEER_CACHE/backlog.so" ]; then
    gcc -O2 -shared -fPIC -o "$PEER_CACHE/backlog.so" "$bench_root/bench/peers/backlog.c" -ldl || die "cannot build the backlog shim"
  fi
}

# peer_haraka: Haraka from npm, pinned, into $PEER_CACHE/haraka. Idempotent.
peer_haraka() {
  local bin="$PEER_CACHE/haraka/node_modules/.bin/haraka"
  if [ ! -x "$bin" ] || ! "$bin" -v 2>/dev/null | grep -q "$HARAKA_VERSION"; then
    command -v npm >/dev/null || die "npm is needed for Haraka"
    echo "bench: npm install Haraka@$HARAKA_VERSION into $PEER_CACHE/haraka" >&2
    mkdir -p "$PEER_CACHE/haraka"
    npm install --no-audit --no-fund --prefix "$PEER_CACHE/haraka" "Haraka@$HARAKA_VERSION" >"$PEER_CACHE/haraka/npm.log" 2>&1 \
      || die "npm install Haraka failed: $(tail -5 "$PEER_CACHE/haraka/npm.log")"
  fi
}

peer_version() { # NAME: the version string printed in the benchmarks' headers
  case $1 in
    mxd|baseline) echo "$1" ;;
    postfix) echo "Postfix $(postconf -d -h mail_version 2>/dev/null)" ;;
    exim) "$PEER_ROOT/usr/sbin/exim4" -C /dev/null -bV 2>/dev/null | awk '/^Exim version/ {print "Exim " $3; exit}' ;;
    opensmtpd) "$PEER_ROOT/usr/sbin/smtpd" -h 2>&1 | awk '/^version:/ {print $2 " " $3; exit}' ;;
    haraka) echo "Haraka $("$PEER_CACHE/haraka/node_modules/.bin/haraka" -v 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | awk '{print $NF}'), node $(node --version)" ;;
  esac
}

# --- Exim 4.96 (Debian's exim4-daemon-light, unpacked) -----------------------------------------
# start_exim DIR SINK_PORT -> sets EXIM_PORT, EXIM_PID, EXIM_DIR. A private configuration: accepts
# for relay from 127.0.0.0/8 and routes everything to 127.0.0.1:SINK_PORT by the smtp transport;
# the daemon runs in the foreground as the Exim user (a -C configuration keeps no privilege
# anyway, and the unpacked binary is not setuid). Stock otherwise: each message is delivered by a
# process forked right after the 250 (queue runner every 30 min, as Debian starts it). Changed
# from stock: listen backlog 128 (stock 20), smtp_accept_max 500 (stock 20),
# smtp_accept_max_per_host 500, smtp_accept_queue_per_connection 0 (stock 10: from the 11th
# message of a session Exim would only queue, leaving delivery to the 30-minute queue runner).
start_exim() {
  EXIM_DIR=$1
  local sink=$2
  EXIM_PORT=$(free_port)
  mkdir -p "$EXIM_DIR/spool" "$EXIM_DIR/log"
  chown -R Debian-exim:Debian-exim "$EXIM_DIR/spool" "$EXIM_DIR/log"
  chmod 755 "$EXIM_DIR"
  cat > "$EXIM_DIR/exim.conf" <<CONF
exim_path = $PEER_ROOT/usr/sbin/exim4
spool_directory = $EXIM_DIR/spool
log_file_path = $EXIM_DIR/log/%slog
pid_file_path = $EXIM_DIR/spool/exim.pid
primary_hostname = exim.relay.test
qualify_domain = relay.test
daemon_smtp_ports = $EXIM_PORT
local_interfaces = 127.0.0.1
domainlist local_domains =
hostlist relay_from_hosts = 127.0.0.0/8
acl_smtp_rcpt = acl_check_rcpt
smtp_connect_backlog = 128
smtp_accept_max = 500
smtp_accept_max_per_host = 500
smtp_accept_queue_per_connection = 0
never_users = root
keep_environment =

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
  deny message = relay not permitted

begin routers
to_sink:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = remote_smtp

begin transports
remote_smtp:
  driver = smtp
  port = $sink
  allow_localhost

begin retry
*  *  F,2h,15m; G,16h,1h,1.5; F,4d,6h
CONF
  chmod 644 "$EXIM_DIR/exim.conf"
  "${CG_EXEC[@]}" setpriv --reuid=Debian-exim --regid=Debian-exim --init-groups \
    "$PEER_ROOT/usr/sbin/exim4" -C "$EXIM_DIR/exim.conf" -bdf -q30m >"$EXIM_DIR/daemon.out" 2>&1 &
  EXIM_PID=$!
  wait_port "$EXIM_PORT" 30 || die "exim did not listen within 30 s: $(cat "$EXIM_DIR/daemon.out"; tail -5 "$EXIM_DIR/log/paniclog" "$EXIM_DIR/log/mainlog" 2>/dev/null)"
}
stop_exim() { # the daemon and every delivery process it forked (bounded: 30 s, then SIGKILL)
  [ -n "${EXIM_PID:-}" ] || return 0
  stop_pids_of "$EXIM_PID"
  EXIM_PID=""
}

# stop_pids_of ROOT_PID: SIGTERM to ROOT_PID, then waits (at most 30 s) until it and every process
# of its cgroup (when it runs in one of ours) or of its process tree are gone; SIGKILL after that.
stop_pids_of() {
  local root=$1 cg="" pids p i alive
  for p in "${BENCH_CGS[@]}"; do grep -qx "$root" "$p/cgroup.procs" 2>/dev/null && cg=$p; done
  pids=$(tree_pids "$root")
  kill "$root" 2>/dev/null || true
  for i in $(seq 1 300); do
    alive=""
    for p in $pids $( [ -n "$cg" ] && cg_pids "$cg"); do [ -d "/proc/$p" ] && alive="$alive $p"; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for p in $pids $( [ -n "$cg" ] && cg_pids "$cg"); do kill -9 "$p" 2>/dev/null || true; done
  wait "$root" 2>/dev/null || true
}

# --- OpenSMTPD 6.8 (Debian's opensmtpd, unpacked) ----------------------------------------------
# start_opensmtpd DIR SINK_PORT -> sets OSMTPD_PORT, OSMTPD_PID, OSMTPD_DIR. Its queue and chroot
# paths are compiled in (/var/spool/smtpd, /var/lib/opensmtpd/empty): it runs in a private mount
# namespace where DIR's own directories are bound onto them (and onto /run, for its control socket
# /run/smtpd.sock, so that two instances can run at once). `action relay host
# smtp://127.0.0.1:SINK_PORT` for mail from local (loopback) clients, stock otherwise. Its listen
# backlog (5, compiled in) is raised to 128 by bench/peers/backlog.c (LD_PRELOAD).
start_opensmtpd() {
  OSMTPD_DIR=$1
  local sink=$2
  OSMTPD_PORT=$(free_port)
  mkdir -p "$OSMTPD_DIR/spool" "$OSMTPD_DIR/empty" "$OSMTPD_DIR/run"
  chmod 711 "$OSMTPD_DIR/spool"; chmod 755 "$OSMTPD_DIR" "$OSMTPD_DIR/empty"
  cat > "$OSMTPD_DIR/smtpd.conf" <<CONF
listen on 127.0.0.1 port $OSMTPD_PORT
action "sink" relay host "smtp://127.0.0.1:$sink"
match from local for any action "sink"
CONF
  # Its resolver (asr) would ask the machine's name server about 127.0.0.1 for every session (a lost
  # UDP reply costs 5 s): in its namespace it reads /etc/hosts only, as Postfix's getnameinfo does.
  printf 'lookup file\n' > "$OSMTPD_DIR/resolv.conf"
  "${CG_EXEC[@]}" unshare -m --propagation private sh -c '
    mount --bind "$1/spool" /var/spool/smtpd && mount --bind "$1/empty" /var/lib/opensmtpd/empty \
      && mount --bind "$1/resolv.conf" /etc/resolv.conf && mount --bind "$1/run" /run || exit 1
    shift; exec "$@"' sh "$OSMTPD_DIR" \
    env LD_PRELOAD="$PEER_CACHE/backlog.so" "$PEER_ROOT/usr/sbin/smtpd" -d -f "$OSMTPD_DIR/smtpd.conf" \
    >"$OSMTPD_DIR/smtpd.log" 2>&1 &
  OSMTPD_PID=$!
  wait_port "$OSMTPD_PORT" 30 || die "opensmtpd did not listen within 30 s: $(tail -20 "$OSMTPD_DIR/smtpd.log")"
}
stop_opensmtpd() {
  [ -n "${OSMTPD_PID:-}" ] || return 0
  stop_pids_of "$OSMTPD_PID"
  OSMTPD_PID=""
}

# --- Haraka (npm) -------------------------------------------------------------------------------
# start_haraka DIR SINK_PORT -> sets HARAKA_PORT, HARAKA_PID, HARAKA_DIR. A private instance made
# by `haraka -i DIR`: the relay plugin marks 127.0.0.0/8 as relaying clients, so accepted mail goes
# to Haraka's own on-disk outbound queue (its stock way of relaying with a queue: the queue_outbound
# hook falls through to `outbound`); queue/smtp_forward only answers outbound's get_mx for sink.test
# with 127.0.0.1:SINK_PORT (enable_outbound stays off, so it never forwards in-line). One node
# process as `haraka -i` writes it (nodes unset); Node's listen backlog is 511.
start_haraka() {
  HARAKA_DIR=$1
  local sink=$2 bin="$PEER_CACHE/haraka/node_modules/.bin/haraka"
  HARAKA_PORT=$(free_port)
  rm -rf "$HARAKA_DIR"
  "$bin" -i "$HARAKA_DIR" >/dev/null 2>&1 || die "haraka -i $HARAKA_DIR failed"
  printf 'relay\nqueue/smtp_forward\n' > "$HARAKA_DIR/config/plugins"
  printf '[relay]\nacl=true\n' > "$HARAKA_DIR/config/relay.ini"
  echo "127.0.0.0/8" > "$HARAKA_DIR/config/relay_acl_allow"
  printf '[main]\nhost=127.0.0.1\nport=%s\nenable_outbound=false\n\n[sink.test]\nhost=127.0.0.1\nport=%s\n' "$sink" "$sink" \
    > "$HARAKA_DIR/config/smtp_forward.ini"
  printf 'listen=127.0.0.1:%s\n' "$HARAKA_PORT" > "$HARAKA_DIR/config/smtp.ini"
  echo "haraka.relay.test" > "$HARAKA_DIR/config/me"
  printf '[main]\nlevel=warn\n' > "$HARAKA_DIR/config/log.ini"
  mkdir -p "$HARAKA_DIR/queue"
  # Haraka looks every client's name up in DNS (c-ares, never /etc/hosts): in its own mount
  # namespace its resolv.conf names 127.0.0.1, where no name server listens, so the lookup fails at
  # once on loopback instead of asking the machine's name server.
  printf 'nameserver 127.0.0.1\n' > "$HARAKA_DIR/resolv.conf"
  "${CG_EXEC[@]}" unshare -m --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf || exit 1; shift; exec "$@"' \
    sh "$HARAKA_DIR/resolv.conf" "$bin" -c "$HARAKA_DIR" >"$HARAKA_DIR/haraka.log" 2>&1 &
  HARAKA_PID=$!
  wait_port "$HARAKA_PORT" 60 || die "haraka did not listen within 60 s: $(tail -20 "$HARAKA_DIR/haraka.log")"
}
stop_haraka() {
  [ -n "${HARAKA_PID:-}" ] || return 0
  stop_pids_of "$HARAKA_PID"
  HARAKA_PID=""
}

# --- every MTA behind one pair of functions (relay.sh, latency.sh) -----------------------------
# start_peer NAME DIR SINK_PORT -> PEER_PORT, PEER_PID (the root process). Inside a fresh cgroup
# (BENCH_CG) when CG=1. NAME: mxd, baseline (mxd from $BASELINE_JAR), postfix, exim, opensmtpd, haraka.
start_peer() {
  local name=$1 dir=$2 sink=$3
  CG_EXEC=() BENCH_CG=""
  if [ "${CG:-0}" = 1 ]; then cg_new "$name"; CG_OF[$name]=$BENCH_CG; fi
  case $name in
    mxd) start_mxd "$dir" "$sink"; PEER_PORT=$MXD_PORT PEER_PID=$MXD_PID ;;
    baseline) MXD_JAR=$BASELINE_JAR start_mxd "$dir" "$sink"; PEER_PORT=$MXD_PORT PEER_PID=$MXD_PID ;;
    postfix) start_postfix "$dir" "$sink"; PEER_PORT=$PF_PORT PEER_PID=$PF_MASTER ;;
    exim) start_exim "$dir" "$sink"; PEER_PORT=$EXIM_PORT PEER_PID=$EXIM_PID ;;
    opensmtpd) start_opensmtpd "$dir" "$sink"; PEER_PORT=$OSMTPD_PORT PEER_PID=$OSMTPD_PID ;;
    haraka) start_haraka "$dir" "$sink"; PEER_PORT=$HARAKA_PORT PEER_PID=$HARAKA_PID ;;
    *) die "unknown MTA $name (mxd baseline postfix exim opensmtpd haraka)" ;;
  esac
}
stop_peer() { # NAME: stops it, waits (bounded) for all its processes, removes its cgroup
  case $1 in
    mxd|baseline) [ -n "${MXD_PID:-}" ] && stop_pids_of "$MXD_PID"; MXD_PID="" ;;
    postfix) stop_postfix ;;
    exim) stop_exim ;;
    opensmtpd) stop_opensmtpd ;;
    haraka) stop_haraka ;;
  esac
  [ -n "${CG_OF[$1]:-}" ] && cg_remove "${CG_OF[$1]}"
  CG_OF[$1]=""
}
stop_all_peers() { local m; for m in mxd postfix exim opensmtpd haraka; do stop_peer "$m"; done; cg_remove_all; }
peers_prepare() { # MTAS...: installs what the named peers need
  local m
  for m in "$@"; do
    case $m in exim|opensmtpd) peer_unpack ;; haraka) peer_haraka ;; esac
  done
}

# fsync_probe NAME PORT OUT: whether the MTA on PORT fsyncs before its reply to DATA, measured:
# strace follows every process of its cgroup (BENCH_CG, forks included) while one session at a
# time sends 20 messages; a reply "250" after a "354" counts as durable when an fsync-family call
# (fsync, fdatasync, sync_file_range, syncfs, sync, msync) began in between, in any of its
# processes. Writes one line to OUT and prints it.
fsync_probe() {
  local name=$1 port=$2 out=$3 trace="$3.strace" pids=() p spid i
  command -v strace >/dev/null || { apt-get install -y -qq strace >/dev/null 2>&1 || die "strace is needed"; }
  for p in $(cg_pids); do pids+=(-p "$p"); done
  [ ${#pids[@]} -gt 0 ] || die "fsync_probe: no process in the cgroup of $name (CG=1 start_peer first)"
  strace -f -ttt -qq -s 40 -e trace=fsync,fdatasync,sync_file_range,syncfs,sync,msync,write,writev,sendto,sendmsg \
    -o "$trace" "${pids[@]}" 2>/dev/null &
  spid=$!
  sleep 2 # strace attaches every thread of every process first
  timeout 120 smtp-source -s 1 -m 20 -l 4096 -f probe@client.test -t user@sink.test "127.0.0.1:$port" >/dev/null 2>&1 \
    || echo "  (fsync probe: smtp-source failed against $name)" >&2
  sleep 1
  kill -INT "$spid" 2>/dev/null || true
  for i in $(seq 1 100); do [ -d "/proc/$spid" ] || break; sleep 0.1; done
  kill -9 "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
  awk -v name="$name" '
    { call = $3; sub(/^<\.\.\. /, "", call); sub(/\(.*/, "", call); sub(/ .*/, "", call) }
    $3 ~ /^<\.\.\./ { next } # a resumed call was counted when it began
    call ~ /^(fsync|fdatasync|sync_file_range|syncfs|sync|msync)$/ { syncs++; if (indata) synced = 1; next }
    /"354 / { indata = 1; synced = 0; next }
    indata && /"250[ -]/ { replies++; if (synced) durable++; indata = 0 }
    END {
      printf "%-9s fsync before 250: %s (%d of %d replies to DATA after an fsync-family call; %d such calls for 20 messages)\n",
        name, (replies > 0 && durable == replies) ? "yes" : (durable > 0 ? "partly" : "no"), durable, replies, syncs
    }' "$trace" | tee -a "$out"
  rm -f "$trace"
}
