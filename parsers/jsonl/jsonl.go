// Package jsonl parses JSON-lines logs (logback/logstash encoders, Go slog,
// metric dumps): one JSON object per line with a time key, optional level,
// message and backend keys, and numeric fields. Known numeric fields become
// samples; the message goes to the shared classifier in parsers/internal/msg.
package jsonl

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/internal/msg"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Format returns the "json" format.
func Format() parsers.Format { return format{} }

type format struct{}

func (format) Name() string { return "json" }

func (format) Description() string {
	return "JSON lines with a time key (logstash/logback encoders, slog, metric dumps)"
}

func (format) Example() string {
	return `{"@timestamp":"2026-05-01T15:40:00.000+09:00","host":"vm-a","logger":"com.example.shop.ws.SessionMetrics","ws_sessions":1184,"avg_age":"2h 11m","avg_age_s":7860,"p99_age_s":9300}`
}

// timeKeys are the keys read for the time, in order of preference.
var timeKeys = []string{"@timestamp", "timestamp", "time", "ts", "datetime", "date", "eventTime", "@t"}

// backendKeys name the backend, in order of preference.
var backendKeys = []string{"backend", "server", "upstream", "host", "hostname", "node", "instance"}

// msgKeys hold the message text.
var msgKeys = []string{"msg", "message", "@m", "@mt", "log", "event"}

// Detect scores a JSON object line with a time key 80, another object 30.
func (format) Detect(line []byte) int {
	b := bytes.TrimSpace(line)
	if len(b) < 2 || b[0] != '{' {
		return 0
	}
	for _, k := range timeKeys {
		if bytes.Contains(b, []byte(`"`+k+`"`)) {
			return 80
		}
	}
	return 30
}

// Hints reads the zone and year of a string time value.
func (format) Hints(line []byte) (parsers.Hints, bool) {
	obj, ok := decode(line)
	if !ok {
		return parsers.Hints{}, false
	}
	for _, k := range timeKeys {
		if s, ok := obj[k].(string); ok {
			off, zok, year, ok := msg.ISOZone([]byte(s))
			if ok {
				return parsers.Hints{Zone: off, ZoneOK: zok, Year: year}, true
			}
		}
	}
	return parsers.Hints{}, false
}

// New returns a parser for one stream.
func (format) New(cfg parsers.Config) parsers.Parser {
	if cfg.Loc == nil {
		cfg.Loc = time.UTC
	}
	return &parser{cfg: cfg, cls: msg.New(msg.Options{})}
}

type parser struct {
	cfg   parsers.Config
	clock msg.Clock
	cls   *msg.Classifier
	// A log's lines mostly have the same keys: the last line's keys,
	// sorted, and what each key means as a metric.
	keys  []string
	metas map[string]keyMeta
}

// keyMeta is what msg.MetricKey says of a key.
type keyMeta struct {
	m      timeline.Metric
	factor float64
	dur    bool
	ok     bool
}

// sortedKeys returns the keys of obj, sorted, reusing the last line's
// list when obj has the same keys.
func (p *parser) sortedKeys(obj map[string]any) []string {
	same := len(p.keys) == len(obj)
	for _, k := range p.keys {
		if !same {
			break
		}
		_, same = obj[k]
	}
	if same {
		return p.keys
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p.keys = keys
	return keys
}

// meta returns msg.MetricKey of key, remembered per key (at most a few
// hundred keys, so that a log with ever-new keys cannot grow it much).
func (p *parser) meta(key string) keyMeta {
	if km, ok := p.metas[key]; ok {
		return km
	}
	var km keyMeta
	km.m, km.factor, km.dur, km.ok = msg.MetricKey([]byte(key))
	if p.metas == nil {
		p.metas = map[string]keyMeta{}
	}
	if len(p.metas) < 512 {
		p.metas[key] = km
	}
	return km
}

// Parse parses one line. An object without a readable time key cannot be
// placed and is rejected.
func (p *parser) Parse(line []byte, pos timeline.Pos, sink timeline.Sink) bool {
	obj, ok := decode(line)
	if !ok {
		return false
	}
	t, ok := p.time(obj)
	if !ok {
		return false
	}
	backend := p.cfg.Backend
	for _, k := range backendKeys {
		if s := name(obj[k]); s != "" {
			backend = s
			break
		}
	}
	keys := p.sortedKeys(obj)
	var done []timeline.Metric
	var samples []timeline.Sample
	// Plain numeric fields first, so that avg_age_s wins over avg_age.
	for pass := 0; pass < 2; pass++ {
		for _, k := range keys {
			km := p.meta(k)
			m, factor, dur := km.m, km.factor, km.dur
			if !km.ok || slices.Contains(done, m) {
				continue
			}
			var v float64
			switch x := obj[k].(type) {
			case json.Number:
				if pass != 0 {
					continue
				}
				f, err := x.Float64()
				if err != nil {
					continue
				}
				v = f * factor
			case string:
				if pass != 1 {
					continue
				}
				if dur {
					d, n, ok := msg.Duration([]byte(x))
					if !ok || n != len(x) {
						continue
					}
					v = d
				} else {
					f, n, ok := msg.Number([]byte(x))
					if !ok || n != len(x) {
						continue
					}
					v = f * factor
				}
			default:
				continue
			}
			done = append(done, m)
			samples = append(samples, timeline.Sample{Time: t, Metric: m, Backend: backend, Value: v, Pos: pos})
		}
	}
	for _, s := range samples {
		sink.Sample(s)
	}
	for _, k := range msgKeys {
		if s, ok := obj[k].(string); ok && s != "" {
			p.cls.Classify([]byte(s), msg.Line{Time: t, Backend: backend, Pos: pos, Raw: line}, sink)
			break
		}
	}
	return true
}

// name returns a backend name from a string value or an ECS-style object
// with a "name" key.
func name(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) <= 64 {
			return x
		}
	case map[string]any:
		if s, ok := x["name"].(string); ok && len(s) <= 64 {
			return s
		}
		if s, ok := x["hostname"].(string); ok && len(s) <= 64 {
			return s
		}
	}
	return ""
}

func (p *parser) time(obj map[string]any) (time.Time, bool) {
	for _, k := range timeKeys {
		switch x := obj[k].(type) {
		case string:
			t, n, ok := p.clock.ISO([]byte(x), p.cfg.Loc)
			if ok && n == len(x) {
				return t, true
			}
			if f, n, ok := msg.Number([]byte(x)); ok && n == len(x) {
				if t, ok := msg.Epoch(f, p.cfg.Loc); ok {
					return t, true
				}
			}
		case json.Number:
			if f, err := x.Float64(); err == nil {
				if t, ok := msg.Epoch(f, p.cfg.Loc); ok {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

// Literals implements parsers.Prefilterable: the classifier's literals
// (its metric keys are the keys read as samples) and a backslash, since a
// JSON escape ("\u0061", "\n") can make a word that the raw line does not
// hold.
func (format) Literals(want parsers.Want) ([]parsers.Literal, bool) {
	lits := msg.Literals(want)
	if len(lits) == 0 {
		return nil, true
	}
	return append(lits, parsers.Literal{Text: `\`}), true
}
