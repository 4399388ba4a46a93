package timeline

import "time"

// Shift moves everything in t by d: event times and ends, the times of
// their evidence lines, and the points of every series. It is how a
// source's clock error is corrected after parsing. Gauge points move
// exactly; counter series hold per-second sums, so they move by d rounded
// to the nearest whole second (a line's sub-second time is not kept). Order
// is unchanged, since every time moves alike. t must not be shared with
// another timeline (Merge's inputs are not).
func (t *Timeline) Shift(d time.Duration) {
	if t == nil || d == 0 {
		return
	}
	for i := range t.Events {
		e := &t.Events[i]
		e.Time = e.Time.Add(d)
		if !e.End.IsZero() {
			e.End = e.End.Add(d)
		}
		for k := range e.Evidence {
			if !e.Evidence[k].Time.IsZero() {
				e.Evidence[k].Time = e.Evidence[k].Time.Add(d)
			}
		}
	}
	secs := int64(d.Round(time.Second) / time.Second)
	for _, s := range t.Series {
		if s.counter != nil {
			s.counter.base += secs
			continue
		}
		for k := range s.points {
			s.points[k].Time = s.points[k].Time.Add(d)
		}
	}
}
