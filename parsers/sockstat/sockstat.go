// Package sockstat parses socket-count snapshots collected on a host:
// `ss -s` output and /proc/net/sockstat, timed by a header line
// (`### 2026-05-01T00:00:00+09:00 vm-b ss -s; cat /proc/net/sockstat`) or a
// preceding timestamp line (RFC 3339, `date`, `date -R`, `=== ... ===`);
// counting pipelines such as `netstat -an | grep TIME_WAIT | wc -l` followed
// by the bare number they print; and `TIMESTAMP 68321` or
// `TIMESTAMP timewait=68321` lines.
//
// Each snapshot yields at most one MetricTimeWait sample: the first of
// sockstat's `tw` and ss -s's `timewait` seen in it. Both are the same
// kernel counter (ss -s reads /proc/net/sockstat), so whichever comes first
// is kept; a later one is ignored. MetricEstablished comes from ss -s
// `estab`, MetricOrphans from `orphan`/`orphaned`.
package sockstat

import (
	"bytes"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/msg"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Format returns the "sockstat" format.
func Format() parsers.Format { return format{} }

type format struct{}

func (format) Name() string { return "sockstat" }

func (format) Description() string {
	return "ss -s / /proc/net/sockstat snapshots and TIME_WAIT counts, timed by header lines"
}

func (format) Example() string {
	return "TCP: inuse 1840 orphan 0 tw 68321 alloc 2010 mem 321"
}

// Detect scores snapshot lines high and timestamp/header lines moderately.
func (format) Detect(line []byte) int {
	switch {
	case bytes.HasPrefix(line, []byte("TCP: inuse ")), bytes.HasPrefix(line, []byte("TCP:")) && bytes.Contains(line, []byte("timewait")):
		return 95
	case bytes.HasPrefix(line, []byte("sockets: used")), bytes.HasPrefix(line, []byte("Transport Total")), bytes.HasPrefix(line, []byte("Total: ")):
		return 90
	case bytes.HasPrefix(line, []byte("###")) && (bytes.Contains(line, []byte("ss ")) || bytes.Contains(line, []byte("sockstat"))):
		return 90
	case isCommand(line):
		return 70
	}
	if k := kindOf(line); k == kTable || k == kProto {
		return 60
	}
	return 0
}

// Hints reads the zone and year of a timestamp line.
func (format) Hints(line []byte) (parsers.Hints, bool) {
	b := stripDecor(line)
	if off, zok, year, ok := msg.ISOZone(b); ok {
		return parsers.Hints{Zone: off, ZoneOK: zok, Year: year}, true
	}
	var c msg.Clock
	if t, _, ok := c.CTime(b, nil); ok {
		return parsers.Hints{Year: t.Year()}, true
	}
	return parsers.Hints{}, false
}

// New returns a parser for one stream.
func (format) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	return &parser{cfg: cfg, host: cfg.Backend}
}

type parser struct {
	cfg   parsers.Config
	clock msg.Clock
	t     time.Time // time of the current snapshot; zero before any
	host  string
	twOK  bool // the current snapshot already gave a TIME_WAIT count
	count bool // the last command counts TIME_WAIT sockets
}

const (
	kNone = iota
	kTable
	kProto
)

// kindOf classifies lines that are part of a snapshot but carry nothing.
func kindOf(line []byte) int {
	for _, p := range [...]string{"RAW", "UDP", "TCP", "INET", "FRAG", "TCP6", "UDP6", "RAW6", "FRAG6", "UDPLITE", "UDPLITE6"} {
		if bytes.HasPrefix(line, []byte(p)) && len(line) > len(p) {
			switch line[len(p)] {
			case '\t', ' ':
				return kTable
			case ':':
				return kProto
			}
		}
	}
	return kNone
}

func isCommand(line []byte) bool {
	b := bytes.TrimLeft(line, "$# ")
	for _, p := range [...]string{"ss ", "netstat ", "cat /proc/net/sockstat", "wc -l", "sysctl "} {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return bytes.Equal(b, []byte("ss")) || (bytes.Contains(b, []byte("| wc -l")) && len(b) < 200)
}

func countsTimeWait(line []byte) bool {
	if !bytes.Contains(line, []byte("wc -l")) {
		return false
	}
	for _, k := range [...]string{"time-wait", "TIME_WAIT", "TIME-WAIT", "time_wait", "timewait", "TIMEWAIT"} {
		if bytes.Contains(line, []byte(k)) {
			return true
		}
	}
	return false
}

// stripDecor removes header decorations: "###", "===", "--", "#", "[".
func stripDecor(b []byte) []byte {
	b = bytes.TrimLeft(b, "#=-[ \t")
	return bytes.TrimRight(b, "=]- \t")
}

// Parse parses one line.
func (p *parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 {
		// Blank lines separate the parts of a snapshot.
		return !p.t.IsZero()
	}
	if p.header(line, pos, sink) {
		return true
	}
	if isCommand(line) {
		p.count = countsTimeWait(line)
		return true
	}
	switch {
	case bytes.HasPrefix(line, []byte("TCP: inuse ")):
		// /proc/net/sockstat
		if p.t.IsZero() {
			return false
		}
		p.emitField(line, "tw", timeline.MetricTimeWait, pos, sink)
		p.emitField(line, "orphan", timeline.MetricOrphans, pos, sink)
		return true
	case bytes.HasPrefix(line, []byte("TCP:")) && bytes.IndexByte(line, '(') > 0:
		// ss -s: TCP:   1411 (estab 503, closed 868, orphaned 0, timewait 839)
		if p.t.IsZero() {
			return false
		}
		p.emitField(line, "estab", timeline.MetricEstablished, pos, sink)
		p.emitField(line, "orphaned", timeline.MetricOrphans, pos, sink)
		p.emitField(line, "timewait", timeline.MetricTimeWait, pos, sink)
		return true
	case bytes.HasPrefix(line, []byte("Total: ")), bytes.HasPrefix(line, []byte("sockets: used")), bytes.HasPrefix(line, []byte("Transport Total")):
		return !p.t.IsZero()
	}
	if kindOf(line) != kNone {
		return !p.t.IsZero()
	}
	if v, n, ok := msg.Number(line); ok && n == len(line) && p.count {
		if p.t.IsZero() {
			return false
		}
		p.count = false
		p.sample(timeline.MetricTimeWait, v, pos, sink)
		return true
	}
	return false
}

// emitField emits the number after "name " in line, once per snapshot for
// TIME_WAIT.
func (p *parser) emitField(line []byte, name string, m timeline.Metric, pos timeline.Pos, sink timeline.Sink) {
	i := 0
	for {
		k := bytes.Index(line[i:], []byte(name))
		if k < 0 {
			return
		}
		k += i
		e := k + len(name)
		if (k == 0 || line[k-1] == ' ' || line[k-1] == '(' || line[k-1] == ',') && e < len(line) && line[e] == ' ' {
			v, _, ok := msg.Number(line[e+1:])
			if !ok {
				return
			}
			if m == timeline.MetricTimeWait {
				if p.twOK {
					return
				}
				p.twOK = true
			}
			p.sample(m, v, pos, sink)
			return
		}
		i = e
	}
}

func (p *parser) sample(m timeline.Metric, v float64, pos timeline.Pos, sink timeline.Sink) {
	sink.Sample(timeline.Sample{Time: p.t, Metric: m, Backend: p.host, Value: v, Pos: pos})
}

// header recognises a line that starts a snapshot with a time: a decorated
// or bare timestamp, optionally followed by a host, a command, a number or
// key=value counts.
func (p *parser) header(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	b := stripDecor(line)
	t, n, ok := p.clock.ISO(b, p.cfg.Loc)
	if !ok {
		t, n, ok = p.clock.CTime(b, p.cfg.Loc)
	}
	if !ok {
		return false
	}
	if n < len(b) && b[n] != ' ' && b[n] != '\t' && b[n] != ']' {
		return false
	}
	p.t, p.twOK, p.count = t, false, false
	rest := bytes.TrimLeft(b[n:], "] \t")
	if len(rest) == 0 {
		return true
	}
	if v, m, ok := msg.Number(rest); ok && m == len(rest) {
		p.twOK = true
		p.sample(timeline.MetricTimeWait, v, pos, sink)
		return true
	}
	if bytes.IndexByte(rest, '=') > 0 {
		for _, f := range bytes.Fields(rest) {
			k := bytes.IndexByte(f, '=')
			if k <= 0 {
				continue
			}
			mt, factor, _, ok := msg.MetricKey(f[:k])
			if !ok {
				continue
			}
			if v, m, ok := msg.Number(f[k+1:]); ok && m == len(f)-k-1 {
				if mt == timeline.MetricTimeWait {
					p.twOK = true
				}
				p.sample(mt, v*factor, pos, sink)
			}
		}
		return true
	}
	// "### TIME vm-b ss -s; cat /proc/net/sockstat": a host then a command.
	first := rest
	if sp := bytes.IndexAny(rest, " \t;"); sp >= 0 {
		first = rest[:sp]
	}
	if !isCommand(rest) && hostName(first) {
		p.host = string(first)
		rest = bytes.TrimLeft(rest[len(first):], " \t")
	}
	p.count = countsTimeWait(rest)
	return true
}

// hostName reports whether w looks like a host name.
func hostName(w []byte) bool {
	if len(w) == 0 || len(w) > 64 || w[0] == '/' || w[0] == '$' || w[0] == '-' {
		return false
	}
	for _, c := range w {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	switch string(w) {
	case "ss", "cat", "netstat", "date", "sysctl", "echo", "TIME_WAIT", "timewait":
		return false
	}
	return true
}
