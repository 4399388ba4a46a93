// Package metrics brings metric data into the timeline: Prometheus
// query_range JSON exports, Prometheus/OpenMetrics text with timestamps, CSV
// files and (in prom.go) a live Prometheus HTTP API. A query set maps the
// series found there onto the tool's signals (timeline.Metric) and a backend
// label, so that rules, change-point detection and charts treat them like the
// series that logs yield.
package metrics

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/postmortem-tool/postmortem/timeline"
)

// Query maps one PromQL expression, and the series named like it in metric
// files, onto a signal of the tool.
type Query struct {
	// Name identifies the query. A query_range JSON file named NAME.json is
	// read as this query's answer.
	Name string `yaml:"name"`
	// Expr is the PromQL sent to a Prometheus server. "$__rate_interval" in
	// it is replaced by the rate window (4 steps, at least 1m).
	Expr string `yaml:"query"`
	// Match is the metric name (__name__) that selects this query's series
	// in metric files; default Name.
	Match string `yaml:"match"`
	// Rate, for metric files, turns a counter into a per-second rate
	// between consecutive samples (counter resets are handled).
	Rate bool `yaml:"rate"`
	// Signal is the tool metric the series become: a timeline.Metric name
	// (timewait, active_conn, new_conn, reset_rate, ws_sessions, ...) or any
	// other lower-case identifier, which is kept as an extra gauge: charted
	// and searched for change points, not used by the default rules.
	Signal timeline.Metric `yaml:"signal"`
	// BackendLabels are the labels tried in order for the backend; default
	// backend, server, host, vm, hostname, nodename, then instance without
	// its port when that is a name and not an address.
	BackendLabels []string `yaml:"backend_labels"`
	// Backends renames label values to backends ("10.0.0.5:9100": vm-a).
	Backends map[string]string `yaml:"backends"`
}

// defaultBackendLabels are tried when a query names none.
var defaultBackendLabels = []string{"backend", "server", "host", "vm", "hostname", "nodename"}

// DefaultQueries returns the built-in query set for an L4/HAProxy -> nginx ->
// app stack: HAProxy per-server sessions, session rate, connection errors and
// aborts, node_exporter TIME_WAIT, TCP counters, and any app WebSocket gauge.
func DefaultQueries() []Query {
	return []Query{
		{Name: "haproxy_server_current_sessions", Expr: `haproxy_server_current_sessions`, Signal: timeline.MetricActiveConn},
		{Name: "haproxy_server_sessions_rate", Expr: `rate(haproxy_server_sessions_total[$__rate_interval])`, Match: "haproxy_server_sessions_total", Rate: true, Signal: timeline.MetricNewConn},
		{Name: "haproxy_server_aborts_rate", Expr: `rate(haproxy_server_server_aborts_total[$__rate_interval])`, Match: "haproxy_server_server_aborts_total", Rate: true, Signal: timeline.MetricResetRate},
		{Name: "haproxy_server_connection_errors_rate", Expr: `rate(haproxy_server_connection_errors_total[$__rate_interval])`, Match: "haproxy_server_connection_errors_total", Rate: true, Signal: "conn_errors_rate"},
		{Name: "node_sockstat_TCP_tw", Expr: `node_sockstat_TCP_tw`, Signal: timeline.MetricTimeWait},
		{Name: "node_sockstat_TCP_inuse", Expr: `node_sockstat_TCP_inuse`, Signal: "tcp_inuse"},
		{Name: "node_sockstat_TCP_orphan", Expr: `node_sockstat_TCP_orphan`, Signal: timeline.MetricOrphans},
		{Name: "node_netstat_Tcp_CurrEstab", Expr: `node_netstat_Tcp_CurrEstab`, Signal: timeline.MetricEstablished},
		{Name: "node_netstat_Tcp_ActiveOpens_rate", Expr: `rate(node_netstat_Tcp_ActiveOpens[$__rate_interval])`, Match: "node_netstat_Tcp_ActiveOpens", Rate: true, Signal: "tcp_active_opens_rate"},
		{Name: "node_netstat_Tcp_EstabResets_rate", Expr: `rate(node_netstat_Tcp_EstabResets[$__rate_interval])`, Match: "node_netstat_Tcp_EstabResets", Rate: true, Signal: "tcp_estab_resets_rate"},
		{Name: "node_netstat_Tcp_OutRsts_rate", Expr: `rate(node_netstat_Tcp_OutRsts[$__rate_interval])`, Match: "node_netstat_Tcp_OutRsts", Rate: true, Signal: "tcp_out_rsts_rate"},
		{Name: "websocket_sessions", Expr: `{__name__=~".*websocket.*(session|connection).*",__name__!~".*(_total|_created|_bucket|_sum|_count)"}`, Match: "~.*websocket.*(session|connection).*", Signal: timeline.MetricWSSessions},
	}
}

// QueryFile is the YAML form of a queries file:
//
//	replace: false        # true drops the default query set
//	queries:
//	  - name: app_ws
//	    query: sum by (instance) (app_websocket_open_sessions)
//	    signal: ws_sessions
//	    backend_labels: [instance]
//	    backends: {"10.0.0.5:8080": vm-a}
type QueryFile struct {
	Replace bool    `yaml:"replace"`
	Queries []Query `yaml:"queries"`
}

var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LoadQueries parses a queries file and returns base extended by it (a query
// with the name of a base query replaces it), or only its queries when it
// says replace: true. Errors name the file.
func LoadQueries(name string, data []byte, base []Query) ([]Query, error) {
	var qf QueryFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&qf); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	for i, q := range qf.Queries {
		if q.Name == "" {
			return nil, fmt.Errorf("%s: query %d: name is required", name, i+1)
		}
		if q.Expr == "" && q.Match == "" {
			return nil, fmt.Errorf("%s: query %q: give query (PromQL) or match (a metric name in files)", name, q.Name)
		}
		if !identRE.MatchString(string(q.Signal)) {
			return nil, fmt.Errorf("%s: query %q: signal %q: expected a metric name such as timewait, active_conn, ws_sessions", name, q.Name, q.Signal)
		}
		if strings.HasPrefix(q.Match, "~") {
			if _, err := regexp.Compile("^(?:" + q.Match[1:] + ")$"); err != nil {
				return nil, fmt.Errorf("%s: query %q: match: %v", name, q.Name, err)
			}
		}
	}
	var out []Query
	if !qf.Replace {
		out = append(out, base...)
	}
	for _, q := range qf.Queries {
		replaced := false
		for i := range out {
			if out[i].Name == q.Name {
				out[i], replaced = q, true
			}
		}
		if !replaced {
			out = append(out, q)
		}
	}
	return out, nil
}

// matches reports whether a series named metricName (its __name__) belongs
// to q in a metric file.
func (q *Query) matches(metricName string) bool {
	m := q.Match
	if m == "" {
		m = q.Name
	}
	if strings.HasPrefix(m, "~") {
		re, err := regexp.Compile("^(?:" + m[1:] + ")$")
		return err == nil && re.MatchString(metricName)
	}
	return m == metricName
}

// backend picks the backend label of a series.
func (q *Query) backend(labels map[string]string) string {
	pick := func(v string) string {
		if b, ok := q.Backends[v]; ok {
			return b
		}
		return v
	}
	names := q.BackendLabels
	if len(names) == 0 {
		names = defaultBackendLabels
	}
	for _, l := range names {
		if v := labels[l]; v != "" {
			return pick(v)
		}
	}
	if len(q.BackendLabels) > 0 {
		return ""
	}
	if v := labels["instance"]; v != "" {
		if b, ok := q.Backends[v]; ok {
			return b
		}
		host := v
		if h, _, err := net.SplitHostPort(v); err == nil {
			host = h
		}
		if net.ParseIP(host) == nil && host != "localhost" {
			return host
		}
	}
	return ""
}

// expr returns q's PromQL with the rate window filled in for step.
func (q *Query) expr(step time.Duration) string {
	w := 4 * step
	if w < time.Minute {
		w = time.Minute
	}
	return strings.ReplaceAll(q.Expr, "$__rate_interval", promDuration(w))
}

func promDuration(d time.Duration) string {
	s := int64(d / time.Second)
	if s <= 0 {
		s = 1
	}
	return fmt.Sprintf("%ds", s)
}

// labelString renders labels as {a="b",c="d"} sorted by name, for messages.
func labelString(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString(name)
	sb.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%s=%q", k, labels[k])
	}
	sb.WriteByte('}')
	return sb.String()
}
