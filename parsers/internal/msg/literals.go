package msg

import (
	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// emitFlags are the word flags without one of which Classify emits
// nothing: every deploy step needs a drain, undrain, rollout, rollback,
// kill, stop, ready, config or pool word; a lifecycle event needs a
// shutdown word or "seconds" ("Started X in 3.2 seconds"); a backend state
// needs a state word or a pool word. The other flags (start, complete,
// wait, timeout, skip, add, remove, ...) only qualify one of these.
const emitFlags = fDrain | fDraining | fDrained | fUndrain | fRollout | fRollback | fKill | fStop |
	fReady | fConfig | fPool | fShutdown | fSeconds

// flagWords are the words of wordFlag whose flag is in emitFlags. A test
// reads wordFlag's source and fails when a word is missing here.
var flagWords = []string{
	"drain", "drains", "drainage", "draining", "drained",
	"undrain", "undrained", "undraining",
	"rolling", "rollout", "deploy", "deploying", "deployment", "restart", "upgrade", "upgrading", "redeploy", "rollouts",
	"rollback", "revert", "reverting", "reverted", "rollbacks", "roll-back", "rolledback",
	"kill", "killed", "killing", "sigkill", "terminating", "terminate", "terminated", "hard-kill", "force-kill",
	"stop", "stopping", "stopped", "sigterm", "halting",
	"ready", "enable", "enabled", "enabling", "readd", "rejoin", "rejoined", "bind", "rebind",
	"config", "configuration", "conf", "setting", "settings", "sysctl", "nginx.conf", "haproxy.cfg",
	"pool", "rotation", "lb", "upstreams",
	"shutdown", "shutting",
	"seconds", "secs",
}

// stateWords are the words stateWord knows (bare, or as the value of a
// state= key).
var stateWords = []string{
	"active", "ready", "up", "bound", "enabled", "in_pool", "inpool", "healthy", "serving", "online", "in_service", "inservice",
	"draining", "drain", "drain_start", "soft_stop", "softstop",
	"drained",
	"out_of_pool", "removed", "maint", "maintenance", "disabled", "offline", "out_of_service", "outofservice", "unbound", "deregistered", "stopped",
	"down", "failed", "unhealthy", "dead", "nolb",
}

// metricKeys are the keys metricKey knows (key=value pairs, JSON keys, and
// metric words before "A -> B").
var metricKeys = []string{
	"active_conn", "active_conns", "active_connections", "activeconn", "act_conn", "activeconnections", "conn_active",
	"new_conn", "new_conns", "new_connections", "newconn", "conn_new",
	"ws_sessions", "websocket_sessions", "ws_connections", "ws_open", "ws_active", "open_ws", "websockets",
	"avg_age", "ws_avg_age", "avg_session_age", "session_age_avg",
	"avg_age_s", "avg_age_sec", "avg_age_seconds", "ws_avg_age_s", "ws_avg_age_seconds",
	"avg_age_ms", "ws_avg_age_ms",
	"p99_age", "ws_p99_age", "age_p99", "p99_session_age",
	"p99_age_s", "p99_age_sec", "p99_age_seconds", "ws_p99_age_s", "ws_p99_age_seconds", "age_p99_s",
	"p99_age_ms", "ws_p99_age_ms",
	"timewait", "time_wait", "tw", "tcp_tw", "tcp_timewait", "tcp_time_wait", "timewait_sockets", "tw_count", "tw_sockets",
	"estab", "established", "tcp_estab", "tcp_established", "estab_sockets",
	"orphan", "orphans", "orphaned", "tcp_orphans", "tcp_orphan",
	"reset_out", "resets_out", "reset_rate", "rst_out", "resets_per_sec", "reset_per_sec", "rst_rate", "resets_out_per_sec",
}

// ipvsPrefixes are the keepalived messages ipvs reads.
var ipvsPrefixes = []string{"removing service [", "adding service ["}

// Kinds are the event kinds a Classifier emits; its samples are gauge
// metrics of metricKey.
var Kinds = []timeline.Kind{timeline.KindBackendState, timeline.KindDeployStep, timeline.KindConfigChange, timeline.KindAppLifecycle}

// Wanted reports whether want uses anything a Classifier emits.
func Wanted(want parsers.Want) bool {
	if want.AnyKind(Kinds...) {
		return true
	}
	seen := map[timeline.Metric]bool{}
	for _, k := range metricKeys {
		m, _, _ := metricKey([]byte(k))
		if !seen[m] && want.Metric(m) {
			return true
		}
		seen[m] = true
	}
	return false
}

// Literals returns the literals without one of which Classify emits
// nothing: the emitting flag words, the state words and the metric keys
// as whole words, and the keepalived prefixes. The classifier reads words
// and keys at the boundaries parsers.Literal.Word checks (a word is a run
// of letters, digits, '_', '.' and '-' between other bytes), lower-cased,
// so a message it emits from contains one of them. Classifier state (the
// last state and step per backend) changes only on lines it emits from.
// If want uses nothing a Classifier emits, the list is empty.
func Literals(want parsers.Want) []parsers.Literal {
	if !Wanted(want) {
		return nil
	}
	var out []parsers.Literal
	for _, set := range [][]string{flagWords, stateWords, metricKeys} {
		for _, w := range set {
			out = append(out, parsers.Literal{Text: w, Word: true})
		}
	}
	for _, p := range ipvsPrefixes {
		out = append(out, parsers.Literal{Text: p})
	}
	return out
}
