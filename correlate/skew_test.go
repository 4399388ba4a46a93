package correlate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

var skT0 = time.Date(2026, 5, 1, 14, 0, 0, 0, time.FixedZone("", 9*3600))

// skewEv builds an event at sec seconds after skT0 in file, line n.
func skewEv(file string, n int64, sec float64, kind timeline.Kind, backend string, attrs ...string) timeline.Event {
	e := timeline.Event{Time: skT0.Add(time.Duration(sec * float64(time.Second))), Kind: kind, Backend: backend,
		Pos: timeline.Pos{File: file, Line: n}, Count: 1, Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs[attrs[i]] = attrs[i+1]
	}
	return e
}

// deployAndLB returns a pipeline log with one unbind and one bind per
// moment (moment k at k minutes) and an LB log that sees each after the
// given latencies, its clock running skew ahead.
func deployAndLB(moments int, skew time.Duration, lat []float64) []SkewSource {
	var dep, lb []timeline.Event
	for k := 0; k < moments; k++ {
		t := float64(60 * k)
		step, state := timeline.StepDrainStart, timeline.StateDraining
		if k%2 == 1 {
			step, state = timeline.StepBind, timeline.StateUp
		}
		dep = append(dep, skewEv("deploy.log", int64(k+1), t, timeline.KindDeployStep, "vm-c", "step", step))
		l := lat[k%len(lat)] + skew.Seconds()
		lb = append(lb, skewEv("haproxy.log", int64(10*k+1), t+l, timeline.KindBackendState, "vm-c", "state", state))
	}
	return []SkewSource{{ID: "deploy.log", Events: dep}, {ID: "haproxy.log", Events: lb}}
}

func find(r *SkewReport, id string) *SourceSkew {
	for i := range r.Sources {
		if r.Sources[i].Source == id {
			return &r.Sources[i]
		}
	}
	return nil
}

func TestEstimateSkew(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sources   []SkewSource
		source    string
		truth     time.Duration // checked when confident
		confident bool
		reason    string // substring, when not confident
		pairs     int
	}{
		{
			name:    "known skew recovered",
			sources: deployAndLB(4, 7300*time.Millisecond, []float64{0.12, 0.4, 1.3, 0.05}),
			source:  "haproxy.log", truth: 7300 * time.Millisecond, confident: true, pairs: 4,
		},
		{
			name:    "clock behind",
			sources: deployAndLB(3, -9*time.Second, []float64{0.2, 0.9, 0.5}),
			source:  "haproxy.log", truth: -9 * time.Second, confident: true, pairs: 3,
		},
		{
			name:    "one pair is not enough",
			sources: deployAndLB(1, 20*time.Second, []float64{0.3}),
			source:  "haproxy.log", reason: "only 1 pair", pairs: 1,
		},
		{
			name:    "zero skew is not applied",
			sources: deployAndLB(5, 0, []float64{0.2, 0.8, 0.1, 1.5, 0.3}),
			source:  "haproxy.log", reason: "no detectable skew", pairs: 5,
		},
		{
			name:    "small skew inside the latency range is not detectable",
			sources: deployAndLB(5, 2*time.Second, []float64{0.2, 0.8, 0.1, 1.5, 0.3}),
			source:  "haproxy.log", reason: "no detectable skew",
		},
		{
			// Moments that imply +20s, -15s and +45s: no two agree.
			name:    "inconsistent pairs",
			sources: deployAndLB(3, 0, []float64{20, -15, 45}),
			source:  "haproxy.log", reason: "agree",
		},
		{
			// Two agree on +20s, two on -15s: the vote is split.
			name:    "split vote",
			sources: deployAndLB(4, 0, []float64{20, -15, 20, -15}),
			source:  "haproxy.log", reason: "2 of 4 agree",
		},
		{
			// Three agree on +20s, one says -15s: three quarters agree.
			name:    "one outlier in four is outvoted",
			sources: deployAndLB(4, 0, []float64{20, 20.5, 20.2, -15}),
			source:  "haproxy.log", truth: 20 * time.Second, confident: true, pairs: 3,
		},
		{
			name:    "one outlier in three is not",
			sources: deployAndLB(3, 0, []float64{20, 20.5, -15}),
			source:  "haproxy.log", reason: "pairs disagree",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := EstimateSkew(tc.sources, SkewOptions{})
			if r.Reference != "deploy.log" {
				t.Fatalf("reference %q (%s), want deploy.log", r.Reference, r.ReferenceReason)
			}
			s := find(r, tc.source)
			if s == nil {
				t.Fatalf("no estimate for %s: %+v", tc.source, r)
			}
			t.Logf("%s: %s [%v..%v] %s", tc.name, s.Sentence(), s.Lo, s.Hi, s.Reason)
			if s.Confident != tc.confident {
				t.Fatalf("confident = %v (%s), want %v", s.Confident, s.Reason, tc.confident)
			}
			if tc.confident {
				if s.Lo > tc.truth || s.Hi < tc.truth || absDur(s.Skew-tc.truth) > s.Uncertainty {
					t.Errorf("skew %v ±%v [%v..%v] does not hold the truth %v", s.Skew, s.Uncertainty, s.Lo, s.Hi, tc.truth)
				}
				if len(s.Evidence) != s.Pairs {
					t.Errorf("%d evidence pairs for %d pairs", len(s.Evidence), s.Pairs)
				}
				for _, p := range s.Evidence {
					if !p.Agrees || p.A.Pos.File != "deploy.log" || p.B.Pos.File != "haproxy.log" || p.B.Pos.Line == 0 {
						t.Errorf("evidence pair %+v", p)
					}
				}
			} else if !strings.Contains(s.Reason, tc.reason) {
				t.Errorf("reason %q, want it to mention %q", s.Reason, tc.reason)
			}
			if tc.pairs != 0 && s.Pairs != tc.pairs {
				t.Errorf("pairs = %d, want %d", s.Pairs, tc.pairs)
			}
		})
	}
}

// A source linked to the reference only through another is resolved along
// the path, with the uncertainties added.
func TestEstimateSkewPropagates(t *testing.T) {
	src := deployAndLB(4, 0, []float64{0.1, 0.3, 0.2, 0.4})
	// haproxy also sees vm-b taken out by hand (no pipeline step) and put
	// back; a second LB log sees only those, 30s ahead.
	var lb2 []timeline.Event
	for k := 0; k < 4; k++ {
		state := timeline.StateRemoved
		if k%2 == 1 {
			state = timeline.StateUp
		}
		t := float64(600 + 90*k)
		src[1].Events = append(src[1].Events, skewEv("haproxy.log", int64(100+k), t, timeline.KindBackendState, "vm-b", "state", state))
		lb2 = append(lb2, skewEv("lb2.log", int64(k+1), t+30.4, timeline.KindBackendState, "vm-b", "state", state))
	}
	src = append(src, SkewSource{ID: "lb2.log", Events: lb2})
	r := EstimateSkew(src, SkewOptions{})
	s := find(r, "lb2.log")
	if s == nil || !s.Confident {
		t.Fatalf("lb2.log: %+v", s)
	}
	if len(s.Via) != 1 || s.Via[0] != "haproxy.log" {
		t.Errorf("via %v, want [haproxy.log]", s.Via)
	}
	if truth := 30400 * time.Millisecond; s.Lo > truth || s.Hi < truth {
		t.Errorf("skew %v [%v..%v] does not hold %v", s.Skew, s.Lo, s.Hi, truth)
	}
	h := find(r, "haproxy.log")
	if s.Uncertainty <= h.Uncertainty {
		t.Errorf("uncertainty through a path (%v) should exceed the first link's (%v)", s.Uncertainty, h.Uncertainty)
	}
}

// A poller's state report bounds the change by its previous reading (every
// 30s here): the interval is as wide as the polling interval, so a skew
// inside it is not found, and one beyond it is, with the truth inside.
func TestEstimateSkewPolledStates(t *testing.T) {
	for _, tc := range []struct {
		skew      float64
		confident bool
	}{{0, false}, {25, true}, {-25, true}} {
		t.Run(fmt.Sprint(tc.skew), func(t *testing.T) {
			src := deployAndLB(4, 0, []float64{0.1, 0.3, 0.2, 0.4})
			var ev []timeline.Event
			var pts []timeline.Point
			for s := -60.0; s <= 300; s += 30 {
				pts = append(pts, timeline.Point{Time: skT0.Add(time.Duration(s+10) * time.Second), Value: 5})
			}
			for k := 0; k < 4; k++ {
				state, prev := timeline.StateDraining, "bound"
				if k%2 == 1 {
					state, prev = timeline.StateBound, "draining"
				}
				// The change happens at 60k in the poller's clock plus its
				// skew; the first reading at or after it reports it.
				change := float64(60*k) + tc.skew
				at := 10.0
				for at < change {
					at += 30
				}
				for at-30 >= change {
					at -= 30
				}
				ev = append(ev, skewEv("ctl.log", int64(k+1), at, timeline.KindBackendState, "vm-c", "state", state, "prev", prev))
			}
			src = append(src, SkewSource{ID: "ctl.log", Events: ev, Series: []*timeline.Series{timeline.NewGaugeSeries(timeline.MetricActiveConn, "vm-c", pts)}})
			s := find(EstimateSkew(src, SkewOptions{}), "ctl.log")
			if s == nil {
				t.Fatal("no estimate for the poller")
			}
			t.Logf("%s [%v..%v] %s", s.Sentence(), s.Lo, s.Hi, s.Reason)
			if s.Confident != tc.confident {
				t.Errorf("confident = %v, want %v", s.Confident, tc.confident)
			}
			if truth := time.Duration(tc.skew * float64(time.Second)); s.Lo > truth || s.Hi < truth {
				t.Errorf("[%v..%v] does not hold %v", s.Lo, s.Hi, truth)
			}
			if s.Hi-s.Lo < 30*time.Second {
				t.Errorf("interval [%v..%v] narrower than the polling interval", s.Lo, s.Hi)
			}
			// Without the readings the reports bound nothing: no anchors.
			src[2].Series = nil
			if s := find(EstimateSkew(src, SkewOptions{}), "ctl.log"); s != nil {
				t.Errorf("poller without readings was used: %+v", s)
			}
		})
	}
}

func TestEstimateSkewReference(t *testing.T) {
	// No pipeline log: the LB log is the reference.
	lb := deployAndLB(4, 0, []float64{0})[1]
	var ngx []timeline.Event
	for k := 0; k < 4; k += 2 {
		ngx = append(ngx, skewEv("nginx.log", int64(k+1), float64(60*k), timeline.KindConfigReload, "vm-c"))
	}
	r := EstimateSkew([]SkewSource{{ID: "nginx.log", Events: ngx}, lb}, SkewOptions{})
	if len(r.Links) != 0 || r.Reference != "" {
		t.Errorf("reloads and LB states are no anchor pair, got %+v", r)
	}
	lb2 := SkewSource{ID: "a-lb.log"}
	for _, e := range lb.Events {
		e.Time = e.Time.Add(12 * time.Second)
		lb2.Events = append(lb2.Events, e)
	}
	// Two LB logs (one with more transitions), no pipeline.
	lb.Events = append(lb.Events, skewEv("haproxy.log", 999, 5000, timeline.KindBackendState, "vm-x", "state", "removed"))
	r = EstimateSkew([]SkewSource{lb2, lb}, SkewOptions{})
	if r.Reference != "haproxy.log" || !strings.Contains(r.ReferenceReason, "load-balancer") {
		t.Errorf("reference %q (%s), want haproxy.log as the load-balancer log", r.Reference, r.ReferenceReason)
	}
	if s := find(r, "a-lb.log"); s == nil || !s.Confident || s.Skew != 12*time.Second {
		t.Errorf("a-lb.log: %+v", s)
	}
}

// Offsets of a quarter hour are time zones, not clocks.
func TestEstimateSkewZoneSizedOffset(t *testing.T) {
	src := deployAndLB(4, time.Hour, []float64{0.1, 0.3, 0.2, 0.4})
	if s := find(EstimateSkew(src, SkewOptions{}), "haproxy.log"); s != nil {
		t.Errorf("an hour is beyond the default MaxSkew, got %+v", s)
	}
	s := find(EstimateSkew(src, SkewOptions{MaxSkew: 2 * time.Hour}), "haproxy.log")
	if s == nil || s.Confident || !strings.Contains(s.Reason, "time-zone") {
		t.Errorf("an hour's offset: %+v", s)
	}
}

// Events of one source are never paired with each other, and events
// without a backend are never anchors.
func TestEstimateSkewIgnoresSameSourceAndNoBackend(t *testing.T) {
	src := deployAndLB(4, 8*time.Second, []float64{0.1})
	merged := SkewSource{ID: "all.log", Events: append(append([]timeline.Event(nil), src[0].Events...), src[1].Events...)}
	if r := EstimateSkew([]SkewSource{merged}, SkewOptions{}); len(r.Links) != 0 {
		t.Errorf("one source linked to itself: %+v", r.Links)
	}
	for i := range src {
		for k := range src[i].Events {
			src[i].Events[k].Backend = ""
		}
	}
	if r := EstimateSkew(src, SkewOptions{}); len(r.Links) != 0 {
		t.Errorf("events without a backend were paired: %+v", r.Links)
	}
}

func ExampleEstimateSkew() {
	at := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339, "2026-05-01T14:"+s+"+09:00")
		return t
	}
	ev := func(file string, line int64, t string, kind timeline.Kind, k, v string) timeline.Event {
		return timeline.Event{Time: at(t), Kind: kind, Backend: "vm-c", Attrs: map[string]string{k: v},
			Pos: timeline.Pos{File: file, Line: line}, Count: 1}
	}
	sources := []SkewSource{
		{ID: "deploy.log", Events: []timeline.Event{
			ev("deploy.log", 3, "02:02", timeline.KindDeployStep, "step", timeline.StepUnbind),
			ev("deploy.log", 5, "03:40", timeline.KindDeployStep, "step", timeline.StepBind),
			ev("deploy.log", 8, "10:05", timeline.KindDeployStep, "step", timeline.StepUnbind),
		}},
		{ID: "haproxy.log", Events: []timeline.Event{ // its clock runs 8s ahead
			ev("haproxy.log", 3, "02:10", timeline.KindBackendState, "state", timeline.StateRemoved),
			ev("haproxy.log", 1258, "03:48", timeline.KindBackendState, "state", timeline.StateUp),
			ev("haproxy.log", 1260, "10:13", timeline.KindBackendState, "state", timeline.StateRemoved),
		}},
	}
	r := EstimateSkew(sources, SkewOptions{})
	fmt.Println("reference:", r.Reference, "-", r.ReferenceReason)
	for _, s := range r.Sources {
		fmt.Println(s.Sentence(), "confident:", s.Confident)
		for _, p := range s.Evidence {
			fmt.Printf("  %s: %s <-> %s\n", p.Rule, p.A.Pos, p.B.Pos)
		}
	}
	// Output:
	// reference: deploy.log - the deploy pipeline log
	// haproxy.log runs 8s ahead of deploy.log (±6s, 3 pairs) confident: true
	//   pipeline-lb-out: deploy.log:3 <-> haproxy.log:3
	//   pipeline-lb-in: deploy.log:5 <-> haproxy.log:1258
	//   pipeline-lb-out: deploy.log:8 <-> haproxy.log:1260
}

// BenchmarkEstimateSkew: a pipeline log with 40 kills and binds, an LB log,
// and 20 proxy error logs of 2,000 failure bursts each.
func BenchmarkEstimateSkew(b *testing.B) {
	src := deployAndLB(40, 3*time.Second, []float64{0.2, 0.7})
	for k := 0; k < 40; k++ {
		src[0].Events = append(src[0].Events, skewEv("deploy.log", int64(1000+k), float64(60*k)+1, timeline.KindDeployStep, "vm-c", "step", timeline.StepKill))
	}
	for n := 0; n < 20; n++ {
		id := fmt.Sprintf("nginx-%02d.log", n)
		var ev []timeline.Event
		for k := 0; k < 2000; k++ {
			e := skewEv(id, int64(k+1), float64(k)*1.3, timeline.KindConnReset, "vm-c")
			e.Count = 5
			ev = append(ev, e)
		}
		src = append(src, SkewSource{ID: id, Events: ev})
	}
	b.ReportAllocs()
	for b.Loop() {
		EstimateSkew(src, SkewOptions{})
	}
}
