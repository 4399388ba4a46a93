package timeline

import (
	"testing"
	"time"
)

func TestSnapshotDoesNotConsume(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 14, 2, 2, 0, time.UTC)
	b := NewBuilder(Options{})
	add := func(sec int, n int) {
		for i := 0; i < n; i++ {
			b.Event(Event{Time: t0.Add(time.Duration(sec) * time.Second), Kind: KindConnReset, Backend: "vm-c", Attrs: map[string]string{"errno": "104"}, Pos: Pos{File: "e.log", Line: int64(sec*100 + i)}, Text: "recv() failed (104"})
		}
		b.Sample(Sample{Time: t0.Add(time.Duration(sec) * time.Second), Metric: MetricActiveConn, Backend: "vm-c", Value: float64(1000 - sec)})
	}
	add(0, 3)
	add(1, 5)
	s1 := b.Snapshot()
	if len(s1.Events) != 1 || s1.Events[0].Count != 8 || s1.Events[0].Peak != 5 {
		t.Fatalf("first snapshot: %+v", s1.Events)
	}
	if got := s1.Find(MetricResets, "vm-c").Sum(Window{Start: t0, End: t0.Add(time.Minute)}); got != 8 {
		t.Errorf("resets in snapshot 1 = %v, want 8", got)
	}
	add(2, 2)
	s2 := b.Snapshot()
	if s2.Events[0].Count != 10 || s1.Events[0].Count != 8 {
		t.Errorf("counts after more data: snapshot2 %d (want 10), snapshot1 %d (want 8)", s2.Events[0].Count, s1.Events[0].Count)
	}
	if n := len(s1.Find(MetricActiveConn, "vm-c").Points(Window{Start: t0, End: t0.Add(time.Minute)})); n != 2 {
		t.Errorf("snapshot 1 gauge points = %d, want 2", n)
	}
	// Merge consumes its inputs: merging a snapshot leaves b intact.
	_ = Merge(s2)
	final := b.Timeline()
	if final.Events[0].Count != 10 || final.Find(MetricResets, "vm-c").Sum(Window{Start: t0, End: t0.Add(time.Minute)}) != 10 {
		t.Errorf("builder damaged by snapshots: %+v", final.Events[0])
	}
}

func TestForget(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC)
	b := NewBuilder(Options{BurstGap: time.Second})
	for sec := 0; sec < 100; sec += 10 {
		at := t0.Add(time.Duration(sec) * time.Second)
		b.Event(Event{Time: at, Kind: KindConnReset, Backend: "vm-c"})
		b.Event(Event{Time: at, Kind: KindDeployStep, Attrs: map[string]string{"step": "start"}})
		b.Sample(Sample{Time: at, Metric: MetricTimeWait, Backend: "vm-c", Value: float64(sec)})
	}
	b.Forget(t0.Add(55 * time.Second))
	s := b.Snapshot()
	w := Window{Start: t0, End: t0.Add(time.Hour)}
	if got := s.Find(MetricResets, "vm-c").Sum(w); got != 4 {
		t.Errorf("resets after Forget = %v, want 4 (60..90s)", got)
	}
	if got := len(s.Find(MetricTimeWait, "vm-c").Points(w)); got != 4 {
		t.Errorf("timewait points = %d, want 4", got)
	}
	for _, e := range s.Events {
		if e.Time.Before(t0.Add(55 * time.Second)) {
			t.Errorf("event at %s kept", e.Time)
		}
	}
	if len(s.Events) != 8 {
		t.Errorf("%d events kept, want 8", len(s.Events))
	}
}
