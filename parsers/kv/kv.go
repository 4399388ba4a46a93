// Package kv parses timestamped key=value and bracketed component lines:
// logfmt (`time=2026-05-01T14:02:02Z level=info msg="..." backend=vm-a`) and
// the ad-hoc lines that load balancer controllers and deploy scripts write
// (`2026-05-01T14:02:02+09:00 [lb] backend vm-c removed from pool abruptly`).
// Message text goes to the shared classifier in parsers/internal/msg.
package kv

import (
	"bytes"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/msg"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Format returns the "kv" format.
func Format() parsers.Format { return format{} }

type format struct{}

func (format) Name() string { return "kv" }

func (format) Description() string {
	return "timestamped key=value / logfmt and [component] lines (LB controllers, deploy scripts)"
}

func (format) Example() string {
	return "2026-05-01T14:02:02+09:00 [lb] backend=vm-a draining new_conn=0 active_conn=1197"
}

// Detect scores ISO-timestamped lines with a [tag] or key=value pairs, and
// logfmt lines with a time= or ts= key.
func (format) Detect(line []byte) int {
	var c msg.Clock
	if _, n, ok := c.ISO(line, time.UTC); ok {
		rest := bytes.TrimLeft(line[n:], " ")
		switch {
		case len(rest) > 0 && rest[0] == '[' && bytes.IndexByte(rest[:min(len(rest), 32)], ']') > 1:
			return 60
		case bytes.IndexByte(rest, '=') > 0:
			return 50
		}
		return 35
	}
	if v, ok := logfmtTime(line); ok && len(v) > 0 {
		if _, _, ok := c.ISO(v, time.UTC); ok {
			return 70
		}
		if _, _, ok := msg.Number(v); ok {
			return 60
		}
	}
	return 0
}

// Hints reads the zone and year of a line's timestamp.
func (format) Hints(line []byte) (parsers.Hints, bool) {
	ts := line
	if v, ok := logfmtTime(line); ok {
		ts = v
	}
	off, zok, year, ok := msg.ISOZone(ts)
	if !ok {
		return parsers.Hints{}, false
	}
	return parsers.Hints{Zone: off, ZoneOK: zok, Year: year}, true
}

// New returns a parser for one stream. A stream whose path names a deploy
// pipeline ("deploy", "rollout", "release", "pipeline") has its step words
// counted even on untagged lines.
func (format) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	p := strings.ToLower(cfg.Path)
	deploy := strings.Contains(p, "deploy") || strings.Contains(p, "rollout") || strings.Contains(p, "release") || strings.Contains(p, "pipeline")
	return &parser{cfg: cfg, cls: msg.New(msg.Options{Deploy: deploy})}
}

type parser struct {
	cfg   parsers.Config
	clock msg.Clock
	cls   *msg.Classifier
}

// Parse parses one line. Lines without a timestamp it can read are not in
// the format (they cannot be placed on the timeline).
func (p *parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	if t, n, ok := p.clock.ISO(line, p.cfg.Loc); ok {
		if n < len(line) && line[n] != ' ' && line[n] != '\t' {
			return false
		}
		p.cls.Classify(line[n:], msg.Line{Time: t, Backend: p.cfg.Backend, Pos: pos, Raw: line}, sink)
		return true
	}
	v, ok := logfmtTime(line)
	if !ok {
		return false
	}
	t, n, ok := p.clock.ISO(v, p.cfg.Loc)
	if !ok || n != len(v) {
		f, m, nok := msg.Number(v)
		if !nok || m != len(v) {
			return false
		}
		if t, ok = msg.Epoch(f, p.cfg.Loc); !ok {
			return false
		}
	}
	p.cls.Classify(line, msg.Line{Time: t, Backend: p.cfg.Backend, Pos: pos, Raw: line}, sink)
	return true
}

// logfmtTime returns the value of a time=, ts=, timestamp= or @timestamp=
// key (quotes removed), and whether the line has one.
func logfmtTime(line []byte) ([]byte, bool) {
	i := 0
	for i < len(line) {
		eq := bytes.IndexByte(line[i:], '=')
		if eq < 0 {
			return nil, false
		}
		eq += i
		ks := eq
		for ks > 0 && line[ks-1] != ' ' && line[ks-1] != '\t' {
			ks--
		}
		key := line[ks:eq]
		v := eq + 1
		var val []byte
		if v < len(line) && line[v] == '"' {
			e := bytes.IndexByte(line[v+1:], '"')
			if e < 0 {
				return nil, false
			}
			val = line[v+1 : v+1+e]
			i = v + 1 + e + 1
		} else {
			e := v
			for e < len(line) && line[e] != ' ' && line[e] != '\t' {
				e++
			}
			val = line[v:e]
			i = e
		}
		switch string(key) {
		case "time", "ts", "timestamp", "@timestamp", "t", "date":
			return val, true
		}
		if i <= eq {
			i = eq + 1
		}
	}
	return nil, false
}

// Literals implements parsers.Prefilterable with the classifier's
// literals (msg.Literals): a kv line is its message.
func (format) Literals(want parsers.Want) ([]parsers.Literal, bool) {
	return msg.Literals(want), true
}
