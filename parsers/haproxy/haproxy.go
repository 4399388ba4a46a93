// Package haproxy parses HAProxy logs: tcplog and httplog session lines and
// the server state, backend and reload messages, with or without a syslog
// envelope.
package haproxy

import (
	"bytes"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/scan"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Format returns the "haproxy" format. Lines may carry an RFC 3164 envelope
// ("May  1 14:02:02 lb01 haproxy[2345]: ...", read with cfg.Year and
// cfg.Loc), an RFC 5424 one, an RFC 3339 stamp as written by "log stdout"
// or rsyslog, or none (raw: the accept date of a session line is then its
// time, plus its total time when known).
//
// Session lines (tcplog and httplog): the termination state's first letter
// C, S, P, R, I, D, K, U, c or s (client/server timeouts), or L but not
// "LR" (a local redirect or stats answer),
// → KindAbortedSession, attr "flags" as logged ("SD", "CD--"). An HTTP
// status >= 500, or -1 on an aborted session → KindHTTPError, attr
// "status". Both carry the server as Backend (cfg.Backend for <NOSRV>) and
// attr "pool" (the backend). Other session lines return true and emit
// nothing.
//
// Messages: "Server POOL/SRV is going DOWN for maintenance" → KindBackendState
// state=removed reason=maintenance; "is DOWN" → down (reason from
// "reason: ..."); DRAIN → draining; "is UP", "leaving forced maintenance" or
// "leaving forced drain" → up; each with attrs pool and, when stated,
// sessions. "backend/proxy POOL has no server available!" →
// KindUpstreamError reason=no_server. A reload ("Reexecuting Master
// process", "Loading success.", "Proxy X started.", "haproxy version is")
// → KindConfigReload program=haproxy, once per reload: such lines within 5 s
// of each other are folded. Health check results return true and emit
// nothing.
//
// The parser implements parsers.BodyParser.
func Format() parsers.Format { return format{} }

type format struct{}

const example = `May  1 14:02:03 lb01 haproxy[2345]: 203.0.113.7:51234 [01/May/2026:14:02:02.512] fe_https~ be_app/vm-c 0/0/0/-1/45 -1 180 - - SD-- 2097/2067/2047/659/0 0/0 "GET /api/v1/cart HTTP/1.1"`

func (format) Name() string { return "haproxy" }
func (format) Description() string {
	return "HAProxy tcplog/httplog and server state messages, syslog-wrapped or raw"
}
func (format) Example() string { return example }

// Detect scores a session line 95, a known HAProxy message 85 (either
// inside any envelope or raw) and another message whose syslog program is
// haproxy 70.
func (format) Detect(line []byte) int {
	body, prog := line, []byte(nil)
	if h, ok := scan.SplitSyslog(line); ok {
		body, prog = h.Body, h.Program
	}
	if _, ok := splitSession(body); ok {
		return 95
	}
	if knownMessage(body) {
		return 85
	}
	if string(prog) == "haproxy" {
		return 70
	}
	return 0
}

// Hints reads the zone and year of an RFC 5424 or RFC 3339 envelope, or
// the year of a session's accept date.
func (format) Hints(line []byte) (parsers.Hints, bool) {
	var h parsers.Hints
	body := line
	if sh, ok := scan.SplitSyslog(line); ok {
		body = sh.Body
		if sh.HasYear {
			h.Year = sh.Time.Year
		}
		if sh.Zoned {
			h.Zone, h.ZoneOK = sh.Offset, true
		}
	}
	if s, ok := splitSession(body); ok && h.Year == 0 {
		if c, ok := acceptDate(s.accept); ok {
			h.Year = c.Year
		}
	}
	return h, h.Year != 0 || h.ZoneOK
}

func (format) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Year == 0 {
		cfg.Year = time.Now().Year()
	}
	return &parser{cfg: cfg}
}

// session holds the fields of a session line.
type session struct {
	accept  []byte // "01/May/2026:14:02:02.512"
	pool    []byte
	server  []byte
	timers  []byte
	status  []byte // nil for tcplog
	flags   []byte
	totalMS int64 // -1 if unknown
}

// nextTok returns the next space-separated token of b.
func nextTok(b []byte) (tok, rest []byte) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return b, nil
	}
	return b[:sp], b[sp+1:]
}

// splitSession parses "client:port [date] fe be/srv timers ..." as tcplog
// (3 timers) or httplog (5 timers).
func splitSession(b []byte) (s session, ok bool) {
	client, b := nextTok(b)
	if len(client) == 0 || bytes.IndexByte(client, ':') < 0 && string(client) != "unix" {
		return s, false
	}
	date, b := nextTok(b)
	if len(date) < 22 || date[0] != '[' || date[len(date)-1] != ']' {
		return s, false
	}
	s.accept = date[1 : len(date)-1]
	if _, ok := acceptDate(s.accept); !ok {
		return s, false
	}
	fe, b := nextTok(b)
	besrv, b := nextTok(b)
	if len(fe) == 0 {
		return s, false
	}
	sl := bytes.IndexByte(besrv, '/')
	if sl <= 0 || sl == len(besrv)-1 {
		return s, false
	}
	s.pool, s.server = besrv[:sl], besrv[sl+1:]
	s.timers, b = nextTok(b)
	n := 1 + bytes.Count(s.timers, []byte{'/'})
	if !timersOK(s.timers) || n != 3 && n != 5 {
		return s, false
	}
	s.totalMS = -1
	last := s.timers[bytes.LastIndexByte(s.timers, '/')+1:]
	if v, ok := scan.Int(last); ok && v >= 0 {
		s.totalMS = v
	}
	if n == 5 {
		s.status, b = nextTok(b)
		if _, ok := scan.Int(s.status); !ok {
			return s, false
		}
		_, b = nextTok(b) // bytes
		_, b = nextTok(b) // captured request cookie
		_, b = nextTok(b) // captured response cookie
		s.flags, b = nextTok(b)
		if len(s.flags) != 4 {
			return s, false
		}
	} else {
		_, b = nextTok(b) // bytes
		s.flags, b = nextTok(b)
		if len(s.flags) != 2 {
			return s, false
		}
	}
	for _, c := range s.flags {
		if c != '-' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return s, false
		}
	}
	conns, _ := nextTok(b)
	if !timersOK(conns) {
		return s, false
	}
	return s, true
}

// timersOK checks a "n/n/-1/n" list.
func timersOK(t []byte) bool {
	if len(t) == 0 {
		return false
	}
	for len(t) > 0 {
		i := bytes.IndexByte(t, '/')
		part := t
		if i >= 0 {
			part, t = t[:i], t[i+1:]
			if len(t) == 0 {
				return false
			}
		} else {
			t = nil
		}
		if len(part) > 0 && part[0] == '+' { // "+" marks truncated values with option logasap
			part = part[1:]
		}
		if _, ok := scan.Int(part); !ok {
			return false
		}
	}
	return true
}

// acceptDate parses "01/May/2026:14:02:02.512".
func acceptDate(b []byte) (scan.Civil, bool) {
	if len(b) < 20 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' {
		return scan.Civil{}, false
	}
	var c scan.Civil
	var ok [6]bool
	var m time.Month
	c.Day, ok[0] = scan.Digits2(b, 0)
	m, ok[1] = scan.Month(b, 3)
	c.Month = int(m)
	c.Year, ok[2] = scan.Digits4(b, 7)
	c.Hour, ok[3] = scan.Digits2(b, 12)
	c.Minute, ok[4] = scan.Digits2(b, 15)
	c.Second, ok[5] = scan.Digits2(b, 18)
	if ok != [6]bool{true, true, true, true, true, true} || !c.Valid() {
		return scan.Civil{}, false
	}
	if len(b) > 20 {
		if b[20] != '.' || len(b) > 30 {
			return scan.Civil{}, false
		}
		scale := 1_000_000_000
		for _, d := range b[21:] {
			if d < '0' || d > '9' {
				return scan.Civil{}, false
			}
			scale /= 10
			c.Nano += int(d-'0') * scale
		}
	}
	return c, true
}

// stripLevel removes a "[NOTICE]   (1) : " prefix of master-worker messages.
func stripLevel(b []byte) []byte {
	if len(b) < 4 || b[0] != '[' {
		return b
	}
	e := bytes.IndexByte(b[:min(len(b), 12)], ']')
	if e < 0 {
		return b
	}
	r := bytes.TrimLeft(b[e+1:], " ")
	if len(r) > 0 && r[0] == '(' {
		if c := bytes.Index(r, []byte(") : ")); c > 0 && c < 12 {
			return r[c+4:]
		}
	}
	return b
}

var (
	pServer    = []byte("Server ")
	pBackup    = []byte("Backup Server ")
	pHealth    = []byte("Health check for ")
	pNoServer  = []byte(" has no server available!")
	pProxy     = []byte("Proxy ")
	pStarted   = []byte(" started.")
	reloadMsgs = [][]byte{[]byte("Reexecuting Master process"), []byte("Loading success."), []byte("haproxy version is ")}
)

// knownMessage reports whether b is a message this parser understands.
func knownMessage(b []byte) bool {
	b = stripLevel(b)
	if bytes.HasPrefix(b, pServer) || bytes.HasPrefix(b, pBackup) || bytes.HasPrefix(b, pHealth) {
		return bytes.IndexByte(b, '/') > 0
	}
	if bytes.HasSuffix(b, pNoServer) || bytes.HasPrefix(b, pProxy) && bytes.HasSuffix(b, pStarted) {
		return true
	}
	for _, m := range reloadMsgs {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}

type parser struct {
	cfg        parsers.Config
	zones      scan.Zones
	lastReload time.Time
	haveReload bool
}

// Parse implements parsers.Parser.
func (p *parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	if h, ok := scan.SplitSyslog(line); ok {
		var t time.Time
		switch {
		case h.Zoned:
			t = scan.Zoned(h.Time.Year, h.Time.Month, h.Time.Day, h.Time.Hour, h.Time.Minute, h.Time.Second, h.Offset, p.zones.Get(h.Offset)).Add(time.Duration(h.Time.Nano))
		case h.HasYear:
			t = h.Time.In(p.cfg.Loc)
		default:
			c := h.Time
			c.Year = p.cfg.Year
			if !c.Valid() {
				return false
			}
			t = c.In(p.cfg.Loc)
		}
		if p.body(h.Body, t, string(h.Host), line, pos, sink, true) {
			return true
		}
		// another line of haproxy's own is in the format but carries nothing
		return bytes.HasPrefix(h.Program, []byte("haproxy"))
	}
	return p.body(line, time.Time{}, "", line, pos, sink, false)
}

// ParseBody implements parsers.BodyParser.
func (p *parser) ParseBody(body []byte, env parsers.Envelope, pos timeline.Pos, sink timeline.Sink) bool {
	line := env.Line
	if line == nil {
		line = body
	}
	return p.body(body, env.Time, env.Host, line, pos, sink, !env.Time.IsZero())
}

// body parses a message whose envelope time is t (when haveTime).
func (p *parser) body(b []byte, t time.Time, host string, line []byte, pos timeline.Pos, sink timeline.Sink, haveTime bool) bool {
	if s, ok := splitSession(b); ok {
		if !haveTime {
			c, _ := acceptDate(s.accept)
			t = c.In(p.cfg.Loc)
			if s.totalMS > 0 {
				t = t.Add(time.Duration(s.totalMS) * time.Millisecond)
			}
		}
		p.session(&s, t, line, pos, sink)
		return true
	}
	if !knownMessage(b) {
		return haveTime && len(b) > 0 && isHAProxyNoise(b)
	}
	if !haveTime {
		return false // a message without a time cannot be placed
	}
	p.message(stripLevel(b), t, line, pos, sink)
	return true
}

// isHAProxyNoise reports lines haproxy writes that carry no signal but are
// clearly its own (so that they are not counted as unrecognised).
func isHAProxyNoise(b []byte) bool {
	b = stripLevel(b)
	for _, p := range [][]byte{[]byte("Stopping "), []byte("Proxy "), []byte("Connect from "), []byte("backend "), []byte("New worker"), []byte("Former worker")} {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	// "client:port [date] fe/bind: SSL handshake failure" and similar
	if c, r := nextTok(b); bytes.IndexByte(c, ':') > 0 {
		d, _ := nextTok(r)
		return len(d) > 2 && d[0] == '['
	}
	return false
}

func (p *parser) backend(server []byte) string {
	if len(server) == 0 || server[0] == '<' {
		return p.cfg.Backend
	}
	return string(server)
}

func (p *parser) session(s *session, t time.Time, line []byte, pos timeline.Pos, sink timeline.Sink) {
	f0 := s.flags[0]
	aborted := false
	switch f0 {
	case 'C', 'S', 'P', 'R', 'I', 'D', 'K', 'U', 'c', 's':
		aborted = true
	case 'L':
		aborted = s.flags[1] != 'R'
	}
	status := int64(0)
	if s.status != nil {
		status, _ = scan.Int(s.status)
	}
	http := status >= 500 || status == -1 && aborted
	if !aborted && !http {
		return
	}
	text := string(line)
	be := p.backend(s.server)
	pool := string(s.pool)
	if aborted {
		sink.Event(timeline.Event{Time: t, Kind: timeline.KindAbortedSession, Backend: be,
			Attrs: map[string]string{"flags": string(s.flags), "pool": pool}, Pos: pos, Text: text, Count: 1})
	}
	if http {
		sink.Event(timeline.Event{Time: t, Kind: timeline.KindHTTPError, Backend: be,
			Attrs: map[string]string{"status": string(s.status), "pool": pool}, Pos: pos, Text: text, Count: 1})
	}
}

func (p *parser) message(b []byte, t time.Time, line []byte, pos timeline.Pos, sink timeline.Sink) {
	switch {
	case bytes.HasPrefix(b, pServer) || bytes.HasPrefix(b, pBackup):
		p.serverState(b, t, line, pos, sink)
	case bytes.HasSuffix(b, pNoServer):
		// "backend be_app has no server available!" / "proxy be_app has ..."
		r := b[:len(b)-len(pNoServer)]
		pool := r[bytes.LastIndexByte(r, ' ')+1:]
		sink.Event(timeline.Event{Time: t, Kind: timeline.KindUpstreamError, Backend: p.cfg.Backend,
			Attrs: map[string]string{"reason": "no_server", "pool": string(pool)}, Pos: pos, Text: string(line), Count: 1})
	case bytes.HasPrefix(b, pHealth):
	default:
		// reload markers
		d := t.Sub(p.lastReload)
		fold := p.haveReload && d >= 0 && d <= 5*time.Second
		p.lastReload, p.haveReload = t, true
		if !fold {
			sink.Event(timeline.Event{Time: t, Kind: timeline.KindConfigReload, Backend: p.cfg.Backend,
				Attrs: map[string]string{"program": "haproxy"}, Pos: pos, Text: string(line), Count: 1})
		}
	}
}

func (p *parser) serverState(b []byte, t time.Time, line []byte, pos timeline.Pos, sink timeline.Sink) {
	b = b[bytes.Index(b, pServer)+len(pServer):]
	name, rest := nextTok(b)
	sl := bytes.IndexByte(name, '/')
	if sl <= 0 {
		return
	}
	pool, server := name[:sl], bytes.TrimRight(name[sl+1:], ",.")
	attrs := map[string]string{"pool": string(pool)}
	has := func(s string) bool { return bytes.Contains(rest, []byte(s)) }
	switch {
	case has("leaving forced maintenance") || has("leaving forced drain") || bytes.HasPrefix(rest, []byte("is UP")):
		attrs["state"] = timeline.StateUp
	case has("maintenance") || has("MAINT"):
		attrs["state"], attrs["reason"] = timeline.StateRemoved, "maintenance"
	case has("DRAIN") || has("enters drain state"):
		// "is DRAIN" (older wording), "enters drain state" (HAProxy 2.x
		// server.c), "state changed to DRAIN by admin".
		attrs["state"] = timeline.StateDraining
	case has("is DOWN") || has("going DOWN"):
		attrs["state"] = timeline.StateDown
		if i := bytes.Index(rest, []byte("reason: ")); i >= 0 {
			r := rest[i+8:]
			if e := bytes.IndexAny(r, ",."); e >= 0 {
				r = r[:e]
			}
			attrs["reason"] = string(r)
		}
	default:
		return
	}
	if i := bytes.Index(rest, []byte(" sessions active")); i > 0 {
		r := rest[:i]
		num := r[bytes.LastIndexByte(r, ' ')+1:]
		if _, ok := scan.Uint(num); ok {
			attrs["sessions"] = string(num)
		}
	}
	sink.Event(timeline.Event{Time: t, Kind: timeline.KindBackendState, Backend: string(server),
		Attrs: attrs, Pos: pos, Text: string(line), Count: 1})
}

// sessionLiterals are in the accept date of every session line
// ("[01/May/2026:14:02:02.512]").
var sessionLiterals = []string{"/jan/", "/feb/", "/mar/", "/apr/", "/may/", "/jun/", "/jul/", "/aug/", "/sep/", "/oct/", "/nov/", "/dec/"}

// messageLiterals are in every message that message handles: pServer (also
// inside pBackup), pNoServer, the reload messages and pStarted. A test
// checks them against those variables.
var messageLiterals = []string{"server ", " has no server available!", "reexecuting master process", "loading success.", "haproxy version is ", " started."}

// Literals implements parsers.Prefilterable. Session lines are kept when
// aborted sessions or 5xx answers are wanted (by the month of their accept
// date: every session line is a candidate), and state, no-server and
// reload messages by their wording.
func (format) Literals(want parsers.Want) ([]parsers.Literal, bool) {
	var out []parsers.Literal
	if want.AnyKind(timeline.KindAbortedSession, timeline.KindHTTPError) {
		for _, l := range sessionLiterals {
			out = append(out, parsers.Literal{Text: l})
		}
	}
	if want.AnyKind(timeline.KindBackendState, timeline.KindUpstreamError, timeline.KindConfigReload) {
		for _, l := range messageLiterals {
			out = append(out, parsers.Literal{Text: l})
		}
	}
	return out, true
}
