package correlate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

var t0 = time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)

// series returns n points every step with values from f.
func series(n int, step time.Duration, f func(i int) float64) []timeline.Point {
	pts := make([]timeline.Point, n)
	for i := range pts {
		pts[i] = timeline.Point{Time: t0.Add(time.Duration(i) * step), Value: f(i), Pos: timeline.Pos{File: "ss.log", Line: int64(i + 1)}}
	}
	return pts
}

var opts = ShiftOptions{Factor: 5, Min: 5000, Baseline: 30 * time.Minute, Hold: 2 * time.Minute}

func TestLevelShiftStep(t *testing.T) {
	cases := []struct {
		name     string
		n, at    int
		step     time.Duration
		lo, hi   float64
		noise    float64
		rampTau  float64 // points; 0 = sharp
		downAt   int     // 0 = stays up
		wantNone bool
	}{
		{name: "sharp step", n: 200, at: 120, step: 30 * time.Second, lo: 2500, hi: 68000, noise: 100},
		{name: "sharp step early", n: 200, at: 61, step: 30 * time.Second, lo: 2500, hi: 30000, noise: 300},
		{name: "ramp tau 2 points", n: 200, at: 100, step: 30 * time.Second, lo: 2500, hi: 68000, noise: 100, rampTau: 2},
		{name: "step and back", n: 300, at: 100, step: 30 * time.Second, lo: 2500, hi: 40000, noise: 100, downAt: 160},
		{name: "below factor", n: 200, at: 100, step: 30 * time.Second, lo: 2500, hi: 11000, noise: 100, wantNone: true},
		{name: "below min", n: 200, at: 100, step: 30 * time.Second, lo: 200, hi: 4000, noise: 10, wantNone: true},
		{name: "sparse 5m sampling", n: 60, at: 40, step: 5 * time.Minute, lo: 2500, hi: 60000, noise: 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(c.at)))
			pts := series(c.n, c.step, func(i int) float64 {
				v := c.lo
				if i >= c.at && (c.downAt == 0 || i < c.downAt) {
					v = c.hi
					if c.rampTau > 0 {
						v = c.lo + (c.hi-c.lo)*(1-math.Exp(-float64(i-c.at+1)/c.rampTau))
					}
				}
				return v + c.noise*r.NormFloat64()
			})
			got := LevelShifts(pts, opts)
			if c.wantNone {
				if len(got) != 0 {
					t.Fatalf("got %d shifts, want none: %+v", len(got), got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d shifts, want 1: %+v", len(got), got)
			}
			s := got[0]
			idx := int(s.Start.Sub(t0) / c.step)
			if d := idx - c.at; d < -2 || d > 2 {
				t.Errorf("onset at point %d, want %d±2", idx, c.at)
			}
			if s.Before < c.lo-3*c.noise || s.Before > c.lo+3*c.noise {
				t.Errorf("before = %v, want ~%v", s.Before, c.lo)
			}
			if s.Factor < opts.Factor || s.Peak.Value < s.After {
				t.Errorf("factor %v after %v peak %v", s.Factor, s.After, s.Peak.Value)
			}
			if s.Onset.Pos.Line != int64(idx+1) {
				t.Errorf("onset pos %v, want line %d", s.Onset.Pos, idx+1)
			}
			if c.downAt > 0 {
				end := int(s.End.Sub(t0) / c.step)
				if d := end - (c.downAt - 1); d < -2 || d > 2 {
					t.Errorf("end at point %d, want %d±2", end, c.downAt-1)
				}
			}
		})
	}
}

// TestLevelShiftNoise runs many stationary noisy series (including heavy
// tails) and expects no shift at all.
func TestLevelShiftNoise(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		base := 1000 + r.Float64()*9000
		pts := series(400, 30*time.Second, func(int) float64 {
			v := base * math.Exp(0.3*r.NormFloat64()) // lognormal, heavy-ish tail
			return v
		})
		if got := LevelShifts(pts, opts); len(got) != 0 {
			t.Fatalf("seed %d: shift on stationary noise: %+v", seed, got[0])
		}
	}
}

// TestLevelShiftSpikes: isolated spikes (one or two points, far above the
// factor) are not shifts.
func TestLevelShiftSpikes(t *testing.T) {
	for _, width := range []int{1, 2} {
		pts := series(300, 30*time.Second, func(i int) float64 {
			if (i >= 100 && i < 100+width) || (i >= 200 && i < 200+width) {
				return 90000
			}
			return 2500 + float64(i%7)*10
		})
		if got := LevelShifts(pts, ShiftOptions{Factor: 5, Min: 5000, Baseline: 30 * time.Minute, Hold: 2 * time.Minute, MinPost: 5}); len(got) != 0 {
			t.Errorf("width %d: spike taken for a shift: %+v", width, got)
		}
	}
	// With the default MinPost (3), a single spike is never a shift.
	pts := series(300, 30*time.Second, func(i int) float64 {
		if i == 150 {
			return 1e6
		}
		return 2500
	})
	if got := LevelShifts(pts, opts); len(got) != 0 {
		t.Errorf("single spike taken for a shift: %+v", got)
	}
}

// TestLevelShiftGaps: a gap in the data neither invents a shift (the level
// after the gap equals the level before) nor hides a real one after it.
func TestLevelShiftGaps(t *testing.T) {
	var pts []timeline.Point
	add := func(from, to int, v float64) {
		for i := from; i < to; i++ {
			pts = append(pts, timeline.Point{Time: t0.Add(time.Duration(i) * 30 * time.Second), Value: v + float64(i%5)})
		}
	}
	add(0, 100, 3000)
	add(400, 500, 3000) // 2.5 h gap, same level
	if got := LevelShifts(pts, opts); len(got) != 0 {
		t.Fatalf("gap invented a shift: %+v", got)
	}
	add(500, 560, 50000) // real shift after the gap
	got := LevelShifts(pts, opts)
	if len(got) != 1 {
		t.Fatalf("got %d shifts, want 1", len(got))
	}
	if want := t0.Add(500 * 30 * time.Second); got[0].Start.Sub(want).Abs() > time.Minute {
		t.Errorf("onset %v, want %v", got[0].Start, want)
	}
	// Right after a gap there is no baseline: a series that starts high is
	// not a shift.
	pts = pts[:0]
	add(0, 3, 100)
	add(300, 400, 50000)
	if got := LevelShifts(pts, opts); len(got) != 0 {
		t.Errorf("no-baseline series gave %+v", got)
	}
}

func TestLevelShiftZeroBaseline(t *testing.T) {
	pts := series(100, 30*time.Second, func(i int) float64 {
		if i >= 70 {
			return 8000
		}
		return 0
	})
	got := LevelShifts(pts, opts)
	if len(got) != 1 || !math.IsInf(got[0].Factor, 1) || got[0].Before != 0 {
		t.Fatalf("got %+v", got)
	}
}

func TestLevelShiftDegenerate(t *testing.T) {
	if LevelShifts(nil, opts) != nil {
		t.Error("nil input")
	}
	if LevelShifts(series(10, time.Second, func(int) float64 { return 1 }), ShiftOptions{}) != nil {
		t.Error("zero options")
	}
	nan := series(50, 30*time.Second, func(i int) float64 { return math.NaN() })
	if got := LevelShifts(nan, opts); len(got) != 0 {
		t.Errorf("NaN series: %+v", got)
	}
}
