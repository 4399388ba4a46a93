package correlate

import (
	"math"
	"sort"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// CPOptions tune ChangePoints.
type CPOptions struct {
	// Penalty is the cost, in units of the noise variance, that a new
	// change point must save: a split is kept when the drop in the sum of
	// squared deviations exceeds Penalty*sigma^2*ln(n). Default 6.
	Penalty float64
	// MinSegment is the fewest points a level must hold (default 3).
	MinSegment int
	// Filter is the width of the running median applied first (odd;
	// default 5): isolated spikes up to Filter/2 points never become
	// levels. 1 disables it.
	Filter int
	// MinRelative drops changes smaller than this fraction of the larger
	// of the two levels' magnitudes (default 0: keep all that pass the
	// penalty).
	MinRelative float64
	// MergeRamp joins consecutive changes in the same direction whose
	// middle level lasts at most this many points into one change, so a
	// ramp is reported once, from its start (default 12).
	MergeRamp int
}

func (o CPOptions) withDefaults() CPOptions {
	if o.Penalty <= 0 {
		o.Penalty = 6
	}
	if o.MinSegment <= 0 {
		o.MinSegment = 3
	}
	if o.Filter <= 0 {
		o.Filter = 5
	}
	if o.Filter%2 == 0 {
		o.Filter++
	}
	if o.MergeRamp <= 0 {
		o.MergeRamp = 12
	}
	return o
}

// Break is one change of level in a series.
type Break struct {
	// Index is the first point of the new level (after ramp refinement:
	// the first point that left the old level), Time its time and Pos its
	// source position.
	Index int
	Time  time.Time
	Pos   timeline.Pos
	// Before and After are the median levels of the segments on either
	// side; Delta is After-Before and Ratio After/Before (+Inf when Before
	// is 0 and After is not).
	Before, After, Delta, Ratio float64
	// Sigma is the noise scale the series was judged against; Score is the
	// cost saved by the split, in units of Sigma^2.
	Sigma, Score float64
}

// ChangePoints finds the changes of level in pts (sorted by time, roughly
// evenly spaced; a gap is just the next index).
//
// Method: (1) a running median of width Filter removes isolated spikes; (2)
// the noise scale sigma is estimated robustly from the first differences of
// the raw points (1.4826*MAD/sqrt 2), with a floor of 0.1% of the series'
// typical magnitude so that perfectly flat segments do not make every
// wiggle significant; (3) binary segmentation on the filtered values with a
// least-squares (Gaussian mean-shift) cost: the best split of a segment is
// kept when it lowers the cost by more than Penalty*sigma^2*ln(n) and leaves
// at least MinSegment points on both sides, and the halves are searched
// again; (4) adjacent changes in the same direction whose middle level is
// short (a ramp approximated by steps) are merged; (5) each change's onset
// is moved back to the first point that left the old level by more than
// 3 sigma and a tenth of the change, so a ramp is dated from its start.
// Levels are the medians of the raw points of each segment.
func ChangePoints(pts []timeline.Point, opts CPOptions) []Break {
	o := opts.withDefaults()
	n := len(pts)
	if n < 2*o.MinSegment {
		return nil
	}
	raw := make([]float64, n)
	for i, p := range pts {
		raw[i] = p.Value
		if math.IsNaN(raw[i]) || math.IsInf(raw[i], 0) {
			raw[i] = 0
		}
	}
	x := medianFilter(raw, o.Filter)
	sigma := noiseScale(raw)
	if sigma <= 0 {
		return nil
	}
	// Prefix sums for O(1) segment costs.
	s1 := make([]float64, n+1)
	s2 := make([]float64, n+1)
	for i, v := range x {
		s1[i+1] = s1[i] + v
		s2[i+1] = s2[i] + v*v
	}
	cost := func(a, b int) float64 { // [a,b)
		m := float64(b - a)
		s := s1[b] - s1[a]
		return (s2[b] - s2[a]) - s*s/m
	}
	pen := o.Penalty * sigma * sigma * math.Log(float64(n))
	type split struct {
		k     int
		score float64
	}
	var cps []split
	var rec func(a, b, depth int)
	rec = func(a, b, depth int) {
		if b-a < 2*o.MinSegment || depth > 64 {
			return
		}
		whole := cost(a, b)
		best, bestK := 0.0, -1
		for k := a + o.MinSegment; k <= b-o.MinSegment; k++ {
			g := whole - cost(a, k) - cost(k, b)
			if g > best {
				best, bestK = g, k
			}
		}
		if bestK < 0 || best <= pen {
			return
		}
		cps = append(cps, split{bestK, best / (sigma * sigma)})
		rec(a, bestK, depth+1)
		rec(bestK, b, depth+1)
	}
	rec(0, n, 0)
	sort.Slice(cps, func(i, j int) bool { return cps[i].k < cps[j].k })

	// Levels of the segments between change points.
	bounds := []int{0}
	for _, c := range cps {
		bounds = append(bounds, c.k)
	}
	bounds = append(bounds, n)
	level := func(i int) float64 { return median(append([]float64(nil), raw[bounds[i]:bounds[i+1]]...)) }

	// Merge ramps: consecutive same-direction changes with a short middle.
	type group struct {
		first, last int // indexes into cps
	}
	var groups []group
	for i := range cps {
		if len(groups) > 0 {
			g := &groups[len(groups)-1]
			prevDir := sign(level(g.last+1) - level(g.last))
			dir := sign(level(i+1) - level(i))
			mid := bounds[i+1] - bounds[i]
			if dir == prevDir && dir != 0 && mid <= o.MergeRamp {
				g.last = i
				continue
			}
		}
		groups = append(groups, group{i, i})
	}
	var out []Break
	for _, g := range groups {
		before, after := level(g.first), level(g.last+1)
		delta := after - before
		if delta == 0 {
			continue
		}
		if o.MinRelative > 0 && math.Abs(delta) < o.MinRelative*math.Max(math.Abs(before), math.Abs(after)) {
			continue
		}
		score := 0.0
		for i := g.first; i <= g.last; i++ {
			score += cps[i].score
		}
		k := cps[g.first].k
		// Onset: walk back while the filtered value has already left the
		// old level.
		thr := math.Max(3*sigma, math.Abs(delta)/10)
		lo := bounds[g.first]
		for k-1 > lo && math.Abs(x[k-1]-before) > thr && sign(x[k-1]-before) == sign(delta) {
			k--
		}
		ratio := math.Inf(1)
		if before != 0 {
			ratio = after / before
		} else if after == 0 {
			ratio = 1
		}
		out = append(out, Break{Index: k, Time: pts[k].Time, Pos: pts[k].Pos,
			Before: before, After: after, Delta: delta, Ratio: ratio, Sigma: sigma, Score: score})
	}
	return out
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func medianFilter(x []float64, w int) []float64 {
	if w <= 1 {
		return append([]float64(nil), x...)
	}
	h := w / 2
	out := make([]float64, len(x))
	buf := make([]float64, 0, w)
	for i := range x {
		lo, hi := max(i-h, 0), min(i+h+1, len(x))
		buf = append(buf[:0], x[lo:hi]...)
		sort.Float64s(buf)
		out[i] = buf[len(buf)/2]
	}
	return out
}

// noiseScale estimates the noise standard deviation from first
// differences, robust to level changes and spikes.
func noiseScale(x []float64) float64 {
	d := make([]float64, 0, len(x)-1)
	for i := 1; i < len(x); i++ {
		d = append(d, x[i]-x[i-1])
	}
	m := median(d)
	for i := range d {
		d[i] = math.Abs(d[i] - m)
	}
	s := 1.4826 * median(d) / math.Sqrt2
	if s == 0 {
		// Mostly repeated values (a carried-forward gauge, an error counter
		// that is zero most of the time): judge against the differences
		// that are not zero.
		nz := d[:0]
		for _, v := range d {
			if v != 0 {
				nz = append(nz, v)
			}
		}
		// Fewer than five moves: they are the changes themselves, not noise.
		if len(nz) >= 5 {
			s = 1.4826 * median(nz) / math.Sqrt2
		}
	}
	abs := make([]float64, len(x))
	for i, v := range x {
		abs[i] = math.Abs(v)
	}
	floor := 1e-3 * median(append([]float64(nil), abs...))
	if floor < 1e-6 {
		// A mostly-zero series (a counter of errors): judge against its
		// mean absolute value instead.
		sum := 0.0
		for _, v := range abs {
			sum += v
		}
		floor = math.Max(1e-3*sum/float64(len(abs)), 1e-9)
		if sum == 0 {
			return 0 // constant zero: nothing can change
		}
	}
	return math.Max(s, floor)
}
