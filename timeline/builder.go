package timeline

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// BurstKinds are the event kinds that come in bursts: many lines of the same
// signal. A Builder condenses them into interval events and counts them into
// the counter metric returned by BurstMetric.
var BurstKinds = []Kind{KindConnReset, KindUpstreamError, KindAbortedSession, KindHTTPError}

// BurstMetric returns the counter metric that counts events of kind k, and
// whether k is a burst kind.
func BurstMetric(k Kind) (Metric, bool) {
	switch k {
	case KindConnReset:
		return MetricResets, true
	case KindUpstreamError:
		return MetricUpstreamErrs, true
	case KindAbortedSession:
		return MetricAborted, true
	case KindHTTPError:
		return MetricHTTP5xx, true
	}
	return "", false
}

// burstAttrs are the attributes that split bursts: a 104 reset burst and a
// 111 refused burst on the same backend are two bursts.
var burstAttrs = []string{"errno", "reason", "flags", "status"}

// Options tune condensing.
type Options struct {
	// BurstGap closes a burst when the next line of the same signal comes
	// more than this later. Default 30s.
	BurstGap time.Duration
	// MaxEvidence is how many lines a burst keeps as evidence. Default 3.
	MaxEvidence int
}

func (o Options) withDefaults() Options {
	if o.BurstGap <= 0 {
		o.BurstGap = 30 * time.Second
	}
	if o.MaxEvidence <= 0 {
		o.MaxEvidence = 3
	}
	return o
}

// Builder is a Sink that condenses what one source stream yields. It keeps
// single events as they are, condenses burst kinds into interval events, sums
// counter samples into per-second buckets and keeps gauge samples as points.
// Memory grows with the number of events and seconds covered, not with the
// number of lines.
//
// A Builder is not safe for concurrent use; give each stream its own and
// combine them with Merge.
type Builder struct {
	opts   Options
	events []Event
	open   map[string]*burst
	series map[seriesKey]*Series
	recent [6]*Series // most recently used first
	// arr[i] is the arrival number of events[i] (of its first line, for a
	// burst): events at the same time are put in the order their first
	// lines came, not in the order bursts happened to close. n counts the
	// events given.
	arr []int64
	n   int64
	// keys that have had a burst, and the closed first bursts of their
	// key (index into events), for Append.
	seen        map[string]bool
	firstClosed map[string]firstBurst
}

// firstBurst is a closed burst that was the first of its key.
type firstBurst struct {
	idx      int // in events
	last     time.Time
	firstSec int64
	firstRun int
	whole    bool // the burst's lines were all in its first second's run
}

type burst struct {
	ev       Event
	last     time.Time
	sec      int64
	secCount int
	arrival  int64 // of the burst's first line
	// For Append: the first burst of its key in this Builder, and the
	// second and count of its first run of lines in one second (while
	// inFirst, that run is still the current one).
	firstOfKey bool
	firstSec   int64
	firstRun   int
	inFirst    bool
}

type seriesKey struct {
	metric  Metric
	backend string
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	return &Builder{
		opts:   opts.withDefaults(),
		open:   map[string]*burst{},
		series: map[seriesKey]*Series{},
	}
}

// Event records e. Events of a burst kind are condensed.
func (b *Builder) Event(e Event) {
	if e.Count == 0 {
		e.Count = 1
	}
	arrival := b.n
	b.n++
	m, isBurst := BurstMetric(e.Kind)
	if !isBurst {
		b.events = append(b.events, e)
		b.arr = append(b.arr, arrival)
		return
	}
	b.count(m, e.Backend, e.Time, e.Pos, float64(e.Count))
	key := burstKey(&e)
	bu := b.open[key]
	if bu != nil && e.Time.Sub(bu.last) > b.opts.BurstGap {
		b.close(key, bu)
		bu = nil
	}
	if bu == nil {
		bu = &burst{ev: e, last: e.Time, sec: e.Time.Unix(), secCount: e.Count, arrival: arrival}
		bu.ev.End = e.Time
		bu.ev.Peak = float64(e.Count)
		bu.ev.Evidence = []Evidence{{Pos: e.Pos, Time: e.Time, Text: e.Text}}
		if !b.seen[key] {
			if b.seen == nil {
				b.seen = map[string]bool{}
			}
			b.seen[key] = true
			bu.firstOfKey, bu.firstSec, bu.firstRun, bu.inFirst = true, bu.sec, e.Count, true
		}
		b.open[key] = bu
		return
	}
	bu.ev.Count += e.Count
	if e.Time.After(bu.last) {
		bu.last = e.Time
		bu.ev.End = e.Time
	}
	if s := e.Time.Unix(); s == bu.sec {
		bu.secCount += e.Count
		if bu.inFirst {
			bu.firstRun += e.Count
		}
	} else {
		bu.sec, bu.secCount = s, e.Count
		bu.inFirst = false
	}
	if float64(bu.secCount) > bu.ev.Peak {
		bu.ev.Peak = float64(bu.secCount)
	}
	if len(bu.ev.Evidence) < b.opts.MaxEvidence {
		bu.ev.Evidence = append(bu.ev.Evidence, Evidence{Pos: e.Pos, Time: e.Time, Text: e.Text})
	}
}

func (b *Builder) close(key string, bu *burst) {
	if bu.firstOfKey {
		if b.firstClosed == nil {
			b.firstClosed = map[string]firstBurst{}
		}
		b.firstClosed[key] = firstBurst{idx: len(b.events), last: bu.last, firstSec: bu.firstSec, firstRun: bu.firstRun, whole: bu.inFirst}
	}
	b.events = append(b.events, bu.ev)
	b.arr = append(b.arr, bu.arrival)
	delete(b.open, key)
}

// byArrival sorts events by time, then by the arrival of their first line.
type byArrival struct {
	evs []Event
	arr []int64
}

func (s byArrival) Len() int { return len(s.evs) }
func (s byArrival) Less(i, j int) bool {
	if !s.evs[i].Time.Equal(s.evs[j].Time) {
		return s.evs[i].Time.Before(s.evs[j].Time)
	}
	return s.arr[i] < s.arr[j]
}
func (s byArrival) Swap(i, j int) {
	s.evs[i], s.evs[j] = s.evs[j], s.evs[i]
	s.arr[i], s.arr[j] = s.arr[j], s.arr[i]
}

func burstKey(e *Event) string {
	var sb strings.Builder
	sb.WriteString(string(e.Kind))
	sb.WriteByte(0)
	sb.WriteString(e.Backend)
	for _, a := range burstAttrs {
		sb.WriteByte(0)
		sb.WriteString(e.Attr(a))
	}
	return sb.String()
}

// Sample records s: counters are summed per second, gauges kept as points.
func (b *Builder) Sample(s Sample) {
	sr := b.get(s.Metric, s.Backend)
	if sr.counter != nil {
		sr.counter.add(s.Time, s.Value, s.Pos)
		return
	}
	sr.points = append(sr.points, Point{Time: s.Time, Value: s.Value, Pos: s.Pos})
}

func (b *Builder) get(m Metric, backend string) *Series {
	// Access logs send runs of a few metrics on one backend: a small
	// most-recently-used list saves the map lookup on the hot path.
	for i, c := range b.recent {
		if c == nil {
			break
		}
		if c.Metric == m && c.Backend == backend {
			if i > 0 {
				copy(b.recent[1:i+1], b.recent[:i])
				b.recent[0] = c
			}
			return c
		}
	}
	k := seriesKey{m, backend}
	sr := b.series[k]
	if sr == nil {
		sr = &Series{Metric: m, Backend: backend}
		if m.IsCounter() {
			sr.counter = &counter{}
		}
		b.series[k] = sr
	}
	copy(b.recent[1:], b.recent[:len(b.recent)-1])
	b.recent[0] = sr
	return sr
}

func (b *Builder) count(m Metric, backend string, t time.Time, pos Pos, v float64) {
	b.get(m, backend).counter.add(t, v, pos)
}

// Timeline closes open bursts and returns what b collected as a sorted
// Timeline. b must not be used afterwards.
func (b *Builder) Timeline() *Timeline {
	for _, k := range slices.Sorted(maps.Keys(b.open)) {
		b.close(k, b.open[k])
	}
	sort.Stable(byArrival{b.events, b.arr})
	tl := &Timeline{Events: b.events}
	for _, s := range b.series {
		tl.Series = append(tl.Series, s)
	}
	tl.sortAll()
	return tl
}

// AddLines adds delta to the line numbers of everything b holds from file:
// events, burst evidence, counter seconds and gauge points. A stream parsed
// in pieces numbers each piece's lines from 1; this moves them to their
// place in the file.
func (b *Builder) AddLines(file string, delta int64) {
	if delta == 0 {
		return
	}
	fix := func(p *Pos) {
		if p.File == file {
			p.Line += delta
		}
	}
	fixEvent := func(e *Event) {
		fix(&e.Pos)
		for i := range e.Evidence {
			fix(&e.Evidence[i].Pos)
		}
	}
	for i := range b.events {
		fixEvent(&b.events[i])
	}
	for _, bu := range b.open {
		fixEvent(&bu.ev)
	}
	idx := intern(file)
	for _, s := range b.series {
		if s.counter != nil {
			for _, pg := range s.counter.pages {
				for k := range pg {
					if pg[k].file == idx {
						pg[k].line = satLine(int64(pg[k].line) + delta)
					}
				}
			}
			continue
		}
		for k := range s.points {
			fix(&s.points[k].Pos)
		}
	}
}

// Append adds to b what next collected from the lines that follow the ones
// b was given, as if b had been given them itself: a burst still open in b
// goes on with the first burst of its key in next when that began within
// the burst gap (count, end, peak and evidence are combined), and next's
// series are added to b's. next must not be used afterwards, and neither
// Builder may have had Forget called (it drops what Append looks at).
//
// The result equals one Builder given all the lines, except when the lines
// of a burst go back in time across the cut by more than the burst gap.
func (b *Builder) Append(next *Builder) {
	drop := map[int]bool{} // next's closed first bursts merged into b
	for _, key := range slices.Sorted(maps.Keys(b.open)) {
		a := b.open[key]
		var nb *burst // next's first burst of key, as a burst
		closed := false
		if fc, ok := next.firstClosed[key]; ok {
			ev := next.events[fc.idx]
			nb = &burst{ev: ev, last: fc.last, firstSec: fc.firstSec, firstRun: fc.firstRun, inFirst: fc.whole}
			closed = true
			if ev.Time.Sub(a.last) > b.opts.BurstGap {
				nb = nil
			} else {
				drop[fc.idx] = true
			}
		} else if o := next.open[key]; o != nil && o.firstOfKey {
			if o.ev.Time.Sub(a.last) <= b.opts.BurstGap {
				nb = o
				delete(next.open, key)
			}
		}
		if nb == nil {
			if next.seen[key] {
				b.close(key, a) // next's first burst of key began after the gap
			}
			continue
		}
		a.ev.Count += nb.ev.Count
		if nb.last.After(a.last) {
			a.last = nb.last
		}
		if nb.ev.End.After(a.ev.End) {
			a.ev.End = nb.ev.End
		}
		run := nb.firstRun
		if nb.firstSec == a.sec {
			run += a.secCount
		}
		a.ev.Peak = max(a.ev.Peak, nb.ev.Peak, float64(run))
		for _, ev := range nb.ev.Evidence {
			if len(a.ev.Evidence) >= b.opts.MaxEvidence {
				break
			}
			a.ev.Evidence = append(a.ev.Evidence, ev)
		}
		if nb.inFirst {
			// next's burst was one run of one second: it goes on from it.
			a.sec, a.secCount = nb.firstSec, run
		} else {
			a.sec, a.secCount = nb.sec, nb.secCount
		}
		a.inFirst = a.inFirst && nb.inFirst && nb.firstSec == a.firstSec
		if a.inFirst {
			a.firstRun = run
		}
		if closed {
			b.close(key, a)
		}
	}
	// next's events follow b's; a key's first burst in next is its first
	// in b only if b never had the key.
	at := map[int]int{}
	for i, e := range next.events {
		if !drop[i] {
			at[i] = len(b.events)
			b.events = append(b.events, e)
			b.arr = append(b.arr, next.arr[i]+b.n)
		}
	}
	for key, fc := range next.firstClosed {
		if !b.seen[key] {
			if b.firstClosed == nil {
				b.firstClosed = map[string]firstBurst{}
			}
			fc.idx = at[fc.idx]
			b.firstClosed[key] = fc
		}
	}
	for _, key := range slices.Sorted(maps.Keys(next.open)) {
		bu := next.open[key]
		if b.seen[key] {
			bu.firstOfKey = false
		}
		bu.arrival += b.n
		b.open[key] = bu
	}
	b.n += next.n
	for key := range next.seen {
		if b.seen == nil {
			b.seen = map[string]bool{}
		}
		b.seen[key] = true
	}
	for k, s := range next.series {
		dst := b.series[k]
		if dst == nil {
			b.series[k] = s
			continue
		}
		if dst.counter != nil {
			dst.counter.merge(s.counter)
		} else {
			dst.points = append(dst.points, s.points...)
		}
	}
	b.recent = [len(b.recent)]*Series{}
}
