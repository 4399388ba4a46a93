// Package kernel parses kernel log lines for TCP and conntrack trouble:
// `dmesg -T` (`[Fri May  1 18:12:00 2026] TCP: time wait bucket table
// overflow`), `dmesg --time-format iso` (`2026-05-01T18:12:00,123456+09:00
// ...`), `journalctl -k` short output (`May 01 18:12:00 vm-b kernel: ...`,
// year from Config.Year) and, through ParseBody, kernel messages inside
// syslog. Raw dmesg lines timed only by seconds since boot cannot be placed
// and are rejected.
package kernel

import (
	"bytes"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/msg"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Format returns the "kernel" format.
func Format() parsers.Format { return format{} }

type format struct{}

func (format) Name() string { return "kernel" }

func (format) Description() string {
	return "kernel log: dmesg -T, dmesg --time-format iso, journalctl -k"
}

func (format) Example() string {
	return "[Fri May  1 18:12:00 2026] TCP: time wait bucket table overflow"
}

// Detect scores dmesg -T and journalctl -k lines high, ISO dmesg lines with
// a kernel signal moderately.
func (format) Detect(line []byte) int {
	var c msg.Clock
	if len(line) > 0 && line[0] == '[' {
		if _, _, ok := c.CTime(line[1:], time.UTC); ok {
			return 85
		}
		return 0
	}
	if _, body, ok := journal(line, 2026, time.UTC, &c); ok && body != nil {
		return 85
	}
	if _, n, ok := c.ISO(line, time.UTC); ok {
		if reason(line[n:]) != "" {
			return 60
		}
		return 10
	}
	return 0
}

// Hints reads the zone and year of dmesg -T and ISO lines.
func (format) Hints(line []byte) (parsers.Hints, bool) {
	if off, zok, year, ok := msg.ISOZone(line); ok {
		return parsers.Hints{Zone: off, ZoneOK: zok, Year: year}, true
	}
	var c msg.Clock
	if len(line) > 0 && line[0] == '[' {
		if t, _, ok := c.CTime(line[1:], time.UTC); ok {
			return parsers.Hints{Year: t.Year()}, true
		}
	}
	return parsers.Hints{}, false
}

// New returns a parser for one stream.
func (format) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	return &parser{cfg: cfg}
}

type parser struct {
	cfg   parsers.Config
	clock msg.Clock
}

// Parse parses one kernel log line.
func (p *parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	var t time.Time
	var body []byte
	backend := p.cfg.Backend
	switch {
	case len(line) > 0 && line[0] == '[':
		tt, n, ok := p.clock.CTime(line[1:], p.cfg.Loc)
		if !ok {
			return false // seconds since boot, or not a kernel line
		}
		rest := line[1+n:]
		if len(rest) == 0 || rest[0] != ']' {
			return false
		}
		t, body = tt, rest[1:]
	default:
		if tt, n, ok := p.clock.ISO(line, p.cfg.Loc); ok {
			if n < len(line) && line[n] != ' ' {
				return false
			}
			t, body = tt, line[n:]
			// "host kernel: msg" after the time, as journalctl -o short-iso.
			if k := bytes.Index(body, []byte(" kernel: ")); k >= 0 && k < 70 {
				if h := bytes.TrimSpace(body[:k]); len(h) > 0 && bytes.IndexByte(h, ' ') < 0 {
					backend = string(h)
				}
				body = body[k+9:]
			}
			break
		}
		if p.cfg.Year == 0 {
			return false
		}
		h, b, ok := journal(line, p.cfg.Year, p.cfg.Loc, &p.clock)
		if !ok || b == nil {
			return false
		}
		t, body = h.t, b
		if h.host != "" {
			backend = h.host
		}
	}
	p.emit(t, backend, body, line, pos, sink)
	return true
}

// ParseBody parses a kernel message that came inside a syslog envelope.
func (p *parser) ParseBody(body []byte, env parsers.Envelope, pos timeline.Pos, sink timeline.Sink) bool {
	if env.Program != "" && env.Program != "kernel" {
		return false
	}
	backend := p.cfg.Backend
	if env.Host != "" {
		backend = env.Host
	}
	p.emit(env.Time, backend, body, env.Line, pos, sink)
	return true
}

var _ parsers.BodyParser = (*parser)(nil)

func (p *parser) emit(t time.Time, backend string, body, line []byte, pos timeline.Pos, sink timeline.Sink) {
	body = stripBoot(bytes.TrimSpace(body))
	r := reason(body)
	if r == "" {
		return
	}
	attrs := map[string]string{"reason": r}
	if r == "syn_flood" {
		if k := bytes.Index(body, []byte("on port ")); k >= 0 {
			e := k + 8
			for e < len(body) && body[e] >= '0' && body[e] <= '9' {
				e++
			}
			if e > k+8 {
				attrs["port"] = string(body[k+8 : e])
			}
		}
	}
	sink.Event(timeline.Event{Time: t, Kind: timeline.KindKernel, Backend: backend, Attrs: attrs, Pos: pos, Text: string(line)})
}

// stripBoot removes a "[12345.678901] " seconds-since-boot prefix.
func stripBoot(b []byte) []byte {
	if len(b) > 2 && b[0] == '[' {
		if e := bytes.IndexByte(b, ']'); e > 1 {
			ok := true
			for _, c := range bytes.TrimSpace(b[1:e]) {
				if !(c >= '0' && c <= '9' || c == '.') {
					ok = false
					break
				}
			}
			if ok {
				return bytes.TrimSpace(b[e+1:])
			}
		}
	}
	return b
}

// signals maps kernel message fragments to KindKernel reasons.
var signals = []struct{ frag, reason string }{
	{"time wait bucket table overflow", "tw_bucket_overflow"},
	{"conntrack: table full", "conntrack_full"},
	{"nf_conntrack: table full", "conntrack_full"},
	{"syn flooding on port", "syn_flood"},
	{"too many orphaned sockets", "orphans"},
	{"out of memory -- consider tuning tcp_mem", "tcp_mem"},
	{"consider tuning tcp_mem", "tcp_mem"},
	{"neighbour table overflow", "neighbour_overflow"},
	{"neighbor table overflow", "neighbour_overflow"},
}

// reason returns the KindKernel reason of a kernel message, or "".
func reason(b []byte) string {
	// Cheap gate: every signal mentions one of these.
	if bytes.IndexByte(b, ':') < 0 && !bytes.Contains(b, []byte("flooding")) && !bytes.Contains(b, []byte("overflow")) && !bytes.Contains(b, []byte("orphan")) && !bytes.Contains(b, []byte("tcp_mem")) {
		return ""
	}
	var buf [512]byte
	lb := buf[:0]
	for _, c := range b[:min(len(b), len(buf))] {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lb = append(lb, c)
	}
	for _, s := range signals {
		if bytes.Contains(lb, []byte(s.frag)) {
			return s.reason
		}
	}
	return ""
}

type jhead struct {
	t    time.Time
	host string
}

// journal parses "May 01 18:12:00 host kernel: msg" (journalctl -k short,
// RFC 3164 syslog). body is nil if the program is not the kernel.
func journal(line []byte, year int, loc *time.Location, c *msg.Clock) (jhead, []byte, bool) {
	if len(line) < 16 {
		return jhead{}, nil, false
	}
	mon, ok := msg.Month(line[:3])
	if !ok || line[3] != ' ' {
		return jhead{}, nil, false
	}
	i := 4
	if line[i] == ' ' {
		i++
	}
	j := i
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	day, ok := msg.Digits(line[i:j])
	if !ok || day < 1 || day > 31 || j >= len(line) || line[j] != ' ' {
		return jhead{}, nil, false
	}
	h, m, s, ok := msg.HMS(line[j+1:])
	if !ok {
		return jhead{}, nil, false
	}
	rest := line[j+9:]
	if len(rest) < 2 || rest[0] != ' ' {
		return jhead{}, nil, false
	}
	rest = rest[1:]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return jhead{}, nil, false
	}
	host := rest[:sp]
	rest = rest[sp+1:]
	hd := jhead{t: time.Date(year, mon, day, h, m, s, 0, loc), host: string(host)}
	if !bytes.HasPrefix(rest, []byte("kernel:")) {
		return hd, nil, true
	}
	return hd, rest[7:], true
}

// Literals implements parsers.Prefilterable: the fragments of signals
// (matched case-insensitively, as reason does).
func (format) Literals(want parsers.Want) ([]parsers.Literal, bool) {
	if !want.Kind(timeline.KindKernel) {
		return nil, true
	}
	var out []parsers.Literal
	for _, s := range signals {
		out = append(out, parsers.Literal{Text: s.frag})
	}
	return out, true
}
