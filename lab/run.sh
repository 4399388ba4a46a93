#!/usr/bin/env bash
# lab/run.sh SCENARIO [OUTDIR]   (SCENARIO: hard-cut, websocket-drain-stuck,
#                                 timewait-surge, clean, or all)
#
# Starts HAProxy (mode tcp), three nginx + app "VMs" on 127.0.0.11-13,
# node-exporter and Prometheus on 127.0.0.1, drives bounded load, runs the
# scenario's deploy steps through the HAProxy stats socket, then stops every
# process it started by PID and leaves an incident folder in OUTDIR
# (default lab/out/SCENARIO). With "all", OUTDIR is a parent folder and each
# scenario gets OUTDIR/SCENARIO.
#
# Traffic stays on 127.0.0.0/8. Missing Debian packages are installed with
# apt-get when running as root; otherwise the run stops with an error.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$LAB_DIR/.." && pwd)
export TZ=${LAB_TZ:-Asia/Tokyo}
[ -e "/usr/share/zoneinfo/$TZ" ] || export TZ=UTC

SCENARIOS="hard-cut websocket-drain-stuck timewait-surge clean"

usage() { echo "usage: lab/run.sh {${SCENARIOS// /|}|all} [OUTDIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage

if [ "$1" = all ]; then
  parent=${2:-$LAB_DIR/out}
  rc=0
  for s in $SCENARIOS; do
    "$0" "$s" "$parent/$s" || rc=1
  done
  exit $rc
fi

SCENARIO=$1
case " $SCENARIOS " in *" $SCENARIO "*) ;; *) usage ;; esac
OUT=${2:-$LAB_DIR/out/$SCENARIO}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac

# Addresses and ports. Chosen away from the Debian services' defaults
# (80, 9090, 9100), which apt-get may start on a systemd host.
FE=127.0.0.1:18080
STATS=127.0.0.1:18404
PROM=127.0.0.1:19090
NODEEXP=127.0.0.1:19100
VMS="vm-a vm-b vm-c"
vm_ip()    { case $1 in vm-a) echo 127.0.0.11;; vm-b) echo 127.0.0.12;; vm-c) echo 127.0.0.13;; esac; }
vm_nginx() { case $1 in vm-a) echo 8081;; vm-b) echo 8082;; vm-c) echo 8083;; esac; }
vm_app()   { case $1 in vm-a) echo 9001;; vm-b) echo 9002;; vm-c) echo 9003;; esac; }

OLD_RELEASE=2026.05.01-0
NEW_RELEASE=2026.05.01-1

now()  { date +%Y-%m-%dT%H:%M:%S%:z; }
log()  { echo "$(now) [lab] $*" >&2; }
die()  { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- packages
find_bin() { # name candidates...
  local c
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
    for d in /usr/sbin /usr/bin /sbin; do [ -x "$d/$c" ] && { echo "$d/$c"; return 0; }; done
  done
  return 1
}

ensure_packages() {
  local missing=()
  find_bin haproxy >/dev/null || missing+=(haproxy)
  find_bin nginx >/dev/null || missing+=(nginx)
  find_bin prometheus >/dev/null || missing+=(prometheus)
  find_bin prometheus-node-exporter node_exporter >/dev/null || missing+=(prometheus-node-exporter)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    die "missing ${missing[*]}: install with apt-get install -y ${missing[*]}"
  fi
}

# ---------------------------------------------------------------- processes
RUN=$(mktemp -d "${TMPDIR:-/tmp}/pmlab.XXXXXX")
PIDS=$RUN/pids
mkdir -p "$PIDS"

# start NAME LOGFILE CMD... : start CMD in the background, record its PID.
start() {
  local name=$1 logf=$2; shift 2
  "$@" >>"$logf" 2>>"$RUN/$name.stderr" &
  echo $! >"$PIDS/$name"
}

pid_of() { cat "$PIDS/$1" 2>/dev/null || true; }
alive()  { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# stop NAME [SIGNAL] [WAIT_SECONDS]: signal the recorded PID, wait, then KILL.
stop() {
  local name=$1 sig=${2:-TERM} wait=${3:-10} p i
  p=$(pid_of "$name")
  [ -n "$p" ] || return 0
  kill -"$sig" "$p" 2>/dev/null || true
  for ((i = 0; i < wait * 10; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true
  rm -f "$PIDS/$name"
}

cleanup() {
  local f
  for f in "$PIDS"/*; do
    [ -e "$f" ] || continue
    stop "$(basename "$f")" TERM 5
  done
  if [ -n "${KEEP_RUN:-}" ]; then log "run dir kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! ss -Hltn "sport = :${1##*:}" | grep -q "${1%:*}:${1##*:}\|\*:${1##*:}"; }

wait_tcp() { # host:port timeout_s
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# http_status HOST:PORT PATH -> prints the status code (or 000).
http_status() {
  local line
  line=$( (exec 3<>"/dev/tcp/${1%:*}/${1##*:}" && printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&3 && timeout 3 head -n1 <&3) 2>/dev/null || true)
  set -- $line
  echo "${2:-000}"
}

# ---------------------------------------------------------------- configs
write_haproxy_cfg() {
  cat >"$RUN/haproxy.cfg" <<EOF
global
    log stdout format rfc5424 local0 info
    stats socket $RUN/haproxy.sock mode 600 level admin
    stats timeout 30s
    maxconn 8000

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 3s
    timeout client 10m
    timeout server 10m

frontend fe_app
    bind $FE
    default_backend be_app

backend be_app
    balance roundrobin
    default-server inter 2s fall 2 rise 2
    server vm-a $(vm_ip vm-a):$(vm_nginx vm-a) check
    server vm-b $(vm_ip vm-b):$(vm_nginx vm-b) check
    server vm-c $(vm_ip vm-c):$(vm_nginx vm-c) check

frontend stats
    mode http
    no log
    bind $STATS
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /stats
EOF
}

# write_nginx_cfg VM KEEPALIVE_TIMEOUT UPSTREAM_KEEPALIVE(0 = none)
write_nginx_cfg() {
  local vm=$1 kt=$2 uk=$3 dir=$RUN/nginx/$1 user_line= ka_line=
  mkdir -p "$dir/logs" "$dir/temp"
  [ "$(id -u)" = 0 ] && user_line="user root;"
  [ "$uk" != 0 ] && ka_line="keepalive $uk;"
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $OUT/nginx/$vm/error.log notice;
events { worker_connections 8192; }
http {
    log_format pm '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" rt=\$request_time uct="\$upstream_connect_time" urt="\$upstream_response_time" us=\$upstream_status ua=\$upstream_addr';
    access_log $OUT/nginx/$vm/access.log pm;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    keepalive_timeout $kt;
    keepalive_requests 10000;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
    upstream app {
        server $(vm_ip "$vm"):$(vm_app "$vm") max_fails=0;
        $ka_line
    }
    server {
        listen $(vm_ip "$vm"):$(vm_nginx "$vm") backlog=4096;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 600s;
        }
    }
}
EOF
}

write_prom_cfg() {
  cat >"$RUN/prometheus.yml" <<EOF
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: haproxy
    static_configs: [{targets: ['$STATS']}]
  - job_name: node
    static_configs: [{targets: ['$NODEEXP']}]
EOF
}

# keep_cfg SRC DST: copy a config into the incident folder with this
# machine's run paths replaced by ${RUN} and ${OUT}.
keep_cfg() { sed -e "s|$RUN|\${RUN}|g" -e "s|$OUT|\${OUT}|g" "$1" >"$2"; }

# ---------------------------------------------------------------- stack
BIN=$RUN/bin

build() {
  mkdir -p "$BIN"
  (cd "$ROOT" && go build -o "$BIN/app" ./lab/app && go build -o "$BIN/loadgen" ./lab/loadgen && go build -o "$BIN/hactl" ./lab/hactl)
}

hactl() { "$BIN/hactl" -sock "$RUN/haproxy.sock" "$@"; }

start_app() { # VM RELEASE
  local vm=$1
  start "app-$vm" "$OUT/app/$vm/app.log" "$BIN/app" -listen "$(vm_ip "$vm"):$(vm_app "$vm")" -name "$vm" -release "$2" -metrics-interval 5s
  wait_tcp "$(vm_ip "$vm"):$(vm_app "$vm")" 10 || die "app $vm did not start"
}

start_stack() {
  local vm
  mkdir -p "$OUT"/{haproxy,deploy,lb,metrics,config,client}
  for vm in $VMS; do mkdir -p "$OUT/nginx/$vm" "$OUT/app/$vm" "$OUT/ss/$vm"; done
  for p in $FE $STATS $PROM $NODEEXP; do port_free "$p" || die "port $p is in use"; done
  for vm in $VMS; do
    port_free "$(vm_ip "$vm"):$(vm_nginx "$vm")" || die "port $(vm_ip "$vm"):$(vm_nginx "$vm") is in use"
    port_free "$(vm_ip "$vm"):$(vm_app "$vm")" || die "port $(vm_ip "$vm"):$(vm_app "$vm") is in use"
  done
  build
  write_haproxy_cfg
  "$HAPROXY_BIN" -c -q -f "$RUN/haproxy.cfg" || die "haproxy config check failed"
  for vm in $VMS; do
    start_app "$vm" "$OLD_RELEASE"
    write_nginx_cfg "$vm" 65s 32
    "$NGINX_BIN" -t -q -p "$RUN/nginx/$vm" -c "$RUN/nginx/$vm/nginx.conf" 2>>"$RUN/nginx-test.stderr" || die "nginx -t failed for $vm: $(cat "$RUN/nginx-test.stderr")"
    start "nginx-$vm" /dev/null "$NGINX_BIN" -p "$RUN/nginx/$vm" -c "$RUN/nginx/$vm/nginx.conf" -g 'daemon off;'
  done
  for vm in $VMS; do wait_tcp "$(vm_ip "$vm"):$(vm_nginx "$vm")" 10 || die "nginx $vm did not start"; done
  start haproxy "$OUT/haproxy/haproxy.log" "$HAPROXY_BIN" -db -f "$RUN/haproxy.cfg"
  wait_tcp "$FE" 10 || die "haproxy did not start"
  if [ -n "$PROMETHEUS" ] && [ -n "$NODE_EXPORTER" ]; then
    start node-exporter /dev/null "$NODE_EXPORTER" --web.listen-address="$NODEEXP" \
      --collector.disable-defaults --collector.sockstat --collector.netstat --collector.loadavg
    write_prom_cfg
    start prometheus /dev/null "$PROMETHEUS" --config.file="$RUN/prometheus.yml" \
      --storage.tsdb.path="$RUN/prom-data" --web.listen-address="$PROM" --log.level=warn
    wait_tcp "$PROM" 20 || log "prometheus did not come up; continuing without it"
  fi
  # Observers, bounded by duration.
  start lbwatch /dev/null "$BIN/hactl" -sock "$RUN/haproxy.sock" watch -backend be_app -interval 2s -duration "${SCEN_MAX}s" -out "$OUT/lb/lb.log"
  start sswatch /dev/null ss_loop "$SCEN_MAX"
  keep_cfg "$RUN/haproxy.cfg" "$OUT/config/haproxy.cfg"
  for vm in $VMS; do keep_cfg "$RUN/nginx/$vm/nginx.conf" "$OUT/config/nginx-$vm.conf"; done
  [ -f "$RUN/prometheus.yml" ] && keep_cfg "$RUN/prometheus.yml" "$OUT/config/prometheus.yml"
  STACK_START=$(now)
  log "stack up ($SCENARIO): haproxy $FE, nginx on $(for vm in $VMS; do printf '%s:%s ' "$(vm_ip "$vm")" "$(vm_nginx "$vm")"; done)"
}

# ss_loop SECONDS: every 3 s, one snapshot per VM (one host: the same kernel).
ss_loop() {
  local end=$((SECONDS + $1)) vm ts
  while [ $SECONDS -lt $end ]; do
    ts=$(now)
    for vm in $VMS; do
      { echo "### $ts $vm ss -s; cat /proc/net/sockstat"; ss -s; cat /proc/net/sockstat; } >>"$OUT/ss/$vm/ss-s.log"
    done
    sleep 3
  done
}
export -f ss_loop now
export OUT VMS

# load NAME ARGS...: start a bounded load generator (its log goes to client/).
load() {
  local name=$1; shift
  start "load-$name" "$OUT/client/loadgen-$name.log" "$BIN/loadgen" "$@"
}

export_metrics() {
  [ -n "$PROMETHEUS" ] && alive prometheus || return 0
  sleep 3 # let the last scrape land
  local s e
  s=$(date -u -d "$STACK_START" +%Y-%m-%dT%H:%M:%SZ)
  e=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  "$BIN/hactl" prom -url "http://$PROM" -start "$s" -end "$e" -step 2s -dir "$OUT/metrics" \
    'haproxy_server_current_sessions=haproxy_server_current_sessions{proxy="be_app"}' \
    'haproxy_server_sessions_rate=rate(haproxy_server_sessions_total{proxy="be_app"}[10s])' \
    'haproxy_server_connection_errors_rate=rate(haproxy_server_connection_errors_total{proxy="be_app"}[10s])' \
    'haproxy_server_aborts_rate=rate(haproxy_server_server_aborts_total{proxy="be_app"}[10s])' \
    'node_sockstat_TCP_tw=node_sockstat_TCP_tw' \
    'node_sockstat_TCP_inuse=node_sockstat_TCP_inuse' \
    || log "query_range export failed"
}

finish() {
  local p
  for p in "$PIDS"/load-*; do [ -e "$p" ] && stop "$(basename "$p")" TERM 15; done
  export_metrics
  stop lbwatch; stop sswatch
  stop haproxy USR1 10 # soft stop: flushes its logs
  for vm in $VMS; do stop "nginx-$vm" QUIT 10; stop "app-$vm" TERM 25; done
  stop prometheus; stop node-exporter
  {
    echo "scenario: $SCENARIO"
    echo "run: $RUN_ID"
    echo "started: $STACK_START"
    echo "ended: $(now)"
    echo "elapsed_seconds: $((SECONDS - T0))"
    echo "tz: $TZ"
    echo "kernel: $(uname -r)"
    echo "haproxy: $("$HAPROXY_BIN" -v | head -n1)"
    echo "nginx: $("$NGINX_BIN" -v 2>&1)"
    [ -n "$PROMETHEUS" ] && echo "prometheus: $("$PROMETHEUS" --version 2>&1 | head -n1)"
    [ -n "$NODE_EXPORTER" ] && echo "node-exporter: $("$NODE_EXPORTER" --version 2>&1 | head -n1)"
  } >"$OUT/RUN.txt"
  log "done: $OUT ($((SECONDS - T0))s)"
}

# truth CASE BACKENDS START_AFTER START_BEFORE: write truth.json.
truth() {
  local case=$1 backends=$2 after=$3 before=$4 quiet=false first b list=
  [ -z "$case" ] && quiet=true
  first=${backends%%,*}
  for b in ${backends//,/ }; do list="$list${list:+, }\"$b\""; done
  {
    echo "{"
    echo "  \"scenario\": \"$SCENARIO\","
    echo "  \"run\": \"$RUN_ID\","
    if [ -n "$case" ]; then
      echo "  \"findings\": ["
      echo "    {\"case\": \"$case\", \"backend\": \"$first\", \"backends\": [$list], \"start_after\": \"$after\", \"start_before\": \"$before\"}"
      echo "  ],"
    else
      echo "  \"findings\": [],"
    fi
    echo "  \"no_warning_or_above\": $quiet"
    echo "}"
  } >"$OUT/truth.json"
}

at() { date -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%S%:z; } # now + N seconds

# ---------------------------------------------------------------- main
ensure_packages
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
HAPROXY_BIN=$(find_bin haproxy) || die "haproxy not found"
NGINX_BIN=$(find_bin nginx) || die "nginx not found"
PROMETHEUS=$(find_bin prometheus || true)
NODE_EXPORTER=$(find_bin prometheus-node-exporter node_exporter || true)
export OUT VMS
export -f vm_ip vm_nginx vm_app

[ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ] && { log "replacing $OUT"; rm -rf "$OUT"; }
mkdir -p "$OUT"
T0=$SECONDS
RUN_ID="$SCENARIO@$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s 2>/dev/null || echo host)"

# shellcheck source=lab/scenarios.sh
. "$LAB_DIR/scenarios.sh"
# shellcheck source=lab/deploy.sh
. "$LAB_DIR/deploy.sh"

"scenario_${SCENARIO//-/_}"
finish
