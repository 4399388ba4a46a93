# lab/deploy.sh: deploy pipeline steps, sourced by lab/run.sh. Each step
# writes "TIME [deploy] ..." lines to deploy/deploy.log and acts through the
# HAProxy stats socket (hactl) and by PID on the app processes.

DEPLOY_LOG=$OUT/deploy/deploy.log

dlog() { echo "$(now) [deploy] $*" >>"$DEPLOY_LOG"; }

# ha CMD...: one stats-socket command; a non-empty answer is logged to the
# run's stderr file (HAProxy answers nothing on success).
ha() {
  local out
  out=$(hactl cmd "$*") || die "stats socket: $*"
  [ -z "${out//[$'\n' ]/}" ] || echo "$(now) $* -> $out" >>"$RUN/hactl.answers"
}

# srv_stat VM -> "STATUS SCUR RATE"
srv_stat() { hactl stat be_app "$1"; }

# hard_cut VM [SUFFIX]: SIGKILL the app, then pull the server and its
# sessions out of the pool, without unbind or drain.
hard_cut() {
  local vm=$1 suffix=${2:-}
  dlog "$vm: terminating app (SIGKILL) and removing from pool$suffix"
  stop "app-$vm" KILL 5
  sleep 2
  ha "set server be_app/$vm state maint"
  ha "shutdown sessions server be_app/$vm"
}

# start_release VM RELEASE [VERB]: start the app, wait for /healthz, and put
# the server back (state ready).
start_release() {
  local vm=$1 rel=$2 i code=000
  dlog "$vm: starting release $rel"
  start_app "$vm" "$rel"
  for ((i = 0; i < 50; i++)); do
    code=$(http_status "$(vm_ip "$vm"):$(vm_app "$vm")" /healthz)
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  [ "$code" = 200 ] || die "$vm: health check failed ($code)"
  dlog "$vm: health check passed (GET /healthz 200); set haproxy state ready"
  ha "set server be_app/$vm state ready"
}

# drain VM TIMEOUT_S: set drain, wait for new_conn=0 && active_conn<10.
# Returns 1 on timeout.
drain() {
  local vm=$1 limit=$2 t0=$SECONDS st scur rate el next=10
  dlog "$vm: set haproxy state drain (be_app)"
  ha "set server be_app/$vm state drain"
  read -r st scur rate <<<"$(srv_stat "$vm")"
  dlog "$vm: waiting for drain completion (new_conn=0 && active_conn<10, timeout ${limit}s) active_conn=$scur"
  while :; do
    sleep 1
    read -r st scur rate <<<"$(srv_stat "$vm")"
    el=$((SECONDS - t0))
    if [ "$rate" = 0 ] && [ "$scur" -lt 10 ]; then
      dlog "$vm: drained in ${el}s (active_conn=$scur)"
      return 0
    fi
    if [ "$el" -ge "$limit" ]; then
      dlog "timeout waiting for drain completion (${limit}s)"
      return 1
    fi
    if [ "$el" -ge "$next" ]; then
      dlog "$vm: still waiting for drain: new_conn=$rate active_conn=$scur elapsed=${el}s"
      next=$((next + 10))
    fi
  done
}

# graceful_stop VM: SIGTERM and wait for the app's shutdown hook, then
# unbind (maint).
graceful_stop() {
  local vm=$1 t0=$SECONDS
  dlog "$vm: stopping app (SIGTERM)"
  stop "app-$vm" TERM 30
  dlog "$vm: app stopped in $((SECONDS - t0))s; set haproxy state maint (unbind)"
  ha "set server be_app/$vm state maint"
}

# nginx_push VM KEEPALIVE_TIMEOUT UPSTREAM_KEEPALIVE: rewrite the VM's
# nginx.conf, keep the diff, and reload nginx (SIGHUP to the master PID).
nginx_push() {
  local vm=$1 dir=$RUN/nginx/$1
  cp "$dir/nginx.conf" "$dir/nginx.conf.prev"
  write_nginx_cfg "$vm" "$2" "$3"
  mkdir -p "$OUT/config/changes"
  diff -u --label "nginx-$vm.conf (before)" --label "nginx-$vm.conf (after)" "$dir/nginx.conf.prev" "$dir/nginx.conf" >"$RUN/nginx-$vm.diff" || true
  keep_cfg "$RUN/nginx-$vm.diff" "$OUT/config/changes/nginx-$vm.diff"
  keep_cfg "$dir/nginx.conf" "$OUT/config/nginx-$vm.conf"
  "$NGINX_BIN" -t -q -p "$dir" -c "$dir/nginx.conf" || die "nginx -t failed for $vm"
  dlog "$vm: nginx -t ok; reloading nginx (SIGHUP)"
  kill -HUP "$(pid_of "nginx-$vm")"
}
