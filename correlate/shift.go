// Package correlate holds small, robust helpers over timeline series that
// rules use: level-shift detection and the like.
package correlate

import (
	"math"
	"sort"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// ShiftOptions tune LevelShifts.
type ShiftOptions struct {
	// Factor is how many times the baseline median the new level must be
	// (e.g. 5). Must be > 1.
	Factor float64
	// Min is the smallest new level that counts, in the series' unit (e.g.
	// 5000 sockets): it keeps a rise from 2 to 20 from being a "shift".
	Min float64
	// Baseline is how far back the baseline median looks (e.g. 30m).
	Baseline time.Duration
	// Hold is how long the new level is measured over (e.g. 2m). The new
	// level is the median of the points in [t, t+Hold], and of at least
	// MinPost points even when Hold holds fewer.
	Hold time.Duration
	// MinBaseline is the fewest baseline points a candidate needs (default 3).
	MinBaseline int
	// MinPost is the fewest points the new level is measured over
	// (default 3, so that a single spike can never be a shift).
	MinPost int
	// Noise is how many robust standard deviations (1.4826 * MAD of the
	// baseline) the rise must exceed (default 4).
	Noise float64
	// MaxGap ends the new-level window at a gap between consecutive points
	// longer than this (default 4*Hold, at least 10m): data after a long
	// gap says nothing about the level just after the shift.
	MaxGap time.Duration
}

func (o ShiftOptions) withDefaults() ShiftOptions {
	if o.MinBaseline <= 0 {
		o.MinBaseline = 3
	}
	if o.MinPost <= 0 {
		o.MinPost = 3
	}
	if o.Noise <= 0 {
		o.Noise = 4
	}
	if o.MaxGap <= 0 {
		o.MaxGap = 4 * o.Hold
		if o.MaxGap < 10*time.Minute {
			o.MaxGap = 10 * time.Minute
		}
	}
	return o
}

// Shift is one detected upward level shift.
type Shift struct {
	// Start is the onset: the first point at or above the midpoint between
	// the old and new level. End is the last point before the level fell
	// back below that midpoint (or the last point of the series).
	Start, End time.Time
	// Onset is the point at Start (its Pos cites the line).
	Onset timeline.Point
	// Before is the baseline median, After the median new level, Factor
	// After/Before (+Inf when Before is 0).
	Before, After, Factor float64
	// Peak is the highest point between Start and End.
	Peak timeline.Point
}

// LevelShifts finds sustained upward level shifts in pts (sorted by time).
//
// Method: for each point i, the baseline is the median of the points in
// [t_i-Baseline, t_i) and the new level the median of the points in
// [t_i, t_i+Hold] (at least MinPost of them, stopping at gaps longer than
// MaxGap). Point i is a candidate when new >= Factor*baseline, new >= Min and
// new-baseline exceeds Noise robust standard deviations of the baseline
// (1.4826*MAD). Medians make it robust: one outlier in either window moves
// neither, so isolated spikes are not shifts and stationary noise does not
// reach the factor. The onset is then refined to the first point of the
// window at or above the midpoint between the levels, and the shift ends
// at the last point before one that is below the midpoint together with the
// median of the MinPost points from it;
// scanning resumes after it, so a series may hold several shifts.
//
// It needs at least MinBaseline baseline points, so a series that starts
// high (no baseline) yields nothing. It does not allocate per point beyond
// two scratch slices.
func LevelShifts(pts []timeline.Point, o ShiftOptions) []Shift {
	o = o.withDefaults()
	if o.Factor <= 1 || o.Baseline <= 0 || len(pts) < o.MinBaseline+o.MinPost {
		return nil
	}
	var out []Shift
	var pre, post []float64
	lo := 0 // first point inside the current baseline window
	for i := 0; i < len(pts); i++ {
		t := pts[i].Time
		for lo < i && pts[lo].Time.Before(t.Add(-o.Baseline)) {
			lo++
		}
		if i-lo < o.MinBaseline {
			continue
		}
		pre = pre[:0]
		for _, p := range pts[lo:i] {
			pre = append(pre, p.Value)
		}
		k := postLen(pts, i, o)
		if k < o.MinPost {
			continue
		}
		post = post[:0]
		for _, p := range pts[i : i+k] {
			post = append(post, p.Value)
		}
		before := median(pre)
		after := median(post)
		if !(after >= o.Factor*before && after >= o.Min && after > before) {
			continue
		}
		sigma := 1.4826 * mad(pre, before)
		if after-before <= o.Noise*sigma {
			continue
		}
		half := before + (after-before)/2
		on := i
		for on < i+k && pts[on].Value < half {
			on++
		}
		if on == i+k {
			continue // cannot happen with a median above half; be safe
		}
		end := len(pts) - 1
		for j := on + 1; j < len(pts); j++ {
			if pts[j].Value >= half {
				continue
			}
			m := o.MinPost
			if j+m > len(pts) {
				m = len(pts) - j
			}
			post = post[:0]
			for _, p := range pts[j : j+m] {
				post = append(post, p.Value)
			}
			if median(post) < half {
				end = j - 1
				break
			}
		}
		s := Shift{Start: pts[on].Time, End: pts[end].Time, Onset: pts[on], Before: before, After: after, Peak: pts[on]}
		for _, p := range pts[on : end+1] {
			if p.Value > s.Peak.Value {
				s.Peak = p
			}
		}
		if before > 0 {
			s.Factor = after / before
		} else {
			s.Factor = math.Inf(1)
		}
		out = append(out, s)
		i = end // resume after the shift
	}
	return out
}

// postLen returns how many points from i form the new-level window.
func postLen(pts []timeline.Point, i int, o ShiftOptions) int {
	end := pts[i].Time.Add(o.Hold)
	k := 0
	for j := i; j < len(pts); j++ {
		if j > i && pts[j].Time.Sub(pts[j-1].Time) > o.MaxGap {
			break
		}
		if pts[j].Time.After(end) && k >= o.MinPost {
			break
		}
		k++
	}
	return k
}

// median returns the median of xs (reordering xs), or NaN if empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// mad returns the median absolute deviation of xs around med (reordering xs).
func mad(xs []float64, med float64) float64 {
	for i, x := range xs {
		xs[i] = math.Abs(x - med)
	}
	return median(xs)
}

// Median returns the median of the values of pts, or NaN if none.
func Median(pts []timeline.Point) float64 {
	xs := make([]float64, len(pts))
	for i, p := range pts {
		xs[i] = p.Value
	}
	return median(xs)
}
