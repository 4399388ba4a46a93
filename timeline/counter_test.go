package timeline

import (
	"math/rand"
	"testing"
	"time"
)

// TestCounterPages adds more seconds than fit in several pages, in a
// mostly increasing order with repeats and stragglers as access logs have,
// reads the counter in the middle (Snapshot) and at the end, and compares
// every second with a plain map.
func TestCounterPages(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	b := NewBuilder(Options{})
	want := map[int64]float64{}
	first := map[int64]int64{}
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sec := int64(0)
	for line := int64(1); line <= 3*pageLen*3; line++ {
		if rng.Intn(3) == 0 {
			sec++
		}
		s := sec
		if rng.Intn(50) == 0 && s > 5 {
			s -= int64(rng.Intn(5)) // a straggler: a request that began earlier
		}
		v := float64(rng.Intn(4))
		b.Sample(Sample{Time: t0.Add(time.Duration(s) * time.Second), Metric: MetricRequests, Backend: "vm-a", Value: v, Pos: Pos{File: "a.log", Line: line}})
		want[s] += v
		if _, ok := first[s]; !ok {
			first[s] = line
		}
		if line == pageLen*4 {
			snap := b.Snapshot()
			if len(snap.Series) != 1 {
				t.Fatalf("snapshot has %d series", len(snap.Series))
			}
		}
	}
	tl := b.Timeline()
	pts := tl.Series[0].Points(Window{End: t0.Add(100 * time.Hour)})
	got := map[int64]float64{}
	for _, p := range pts {
		s := p.Time.Unix() - t0.Unix()
		got[s] = p.Value
		if p.Pos.Line != first[s] {
			t.Errorf("second %d: position line %d, want the first line counted in it, %d", s, p.Pos.Line, first[s])
		}
	}
	for s, v := range want {
		if v != 0 && got[s] != v {
			t.Errorf("second %d: sum %v, want %v", s, got[s], v)
		}
	}
	if len(got) == 0 || len(want) < 2*pageLen {
		t.Fatalf("test covers %d seconds, want more than two pages", len(want))
	}
}

// TestCounterSpan checks that a counter's span runs from its first to its
// last second with a non-zero sum, whatever order the seconds came in and
// whatever zero seconds lie around them.
func TestCounterSpan(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	b := NewBuilder(Options{})
	for _, x := range []struct{ sec, v int }{{50, 0}, {40, 3}, {10, 0}, {20, 1}, {90, 0}, {70, 2}, {80, 0}, {5000, 0}} {
		b.Sample(Sample{Time: at(x.sec), Metric: MetricRequests, Value: float64(x.v), Pos: Pos{File: "a", Line: 1}})
	}
	tl := b.Timeline()
	if got := tl.Series[0].Span(); !got.Start.Equal(at(20)) || !got.End.Equal(at(70)) {
		t.Errorf("span %v .. %v, want %v .. %v", got.Start, got.End, at(20), at(70))
	}
	empty := NewBuilder(Options{})
	empty.Sample(Sample{Time: at(1), Metric: MetricRequests, Value: 0})
	if got := empty.Timeline().Series[0].Span(); !got.Start.IsZero() || !got.End.IsZero() {
		t.Errorf("all-zero counter spans %v", got)
	}
}

// TestCounterMerge merges random counters that follow, overlap, precede or
// interleave each other, some large enough for several pages, and checks
// every second's sum and first line against a plain map (the first
// counter's line wins a shared second).
func TestCounterMerge(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	type want struct {
		sum  float64
		line int64
	}
	for round := 0; round < 80; round++ {
		exp := map[int64]want{}
		var parts []*Timeline
		start := int64(rng.Intn(20000))
		for p := 0; p < 2+rng.Intn(3); p++ {
			b := NewBuilder(Options{})
			n := rng.Intn(3 * pageLen)
			sec := start + int64(rng.Intn(5000)) - 2500
			for i := 0; i < n; i++ {
				sec += int64(rng.Intn(3))
				s := sec
				if rng.Intn(20) == 0 {
					s -= int64(rng.Intn(10))
				}
				line := int64(p*1_000_000 + i + 1)
				b.Sample(Sample{Time: t0.Add(time.Duration(s) * time.Second), Metric: MetricRequests, Value: 1, Pos: Pos{File: "m", Line: line}})
				w, ok := exp[s]
				if !ok {
					w.line = line
				}
				w.sum++
				exp[s] = w
			}
			start = sec - int64(rng.Intn(200))
			parts = append(parts, b.Timeline())
		}
		tl := Merge(parts...)
		if len(exp) == 0 {
			continue
		}
		got := map[int64]want{}
		for _, pt := range tl.Series[0].Points(Window{End: t0.Add(1000 * time.Hour)}) {
			got[pt.Time.Unix()-t0.Unix()] = want{pt.Value, pt.Pos.Line}
		}
		if len(got) != len(exp) {
			t.Fatalf("round %d: %d seconds, want %d", round, len(got), len(exp))
		}
		for s, w := range exp {
			if got[s] != w {
				t.Fatalf("round %d: second %d: %+v, want %+v", round, s, got[s], w)
			}
		}
	}
}
