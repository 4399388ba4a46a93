package live

import "github.com/postmortem-tool/postmortem/timeline"

// Add feeds the events and gauge samples of tl as part of the stream named
// path, a source that is not lines (one Prometheus poll, say); format
// names it in the sources. Points at or before the newest point already
// added for the same series are skipped, so overlapping polls add each
// point once. Counter series are skipped (metric sources give gauges).
func (e *Engine) Add(path, format string, tl *timeline.Timeline) {
	if tl == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stream(path)
	if !s.detected {
		s.detected, s.forced = true, true
		s.src.Format = format
	}
	if s.last == nil {
		s.last = map[seriesKey]int64{}
	}
	for _, ev := range tl.Events {
		s.sink.Event(ev)
	}
	for _, ser := range tl.Series {
		if ser.IsCounter() {
			continue
		}
		k := seriesKey{ser.Metric, ser.Backend}
		last, seen := s.last[k]
		for _, p := range ser.Points(ser.Span()) {
			ns := p.Time.UnixNano()
			if seen && ns <= last {
				continue
			}
			s.sink.Sample(timeline.Sample{Time: p.Time, Metric: ser.Metric, Backend: ser.Backend, Value: p.Value, Pos: p.Pos})
			last, seen = ns, true
		}
		s.last[k] = last
	}
}

type seriesKey struct {
	m       timeline.Metric
	backend string
}
