// Package msg classifies the free text of log messages (load balancer
// controller lines, deploy pipeline steps, application lifecycle and metric
// lines) into timeline events and samples. It is shared by the kv, spring and
// json formats, which parse their own envelopes and hand the message here.
//
// Classification works on keyword sets, not on one tool's exact wording: a
// message is split once into words (lower-cased, at most 31 bytes each, with
// key=value pairs read separately), each known word sets a flag, and the
// flags decide the signal. Messages without any known word or key cost one
// pass and no allocation.
package msg

import (
	"bytes"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// Options tune a Classifier.
type Options struct {
	// Deploy says the stream is a deploy pipeline log, so that step words
	// (stopping, ready, done) count even on lines without a [deploy] tag or
	// a drain/rollout word.
	Deploy bool
	// StepDedup suppresses a deploy step repeated for the same backend within
	// this long ("stopping app" then "app stopped"). Default 60s; negative
	// disables it.
	StepDedup time.Duration
}

// Line is the context of one message: its time, the stream's default
// backend, and the whole line it came from (quoted as event text).
type Line struct {
	Time    time.Time
	Backend string
	Pos     timeline.Pos
	Raw     []byte
}

// Classifier classifies the messages of one stream. It keeps per-backend
// state so that a backend state is reported only when it changes. It is not
// safe for concurrent use; each parser makes its own with New.
type Classifier struct {
	opts   Options
	states map[string]string
	steps  map[stepKey]time.Time
	// lastStep is the last deploy step seen per backend.
	lastStep map[string]string
	names    []string

	// per-call scratch
	text    string
	textSet bool
	pend    [8]pending
	npend   int
}

type stepKey struct{ backend, step string }

type pending struct {
	m timeline.Metric
	v float64
}

// New returns a Classifier.
func New(opts Options) *Classifier {
	if opts.StepDedup == 0 {
		opts.StepDedup = 60 * time.Second
	}
	return &Classifier{opts: opts, states: map[string]string{}, steps: map[stepKey]time.Time{}}
}

// flags set by words.
const (
	fDrain uint64 = 1 << iota
	fDraining
	fDrained
	fUndrain
	fWait
	fTimeout
	fIncomplete
	fComplete
	fStart
	fRollout
	fRollback
	fBack
	fKill
	fStop
	fReady
	fPool
	fRemove
	fConfig
	fPush
	fSkip
	fAbrupt
	fGraceful
	fShutdown
	fAborted
	fSeconds
	fPause
	fAdd
	fStateWord
	fBackendWord
	fFailed
	fNoDrain
)

// tags of bracketed components.
const (
	tagNone = iota
	tagLB
	tagDeploy
	tagApp
	tagOther
)

// scan is what one pass over a message found.
type scan struct {
	flags      uint64
	tag        int
	backend    []byte // from a key or a "host:" prefix or "backend X"
	state      string // from state= or a bare state word
	timeout    []byte // stated timeout parameter
	firstDur   []byte // first duration-looking token
	drainSkip  bool
	arrows     int
	arrowM     timeline.Metric // metric word awaiting "A -> B"
	arrowSeen  bool
	prefixHost []byte
}

// Classify classifies text, the message of at.Raw, emitting what it carries
// into sink. It reports whether it emitted anything. text and at.Raw are
// only read during the call.
func (c *Classifier) Classify(text []byte, at Line, sink timeline.Sink) bool {
	c.textSet = false
	c.npend = 0
	var s scan
	text = trimSpace(text)
	if len(text) == 0 {
		return false
	}
	if c.ipvs(text, at, sink) {
		return true
	}
	text = c.tag(text, &s)
	c.scanWords(text, &s, at, sink)
	backend := at.Backend
	if len(s.backend) > 0 {
		backend = c.intern(s.backend)
	} else if len(s.prefixHost) > 0 {
		backend = c.intern(s.prefixHost)
	}
	emitted := false
	for i := 0; i < c.npend; i++ {
		sink.Sample(timeline.Sample{Time: at.Time, Metric: c.pend[i].m, Backend: backend, Value: c.pend[i].v, Pos: at.Pos})
		emitted = true
	}
	if s.flags == 0 && s.state == "" && !s.drainSkip {
		return emitted
	}
	if c.lifecycle(&s, text, at, backend, sink) {
		return true
	}
	lb := s.tag == tagLB || (s.state != "" && s.tag != tagDeploy)
	if lb {
		return c.lbState(&s, at, backend, sink) || emitted
	}
	return c.deploy(&s, text, at, backend, sink) || emitted
}

// intern returns a string for a backend name; short names seen before are
// reused to avoid an allocation per line.
func (c *Classifier) intern(b []byte) string {
	for _, k := range c.names {
		if k == string(b) {
			return k
		}
	}
	s := string(b)
	if len(c.names) < 256 {
		c.names = append(c.names, s)
	}
	return s
}

func (c *Classifier) lineText(at Line) string {
	if !c.textSet {
		c.text = string(at.Raw)
		c.textSet = true
	}
	return c.text
}

func (c *Classifier) event(at Line, k timeline.Kind, backend string, attrs map[string]string, sink timeline.Sink) {
	sink.Event(timeline.Event{Time: at.Time, Kind: k, Backend: backend, Attrs: attrs, Pos: at.Pos, Text: c.lineText(at)})
}

// tag strips a leading "[component]" and records what it names.
func (c *Classifier) tag(text []byte, s *scan) []byte {
	if text[0] != '[' {
		return text
	}
	end := bytes.IndexByte(text[:min(len(text), 32)], ']')
	if end < 2 {
		return text
	}
	var buf [32]byte
	name := lowerInto(buf[:0], text[1:end])
	switch string(name) {
	case "lb", "haproxy", "lvs", "ipvs", "nlb", "alb", "elb", "envoy", "f5", "balancer", "loadbalancer", "load-balancer", "controller", "lb-controller", "keepalived", "traefik":
		s.tag = tagLB
	case "deploy", "deployer", "deployment", "rollout", "release", "pipeline", "ci", "cd", "ansible", "jenkins", "argocd", "argo", "spinnaker", "capistrano", "ops":
		s.tag = tagDeploy
	case "app", "application", "service", "ws", "websocket", "jvm":
		s.tag = tagApp
	default:
		s.tag = tagOther
	}
	return trimSpace(text[end+1:])
}

func lowerInto(dst, b []byte) []byte {
	for _, ch := range b {
		dst = append(dst, lower(ch))
	}
	return dst
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func isWordByte(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_'
}

// isValueByte reports bytes that continue a key's unquoted value.
func isValueByte(ch byte) bool {
	return ch > ' ' && ch != ',' && ch != ';' && ch != ')' && ch != '(' && ch != '"' && ch != ']' && ch != '['
}

// scanWords makes the single pass over text: key=value pairs, words and
// "A -> B" arrows.
func (c *Classifier) scanWords(text []byte, s *scan, at Line, sink timeline.Sink) {
	cond := bytes.Contains(text, []byte("&&")) || bytes.Contains(text, []byte("||"))
	depth := 0
	first := true
	prevBackendWord := false
	i := 0
	for i < len(text) {
		ch := text[i]
		switch {
		case ch == '(':
			depth++
			i++
			continue
		case ch == ')':
			if depth > 0 {
				depth--
			}
			i++
			continue
		case ch == '-' && i+1 < len(text) && text[i+1] == '>', ch == '=' && i+1 < len(text) && text[i+1] == '>':
			c.arrow(text, i, i+2, s)
			i += 2
			continue
		case ch == 0xe2 && i+2 < len(text) && text[i+1] == 0x86 && text[i+2] == 0x92: // →
			c.arrow(text, i, i+3, s)
			i += 3
			continue
		case !isWordByte(ch):
			i++
			continue
		}
		// A word or a key.
		j := i
		for j < len(text) && (isWordByte(text[j]) || text[j] == '.' || text[j] == '-') {
			j++
		}
		// Trailing dots and dashes are punctuation.
		for j > i+1 && (text[j-1] == '.' || text[j-1] == '-') {
			j--
		}
		word := text[i:j]
		if j < len(text) && text[j] == '=' && !(j+1 < len(text) && text[j+1] == '>') {
			// key=value
			v := j + 1
			if isTextKey(word) {
				// The message itself: read its words.
				i = v
				first = true
				continue
			}
			if v < len(text) && text[v] == '"' {
				e := bytes.IndexByte(text[v+1:], '"')
				if e < 0 {
					e = len(text) - v - 1
				}
				c.keyValue(word, text[v+1:v+1+e], text[v+1:], s, depth > 0 && cond)
				i = v + 1 + e + 1
			} else {
				e := v
				for e < len(text) && isValueByte(text[e]) {
					e++
				}
				c.keyValue(word, text[v:e], text[v:], s, depth > 0 && cond)
				i = e
			}
			first = false
			prevBackendWord = false
			continue
		}
		if first && j < len(text) && text[j] == ':' && (j+1 == len(text) || text[j+1] == ' ') && hostLike(word) {
			s.prefixHost = word
		}
		if prevBackendWord && hostLike(word) && len(s.backend) == 0 {
			s.backend = afterSlash(word)
		}
		first = false
		prevBackendWord = false
		var buf [32]byte
		if len(word) < len(buf) {
			lw := lowerInto(buf[:0], word)
			f := wordFlag(lw)
			if f == fTimeout {
				// "timeout 1800s" states a parameter; "timeout waiting" or
				// "drain timeout." reports one.
				k := j
				for k < len(text) && (text[k] == ' ' || text[k] == ':' || text[k] == '=') {
					k++
				}
				if k < len(text) && isDigit(text[k]) {
					e := k
					for e < len(text) && isValueByte(text[e]) {
						e++
					}
					s.timeout = text[k:e]
					f = 0
				}
			}
			if f == fBackendWord {
				prevBackendWord = true
			}
			s.flags |= f
			if st := stateWord(lw); st != "" && s.state == "" && (s.tag == tagLB || s.flags&fBackendWord != 0 || len(s.backend) > 0) {
				s.state = st
			}
			if m, ok := arrowMetric(lw); ok && !(j < len(text) && text[j] == '=') {
				s.arrowM = m
			}
			if s.firstDur == nil && isDigit(lw[0]) {
				if _, n, ok := Duration(word); ok && n == len(word) && !allDigits(word) {
					s.firstDur = word
				}
			}
		}
		i = j
	}
	_ = at
	_ = sink
}

// isTextKey reports keys whose value is free text to classify.
func isTextKey(k []byte) bool {
	switch string(k) {
	case "msg", "message", "MSG", "Message", "event", "action", "step", "text", "description", "desc":
		return true
	}
	return false
}

func allDigits(b []byte) bool {
	for _, ch := range b {
		if !isDigit(ch) {
			return false
		}
	}
	return true
}

// hostLike reports whether w looks like a host or backend name: it starts
// with a letter, and holds a digit, '-', '.', '_' or '/'.
func hostLike(w []byte) bool {
	if len(w) < 2 || len(w) > 64 || !(w[0] >= 'a' && w[0] <= 'z' || w[0] >= 'A' && w[0] <= 'Z') {
		return false
	}
	for _, ch := range w {
		if isDigit(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '/' {
			return true
		}
	}
	return false
}

func afterSlash(w []byte) []byte {
	if k := bytes.LastIndexByte(w, '/'); k >= 0 && k+1 < len(w) {
		return w[k+1:]
	}
	return w
}

// arrow handles "A -> B" at text[a:b]: the value after it belongs to a
// metric word seen before ("active_conn dropped 1800 -> 300").
func (c *Classifier) arrow(text []byte, a, b int, s *scan) {
	s.arrows++
	if s.arrowM == "" {
		return
	}
	for b < len(text) && text[b] == ' ' {
		b++
	}
	if v, _, ok := Number(text[b:]); ok {
		c.addSample(s.arrowM, v)
	}
	s.arrowM = ""
}

func (c *Classifier) addSample(m timeline.Metric, v float64) {
	for i := 0; i < c.npend; i++ {
		if c.pend[i].m == m {
			c.pend[i].v = v
			return
		}
	}
	if c.npend < len(c.pend) {
		c.pend[c.npend] = pending{m, v}
		c.npend++
	}
}

// keyValue handles key=val; rest is the text from the value on (durations
// with spaces: "avg_age=2h 11m"). cond says the pair is inside a stated
// condition ("(new_conn=0 && active_conn<10)") and is not an observation.
func (c *Classifier) keyValue(key, val, rest []byte, s *scan, cond bool) {
	var buf [32]byte
	if len(key) >= len(buf) {
		return
	}
	k := lowerInto(buf[:0], key)
	switch string(k) {
	case "backend", "server", "host", "hostname", "upstream", "node", "instance", "target", "srv", "svname", "backend_server":
		if len(val) > 0 && len(val) <= 64 {
			s.backend = afterSlash(val)
		}
		return
	case "state", "status", "server_state", "admin_state", "lb_state", "pool_state":
		var vb [32]byte
		if len(val) < len(vb) {
			if st := stateWord(lowerInto(vb[:0], val)); st != "" {
				s.state = st
			}
		}
		return
	case "strategy", "mode", "drain_mode":
		var vb [32]byte
		if len(val) < len(vb) {
			switch string(lowerInto(vb[:0], val)) {
			case "fast", "force", "forced", "immediate", "kill", "hard", "recreate", "no-drain", "nodrain", "none":
				s.drainSkip = true
			}
		}
		return
	case "drain", "draining", "graceful":
		var vb [32]byte
		if len(val) < len(vb) {
			switch string(lowerInto(vb[:0], val)) {
			case "skip", "skipped", "none", "false", "no", "off", "disabled", "0", "bypass", "bypassed":
				s.drainSkip = true
			}
		}
		return
	case "timeout", "drain_timeout", "drain-timeout", "draintimeout":
		if len(val) > 0 && isDigit(val[0]) {
			s.timeout = val
		}
		return
	}
	if cond {
		return
	}
	m, unit, ok := metricKey(k)
	if !ok {
		return
	}
	var v float64
	var n int
	if unit == unitDuration {
		v, n, ok = Duration(rest)
		if !ok {
			return
		}
		if n == len(rest) || n < len(rest) {
			// a bare number of an age key without unit is seconds
		}
	} else {
		v, n, ok = Number(val)
		if !ok {
			return
		}
		if unit == unitMillis {
			v /= 1000
		}
	}
	c.addSample(m, v)
}

const (
	unitCount = iota
	unitDuration
	unitSeconds
	unitMillis
)

// metricKey maps a lower-case key to a gauge metric.
func metricKey(k []byte) (timeline.Metric, int, bool) {
	switch string(k) {
	case "active_conn", "active_conns", "active_connections", "activeconn", "act_conn", "activeconnections", "conn_active":
		return timeline.MetricActiveConn, unitCount, true
	case "new_conn", "new_conns", "new_connections", "newconn", "conn_new":
		return timeline.MetricNewConn, unitCount, true
	case "ws_sessions", "websocket_sessions", "ws_connections", "ws_open", "ws_active", "open_ws", "websockets":
		return timeline.MetricWSSessions, unitCount, true
	case "avg_age", "ws_avg_age", "avg_session_age", "session_age_avg":
		return timeline.MetricWSAvgAge, unitDuration, true
	case "avg_age_s", "avg_age_sec", "avg_age_seconds", "ws_avg_age_s", "ws_avg_age_seconds":
		return timeline.MetricWSAvgAge, unitSeconds, true
	case "avg_age_ms", "ws_avg_age_ms":
		return timeline.MetricWSAvgAge, unitMillis, true
	case "p99_age", "ws_p99_age", "age_p99", "p99_session_age":
		return timeline.MetricWSP99Age, unitDuration, true
	case "p99_age_s", "p99_age_sec", "p99_age_seconds", "ws_p99_age_s", "ws_p99_age_seconds", "age_p99_s":
		return timeline.MetricWSP99Age, unitSeconds, true
	case "p99_age_ms", "ws_p99_age_ms":
		return timeline.MetricWSP99Age, unitMillis, true
	case "timewait", "time_wait", "tw", "tcp_tw", "tcp_timewait", "tcp_time_wait", "timewait_sockets", "tw_count", "tw_sockets":
		return timeline.MetricTimeWait, unitCount, true
	case "estab", "established", "tcp_estab", "tcp_established", "estab_sockets":
		return timeline.MetricEstablished, unitCount, true
	case "orphan", "orphans", "orphaned", "tcp_orphans", "tcp_orphan":
		return timeline.MetricOrphans, unitCount, true
	case "reset_out", "resets_out", "reset_rate", "rst_out", "resets_per_sec", "reset_per_sec", "rst_rate", "resets_out_per_sec":
		return timeline.MetricResetRate, unitCount, true
	}
	return "", 0, false
}

// MetricKey maps a field name (any case) to the gauge metric it reports.
// seconds is the factor that turns a plain numeric value into the metric's
// unit (1, or 0.001 for *_ms age keys); duration says the key may also
// carry a duration string ("2h 11m").
func MetricKey(key []byte) (m timeline.Metric, factor float64, duration bool, ok bool) {
	var buf [32]byte
	if len(key) >= len(buf) {
		return "", 0, false, false
	}
	m, unit, ok := metricKey(lowerInto(buf[:0], key))
	if !ok {
		return "", 0, false, false
	}
	switch unit {
	case unitMillis:
		return m, 0.001, false, true
	case unitDuration:
		return m, 1, true, true
	}
	return m, 1, false, true
}

// arrowMetric maps a metric word used in prose ("active_conn dropped 1800
// -> 300") to its metric.
func arrowMetric(w []byte) (timeline.Metric, bool) {
	m, unit, ok := metricKey(w)
	if !ok || unit == unitDuration {
		return "", false
	}
	return m, true
}

// stateWord maps a lower-case backend state word to a State constant.
func stateWord(w []byte) string {
	switch string(w) {
	case "active", "ready", "up", "bound", "enabled", "in_pool", "inpool", "healthy", "serving", "online", "in_service", "inservice":
		return timeline.StateBound
	case "draining", "drain", "drain_start", "soft_stop", "softstop":
		return timeline.StateDraining
	case "drained":
		return timeline.StateDrained
	case "out_of_pool", "removed", "maint", "maintenance", "disabled", "offline", "out_of_service", "outofservice", "unbound", "deregistered", "stopped":
		return timeline.StateRemoved
	case "down", "failed", "unhealthy", "dead", "nolb":
		return timeline.StateDown
	}
	return ""
}

// StateWord maps a backend state word (any case: "active", "draining",
// "out_of_pool", "MAINT", "down") to a timeline State constant, or "".
func StateWord(w []byte) string {
	var buf [32]byte
	if len(w) >= len(buf) {
		return ""
	}
	return stateWord(lowerInto(buf[:0], w))
}

// wordFlag maps a lower-case word to its flag.
func wordFlag(w []byte) uint64 {
	switch string(w) {
	case "drain", "drains", "drainage":
		return fDrain
	case "draining":
		return fDraining
	case "drained":
		return fDrained
	case "undrain", "undrained", "undraining":
		return fUndrain
	case "wait", "waiting", "awaiting", "still", "waits":
		return fWait
	case "timeout", "expired", "exceeded", "timed", "deadline":
		return fTimeout
	case "incomplete", "unfinished", "stuck":
		return fIncomplete
	case "complete", "completed", "done", "finished", "finish", "succeeded", "success", "successful", "successfully", "end", "ended":
		return fComplete
	case "start", "started", "starting", "begin", "begins", "beginning", "initiated", "initiating", "commencing", "kickoff", "triggered":
		return fStart
	case "rolling", "rollout", "deploy", "deploying", "deployment", "restart", "upgrade", "upgrading", "redeploy", "rollouts":
		return fRollout
	case "rollback", "revert", "reverting", "reverted", "rollbacks", "roll-back", "rolledback":
		return fRollback
	case "back":
		return fBack
	case "kill", "killed", "killing", "sigkill", "terminating", "terminate", "terminated", "hard-kill", "force-kill":
		return fKill
	case "stop", "stopping", "stopped", "sigterm", "halting":
		return fStop
	case "ready", "enable", "enabled", "enabling", "readd", "rejoin", "rejoined", "bind", "rebind":
		return fReady
	case "adding", "added", "add", "attach", "attached", "register", "registered", "restored", "restore":
		return fAdd
	case "pool", "rotation", "lb", "upstreams":
		return fPool
	case "remove", "removed", "removing", "unbind", "unbound", "deregister", "deregistered", "detach", "detached", "evicted":
		return fRemove
	case "config", "configuration", "conf", "setting", "settings", "sysctl", "nginx.conf", "haproxy.cfg":
		return fConfig
	case "push", "pushed", "pushing", "change", "changed", "changing", "apply", "applied", "applying", "update", "updated", "tweak", "tweaked":
		return fPush
	case "nodrain", "no-drain", "no_drain", "skip-drain", "skip_drain", "without-drain":
		return fNoDrain
	case "skip", "skipped", "skipping", "without", "no", "bypass", "bypassed", "disabled":
		return fSkip
	case "abrupt", "abruptly", "hard", "forcibly", "ungraceful", "ungracefully", "immediately":
		return fAbrupt
	case "graceful", "gracefully":
		return fGraceful
	case "shutdown", "shutting":
		return fShutdown
	case "aborted", "abort", "aborting":
		return fAborted
	case "seconds", "secs":
		return fSeconds
	case "paused", "pause", "deferred", "halted", "suspended", "postponed":
		return fPause
	case "backend", "server", "host", "node", "instance", "target":
		return fBackendWord
	case "failed", "failure", "error":
		return fFailed
	}
	return 0
}

// ipvs recognises keepalived's (and LVS tools') real-server changes:
// "Removing service [10.0.0.3]:8080 from VS [10.0.0.100]:80" (newer versions
// write "[10.0.0.3]:tcp:8080"), and "Adding service ... to VS ...". The
// real server's address is the backend, since the L4 balancer knows no
// host names.
func (c *Classifier) ipvs(text []byte, at Line, sink timeline.Sink) bool {
	var state string
	var rest []byte
	switch {
	case bytes.HasPrefix(text, []byte("Removing service [")):
		state, rest = timeline.StateRemoved, text[len("Removing service ["):]
	case bytes.HasPrefix(text, []byte("Adding service [")):
		state, rest = timeline.StateBound, text[len("Adding service ["):]
	default:
		return false
	}
	end := bytes.IndexByte(rest, ']')
	if end <= 0 || !bytes.Contains(rest, []byte(" VS [")) {
		return false
	}
	addr := rest[:end]
	if port := rest[end+1:]; len(port) > 1 && port[0] == ':' {
		p := port[1:]
		if i := bytes.IndexByte(p, ' '); i >= 0 {
			p = p[:i]
		}
		p = bytes.TrimPrefix(bytes.TrimPrefix(p, []byte("tcp:")), []byte("udp:"))
		addr = append(append(append([]byte(nil), addr...), ':'), p...)
	}
	backend := c.intern(addr)
	c.setState(at, backend, state, nil, sink)
	return true
}
