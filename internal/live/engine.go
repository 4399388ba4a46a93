// Package live runs the analyze pipeline incrementally: lines arrive one at
// a time (from followed files, standard input or a push receiver), each
// stream is parsed by the parser its first lines select, and the rule pack
// is evaluated again over a sliding window of the timeline as data arrives.
// Evaluate reports each finding once when it fires and once when it
// resolves.
//
// Time is log time: "now" is the latest timestamp seen, so replaying old
// logs fast behaves like watching them happen.
package live

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Config is what an Engine parses and evaluates.
type Config struct {
	Registry *parsers.Registry
	// Formats forces the format of streams whose path matches a key (the
	// path, a suffix, or a glob over the path or its base name).
	Formats map[string]string
	// Backends sets the backend of streams whose path matches a key.
	Backends map[string]string
	// Zone reads zone-less timestamps; nil infers it from the first
	// stream whose lines carry an offset (UTC if none does within Settle).
	Zone *time.Location
	Pack *rules.Pack
	// Keep is the sliding window kept and evaluated, in log time.
	// Default 2h (the default rules look back at most an hour).
	Keep time.Duration
	// ResolveAfter resolves a finding whose last evidence is this much
	// older than the newest data. Default 5m.
	ResolveAfter time.Duration
	// DetectLines is how many lines a stream buffers before its format is
	// detected. Default 20; fewer are used after Settle.
	DetectLines int
	// Settle is how long (wall time) a stream waits for DetectLines lines
	// or for the zone to become known. Default 2s.
	Settle time.Duration
	// Now is the wall clock (tests). Default time.Now.
	Now func() time.Time
	// BackendOf, if set, names the backend of a stream from its path
	// (callers pass the path relative to the input it was found under, so
	// that the folders above it do not count). Default
	// ingest.BackendFromPath of the whole path.
	BackendOf func(path string) string
}

// Engine parses lines into per-stream builders and evaluates the pack.
// Its methods are safe for concurrent use.
type Engine struct {
	cfg     Config
	mu      sync.Mutex
	streams map[string]*stream
	order   []string
	loc     *time.Location
	zoneSet bool
	year    int
	yearSet bool
	newest  time.Time
	dirty   bool
	active  []*tracked
	done    []*tracked
	started time.Time
	forgot  time.Time
}

type stream struct {
	path     string
	backend  string
	format   parsers.Format
	forced   bool
	parser   parsers.Parser
	pending  []pendingLine
	first    time.Time
	b        *timeline.Builder
	sink     *sink
	src      timeline.Source
	failed   bool
	detected bool
	hints    parsers.Hints
	last     map[seriesKey]int64 // newest point per series (Add)
}

type pendingLine struct {
	text []byte
	num  int64
}

// Change is a finding that fired or resolved.
type Change struct {
	// Resolved is false when the finding fired.
	Resolved bool
	Finding  rules.Finding
}

type tracked struct {
	f        rules.Finding
	resolved bool
}

// New returns an Engine. cfg.Registry and cfg.Pack must be set.
func New(cfg Config) *Engine {
	if cfg.Keep <= 0 {
		cfg.Keep = 2 * time.Hour
	}
	if cfg.ResolveAfter <= 0 {
		cfg.ResolveAfter = 5 * time.Minute
	}
	if cfg.DetectLines <= 0 {
		cfg.DetectLines = 20
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{cfg: cfg, streams: map[string]*stream{}, year: cfg.Now().Year()}
	if cfg.Zone != nil {
		e.loc, e.zoneSet = cfg.Zone, true
	}
	e.started = cfg.Now()
	return e
}

// Loc returns the zone used for zone-less timestamps (UTC until known).
func (e *Engine) Loc() *time.Location {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loc == nil {
		return time.UTC
	}
	return e.loc
}

// Newest returns the latest log time seen.
func (e *Engine) Newest() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.newest
}

// Line feeds one line of the stream named path (its 1-based number num).
// line is only read during the call.
func (e *Engine) Line(path string, line []byte, num int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stream(path)
	s.src.Lines++
	if s.failed {
		return
	}
	if s.parser == nil {
		s.pending = append(s.pending, pendingLine{append([]byte(nil), line...), num})
		if s.first.IsZero() {
			s.first = e.cfg.Now()
		}
		e.settle(s, false)
		return
	}
	e.parse(s, line, num)
}

func (e *Engine) stream(p string) *stream {
	s := e.streams[p]
	if s != nil {
		return s
	}
	s = &stream{path: p, b: timeline.NewBuilder(timeline.Options{})}
	if e.cfg.BackendOf != nil {
		s.backend = e.cfg.BackendOf(p)
	} else {
		s.backend = ingest.BackendFromPath(p)
	}
	if b, ok := match(e.cfg.Backends, p); ok {
		s.backend = b
	}
	s.src = timeline.Source{Path: p, Backend: s.backend}
	if name, ok := match(e.cfg.Formats, p); ok {
		if f, ok := e.cfg.Registry.Lookup(name); ok {
			s.format, s.forced, s.detected = f, true, true
			s.src.Format = f.Name()
		}
	}
	s.sink = &sink{e: e, b: s.b, src: &s.src}
	e.streams[p] = s
	e.order = append(e.order, p)
	return s
}

// settle detects the format of s once it has enough lines (or waited long
// enough), and starts parsing once the zone is known (or waiting is over).
func (e *Engine) settle(s *stream, timeUp bool) {
	if len(s.pending) == 0 {
		return
	}
	waited := !s.first.IsZero() && e.cfg.Now().Sub(s.first) >= e.cfg.Settle
	if !s.detected {
		if len(s.pending) < e.cfg.DetectLines && !waited && !timeUp {
			return
		}
		sample := make([][]byte, len(s.pending))
		for i, l := range s.pending {
			sample[i] = l.text
		}
		d, ok := e.cfg.Registry.Detect(sample)
		if !ok {
			if !waited && !timeUp && len(s.pending) < 4*e.cfg.DetectLines {
				return
			}
			s.failed = true
			s.src.Format = "unknown"
			s.src.Warnings = append(s.src.Warnings, "format not recognised from its first lines: skipped")
			s.src.Unrecognized += int64(len(s.pending))
			s.pending = nil
			return
		}
		s.format, s.detected, s.hints = d.Format, true, d.Hints
		s.src.Format = d.Format.Name()
	}
	if s.forced && !s.hints.ZoneOK {
		for _, l := range s.pending {
			if h, ok := s.format.Hints(l.text); ok {
				s.hints = h
				break
			}
		}
	}
	if !e.yearSet && s.hints.Year != 0 {
		e.year, e.yearSet = s.hints.Year, true
	}
	if !e.zoneSet && s.hints.ZoneOK {
		e.loc = time.FixedZone(pipeline.FormatOffset(s.hints.Zone), s.hints.Zone)
		e.zoneSet = true
	}
	if !e.zoneSet && !waited && !timeUp {
		return // wait for a stream that states its offset
	}
	if e.loc == nil {
		e.loc = time.UTC
		e.zoneSet = true
	}
	year := e.year
	if s.hints.Year != 0 {
		year = s.hints.Year
	}
	s.parser = s.format.New(parsers.Config{Loc: e.loc, Year: year, Backend: s.backend, Path: s.path})
	pend := s.pending
	s.pending = nil
	for _, l := range pend {
		e.parse(s, l.text, l.num)
	}
}

func (e *Engine) parse(s *stream, line []byte, num int64) {
	if !s.parser.Parse(line, timeline.Pos{File: s.path, Line: num}, s.sink) {
		s.src.Unrecognized++
	}
}

// Flush parses every buffered line now (end of input).
func (e *Engine) Flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.order {
		e.settle(e.streams[p], true)
	}
}

// sink counts and forwards to the stream's builder, tracking the newest
// time.
type sink struct {
	e   *Engine
	b   *timeline.Builder
	src *timeline.Source
}

func (k *sink) Event(ev timeline.Event) {
	k.src.Events++
	k.seen(ev.Time)
	k.b.Event(ev)
}

func (k *sink) Sample(x timeline.Sample) {
	k.src.Samples += x.Observations()
	k.seen(x.Time)
	k.b.Sample(x)
}

func (k *sink) seen(t time.Time) {
	k.e.dirty = true
	if t.After(k.e.newest) && t.Before(k.e.cfg.Now().Add(24*time.Hour)) {
		k.e.newest = t
	}
}

// snapshot merges every stream's builder; the caller holds mu.
func (e *Engine) snapshot() *timeline.Timeline {
	parts := make([]*timeline.Timeline, 0, len(e.order))
	for _, p := range e.order {
		s := e.streams[p]
		if s.parser != nil {
			parsers.Flush(s.parser, s.sink) // sums held back for the current second
		}
		parts = append(parts, s.b.Snapshot())
	}
	return timeline.Merge(parts...)
}

// Snapshot returns the timeline so far, the sources and the current rule
// result over it (for the draft written on exit).
func (e *Engine) Snapshot() (*timeline.Timeline, []timeline.Source, rules.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.order {
		e.settle(e.streams[p], true)
	}
	tl := e.snapshot()
	var srcs []timeline.Source
	for _, p := range e.order {
		srcs = append(srcs, e.streams[p].src)
	}
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].Path < srcs[j].Path })
	res := e.cfg.Pack.Eval(tl, rules.EvalOptions{Loc: e.locOrUTC()})
	return tl, srcs, res
}

func (e *Engine) locOrUTC() *time.Location {
	if e.loc == nil {
		return time.UTC
	}
	return e.loc
}

// Evaluate settles waiting streams, evaluates the pack over the current
// window if anything arrived since the last call, and returns the findings
// that fired or resolved since then, in time order. It also returns the
// snapshot it evaluated (nil when nothing changed).
func (e *Engine) Evaluate() ([]Change, *timeline.Timeline) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.order {
		e.settle(e.streams[p], false)
	}
	if !e.dirty {
		return nil, nil
	}
	e.dirty = false
	if !e.newest.IsZero() && e.newest.Sub(e.forgot) > time.Minute {
		cut := e.newest.Add(-e.cfg.Keep)
		for _, p := range e.order {
			e.streams[p].b.Forget(cut)
		}
		e.forgot = e.newest
	}
	tl := e.snapshot()
	res := e.cfg.Pack.Eval(tl, rules.EvalOptions{Loc: e.locOrUTC()})
	var out []Change
	matched := map[*tracked]bool{}
	for _, f := range res.Findings {
		if t := e.find(f); t != nil {
			matched[t] = true
			if !t.resolved {
				t.f = f
			}
			continue
		}
		t := &tracked{f: f}
		e.active = append(e.active, t)
		matched[t] = true
		out = append(out, Change{Finding: f})
	}
	keep := e.active[:0]
	for _, t := range e.active {
		end := t.f.End
		if end.IsZero() {
			end = t.f.Start
		}
		gone := !matched[t] && t.f.Start.After(e.newest.Add(-e.cfg.Keep))
		quiet := e.newest.Sub(end) > e.cfg.ResolveAfter
		if gone || quiet {
			t.resolved = true
			out = append(out, Change{Resolved: true, Finding: t.f})
			e.done = append(e.done, t)
			continue
		}
		keep = append(keep, t)
	}
	e.active = keep
	// Forget resolved findings once they left the window.
	dk := e.done[:0]
	for _, t := range e.done {
		if t.f.Start.After(e.newest.Add(-e.cfg.Keep)) {
			dk = append(dk, t)
		}
	}
	e.done = dk
	sort.SliceStable(out, func(i, j int) bool { return changeTime(out[i]).Before(changeTime(out[j])) })
	return out, tl
}

func changeTime(c Change) time.Time {
	if c.Resolved && !c.Finding.End.IsZero() {
		return c.Finding.End
	}
	return c.Finding.Start
}

// find returns the tracked finding f continues: the same rule and backend
// with a start within five minutes or overlapping spans.
func (e *Engine) find(f rules.Finding) *tracked {
	for _, list := range [][]*tracked{e.active, e.done} {
		for _, t := range list {
			if t.f.Rule != f.Rule || t.f.Backend != f.Backend {
				continue
			}
			d := t.f.Start.Sub(f.Start)
			if d < 0 {
				d = -d
			}
			if d <= 5*time.Minute || (!f.Start.After(t.f.End) && !t.f.Start.After(f.End)) {
				return t
			}
		}
	}
	return nil
}

// Active returns the findings that fired and have not resolved.
func (e *Engine) Active() []rules.Finding {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]rules.Finding, 0, len(e.active))
	for _, t := range e.active {
		out = append(out, t.f)
	}
	return out
}

// match looks a stream path up in a PATH=VALUE map: the exact path, a path
// suffix, or a glob over the path or its base name. Keys are tried in
// sorted order.
func match(m map[string]string, p string) (string, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p = filepath.ToSlash(p)
	for _, k := range keys {
		key := filepath.ToSlash(k)
		if p == key || strings.HasSuffix(p, "/"+key) {
			return m[k], true
		}
		if ok, _ := path.Match(key, p); ok {
			return m[k], true
		}
		if ok, _ := path.Match(key, path.Base(p)); ok {
			return m[k], true
		}
	}
	return "", false
}

var _ = fmt.Sprint
