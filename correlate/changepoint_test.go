package correlate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

var cpT0 = time.Date(2026, 5, 1, 14, 0, 0, 0, time.UTC)

func cpSeries(vals []float64) []timeline.Point {
	pts := make([]timeline.Point, len(vals))
	for i, v := range vals {
		pts[i] = timeline.Point{Time: cpT0.Add(time.Duration(i) * 10 * time.Second), Value: v}
	}
	return pts
}

// piecewise builds n points with the given levels starting at the given
// indexes (levels[i] from starts[i]), plus Gaussian noise of sd.
func piecewise(r *rand.Rand, n int, starts []int, levels []float64, sd float64) []float64 {
	out := make([]float64, n)
	li := 0
	for i := range out {
		for li+1 < len(starts) && i >= starts[li+1] {
			li++
		}
		out[i] = levels[li] + r.NormFloat64()*sd
	}
	return out
}

func TestChangePointsLocatesKnownBreaks(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 300
		// Random breakpoints at least 30 points apart, shifts of 3 to 12 sd.
		starts := []int{0}
		levels := []float64{100}
		for k := 30 + r.IntN(40); k < n-30; k += 30 + r.IntN(60) {
			starts = append(starts, k)
			shift := (3 + 9*r.Float64()) * 5
			if r.IntN(2) == 0 {
				shift = -shift
			}
			levels = append(levels, levels[len(levels)-1]+shift)
		}
		vals := piecewise(r, n, starts, levels, 5)
		got := ChangePoints(cpSeries(vals), CPOptions{})
		if len(got) != len(starts)-1 {
			t.Fatalf("seed %d: want %d breaks at %v, got %d: %+v", seed, len(starts)-1, starts[1:], len(got), got)
		}
		for i, b := range got {
			if d := b.Index - starts[i+1]; d < -2 || d > 2 {
				t.Errorf("seed %d: break %d at index %d, want %d ±2", seed, i, b.Index, starts[i+1])
			}
			if math.Abs(b.Before-levels[i]) > 5 || math.Abs(b.After-levels[i+1]) > 5 {
				t.Errorf("seed %d: break %d levels %.1f -> %.1f, want %.1f -> %.1f", seed, i, b.Before, b.After, levels[i], levels[i+1])
			}
		}
	}
}

func TestChangePointsNothingOnStationaryNoise(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		n := 50 + r.IntN(1000)
		vals := make([]float64, n)
		heavy := seed%3 == 0
		for i := range vals {
			vals[i] = 1000 + 20*r.NormFloat64()
			if heavy && r.IntN(50) == 0 { // occasional single spikes
				vals[i] += 400
			}
		}
		if got := ChangePoints(cpSeries(vals), CPOptions{}); len(got) != 0 {
			t.Errorf("seed %d (n=%d, spikes=%v): want no change, got %+v", seed, n, heavy, got)
		}
	}
}

func TestChangePointsShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	noise := func(vals []float64, sd float64) []float64 {
		for i := range vals {
			vals[i] += r.NormFloat64() * sd
		}
		return vals
	}
	fill := func(n int, f func(i int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name  string
		vals  []float64
		want  []int // indexes of onsets (±2)
		up    []bool
		ratio float64 // minimum |ratio| of the first break, 0 to skip
	}{
		{"step up", noise(fill(120, func(i int) float64 { return map[bool]float64{true: 1200, false: 36000}[i < 60] }), 40), []int{60}, []bool{true}, 20},
		{"step down", noise(fill(120, func(i int) float64 { return map[bool]float64{true: 1800, false: 300}[i < 45] }), 30), []int{45}, []bool{false}, 0},
		{"clean step, no noise", fill(40, func(i int) float64 { return map[bool]float64{true: 66, false: 45}[i < 20] }), []int{20}, []bool{false}, 0},
		{"ramp then plateau (TIME_WAIT)", noise(fill(150, func(i int) float64 {
			switch {
			case i < 50:
				return 1200
			case i < 80:
				return 1200 + float64(i-50)*580
			}
			return 18600
		}), 30), []int{50}, []bool{true}, 10},
		{"single spike is not a level", noise(fill(100, func(i int) float64 {
			if i == 50 {
				return 5000
			}
			return 100
		}), 5), nil, nil, 0},
		{"two-point spike is not a level", noise(fill(100, func(i int) float64 {
			if i == 70 || i == 71 {
				return 5000
			}
			return 100
		}), 5), nil, nil, 0},
		{"burst up and back (resets)", fill(120, func(i int) float64 {
			if i >= 40 && i < 70 {
				return 300 + float64((i*37)%60)
			}
			return 0
		}), []int{40, 70}, []bool{true, false}, 0},
		{"flat zero", make([]float64, 60), nil, nil, 0},
		{"constant", fill(60, func(int) float64 { return 7 }), nil, nil, 0},
		{"too short", []float64{1, 100, 1}, nil, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ChangePoints(cpSeries(tc.vals), CPOptions{})
			if len(got) != len(tc.want) {
				t.Fatalf("want %d breaks at %v, got %+v", len(tc.want), tc.want, got)
			}
			for i, b := range got {
				if d := b.Index - tc.want[i]; d < -2 || d > 2 {
					t.Errorf("break %d at %d, want %d ±2", i, b.Index, tc.want[i])
				}
				if (b.Delta > 0) != tc.up[i] {
					t.Errorf("break %d direction: delta %.1f", i, b.Delta)
				}
				if !b.Time.Equal(cpT0.Add(time.Duration(b.Index) * 10 * time.Second)) {
					t.Errorf("break %d time %v does not match its index", i, b.Time)
				}
			}
			if tc.ratio > 0 && len(got) > 0 && got[0].Ratio < tc.ratio {
				t.Errorf("ratio %.2f, want at least %.1f", got[0].Ratio, tc.ratio)
			}
		})
	}
}

func TestChangePointsGap(t *testing.T) {
	// Points missing in the middle (a scrape outage): a level change
	// across the gap is found at the first point after it; a gap with no
	// change yields nothing.
	var same, changed []timeline.Point
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 100; i++ {
		if i >= 40 && i < 60 {
			continue
		}
		tm := cpT0.Add(time.Duration(i) * 10 * time.Second)
		same = append(same, timeline.Point{Time: tm, Value: 500 + 10*r.NormFloat64()})
		v := 500.0
		if i >= 60 {
			v = 2500
		}
		changed = append(changed, timeline.Point{Time: tm, Value: v + 10*r.NormFloat64()})
	}
	if got := ChangePoints(same, CPOptions{}); len(got) != 0 {
		t.Errorf("gap without change: got %+v", got)
	}
	got := ChangePoints(changed, CPOptions{})
	if len(got) != 1 || !got[0].Time.Equal(cpT0.Add(600*time.Second)) {
		t.Errorf("change across gap: got %+v, want one at the first point after the gap", got)
	}
}

func FuzzChangePoints(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 9, 9, 9, 9, 0, 0})
	f.Add([]byte{255, 0, 255, 0, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals := make([]float64, len(b))
		for i, c := range b {
			vals[i] = float64(c)
		}
		for _, br := range ChangePoints(cpSeries(vals), CPOptions{}) {
			if br.Index < 0 || br.Index >= len(vals) {
				t.Fatalf("index %d out of range", br.Index)
			}
		}
	})
}
