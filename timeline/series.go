package timeline

import (
	"math"
	"sort"
	"time"
)

// Point is one value of a series at a time, with the line it came from.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
	Pos   Pos       `json:"pos"`
}

// Series is the values of one metric on one backend ("" when unknown).
// A counter series holds per-second sums; a gauge series holds observations.
type Series struct {
	Metric  Metric
	Backend string
	points  []Point  // gauges, sorted by time
	counter *counter // counters
}

// NewGaugeSeries returns a gauge series over the given points (sorted here).
func NewGaugeSeries(m Metric, backend string, pts []Point) *Series {
	s := &Series{Metric: m, Backend: backend, points: append([]Point(nil), pts...)}
	sort.SliceStable(s.points, func(i, j int) bool { return s.points[i].Time.Before(s.points[j].Time) })
	return s
}

// IsCounter reports whether s holds per-second sums.
func (s *Series) IsCounter() bool { return s.counter != nil }

// Span returns the first and last time with data.
func (s *Series) Span() Window {
	if s.counter != nil {
		return s.counter.span()
	}
	if len(s.points) == 0 {
		return Window{}
	}
	return Window{Start: s.points[0].Time, End: s.points[len(s.points)-1].Time}
}

// Points returns the observations inside w. For a counter it returns one
// point per second that has a non-zero count, carrying the first line counted
// in that second.
func (s *Series) Points(w Window) []Point {
	if s.counter != nil {
		return s.counter.points(w)
	}
	lo := sort.Search(len(s.points), func(i int) bool { return !s.points[i].Time.Before(w.Start) })
	hi := sort.Search(len(s.points), func(i int) bool { return s.points[i].Time.After(w.End) })
	if lo >= hi {
		return nil
	}
	return s.points[lo:hi]
}

// Sum returns the sum of values inside w.
func (s *Series) Sum(w Window) float64 {
	var sum float64
	for _, p := range s.Points(w) {
		sum += p.Value
	}
	return sum
}

// Rate returns a counter's mean per-second rate over w (Sum / seconds of w).
// For a gauge it returns the mean of its observations in w.
func (s *Series) Rate(w Window) float64 {
	if s.counter == nil {
		return s.Mean(w)
	}
	secs := w.Duration().Seconds() + 1
	if secs <= 0 {
		return 0
	}
	return s.Sum(w) / secs
}

// Mean returns the mean of the observations inside w, or NaN if none.
func (s *Series) Mean(w Window) float64 {
	pts := s.Points(w)
	if len(pts) == 0 {
		return math.NaN()
	}
	return s.Sum(w) / float64(len(pts))
}

// Max returns the largest value inside w and its point; ok is false if w is
// empty. For a counter this is the peak per-second count.
func (s *Series) Max(w Window) (p Point, ok bool) {
	for _, q := range s.Points(w) {
		if !ok || q.Value > p.Value {
			p, ok = q, true
		}
	}
	return p, ok
}

// Min returns the smallest value inside w; ok is false if w is empty.
func (s *Series) Min(w Window) (p Point, ok bool) {
	for _, q := range s.Points(w) {
		if !ok || q.Value < p.Value {
			p, ok = q, true
		}
	}
	return p, ok
}

// Last returns the last observation inside w.
func (s *Series) Last(w Window) (p Point, ok bool) {
	pts := s.Points(w)
	if len(pts) == 0 {
		return Point{}, false
	}
	return pts[len(pts)-1], true
}

// Median returns the median of the values inside w, or NaN if none. For a
// counter, seconds without data count as zero.
func (s *Series) Median(w Window) float64 {
	pts := s.Points(w)
	vals := make([]float64, 0, len(pts))
	for _, p := range pts {
		vals = append(vals, p.Value)
	}
	if s.counter != nil {
		n := int(w.Duration()/time.Second) + 1
		for len(vals) < n {
			vals = append(vals, 0)
		}
	}
	if len(vals) == 0 {
		return math.NaN()
	}
	sort.Float64s(vals)
	m := len(vals) / 2
	if len(vals)%2 == 1 {
		return vals[m]
	}
	return (vals[m-1] + vals[m]) / 2
}

// Resample returns one point per step across w: for a counter the per-second
// rate in each step, for a gauge the last observation at or before the step's
// end (carried forward). It is what charts and change-point detection use.
func (s *Series) Resample(w Window, step time.Duration) []Point {
	if step <= 0 || w.End.Before(w.Start) {
		return nil
	}
	var out []Point
	var carry *Point
	pts := s.Points(Window{Start: time.Time{}, End: w.End})
	i := 0
	for t := w.Start; !t.After(w.End); t = t.Add(step) {
		end := t.Add(step - time.Nanosecond)
		if s.counter != nil {
			bucket := Window{Start: t, End: end}
			out = append(out, Point{Time: t, Value: s.Sum(bucket) / step.Seconds()})
			continue
		}
		for i < len(pts) && !pts[i].Time.After(end) {
			p := pts[i]
			carry = &p
			i++
		}
		if carry != nil {
			out = append(out, Point{Time: t, Value: carry.Value, Pos: carry.Pos})
		}
	}
	return out
}

// counter holds per-second sums in hour-long chunks allocated on demand, so a
// day of access lines costs a few hundred KiB whatever the line count.
type counter struct {
	chunks  map[int64]*chunk // key: unix second / chunkSecs
	lastKey int64
	last    *chunk
}

const chunkSecs = 3600

type chunk struct {
	sums [chunkSecs]float64
	pos  [chunkSecs]Pos // first line counted in each second
}

func (c *counter) add(t time.Time, v float64, pos Pos) {
	if c.chunks == nil {
		c.chunks = map[int64]*chunk{}
	}
	sec := t.Unix()
	k := floorDiv(sec, chunkSecs)
	ch := c.last
	if ch == nil || k != c.lastKey {
		ch = c.chunks[k]
		if ch == nil {
			ch = &chunk{}
			c.chunks[k] = ch
		}
		c.last, c.lastKey = ch, k
	}
	i := sec - k*chunkSecs
	if ch.sums[i] == 0 && ch.pos[i].IsZero() {
		ch.pos[i] = pos
	}
	ch.sums[i] += v
}

func (c *counter) merge(o *counter) {
	if o == nil {
		return
	}
	if c.chunks == nil {
		c.chunks = map[int64]*chunk{}
	}
	for k, oc := range o.chunks {
		ch := c.chunks[k]
		if ch == nil {
			cp := *oc
			c.chunks[k] = &cp
			continue
		}
		for i := range oc.sums {
			if oc.sums[i] == 0 && oc.pos[i].IsZero() {
				continue
			}
			if ch.sums[i] == 0 && ch.pos[i].IsZero() {
				ch.pos[i] = oc.pos[i]
			}
			ch.sums[i] += oc.sums[i]
		}
	}
}

func (c *counter) keys() []int64 {
	ks := make([]int64, 0, len(c.chunks))
	for k := range c.chunks {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

func (c *counter) span() Window {
	var w Window
	for _, k := range c.keys() {
		ch := c.chunks[k]
		for i := range ch.sums {
			if ch.sums[i] != 0 {
				w.Extend(time.Unix(k*chunkSecs+int64(i), 0))
			}
		}
	}
	return w
}

func (c *counter) points(w Window) []Point {
	if w.End.Before(w.Start) {
		return nil
	}
	var out []Point
	from, to := w.Start.Unix(), w.End.Unix()
	if w.Start.IsZero() {
		from = math.MinInt64 / 2
	}
	loc := w.End.Location()
	for _, k := range c.keys() {
		base := k * chunkSecs
		if base+chunkSecs <= from || base > to {
			continue
		}
		ch := c.chunks[k]
		for i := range ch.sums {
			sec := base + int64(i)
			if sec < from || sec > to || ch.sums[i] == 0 {
				continue
			}
			out = append(out, Point{Time: time.Unix(sec, 0).In(loc), Value: ch.sums[i], Pos: ch.pos[i]})
		}
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
