// Package timeline holds the core types of postmortem: the events and samples
// that parsers extract from logs and metrics, and the merged, condensed
// timeline that correlation, rules and templates work on.
//
// Every other package depends on timeline; timeline depends on none of them.
package timeline

import (
	"fmt"
	"time"
)

// Pos is the position of a line in a source: the source path as the user gave
// it (joined with the file's path inside a directory) and the 1-based line
// number inside that physical file. For a compressed file the line number
// counts decompressed lines.
type Pos struct {
	File string `json:"source"`
	Line int64  `json:"line"`
}

// String returns "file:line".
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// IsZero reports whether p is unset.
func (p Pos) IsZero() bool { return p.File == "" && p.Line == 0 }

// Kind names what an Event signals. The set is closed: rules refer to kinds by
// these names, and parsers map whatever wording a log uses onto them.
type Kind string

// Event kinds.
const (
	// KindConnReset is a connection reset seen by a proxy or the kernel.
	// Attr "errno" holds the errno when known ("104").
	KindConnReset Kind = "conn_reset"
	// KindUpstreamError is a failed upstream exchange other than a reset:
	// refused (111), timed out (110), prematurely closed, no live upstreams.
	// Attr "errno" ("111", "110") and Attr "reason" ("refused", "timeout",
	// "premature", "no_live_upstreams", "unreachable").
	KindUpstreamError Kind = "upstream_error"
	// KindAbortedSession is a proxy session that ended abnormally, e.g. an
	// HAProxy termination state whose first letter is S, C, P, R, I or D.
	// Attr "flags" holds the termination state ("SD", "CD--").
	KindAbortedSession Kind = "aborted_session"
	// KindHTTPError is an HTTP 5xx answer (Attr "status") from an access log.
	KindHTTPError Kind = "http_5xx"
	// KindBackendState is a backend state transition. Attr "state" is one of
	// the State constants; Attr "pool" may name the backend pool (be_app).
	KindBackendState Kind = "backend_state"
	// KindDeployStep is a deploy pipeline step. Attr "step" is one of the Step
	// constants; "timeout" holds a drain timeout when stated ("1800s").
	KindDeployStep Kind = "deploy_step"
	// KindConfigReload is a configuration reload of a proxy (nginx
	// "reconfiguring", haproxy reload). Attr "program" names it.
	KindConfigReload Kind = "config_reload"
	// KindConfigChange is a setting change. Attrs "setting", "from", "to".
	KindConfigChange Kind = "config_change"
	// KindAppLifecycle is an application lifecycle event. Attr "phase" is
	// "shutdown_start", "shutdown_done", "started", "killed".
	KindAppLifecycle Kind = "app_lifecycle"
	// KindKernel is a kernel TCP/conntrack message (Attr "reason":
	// "conntrack_full", "syn_flood", "tw_bucket_overflow", "orphans",
	// "port_exhaustion").
	KindKernel Kind = "kernel"
)

// Backend states, the values of Attr "state" on KindBackendState.
const (
	StateBound    = "bound"    // in the pool and taking new connections
	StateDraining = "draining" // no new connections; existing ones stay
	StateDrained  = "drained"  // draining finished: no active connections
	StateRemoved  = "removed"  // left the pool (maintenance, unbind, abrupt removal)
	StateDown     = "down"     // marked down by health checks
	StateUp       = "up"       // back in the pool
)

// Deploy steps, the values of Attr "step" on KindDeployStep.
const (
	StepStart        = "start"
	StepUnbind       = "unbind"
	StepDrainStart   = "drain_start"
	StepDrainWait    = "drain_wait"
	StepDrained      = "drained"
	StepDrainTimeout = "drain_timeout"
	StepStop         = "stop" // app stopped gracefully (SIGTERM)
	StepKill         = "kill" // app killed / removed without grace
	StepBind         = "bind" // put back into the pool
	StepRollback     = "rollback"
	StepEnd          = "end"
	StepConfigPush   = "config_push"
)

// Event is one thing that happened: a line that carries a signal, or a
// condensed burst of such lines. For a burst, Time..End spans it, Count says
// how many lines it condensed, Peak is the highest per-second rate, and
// Evidence holds a few of its lines.
type Event struct {
	Time    time.Time         `json:"time"`
	End     time.Time         `json:"end,omitzero"`
	Kind    Kind              `json:"kind"`
	Backend string            `json:"backend,omitempty"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	// Pos and Text are the line the event came from (the first line of a burst).
	Pos  Pos    `json:"pos"`
	Text string `json:"text"`
	// Count and Peak describe a condensed burst; Count is 1 for a single line.
	Count    int        `json:"count,omitempty"`
	Peak     float64    `json:"peak,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Seq orders events that share a timestamp; it is assigned by the merge.
	Seq int64 `json:"-"`
}

// Attr returns the attribute k, or "".
func (e *Event) Attr(k string) string {
	if e.Attrs == nil {
		return ""
	}
	return e.Attrs[k]
}

// Evidence is a log line quoted as proof, at its position.
type Evidence struct {
	Pos  Pos       `json:"pos"`
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Metric names a measured quantity. Like Kind, the set is closed so that rules
// can name series; parsers map field names onto these.
type Metric string

// Metrics. Counter metrics are per-line increments that the timeline sums
// into per-second buckets; gauge metrics are levels observed at a time.
const (
	// Counters.
	MetricRequests     Metric = "http_requests"    // access log lines
	MetricHTTP5xx      Metric = "http_5xx"         // access lines with status >= 500
	MetricHTTP4xx      Metric = "http_4xx"         // access lines with status 4xx
	MetricUpstream5xx  Metric = "upstream_5xx"     // upstream status >= 500 (or 502/504 from the proxy)
	MetricResets       Metric = "conn_resets"      // reset lines
	MetricUpstreamErrs Metric = "upstream_errors"  // refused/timeout/premature lines
	MetricAborted      Metric = "aborted_sessions" // abnormal proxy terminations
	// Gauges.
	MetricActiveConn  Metric = "active_conn"        // active connections on a backend
	MetricNewConn     Metric = "new_conn"           // new connections per interval on a backend
	MetricResetRate   Metric = "reset_rate"         // resets per second, as reported by an LB
	MetricWSSessions  Metric = "ws_sessions"        // open WebSocket sessions
	MetricWSAvgAge    Metric = "ws_avg_age_seconds" // average WebSocket session age
	MetricWSP99Age    Metric = "ws_p99_age_seconds" // p99 WebSocket session age
	MetricTimeWait    Metric = "timewait"           // sockets in TIME_WAIT
	MetricEstablished Metric = "tcp_established"    // established TCP sockets
	MetricOrphans     Metric = "tcp_orphans"        // orphaned TCP sockets
	// MetricConnectSum is a counter: the sum of upstream connect times
	// (seconds) of the requests in each second. Divided by MetricRequests it
	// gives the mean connect time, which rises when TIME_WAIT piles up.
	MetricConnectSum Metric = "upstream_connect_seconds_sum"
)

// IsCounter reports whether m is a counter metric (summed per second) rather
// than a gauge.
func (m Metric) IsCounter() bool {
	switch m {
	case MetricRequests, MetricHTTP5xx, MetricHTTP4xx, MetricUpstream5xx,
		MetricResets, MetricUpstreamErrs, MetricAborted, MetricConnectSum:
		return true
	}
	return false
}

// Sample is one observation of a metric on a backend. For a counter metric
// Value is the increment (usually 1).
//
// A parser may sum several observations of a counter in the same second
// into one Sample: Value is then their sum, Count how many they were, Time
// the first one's time and Pos the first one's line, which is what a
// counter series keeps of them anyway.
type Sample struct {
	Time    time.Time `json:"time"`
	Metric  Metric    `json:"metric"`
	Backend string    `json:"backend,omitempty"`
	Value   float64   `json:"value"`
	Pos     Pos       `json:"pos"`
	// Count is the number of observations summed into Value; 0 means 1.
	Count int64 `json:"count,omitempty"`
}

// Observations returns the number of observations s stands for: Count, or
// 1 when Count is 0.
func (s Sample) Observations() int64 {
	if s.Count > 0 {
		return s.Count
	}
	return 1
}

// Window is a closed time interval.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t is inside w.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && !t.After(w.End) }

// Duration returns End-Start.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Extend grows w to include t.
func (w *Window) Extend(t time.Time) {
	if t.IsZero() {
		return
	}
	if w.Start.IsZero() || t.Before(w.Start) {
		w.Start = t
	}
	if w.End.IsZero() || t.After(w.End) {
		w.End = t
	}
}

// Sink receives what a parser extracts. Implementations need not be safe for
// concurrent use: each file is parsed by one goroutine into its own sink.
//
// A Sink must copy anything it keeps from Event.Text if the caller reuses the
// underlying buffer; parsers always pass strings they own.
type Sink interface {
	Event(Event)
	Sample(Sample)
}
