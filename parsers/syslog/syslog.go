// Package syslog parses syslog envelopes (RFC 3164, RFC 5424 and the
// RFC 3339-stamped file format) and hands each message body to the inner
// format that knows it.
package syslog

import (
	"bytes"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/internal/msg"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/scan"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Format returns the generic "syslog" format. It accepts:
//
//	May  1 14:02:02 host prog[pid]: msg            (RFC 3164; <PRI> optional)
//	<PRI>1 2026-05-01T14:02:02.1+09:00 host app procid msgid [sd] msg  (RFC 5424)
//	2026-05-01T14:02:02.123+09:00 host prog[pid]: msg  (RFC 3339 file format)
//
// RFC 3164 stamps carry no year and no zone: they are read with cfg.Year
// (moving to the next year when the month falls back from December to
// January) in cfg.Loc. Stamps without a zone use cfg.Loc.
//
// Each body goes to an inner format whose parser implements
// parsers.BodyParser: the one named like the program (haproxy → "haproxy",
// nginx → "nginx-error", kernel → "kernel": a format named P or P-...),
// else the one whose Detect scores the body highest. Inner formats whose
// parsers are not BodyParsers are ignored. A line whose body no inner
// parser takes is still valid syslog: Parse returns true and emits
// nothing.
//
// Detect scores 50 for a line with a program tag and 40 without, lower
// than a specific format scores its own lines.
func Format(inner ...parsers.Format) parsers.Format {
	return &format{inner: inner}
}

type format struct {
	inner []parsers.Format
}

const example = `May  1 14:02:02 lb01 haproxy[2345]: Server be_app/vm-c is going DOWN for maintenance. 2 active and 0 backup servers left. 287 sessions active, 0 requeued, 0 remaining in queue.`

func (f *format) Name() string { return "syslog" }
func (f *format) Description() string {
	return "syslog (RFC 3164, RFC 5424, RFC 3339 stamps), bodies parsed by inner formats"
}
func (f *format) Example() string { return example }

// Detect implements parsers.Format.
func (f *format) Detect(line []byte) int {
	h, ok := scan.SplitSyslog(line)
	if !ok {
		return 0
	}
	if len(h.Program) > 0 {
		return 50
	}
	return 40
}

// Hints returns the zone and year of RFC 5424 and RFC 3339 stamps.
func (f *format) Hints(line []byte) (parsers.Hints, bool) {
	h, ok := scan.SplitSyslog(line)
	if !ok || !h.HasYear {
		return parsers.Hints{}, false
	}
	return parsers.Hints{Year: h.Time.Year, Zone: h.Offset, ZoneOK: h.Zoned}, true
}

// New implements parsers.Format.
func (f *format) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	if cfg.Year == 0 {
		cfg.Year = time.Now().Year()
	}
	p := &parser{cfg: cfg, year: cfg.Year, byProg: map[string]int{}, cls: msg.New(msg.Options{})}
	for _, in := range f.inner {
		if bp, ok := in.New(cfg).(parsers.BodyParser); ok {
			p.inner = append(p.inner, innerParser{f: in, p: bp})
		}
	}
	return p
}

type innerParser struct {
	f parsers.Format
	p parsers.BodyParser
}

type parser struct {
	cfg       parsers.Config
	inner     []innerParser
	zones     scan.Zones
	year      int
	lastMonth int
	// byProg maps a program name to the inner parser named like it (-1:
	// none); host and prog cache the last strings to avoid allocating.
	byProg map[string]int
	host   string
	prog   string
	// cls reads the bodies no inner format takes (deploy agents,
	// keepalived, controllers logging through syslog).
	cls *msg.Classifier
}

func (p *parser) intern(cached *string, b []byte) string {
	if string(b) != *cached {
		*cached = string(b)
	}
	return *cached
}

// forProgram returns the index of the inner parser named like prog, or -1.
func (p *parser) forProgram(prog []byte) int {
	if len(prog) == 0 {
		return -1
	}
	if i, ok := p.byProg[string(prog)]; ok {
		return i
	}
	i := -1
	name := string(prog)
	for j, in := range p.inner {
		n := in.f.Name()
		if n == name || strings.HasPrefix(n, name+"-") {
			i = j
			break
		}
	}
	if len(p.byProg) < 256 {
		p.byProg[name] = i
	}
	return i
}

// Parse implements parsers.Parser.
func (p *parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	h, ok := scan.SplitSyslog(line)
	if !ok {
		return false
	}
	var t time.Time
	c := h.Time
	switch {
	case h.Zoned:
		t = scan.Zoned(c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second, h.Offset, p.zones.Get(h.Offset)).Add(time.Duration(c.Nano))
	case h.HasYear:
		t = c.In(p.cfg.Loc)
	default:
		if p.lastMonth == 12 && c.Month == 1 {
			p.year++
		}
		p.lastMonth = c.Month
		c.Year = p.year
		if !c.Valid() {
			return false
		}
		t = c.In(p.cfg.Loc)
	}
	if len(h.Body) == 0 {
		return true
	}
	best := -1
	if len(p.inner) > 0 {
		best = p.forProgram(h.Program)
	}
	if best < 0 {
		score := 0
		for j, in := range p.inner {
			if s := in.f.Detect(h.Body); s > score {
				best, score = j, s
			}
		}
	}
	if best < 0 {
		p.cls.Classify(h.Body, msg.Line{Time: t, Backend: p.cfg.Backend, Pos: pos, Raw: line}, sink)
		return true
	}
	env := parsers.Envelope{Time: t, Host: p.intern(&p.host, h.Host), Program: p.intern(&p.prog, bytes.TrimSpace(h.Program)), Line: line}
	p.inner[best].p.ParseBody(h.Body, env, pos, sink)
	return true
}

// Literals implements parsers.Prefilterable: the union of the inner
// formats' literals and the classifier's (bodies no inner format takes).
// If an inner format declares none, syslog is not prefiltered either.
func (f *format) Literals(want parsers.Want) ([]parsers.Literal, bool) {
	out := msg.Literals(want)
	for _, in := range f.inner {
		pf, ok := in.(parsers.Prefilterable)
		if !ok {
			return nil, false
		}
		l, ok := pf.Literals(want)
		if !ok {
			return nil, false
		}
		out = append(out, l...)
	}
	return out, true
}

// Skip implements parsers.Skipper: the month of a skipped RFC 3164 line
// still counts for the December to January year rollover.
func (p *parser) Skip(line []byte) {
	b := line
	if len(b) > 0 && b[0] == '<' {
		if e := bytes.IndexByte(b[:min(len(b), 6)], '>'); e > 0 {
			b = b[e+1:]
		}
	}
	if _, ok := scan.Month(b, 0); !ok {
		return
	}
	h, ok := scan.SplitSyslog(line)
	if !ok || h.Zoned || h.HasYear {
		return
	}
	c := h.Time
	if p.lastMonth == 12 && c.Month == 1 {
		p.year++
	}
	p.lastMonth = c.Month
}
