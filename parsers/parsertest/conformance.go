// Package parsertest is the conformance suite that every parser must pass,
// in the manner of testing/slogtest: empty input, CRLF endings, an over-long
// line, binary garbage, and correct positions.
package parsertest

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Recorder is a timeline.Sink that keeps everything it receives.
type Recorder struct {
	Events  []timeline.Event
	Samples []timeline.Sample
}

// Event implements timeline.Sink.
func (r *Recorder) Event(e timeline.Event) { r.Events = append(r.Events, e) }

// Sample implements timeline.Sink.
func (r *Recorder) Sample(s timeline.Sample) { r.Samples = append(r.Samples, s) }

// DefaultConfig is the config the suite parses with: UTC, year 2026.
func DefaultConfig() parsers.Config {
	return parsers.Config{Loc: time.UTC, Year: 2026, Path: "test.log"}
}

// Feed parses text line by line as ingest would (splitting on \n, trimming
// one trailing \r), flushes the parser (parsers.Flush) and returns what was
// recorded and how many lines the parser rejected.
func Feed(p parsers.Parser, path string, text string) (rec *Recorder, rejected int) {
	rec = &Recorder{}
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		b := []byte(strings.TrimSuffix(l, "\r"))
		if !p.Parse(b, timeline.Pos{File: path, Line: int64(i + 1)}, rec) {
			rejected++
		}
	}
	parsers.Flush(p, rec)
	return rec, rejected
}

// Run runs the conformance suite on format f. good must be several lines
// (newline-separated) in the format, at least one of which yields an event or
// a sample. Each case runs as a subtest.
func Run(t *testing.T, f parsers.Format, good string) {
	t.Helper()
	cfg := DefaultConfig()
	mustNotPanic := func(t *testing.T, name string, fn func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: %s panicked: %v", f.Name(), name, r)
			}
		}()
		fn()
	}
	t.Run("metadata", func(t *testing.T) {
		if f.Name() == "" || f.Description() == "" || f.Example() == "" {
			t.Fatalf("format needs a name, description and example")
		}
		if s := f.Detect([]byte(f.Example())); s < parsers.MinScore {
			t.Errorf("Detect(Example()) = %d, want >= %d", s, parsers.MinScore)
		}
	})
	t.Run("empty", func(t *testing.T) {
		mustNotPanic(t, "empty input", func() {
			p := f.New(cfg)
			rec := &Recorder{}
			p.Parse(nil, timeline.Pos{File: "e", Line: 1}, rec)
			p.Parse([]byte{}, timeline.Pos{File: "e", Line: 2}, rec)
			if len(rec.Events)+len(rec.Samples) != 0 {
				t.Errorf("empty lines yielded %d events, %d samples", len(rec.Events), len(rec.Samples))
			}
			_ = f.Detect(nil)
		})
	})
	lf, _ := Feed(f.New(cfg), "good.log", good)
	if len(lf.Events)+len(lf.Samples) == 0 {
		t.Fatalf("good input yielded nothing; the suite needs lines that carry signals")
	}
	t.Run("crlf", func(t *testing.T) {
		crlf := strings.ReplaceAll(good, "\n", "\r\n")
		var got *Recorder
		mustNotPanic(t, "CRLF input", func() { got, _ = Feed(f.New(cfg), "good.log", crlf) })
		if len(got.Events) != len(lf.Events) || len(got.Samples) != len(lf.Samples) {
			t.Errorf("CRLF: %d events %d samples, LF: %d events %d samples",
				len(got.Events), len(got.Samples), len(lf.Events), len(lf.Samples))
		}
		for _, e := range got.Events {
			if strings.ContainsAny(e.Text, "\r\n") {
				t.Errorf("event text keeps a line ending: %q", e.Text)
			}
		}
	})
	t.Run("positions", func(t *testing.T) {
		lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
		for _, e := range lf.Events {
			if e.Pos.File != "good.log" || e.Pos.Line < 1 || int(e.Pos.Line) > len(lines) {
				t.Errorf("event at bad position %v", e.Pos)
				continue
			}
			if e.Text != "" && e.Text != lines[e.Pos.Line-1] {
				t.Errorf("event text at %v is %q, but the line is %q", e.Pos, e.Text, lines[e.Pos.Line-1])
			}
			if e.Time.IsZero() {
				t.Errorf("event at %v has no time", e.Pos)
			}
		}
		for _, s := range lf.Samples {
			if s.Pos.File != "good.log" || s.Pos.Line < 1 || int(s.Pos.Line) > len(lines) {
				t.Errorf("sample at bad position %v", s.Pos)
			}
			if s.Time.IsZero() {
				t.Errorf("sample at %v has no time", s.Pos)
			}
		}
	})
	t.Run("overlong", func(t *testing.T) {
		long := bytes.Repeat([]byte("x"), 2<<20)
		first := strings.SplitN(good, "\n", 2)[0]
		mustNotPanic(t, "an over-long line", func() {
			p := f.New(cfg)
			rec := &Recorder{}
			p.Parse(long, timeline.Pos{File: "l", Line: 1}, rec)
			p.Parse(append([]byte(first), long...), timeline.Pos{File: "l", Line: 2}, rec)
			_ = f.Detect(long)
		})
	})
	t.Run("garbage", func(t *testing.T) {
		garbage := [][]byte{
			{0x00, 0xff, 0xfe, 0x1f, 0x8b, 0x08},
			[]byte("\x00\x01\x02\x03 [lb] \xff\xfe"),
			bytes.Repeat([]byte{0x80}, 300),
			[]byte(`{"time":`),
			[]byte("["),
			[]byte("2026/05/01"),
		}
		mustNotPanic(t, "binary garbage", func() {
			p := f.New(cfg)
			rec := &Recorder{}
			for i, g := range garbage {
				p.Parse(g, timeline.Pos{File: "g", Line: int64(i + 1)}, rec)
				_ = f.Detect(g)
				_, _ = f.Hints(g)
			}
			// Truncations of every good line must not panic either.
			for i, l := range strings.Split(good, "\n") {
				for j := 0; j <= len(l); j += 1 + len(l)/40 {
					p.Parse([]byte(l[:j]), timeline.Pos{File: "t", Line: int64(i + 1)}, rec)
					_ = f.Detect([]byte(l[:j]))
				}
			}
			parsers.Flush(p, rec)
		})
	})
	t.Run("flush", func(t *testing.T) {
		// A parser that holds samples back (parsers.Flusher) must give what
		// a counter keeps, whenever it is flushed: per metric, backend and
		// second the same sum, number of observations and first line, and
		// the same events. Flushing after every line holds nothing back.
		p := f.New(cfg)
		each := &Recorder{}
		for i, l := range strings.Split(strings.TrimSuffix(good, "\n"), "\n") {
			p.Parse([]byte(l), timeline.Pos{File: "good.log", Line: int64(i + 1)}, each)
			parsers.Flush(p, each)
		}
		if len(each.Events) != len(lf.Events) {
			t.Errorf("flushed every line: %d events, at the end: %d", len(each.Events), len(lf.Events))
		}
		got, want := perSecond(each.Samples), perSecond(lf.Samples)
		for k, w := range want {
			g, ok := got[k]
			if !ok || g.n != w.n || g.first != w.first || math.Abs(g.sum-w.sum) > 1e-9*math.Max(1, math.Abs(w.sum)) {
				t.Errorf("%v: flushed every line %+v, at the end %+v", k, g, w)
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%v: only when flushed every line: %+v", k, g)
			}
		}
	})
}

type secondKey struct {
	metric  timeline.Metric
	backend string
	sec     int64
}

type secondSum struct {
	sum   float64
	n     int64
	first int64
}

// perSecond sums samples per metric, backend and second, as a counter
// series does, keeping the first line of each.
func perSecond(ss []timeline.Sample) map[secondKey]secondSum {
	out := map[secondKey]secondSum{}
	for _, s := range ss {
		k := secondKey{s.Metric, s.Backend, s.Time.Unix()}
		c, ok := out[k]
		if !ok {
			c.first = s.Pos.Line
		}
		c.sum += s.Value
		c.n += s.Observations()
		out[k] = c
	}
	return out
}
