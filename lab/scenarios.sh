# lab/scenarios.sh: the scenarios, sourced by lab/run.sh. Each sets
# SCEN_MAX (bound for the observers, seconds), starts the stack and load,
# runs its deploy steps, and writes truth.json.

# hard-cut: vm-c is SIGKILLed and pulled from the pool (maint + shutdown
# sessions) under keep-alive HTTP and WebSocket load, without unbind or
# drain; a hasty rollback repeats the same cut 25 s later.
scenario_hard_cut() {
  SCEN_MAX=120
  start_stack
  load http -mode http -url "http://$FE/api/items" -clients 60 -burst 1 -gap 200ms -conn-requests 50 -duration 85s -max 100000
  load ws -mode ws -url "http://$FE/ws" -clients 150 -ramp 10s -gap 3s -reconnect -duration 85s -max 600
  sleep 25
  dlog "rolling restart start release=$NEW_RELEASE hosts=vm-c,vm-b,vm-a strategy=fast drain=skipped"
  local cut1; cut1=$(now)
  hard_cut vm-c
  sleep 5
  start_release vm-c "$NEW_RELEASE"
  sleep 15
  dlog "rollback start release=$OLD_RELEASE (reason: error rate on vm-c)"
  hard_cut vm-c " (rollback)"
  sleep 5
  start_release vm-c "$OLD_RELEASE"
  dlog "rollback done release=$OLD_RELEASE"
  truth hard-cut-without-drain vm-c "$(date -d "$cut1 - 30 seconds" +%Y-%m-%dT%H:%M:%S%:z)" "$(date -d "$cut1 + 60 seconds" +%Y-%m-%dT%H:%M:%S%:z)"
  sleep 20
}

# websocket-drain-stuck: 300 long-lived WebSocket clients; vm-a is set to
# drain; new connections stop but the sessions stay, and the deploy's
# (shortened) 60 s drain wait times out; the pipeline then stops the app.
scenario_websocket_drain_stuck() {
  SCEN_MAX=140
  start_stack
  load ws -mode ws -url "http://$FE/ws" -clients 300 -ramp 10s -gap 5s -reconnect -duration 115s -max 700
  load http -mode http -url "http://$FE/api/items" -clients 10 -burst 1 -gap 500ms -conn-requests 10 -duration 115s -max 20000
  sleep 20
  dlog "rolling restart start release=$NEW_RELEASE hosts=vm-a,vm-b,vm-c strategy=drain drain_timeout=60s"
  local d0; d0=$(now)
  if drain vm-a 60; then
    dlog "vm-a: drained; continuing"
  else
    dlog "vm-a: drain incomplete after 60s; stopping app (SIGTERM) with sessions still open"
    stop app-vm-a TERM 30
    dlog "vm-a: set haproxy state maint (unbind)"
    ha "set server be_app/vm-a state maint"
    start_release vm-a "$NEW_RELEASE"
    dlog "rolling restart aborted release=$NEW_RELEASE after vm-a (drain timeout)"
  fi
  truth websocket-drain-stuck vm-a "$(date -d "$d0 - 30 seconds" +%Y-%m-%dT%H:%M:%S%:z)" "$(date -d "$d0 + 90 seconds" +%Y-%m-%dT%H:%M:%S%:z)"
  sleep 10
}

# timewait-surge: steady bursty clients on keep-alive; at +40 s a config
# push lowers nginx keepalive_timeout 65s -> 2s and removes the upstream
# keepalive pool (32 -> 0) on every VM, with a reload; the same traffic then
# closes a connection per burst and per upstream request.
scenario_timewait_surge() {
  SCEN_MAX=200
  start_stack
  load http -mode http -url "http://$FE/api/items" -clients 200 -burst 3 -gap 3s -duration 185s -max 200000
  sleep 40
  local c0; c0=$(now)
  dlog "config push nginx: keepalive_timeout 65s -> 2s, upstream keepalive 32 -> 0 (hosts=vm-a,vm-b,vm-c)"
  local vm
  for vm in $VMS; do nginx_push "$vm" 2s 0; done
  dlog "config push done"
  truth timewait-explosion vm-a,vm-b,vm-c "$(date -d "$c0 - 30 seconds" +%Y-%m-%dT%H:%M:%S%:z)" "$(date -d "$c0 + 180 seconds" +%Y-%m-%dT%H:%M:%S%:z)"
  sleep 140
}

# clean: rolling deploy done right, VM by VM: drain, wait for new_conn=0 and
# active_conn<10, graceful shutdown (SIGTERM), unbind (maint), restart,
# health check, rebind (ready). Clients hold connections for ~20 requests.
scenario_clean() {
  SCEN_MAX=150
  start_stack
  load http -mode http -url "http://$FE/api/items" -clients 60 -burst 1 -gap 100ms -conn-requests 20 -duration 110s -max 100000
  sleep 20
  dlog "rolling restart start release=$NEW_RELEASE hosts=vm-a,vm-b,vm-c strategy=drain drain_timeout=60s"
  local vm
  for vm in $VMS; do
    drain "$vm" 60 || die "clean: $vm did not drain"
    graceful_stop "$vm"
    start_release "$vm" "$NEW_RELEASE"
    sleep 5
  done
  dlog "rolling restart done release=$NEW_RELEASE"
  truth "" "" "" ""
  sleep 15
}
