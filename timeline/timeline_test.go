package timeline

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 14, 0, 0, 0, time.FixedZone("KST", 9*3600))

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func reset(sec float64, backend string, line int64) Event {
	return Event{Time: at(sec), Kind: KindConnReset, Backend: backend,
		Attrs: map[string]string{"errno": "104"},
		Pos:   Pos{File: "nginx/" + backend + "/error.log", Line: line},
		Text:  fmt.Sprintf("reset %d", line)}
}

func TestBuilderCondensesBursts(t *testing.T) {
	b := NewBuilder(Options{BurstGap: 10 * time.Second, MaxEvidence: 2})
	b.Event(Event{Time: at(0), Kind: KindBackendState, Backend: "vm-c", Attrs: map[string]string{"state": StateRemoved}, Pos: Pos{"lb.log", 1}})
	line := int64(1)
	// 3 resets in second 5, 1 in second 6, then a gap of 60s, then 2 more.
	for _, s := range []float64{5.1, 5.2, 5.3, 6.0, 66, 67} {
		b.Event(reset(s, "vm-c", line))
		line++
	}
	// Another errno on the same backend is another burst.
	b.Event(Event{Time: at(5.5), Kind: KindUpstreamError, Backend: "vm-c", Attrs: map[string]string{"errno": "111"}, Pos: Pos{"e", 9}})
	tl := b.Timeline()
	var kinds []string
	for _, e := range tl.Events {
		kinds = append(kinds, fmt.Sprintf("%s@%v n=%d peak=%v ev=%d", e.Kind, e.Time.Sub(t0), e.Count, e.Peak, len(e.Evidence)))
	}
	want := []string{
		"backend_state@0s n=1 peak=0 ev=0",
		"conn_reset@5.1s n=4 peak=3 ev=2",
		"upstream_error@5.5s n=1 peak=1 ev=1",
		"conn_reset@1m6s n=2 peak=1 ev=2",
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("events:\n got %v\nwant %v", kinds, want)
	}
	if e := tl.Events[1]; !e.End.Equal(at(6)) {
		t.Errorf("burst end = %v, want %v", e.End, at(6))
	}
	s := tl.Find(MetricResets, "vm-c")
	if s == nil {
		t.Fatal("no reset counter series")
	}
	if got := s.Sum(Window{at(0), at(100)}); got != 6 {
		t.Errorf("reset sum = %v, want 6", got)
	}
	if p, _ := s.Max(Window{at(0), at(100)}); p.Value != 3 || p.Pos.Line != 1 {
		t.Errorf("reset max = %+v, want 3 at line 1", p)
	}
}

func TestMergeIsStableAndCombinesSeries(t *testing.T) {
	mk := func(name string, secs ...float64) *Timeline {
		b := NewBuilder(Options{})
		for i, s := range secs {
			b.Event(Event{Time: at(s), Kind: KindDeployStep, Pos: Pos{name, int64(i + 1)}})
			b.Sample(Sample{Time: at(s), Metric: MetricRequests, Backend: "vm-a", Value: 1, Pos: Pos{name, int64(i + 1)}})
			b.Sample(Sample{Time: at(s), Metric: MetricActiveConn, Backend: "vm-a", Value: s, Pos: Pos{name, int64(i + 1)}})
		}
		return b.Timeline()
	}
	tl := Merge(mk("a", 1, 2, 2, 5), mk("b", 0, 2, 9))
	var got []string
	for _, e := range tl.Events {
		got = append(got, e.Pos.String())
	}
	want := []string{"b:1", "a:1", "a:2", "a:3", "b:2", "a:4", "b:3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("merge order %v, want %v", got, want)
	}
	for i, e := range tl.Events {
		if e.Seq != int64(i) {
			t.Errorf("seq %d at %d", e.Seq, i)
		}
	}
	req := tl.Find(MetricRequests, "vm-a")
	if got := req.Sum(Window{at(0), at(10)}); got != 7 {
		t.Errorf("requests = %v, want 7", got)
	}
	if p, _ := req.Max(Window{at(0), at(10)}); p.Value != 3 || p.Pos.String() != "a:2" {
		t.Errorf("peak second = %+v, want 3 with first line a:2", p)
	}
	act := tl.Find(MetricActiveConn, "vm-a")
	if n := len(act.Points(Window{at(0), at(10)})); n != 7 {
		t.Errorf("gauge points = %d, want 7", n)
	}
	if got := tl.Backends(); fmt.Sprint(got) != "[vm-a]" {
		t.Errorf("backends = %v", got)
	}
	if w := tl.Window(); !w.Start.Equal(at(0)) || !w.End.Equal(at(9)) {
		t.Errorf("window = %v", w)
	}
}

func TestSeriesQueries(t *testing.T) {
	b := NewBuilder(Options{})
	for i := 0; i < 120; i++ {
		b.Sample(Sample{Time: at(float64(i)), Metric: MetricRequests, Value: 2})
	}
	for i, v := range []float64{10, 20, 30, 40} {
		b.Sample(Sample{Time: at(float64(i * 60)), Metric: MetricTimeWait, Value: v})
	}
	tl := b.Timeline()
	req := tl.Find(MetricRequests, "")
	if r := req.Rate(Window{at(0), at(59)}); r != 2 {
		t.Errorf("rate = %v, want 2", r)
	}
	if m := req.Median(Window{at(100), at(139)}); m != 1 {
		// 20 seconds of 2 and 20 seconds without data.
		t.Errorf("median with zero fill = %v, want 1", m)
	}
	rs := req.Resample(Window{at(0), at(119)}, time.Minute)
	if len(rs) != 2 || rs[0].Value != 2 {
		t.Errorf("resample = %+v", rs)
	}
	tw := tl.Find(MetricTimeWait, "")
	g := tw.Resample(Window{at(0), at(200)}, 30*time.Second)
	var vals []float64
	for _, p := range g {
		vals = append(vals, p.Value)
	}
	if fmt.Sprint(vals) != "[10 10 20 20 30 30 40]" {
		t.Errorf("gauge resample = %v", vals)
	}
	if l, ok := tw.Last(Window{at(0), at(130)}); !ok || l.Value != 30 {
		t.Errorf("last = %v", l)
	}
}

func TestSummary(t *testing.T) {
	e := Event{Time: at(125), End: at(190), Kind: KindConnReset, Backend: "vm-c", Count: 3412, Peak: 420,
		Attrs: map[string]string{"errno": "104"}}
	got := e.Summary(time.FixedZone("KST", 9*3600))
	want := "conn_reset errno=104: 3412 between 14:02:05 and 14:03:10, peak 420/s on vm-c"
	if got != want {
		t.Errorf("summary = %q\nwant %q", got, want)
	}
}

func BenchmarkBuilderSample(b *testing.B) {
	bl := NewBuilder(Options{})
	s := Sample{Metric: MetricRequests, Backend: "vm-a", Value: 1, Pos: Pos{"a", 1}}
	for i := 0; i < b.N; i++ {
		s.Time = at(float64(i % 86400))
		bl.Sample(s)
	}
}
