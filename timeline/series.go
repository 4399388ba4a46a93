package timeline

import (
	"math"
	"slices"
	"sort"
	"sync"
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
	sortPoints(s.points)
	return s
}

// sortPoints sorts points by time, stably; most come sorted already.
func sortPoints(pts []Point) {
	byTime := func(a, b Point) int { return a.Time.Compare(b.Time) }
	if !slices.IsSortedFunc(pts, byTime) {
		slices.SortStableFunc(pts, byTime)
	}
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
	if s.counter != nil {
		return s.counter.sum(w)
	}
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
	n := int(w.End.Sub(w.Start)/step) + 1
	if s.counter != nil {
		return s.counter.resample(w, step, n)
	}
	out := make([]Point, 0, n)
	var carry *Point
	pts := s.Points(Window{Start: time.Time{}, End: w.End})
	i := 0
	for k := 0; k < n; k++ {
		t := w.Start.Add(time.Duration(k) * step)
		end := t.Add(step - time.Nanosecond)
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

// counter holds per-second sums as a sparse list of seconds with data, so
// memory follows the seconds covered, not the lines counted, and holds no
// pointers for the garbage collector to scan. Each second keeps the position
// of the first line counted in it, with the file name interned.
//
// The entries live in pages: the first page grows by doubling up to
// pageLen entries, and every later page is allocated at its full size, so a
// growing counter never copies more than one page and never leaves large
// arrays as garbage. Pages are kept for good, and readers, Merge and
// Snapshot work on them in place; merging a counter into an empty one
// takes its pages. (Copying a day of per-second entries into one array
// costs more than the rest of a merge: the fresh array has to be faulted
// in.)
type counter struct {
	base   int64    // unix second that offsets are relative to
	pages  [][]cent // all full (pageLen) but the last
	n      int      // entries in pages
	sorted bool     // entries are sorted by off with no duplicates
	// the last interned file, to skip the table lock on the hot path
	lastName string
	lastIdx  uint32
}

// pageLen is the number of entries of a full counter page (64 KiB).
const pageLen = 4096

// firstPageLen is the capacity a counter's first page starts with.
const firstPageLen = 32

// cent is one second of a counter: 16 bytes, no pointers.
type cent struct {
	off  int32   // seconds from base
	file uint32  // interned file name index + 1; 0 for none
	line uint32  // first line counted in this second (saturates)
	sum  float32 // sum of the values counted
}

// at returns entry i.
func (c *counter) at(i int) *cent {
	return &c.pages[i/pageLen][i%pageLen]
}

// last returns the last entry; c must not be empty.
func (c *counter) last() *cent {
	pg := c.pages[len(c.pages)-1]
	return &pg[len(pg)-1]
}

// push appends e.
func (c *counter) push(e cent) {
	np := len(c.pages)
	switch {
	case np == 0:
		c.pages = append(c.pages, make([]cent, 0, firstPageLen))
		np = 1
	case len(c.pages[np-1]) == pageLen:
		c.pages = append(c.pages, make([]cent, 0, pageLen))
		np++
	case np == 1 && len(c.pages[0]) == cap(c.pages[0]):
		// The first page doubles until it is full-sized.
		grown := make([]cent, len(c.pages[0]), min(2*cap(c.pages[0]), pageLen))
		copy(grown, c.pages[0])
		c.pages[0] = grown
	}
	c.pages[np-1] = append(c.pages[np-1], e)
	c.n++
}

// search returns the index of the first entry with off >= from; the
// entries must be sorted.
func (c *counter) search(from int64) int {
	return sort.Search(c.n, func(i int) bool { return int64(c.at(i).off) >= from })
}

// each calls fn for the entries from index lo on, in order, until fn
// returns false.
func (c *counter) each(lo int, fn func(*cent) bool) {
	if lo >= c.n {
		return
	}
	first := lo / pageLen
	for p := first; p < len(c.pages); p++ {
		pg := c.pages[p]
		k := 0
		if p == first {
			k = lo % pageLen
		}
		for ; k < len(pg); k++ {
			if !fn(&pg[k]) {
				return
			}
		}
	}
}

// entries returns a copy of all entries in one slice.
func (c *counter) entries() []cent {
	out := make([]cent, 0, c.n)
	for _, pg := range c.pages {
		out = append(out, pg...)
	}
	return out
}

// setEntries replaces the entries with es (copied into pages).
func (c *counter) setEntries(es []cent) {
	c.pages, c.n = nil, 0
	for _, e := range es {
		c.push(e)
	}
}

func (c *counter) add(t time.Time, v float64, pos Pos) {
	sec := t.Unix()
	if c.n == 0 {
		c.base = sec
		c.sorted = true
	}
	off := sec - c.base
	if off > math.MaxInt32 || off < math.MinInt32 {
		return // more than 68 years away from the first line: not a timeline
	}
	if c.n > 0 {
		last := c.last()
		if int64(last.off) == off {
			last.sum += float32(v)
			return
		}
		if int64(last.off) > off {
			c.sorted = false
		}
	}
	if pos.File != c.lastName || c.lastIdx == 0 {
		c.lastName, c.lastIdx = pos.File, intern(pos.File)
	}
	c.push(cent{off: int32(off), file: c.lastIdx, line: satLine(pos.Line), sum: float32(v)})
}

func satLine(l int64) uint32 {
	if l < 0 {
		return 0
	}
	if l > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(l)
}

// normalize sorts entries and folds duplicates of the same second, keeping
// the earliest-added position.
func (c *counter) normalize() {
	if c.sorted {
		return
	}
	es := c.entries()
	sort.SliceStable(es, func(i, j int) bool { return es[i].off < es[j].off })
	out := es[:0]
	for _, e := range es {
		if n := len(out); n > 0 && out[n-1].off == e.off {
			out[n-1].sum += e.sum
			continue
		}
		out = append(out, e)
	}
	c.setEntries(out)
	c.sorted = true
}

// merge adds o's seconds to c.
func (c *counter) merge(o *counter) {
	if o == nil || o.n == 0 {
		return
	}
	o.normalize()
	if c.n == 0 {
		// The inputs of Merge are not used afterwards: take o's pages.
		c.base, c.pages, c.n, c.sorted = o.base, o.pages, o.n, true
		o.pages, o.n = nil, 0
		return
	}
	c.normalize()
	shift := o.base - c.base
	first, last := int64(o.at(0).off)+shift, int64(o.last().off)+shift
	if first >= math.MinInt32 && last <= math.MaxInt32 {
		c.mergeTail(o, shift)
		return
	}
	a, b := c.entries(), o.entries()
	out := &counter{base: c.base, sorted: true}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var oe cent
		var oOff int64
		if j < len(b) {
			oe = b[j]
			oOff = int64(oe.off) + shift
		}
		switch {
		case j >= len(b) || (i < len(a) && int64(a[i].off) < oOff):
			out.push(a[i])
			i++
		case i >= len(a) || oOff < int64(a[i].off):
			if oOff >= math.MinInt32 && oOff <= math.MaxInt32 {
				oe.off = int32(oOff)
				out.push(oe)
			}
			j++
		default:
			e := a[i]
			e.sum += oe.sum
			out.push(e)
			i++
			j++
		}
	}
	c.pages, c.n = out.pages, out.n
}

// mergeTail merges o, whose seconds rebased by shift fit c's offsets,
// into c: c's seconds from o's first on are merged with o's up to c's last
// (when o follows c, the next piece of a file, that is a few entries), and
// o's later seconds are appended. Nothing of c before the overlap is
// copied.
func (c *counter) mergeTail(o *counter, shift int64) {
	for _, pg := range o.pages {
		for k := range pg {
			pg[k].off = int32(int64(pg[k].off) + shift)
		}
	}
	k := c.search(int64(o.at(0).off))      // c[k:] overlaps o
	j := o.search(int64(c.last().off) + 1) // o[:j] overlaps c
	tail := make([]cent, 0, c.n-k)
	c.each(k, func(e *cent) bool { tail = append(tail, *e); return true })
	head := make([]cent, 0, j)
	o.each(0, func(e *cent) bool {
		if len(head) == j {
			return false
		}
		head = append(head, *e)
		return true
	})
	c.truncate(k)
	for x, y := 0, 0; x < len(tail) || y < len(head); {
		switch {
		case y >= len(head) || x < len(tail) && tail[x].off < head[y].off:
			c.push(tail[x])
			x++
		case x >= len(tail) || head[y].off < tail[x].off:
			c.push(head[y])
			y++
		default: // the same second: c's line came first
			e := tail[x]
			e.sum += head[y].sum
			c.push(e)
			x++
			y++
		}
	}
	// The rest of o is copied, not handed over: pages handed over would
	// keep the room left in each piece's last page, for every piece.
	o.each(j, func(e *cent) bool { c.push(*e); return true })
	o.pages, o.n = nil, 0
}

// truncate keeps the first k entries.
func (c *counter) truncate(k int) {
	if k >= c.n {
		return
	}
	if k == 0 {
		c.pages, c.n = nil, 0
		return
	}
	p := (k - 1) / pageLen // the page of the last entry kept
	c.pages = c.pages[:p+1]
	c.pages[p] = c.pages[p][:k-p*pageLen]
	c.n = k
}

// resample sums the counter into n buckets of step from w.Start in one pass
// and returns per-second rates.
func (c *counter) resample(w Window, step time.Duration, n int) []Point {
	sums := make([]float64, n)
	c.normalize()
	if c.n > 0 {
		lo := c.search(w.Start.Unix() - c.base)
		startNs := w.Start.UnixNano()
		c.each(lo, func(e *cent) bool {
			ns := (c.base+int64(e.off))*int64(time.Second) - startNs
			if ns < 0 {
				return true
			}
			k := int(ns / int64(step))
			if k >= n {
				return false
			}
			sums[k] += float64(e.sum)
			return true
		})
	}
	out := make([]Point, n)
	for k := range out {
		out[k] = Point{Time: w.Start.Add(time.Duration(k) * step), Value: sums[k] / step.Seconds()}
	}
	return out
}

// span returns the first and last second with a non-zero sum: entries are
// sorted, so it looks from each end.
func (c *counter) span() Window {
	c.normalize()
	var w Window
	for i := 0; i < c.n; i++ {
		if e := c.at(i); e.sum != 0 {
			w.Extend(time.Unix(c.base+int64(e.off), 0))
			break
		}
	}
	for i := c.n - 1; i >= 0; i-- {
		if e := c.at(i); e.sum != 0 {
			w.Extend(time.Unix(c.base+int64(e.off), 0))
			break
		}
	}
	return w
}

// sum returns the sum of the seconds inside w, as Points(w) would give
// them, without making the points.
func (c *counter) sum(w Window) float64 {
	if w.End.Before(w.Start) || c.n == 0 {
		return 0
	}
	c.normalize()
	from, to := w.Start.Unix()-c.base, w.End.Unix()-c.base
	if w.Start.IsZero() {
		from = math.MinInt64 / 2
	}
	var sum float64
	c.each(c.search(from), func(e *cent) bool {
		if int64(e.off) > to {
			return false
		}
		sum += float64(e.sum)
		return true
	})
	return sum
}

func (c *counter) points(w Window) []Point {
	if w.End.Before(w.Start) || c.n == 0 {
		return nil
	}
	c.normalize()
	from, to := w.Start.Unix()-c.base, w.End.Unix()-c.base
	if w.Start.IsZero() {
		from = math.MinInt64 / 2
	}
	loc := w.End.Location()
	var out []Point
	c.each(c.search(from), func(e *cent) bool {
		if int64(e.off) > to {
			return false
		}
		if e.sum != 0 {
			out = append(out, Point{
				Time:  time.Unix(c.base+int64(e.off), 0).In(loc),
				Value: float64(e.sum),
				Pos:   Pos{File: internedName(e.file), Line: int64(e.line)},
			})
		}
		return true
	})
	return out
}

// The file-name table shared by all counters: names are few (one per
// input file), and interning keeps counter entries free of pointers.
var fileTable struct {
	mu    sync.Mutex
	idx   map[string]uint32
	names []string
}

func intern(name string) uint32 {
	if name == "" {
		return 0
	}
	fileTable.mu.Lock()
	defer fileTable.mu.Unlock()
	if fileTable.idx == nil {
		fileTable.idx = map[string]uint32{}
	}
	if i, ok := fileTable.idx[name]; ok {
		return i
	}
	fileTable.names = append(fileTable.names, name)
	i := uint32(len(fileTable.names))
	fileTable.idx[name] = i
	return i
}

func internedName(i uint32) string {
	if i == 0 {
		return ""
	}
	fileTable.mu.Lock()
	defer fileTable.mu.Unlock()
	return fileTable.names[i-1]
}
