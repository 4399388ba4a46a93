package nginx

import (
	"bytes"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/scan"
	"github.com/postmortem-tool/postmortem/timeline"
)

// ErrorFormat returns the "nginx-error" format: nginx's error log,
// "2006/01/02 15:04:05 [level] pid#tid: [*conn ]message". Its timestamps
// carry no zone and are read in cfg.Loc.
//
// Signals, by mechanism rather than one wording:
//   - errno 104 (connection reset by peer) or 32 (broken pipe) on any
//     system call → KindConnReset, attr "errno";
//   - connect refused (111), timed out (110), no route (113), cannot assign
//     requested address (99, port exhaustion), "upstream prematurely closed
//     connection", "no live upstreams" → KindUpstreamError, attrs "reason"
//     and "errno";
//   - a reload (signal process started, SIGHUP, reconfiguring) →
//     KindConfigReload attr program=nginx, once per reload: lines of one
//     reload within 2 s of each other are folded. Log reopening (SIGUSR1)
//     and worker shutdown are not reloads.
//
// Lines at level info or debug (nginx logs client-side closes there) carry
// no signal other than reloads.
//
// Events carry cfg.Backend (or, inside syslog with no backend, the syslog
// host), attr "upstream" (host:port) when the line names one and attr
// "context" with the "while ..." phrase. Other lines in the format return
// true and emit nothing. The parser also implements parsers.BodyParser for
// nginx's own syslog output, with or without the inner timestamp.
func ErrorFormat() parsers.Format { return errorFormat{} }

type errorFormat struct{}

const errorExample = `2026/05/01 14:02:05 [error] 1101#1101: *100072 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 203.0.113.7, server: shop.example.com, request: "GET /api/v1/cart HTTP/1.1", upstream: "http://10.0.0.3:8080/api/v1/cart", host: "shop.example.com"`

func (errorFormat) Name() string        { return "nginx-error" }
func (errorFormat) Description() string { return "nginx error log" }
func (errorFormat) Example() string     { return errorExample }

// Detect scores 90 for "timestamp [level] pid#tid: ", 0 otherwise. On a
// syslog-wrapped body (no timestamp) it scores 70.
func (errorFormat) Detect(line []byte) int {
	if _, ok := scan.SlashTime(line); ok {
		if _, _, ok := splitLevel(line[19:]); ok {
			return 90
		}
		return 0
	}
	if _, _, ok := splitLevel(line); ok {
		return 70
	}
	return 0
}

// Hints returns the year of the line's timestamp (nginx writes no zone).
func (errorFormat) Hints(line []byte) (parsers.Hints, bool) {
	c, ok := scan.SlashTime(line)
	if !ok {
		return parsers.Hints{}, false
	}
	return parsers.Hints{Year: c.Year}, true
}

func (errorFormat) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	return &errorParser{cfg: cfg}
}

// levels nginx writes.
var levels = [...]string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}

// splitLevel reads " [level] pid#tid: " (the leading space optional) and
// returns the level and the message after it.
func splitLevel(b []byte) (level, msg []byte, ok bool) {
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	if len(b) < 3 || b[0] != '[' {
		return nil, nil, false
	}
	e := bytes.IndexByte(b, ']')
	if e < 2 || e > 7 {
		return nil, nil, false
	}
	level = b[1:e]
	known := false
	for _, l := range levels {
		if string(level) == l {
			known = true
			break
		}
	}
	if !known || e+2 > len(b) || b[e+1] != ' ' {
		return nil, nil, false
	}
	r := b[e+2:]
	// pid#tid:
	i := 0
	for i < len(r) && r[i] >= '0' && r[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(r) || r[i] != '#' {
		return nil, nil, false
	}
	i++
	j := i
	for i < len(r) && r[i] >= '0' && r[i] <= '9' {
		i++
	}
	if i == j || i+1 >= len(r) || r[i] != ':' || r[i+1] != ' ' {
		if i == j || i >= len(r) || r[i] != ':' {
			return nil, nil, false
		}
		return level, r[len(r):], true
	}
	msg = r[i+2:]
	// *conn
	if len(msg) > 0 && msg[0] == '*' {
		k := 1
		for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
			k++
		}
		if k > 1 && k < len(msg) && msg[k] == ' ' {
			msg = msg[k+1:]
		}
	}
	return level, msg, true
}

type errorParser struct {
	cfg        parsers.Config
	mc         scan.MinuteCache
	lastReload time.Time
	haveReload bool
}

func (p *errorParser) lineTime(line []byte) (time.Time, bool) {
	if len(line) < 19 {
		return time.Time{}, false
	}
	if base, ok := p.mc.Lookup(line[:16]); ok {
		s, ok := scan.Digits2(line, 17)
		if ok && line[16] == ':' && s <= 60 {
			return base.Add(time.Duration(s) * time.Second), true
		}
		return time.Time{}, false
	}
	c, ok := scan.SlashTime(line)
	if !ok {
		return time.Time{}, false
	}
	base := scan.Local(c.Year, c.Month, c.Day, c.Hour, c.Minute, 0, p.cfg.Loc)
	p.mc.Store(line[:16], base)
	return base.Add(time.Duration(c.Second) * time.Second), true
}

// Parse implements parsers.Parser.
func (p *errorParser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	t, ok := p.lineTime(line)
	if !ok {
		return false
	}
	level, msg, ok := splitLevel(line[19:])
	if !ok {
		return false
	}
	p.classify(t, level, msg, p.cfg.Backend, line, pos, sink)
	return true
}

// ParseBody implements parsers.BodyParser: body is "[level] pid#tid: msg",
// optionally preceded by nginx's own timestamp (read in cfg.Loc; the
// envelope's time is used when it is absent).
func (p *errorParser) ParseBody(body []byte, env parsers.Envelope, pos timeline.Pos, sink timeline.Sink) bool {
	t := env.Time
	rest := body
	if _, ok := scan.SlashTime(body); ok {
		tt, ok := p.lineTime(body)
		if !ok {
			return false
		}
		t, rest = tt, body[19:]
	}
	level, msg, ok := splitLevel(rest)
	if !ok || t.IsZero() {
		return false
	}
	be := p.cfg.Backend
	if be == "" {
		be = env.Host
	}
	line := env.Line
	if line == nil {
		line = body
	}
	p.classify(t, level, msg, be, line, pos, sink)
	return true
}

// classify turns one message into at most one event.
func (p *errorParser) classify(t time.Time, level, msg []byte, backend string, line []byte, pos timeline.Pos, sink timeline.Sink) {
	head := msg
	if c := bytes.Index(msg, []byte(", client: ")); c >= 0 {
		head = msg[:c]
	}
	if p.reload(t, head) {
		sink.Event(timeline.Event{Time: t, Kind: timeline.KindConfigReload, Backend: backend,
			Attrs: map[string]string{"program": "nginx"}, Pos: pos, Text: string(line), Count: 1})
		return
	}
	if string(level) == "info" || string(level) == "debug" {
		return // client-side closes and debugging noise
	}
	errno := findErrno(head)
	var kind timeline.Kind
	reason := ""
	switch {
	case errno == 104 || errno == 32:
		kind = timeline.KindConnReset
	case errno < 0 && bytes.Contains(head, []byte("reset by peer")):
		kind, errno = timeline.KindConnReset, 104
	case errno == 111:
		kind, reason = timeline.KindUpstreamError, "refused"
	case errno == 110 || errno < 0 && bytes.Contains(head, []byte("upstream timed out")):
		kind, reason = timeline.KindUpstreamError, "timeout"
	case errno == 113:
		kind, reason = timeline.KindUpstreamError, "unreachable"
	case errno == 99:
		kind, reason = timeline.KindUpstreamError, "port_exhaustion"
	case bytes.Contains(head, []byte("upstream prematurely closed")):
		kind, reason = timeline.KindUpstreamError, "premature"
	case bytes.Contains(head, []byte("no live upstreams")):
		kind, reason = timeline.KindUpstreamError, "no_live_upstreams"
	default:
		return
	}
	attrs := make(map[string]string, 4)
	if errno >= 0 {
		attrs["errno"] = itoa(errno)
	}
	if reason != "" {
		attrs["reason"] = reason
	}
	if up := upstreamAddr(msg); up != "" {
		attrs["upstream"] = up
	}
	if w := bytes.Index(head, []byte(" while ")); w >= 0 {
		attrs["context"] = string(head[w+7:])
	}
	sink.Event(timeline.Event{Time: t, Kind: kind, Backend: backend, Attrs: attrs, Pos: pos, Text: string(line), Count: 1})
}

// reload reports whether head starts a new reload, folding the lines of one
// reload that come within 2 s of each other.
func (p *errorParser) reload(t time.Time, head []byte) bool {
	if !(bytes.HasPrefix(head, []byte("signal process started")) ||
		bytes.HasSuffix(head, []byte("reconfiguring")) ||
		bytes.Contains(head, []byte("(SIGHUP) received"))) {
		return false
	}
	d := t.Sub(p.lastReload)
	fold := p.haveReload && d >= 0 && d <= 2*time.Second
	p.lastReload, p.haveReload = t, true
	return !fold
}

// findErrno returns N from the first "(N: " in b, or -1.
func findErrno(b []byte) int {
	for {
		i := bytes.IndexByte(b, '(')
		if i < 0 {
			return -1
		}
		b = b[i+1:]
		n, k := 0, 0
		for k < len(b) && k < 4 && b[k] >= '0' && b[k] <= '9' {
			n = n*10 + int(b[k]-'0')
			k++
		}
		if k > 0 && k+1 < len(b) && b[k] == ':' && b[k+1] == ' ' {
			return n
		}
	}
}

// upstreamAddr returns host:port from `upstream: "scheme://host:port/..."`.
func upstreamAddr(msg []byte) string {
	i := bytes.Index(msg, []byte(`upstream: "`))
	if i < 0 {
		return ""
	}
	u := msg[i+11:]
	if q := bytes.IndexByte(u, '"'); q >= 0 {
		u = u[:q]
	}
	if s := bytes.Index(u, []byte("://")); s >= 0 {
		u = u[s+3:]
	}
	if s := bytes.IndexByte(u, '/'); s >= 0 {
		u = u[:s]
	}
	if len(u) == 0 || len(u) > 300 {
		return ""
	}
	return string(u)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 && i > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// errorLiterals are what classify and reload look for, lower-cased: the
// errno of each errno case as "N: " (findErrno reads "(N: ", also with
// leading zeros), and every phrase. A test reads classify's and reload's
// source and fails when one is missing here.
var errorLiterals = []string{
	"104: ", "32: ", "111: ", "110: ", "113: ", "99: ",
	"reset by peer", "upstream timed out", "upstream prematurely closed", "no live upstreams",
	"signal process started", "reconfiguring", "(sighup) received",
}

// Literals implements parsers.Prefilterable: a line without one of the
// errno or phrase literals emits nothing. Reload lines are always kept (a
// reload line's fold state decides how a later line is read).
func (errorFormat) Literals(want parsers.Want) ([]parsers.Literal, bool) {
	if !want.AnyKind(timeline.KindConnReset, timeline.KindUpstreamError, timeline.KindConfigReload) {
		return nil, true
	}
	out := make([]parsers.Literal, len(errorLiterals))
	for i, l := range errorLiterals {
		out[i] = parsers.Literal{Text: l}
	}
	return out, true
}

// CheapReject implements parsers.CheapRejecter: classify rejects a quiet
// line in a few byte searches, about twice as fast as a literal scan
// (internal/prefilter BenchmarkPrefilter).
func (errorFormat) CheapReject() bool { return true }
