package timeline

import (
	"testing"
	"time"
)

func TestShiftMovesEventsEvidenceAndSeries(t *testing.T) {
	b := NewBuilder(Options{})
	b.Event(Event{Time: at(0), Kind: KindBackendState, Backend: "vm-c", Attrs: map[string]string{"state": StateRemoved}, Pos: Pos{"lb.log", 1}})
	for i, s := range []float64{5.1, 5.2, 7.0} {
		b.Event(reset(s, "vm-c", int64(i+2)))
	}
	b.Sample(Sample{Time: at(3.5), Metric: MetricActiveConn, Backend: "vm-c", Value: 287, Pos: Pos{"lb.log", 9}})
	tl := b.Timeline()

	for _, tc := range []struct {
		name        string
		d           time.Duration
		counterSecs float64 // where the counter's first second lands
	}{
		{"zero", 0, 5},
		{"ahead", -8 * time.Second, -3},
		{"fraction rounds the counter", 2400 * time.Millisecond, 7},
		{"fraction rounds up", -1600 * time.Millisecond, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := clone(tl)
			cp.Shift(tc.d)
			if got, want := cp.Events[0].Time, at(0).Add(tc.d); !got.Equal(want) {
				t.Errorf("state event at %v, want %v", got, want)
			}
			burst := cp.Events[1]
			if !burst.Time.Equal(at(5.1).Add(tc.d)) || !burst.End.Equal(at(7).Add(tc.d)) {
				t.Errorf("burst %v..%v, want %v..%v", burst.Time, burst.End, at(5.1).Add(tc.d), at(7).Add(tc.d))
			}
			for k, ev := range burst.Evidence {
				if want := tl.Events[1].Evidence[k].Time.Add(tc.d); !ev.Time.Equal(want) {
					t.Errorf("evidence %d at %v, want %v", k, ev.Time, want)
				}
			}
			if !cp.Events[0].End.IsZero() {
				t.Errorf("a single event gained an end: %v", cp.Events[0].End)
			}
			g := cp.Find(MetricActiveConn, "vm-c").Points(Window{at(-100), at(100)})
			if len(g) != 1 || !g[0].Time.Equal(at(3.5).Add(tc.d)) {
				t.Errorf("gauge points %v, want one at %v", g, at(3.5).Add(tc.d))
			}
			c := cp.Find(MetricResets, "vm-c").Points(Window{at(-100), at(100)})
			if len(c) != 2 || !c[0].Time.Equal(at(tc.counterSecs)) || c[0].Value != 2 || c[1].Value != 1 {
				t.Errorf("counter points %v, want 2 at %v then 1", c, at(tc.counterSecs))
			}
			if w := cp.Window(); !w.Start.Equal(at(0).Add(tc.d)) {
				t.Errorf("window starts %v, want %v", w.Start, at(0).Add(tc.d))
			}
		})
	}
	var nilTL *Timeline
	nilTL.Shift(time.Second) // must not panic
}

// clone deep-copies what Shift changes, so each case starts afresh.
func clone(tl *Timeline) *Timeline {
	out := &Timeline{}
	for _, e := range tl.Events {
		e.Evidence = append([]Evidence(nil), e.Evidence...)
		out.Events = append(out.Events, e)
	}
	for _, s := range tl.Series {
		c := &Series{Metric: s.Metric, Backend: s.Backend, points: append([]Point(nil), s.points...)}
		if s.counter != nil {
			cc := *s.counter
			cc.setEntries(s.counter.entries())
			c.counter = &cc
		}
		out.Series = append(out.Series, c)
	}
	return out
}
