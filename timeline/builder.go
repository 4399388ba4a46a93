package timeline

import (
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
}

type burst struct {
	ev       Event
	last     time.Time
	sec      int64
	secCount int
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
	m, isBurst := BurstMetric(e.Kind)
	if !isBurst {
		b.events = append(b.events, e)
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
		bu = &burst{ev: e, last: e.Time, sec: e.Time.Unix(), secCount: e.Count}
		bu.ev.End = e.Time
		bu.ev.Peak = float64(e.Count)
		bu.ev.Evidence = []Evidence{{Pos: e.Pos, Time: e.Time, Text: e.Text}}
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
	} else {
		bu.sec, bu.secCount = s, e.Count
	}
	if float64(bu.secCount) > bu.ev.Peak {
		bu.ev.Peak = float64(bu.secCount)
	}
	if len(bu.ev.Evidence) < b.opts.MaxEvidence {
		bu.ev.Evidence = append(bu.ev.Evidence, Evidence{Pos: e.Pos, Time: e.Time, Text: e.Text})
	}
}

func (b *Builder) close(key string, bu *burst) {
	b.events = append(b.events, bu.ev)
	delete(b.open, key)
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
	keys := make([]string, 0, len(b.open))
	for k := range b.open {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.close(k, b.open[k])
	}
	tl := &Timeline{Events: b.events}
	for _, s := range b.series {
		tl.Series = append(tl.Series, s)
	}
	tl.sortAll()
	return tl
}
