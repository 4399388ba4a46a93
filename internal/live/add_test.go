package live

import (
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Add keeps each point of overlapping polls once, and the samples reach
// the snapshot and the sources.
func TestAddOverlappingPolls(t *testing.T) {
	reg, _ := builtin.Registry()
	e := New(Config{Registry: reg, Pack: rules.Default(), Zone: time.UTC})
	t0 := time.Date(2026, 5, 1, 5, 0, 0, 0, time.UTC)
	poll := func(from, to int) *timeline.Timeline {
		var pts []timeline.Point
		for i := from; i <= to; i++ {
			pts = append(pts, timeline.Point{Time: t0.Add(time.Duration(i) * 10 * time.Second), Value: float64(1200 - i)})
		}
		return &timeline.Timeline{Series: []*timeline.Series{timeline.NewGaugeSeries(timeline.MetricActiveConn, "vm-a", pts)}}
	}
	e.Add("prometheus:x", "prometheus", poll(0, 30))  // 31 points
	e.Add("prometheus:x", "prometheus", poll(30, 31)) // 1 new
	e.Add("prometheus:x", "prometheus", poll(25, 33)) // 2 new
	e.Add("prometheus:x", "prometheus", nil)
	tl, srcs, _ := e.Snapshot()
	if len(srcs) != 1 || srcs[0].Samples != 34 || srcs[0].Format != "prometheus" {
		t.Fatalf("sources %+v, want one prometheus source with 34 samples", srcs)
	}
	s := tl.Find(timeline.MetricActiveConn, "vm-a")
	if s == nil {
		t.Fatal("no active_conn series for vm-a")
	}
	if p, ok := s.Last(s.Span()); !ok || p.Value != 1200-33 {
		t.Errorf("last point %+v", p)
	}
	if got := e.Newest(); !got.Equal(t0.Add(330 * time.Second)) {
		t.Errorf("newest %v", got)
	}
}
