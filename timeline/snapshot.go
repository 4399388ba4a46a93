package timeline

import (
	"maps"
	"slices"
	"sort"
	"time"
)

// Snapshot returns what b has collected so far as a sorted Timeline, as
// Timeline would, without consuming b: open bursts are closed in the copy
// only, and b goes on collecting. The result shares nothing mutable with b
// (event attribute maps are shared and must be treated as read-only, as
// everywhere). Live followers call it to evaluate rules while data arrives.
func (b *Builder) Snapshot() *Timeline {
	tl := &Timeline{Events: make([]Event, 0, len(b.events)+len(b.open))}
	tl.Events = append(tl.Events, b.events...)
	arr := append(make([]int64, 0, len(b.arr)+len(b.open)), b.arr...)
	for _, k := range slices.Sorted(maps.Keys(b.open)) {
		ev := b.open[k].ev
		ev.Evidence = append([]Evidence(nil), ev.Evidence...)
		tl.Events = append(tl.Events, ev)
		arr = append(arr, b.open[k].arrival)
	}
	sort.Stable(byArrival{tl.Events, arr})
	for _, s := range b.series {
		c := &Series{Metric: s.Metric, Backend: s.Backend}
		if s.counter != nil {
			s.counter.normalize()
			c.counter = &counter{base: s.counter.base, sorted: true}
			c.counter.setEntries(s.counter.entries())
		} else {
			c.points = append([]Point(nil), s.points...)
			sortPoints(c.points)
		}
		tl.Series = append(tl.Series, c)
	}
	tl.sortAll()
	return tl
}

// Forget drops what ended before t: closed events whose end (or time) is
// before t, gauge points and counter seconds before t. Open bursts are kept
// whole. A live follower calls it to keep memory bounded to a sliding
// window.
func (b *Builder) Forget(t time.Time) {
	evs, arr := b.events[:0], b.arr[:0]
	for i, e := range b.events {
		end := e.End
		if end.IsZero() {
			end = e.Time
		}
		if !end.Before(t) {
			evs = append(evs, e)
			arr = append(arr, b.arr[i])
		}
	}
	clear(b.events[len(evs):])
	b.events, b.arr = evs, arr
	for k, s := range b.series {
		if s.counter != nil {
			c := s.counter
			c.normalize()
			cut := t.Unix() - c.base
			if i := c.search(cut); i > 0 {
				c.setEntries(c.entries()[i:])
			}
			if c.n == 0 {
				delete(b.series, k)
				b.recent = [len(b.recent)]*Series{}
			}
			continue
		}
		sortPoints(s.points)
		i := sort.Search(len(s.points), func(i int) bool { return !s.points[i].Time.Before(t) })
		if i > 0 {
			s.points = append(s.points[:0:0], s.points[i:]...)
		}
		if len(s.points) == 0 {
			delete(b.series, k)
			b.recent = [len(b.recent)]*Series{}
		}
	}
}
