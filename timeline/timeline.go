package timeline

import (
	"container/heap"
	"sort"
	"strings"
	"time"
)

// Timeline is every source merged onto one time axis: events sorted by time
// (stable across sources: ties keep source order), and series sorted by
// metric and backend.
type Timeline struct {
	Events []Event
	Series []*Series
}

func (t *Timeline) sortAll() {
	sort.SliceStable(t.Events, func(i, j int) bool { return t.Events[i].Time.Before(t.Events[j].Time) })
	for i := range t.Events {
		t.Events[i].Seq = int64(i)
	}
	sort.Slice(t.Series, func(i, j int) bool {
		a, b := t.Series[i], t.Series[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Backend < b.Backend
	})
}

// Merge merges timelines, in the order given, into one. Events are merged by
// a stable k-way merge on time: events with equal times keep the order of
// their inputs and, within an input, their own order. Series of the same
// metric and backend are combined: counters are summed, gauge points merged.
// The inputs must not be used afterwards.
func Merge(parts ...*Timeline) *Timeline {
	out := &Timeline{}
	h := &mergeHeap{}
	total := 0
	for i, p := range parts {
		if p == nil {
			continue
		}
		total += len(p.Events)
		if len(p.Events) > 0 {
			h.items = append(h.items, mergeCursor{part: i, evs: p.Events})
		}
	}
	heap.Init(h)
	out.Events = make([]Event, 0, total)
	for h.Len() > 0 {
		c := &h.items[0]
		out.Events = append(out.Events, c.evs[c.i])
		c.i++
		if c.i == len(c.evs) {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	for i := range out.Events {
		out.Events[i].Seq = int64(i)
	}

	bykey := map[seriesKey]*Series{}
	for _, p := range parts {
		if p == nil {
			continue
		}
		for _, s := range p.Series {
			k := seriesKey{s.Metric, s.Backend}
			dst := bykey[k]
			if dst == nil {
				cp := &Series{Metric: s.Metric, Backend: s.Backend}
				if s.counter != nil {
					cp.counter = &counter{}
				}
				bykey[k] = cp
				dst = cp
				out.Series = append(out.Series, cp)
			}
			if dst.counter != nil {
				dst.counter.merge(s.counter)
			} else {
				dst.points = append(dst.points, s.points...)
			}
		}
	}
	for _, s := range out.Series {
		if s.counter == nil {
			sortPoints(s.points)
		}
	}
	sort.Slice(out.Series, func(i, j int) bool {
		a, b := out.Series[i], out.Series[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Backend < b.Backend
	})
	return out
}

type mergeCursor struct {
	part int
	evs  []Event
	i    int
}

type mergeHeap struct{ items []mergeCursor }

func (h *mergeHeap) Len() int { return len(h.items) }
func (h *mergeHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	ta, tb := a.evs[a.i].Time, b.evs[b.i].Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.part < b.part
}
func (h *mergeHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap) Push(x any)    { h.items = append(h.items, x.(mergeCursor)) }
func (h *mergeHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// Find returns the series of metric m on backend, or nil. backend "" finds
// the series with no backend label.
func (t *Timeline) Find(m Metric, backend string) *Series {
	for _, s := range t.Series {
		if s.Metric == m && s.Backend == backend {
			return s
		}
	}
	return nil
}

// SeriesOf returns every series of metric m, sorted by backend.
func (t *Timeline) SeriesOf(m Metric) []*Series {
	var out []*Series
	for _, s := range t.Series {
		if s.Metric == m {
			out = append(out, s)
		}
	}
	return out
}

// Backends returns the sorted, distinct backends named by events and series.
func (t *Timeline) Backends() []string {
	seen := map[string]bool{}
	for i := range t.Events {
		if b := t.Events[i].Backend; b != "" {
			seen[b] = true
		}
	}
	for _, s := range t.Series {
		if s.Backend != "" {
			seen[s.Backend] = true
		}
	}
	out := make([]string, 0, len(seen))
	for b := range seen {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// Window returns the span of all events and series.
func (t *Timeline) Window() Window {
	var w Window
	for i := range t.Events {
		w.Extend(t.Events[i].Time)
		w.Extend(t.Events[i].End)
	}
	for _, s := range t.Series {
		sp := s.Span()
		w.Extend(sp.Start)
		w.Extend(sp.End)
	}
	return w
}

// EventsIn returns the events whose time lies in w, in timeline order.
func (t *Timeline) EventsIn(w Window) []Event {
	lo := sort.Search(len(t.Events), func(i int) bool { return !t.Events[i].Time.Before(w.Start) })
	hi := sort.Search(len(t.Events), func(i int) bool { return t.Events[i].Time.After(w.End) })
	if lo >= hi {
		return nil
	}
	return t.Events[lo:hi]
}

// Summary returns a one-line human description of e, e.g.
// "conn_reset errno=104: 3412 between 14:02:05 and 14:03:10, peak 420/s".
func (e *Event) Summary(loc *time.Location) string {
	var sb strings.Builder
	sb.WriteString(string(e.Kind))
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sb.WriteByte(' ')
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(e.Attrs[k])
	}
	if e.Count > 1 {
		sb.WriteString(": ")
		sb.WriteString(itoa(e.Count))
		sb.WriteString(" between ")
		sb.WriteString(e.Time.In(loc).Format("15:04:05"))
		sb.WriteString(" and ")
		sb.WriteString(e.End.In(loc).Format("15:04:05"))
		sb.WriteString(", peak ")
		sb.WriteString(itoa(int(e.Peak)))
		sb.WriteString("/s")
	}
	if e.Backend != "" {
		sb.WriteString(" on ")
		sb.WriteString(e.Backend)
	}
	return sb.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [24]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Source describes one input stream after ingest: its path as given (joined
// with the file's path inside a directory), the detected format, and counts.
type Source struct {
	Path         string   `json:"path"`
	Format       string   `json:"format"`
	Backend      string   `json:"backend,omitempty"`
	Lines        int64    `json:"lines"`
	Events       int64    `json:"events"`
	Samples      int64    `json:"samples"`
	Unrecognized int64    `json:"unrecognized"`
	Skipped      int64    `json:"skipped"`
	Warnings     []string `json:"warnings"`

	// Prefiltered counts the lines a prefilter skipped unparsed: they held
	// no literal of a signal the run uses.
	Prefiltered int64 `json:"prefiltered,omitempty"`
}
