// Package drain watches a draining backend until its sessions are gone and
// forecasts when that will happen from how fast they have been falling.
package drain

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Reading is one observation of a backend.
type Reading struct {
	Time time.Time
	// Active is the number of open sessions.
	Active float64
	// New is the number of sessions opened since the previous reading
	// (the first reading's New is unknown: -1).
	New float64
	// State is the backend's state as the source names it ("DRAIN",
	// "MAINT", "UP", "draining"), "" if unknown.
	State string
}

// Forecast is what the recent decay of active sessions predicts.
type Forecast struct {
	// OK is false when there are too few readings to say anything.
	OK bool
	// Model is "linear" or "exponential": the one that fits the recent
	// readings better.
	Model string
	// PerMinute is the current rate of change of active sessions
	// (negative when falling).
	PerMinute float64
	// ETA is how long until active falls below the threshold; Never is
	// true when active is not falling.
	ETA   time.Duration
	Never bool
}

// MinReadings is how many readings a forecast needs.
const MinReadings = 4

// Predict fits the readings (oldest first) and forecasts when active
// falls below threshold. It uses Theil–Sen estimators (the median of
// pairwise slopes), which ignore the odd outlier, for a linear model of
// active and for a linear model of log(active) (exponential decay), and
// keeps the model whose median absolute residual is smaller.
func Predict(rs []Reading, threshold float64) Forecast {
	if len(rs) < MinReadings {
		return Forecast{}
	}
	span := rs[len(rs)-1].Time.Sub(rs[0].Time).Seconds()
	if span <= 0 {
		return Forecast{}
	}
	t0 := rs[0].Time
	xs := make([]float64, len(rs))
	ys := make([]float64, len(rs))
	ls := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = r.Time.Sub(t0).Seconds()
		ys[i] = r.Active
		ls[i] = math.Log(math.Max(r.Active, 0.5))
	}
	now := xs[len(xs)-1]
	cur := ys[len(ys)-1]
	if threshold <= 0 {
		threshold = 1
	}
	if cur < threshold {
		return Forecast{OK: true, Model: "linear", ETA: 0}
	}
	sl, il := theilSen(xs, ys)
	se, ie := theilSen(xs, ls)
	rl := madResidual(xs, ys, sl, il, false)
	re := madResidual(xs, ys, se, ie, true)
	f := Forecast{OK: true}
	// The level now, as the fit sees it (robust to a noisy last reading).
	if re < rl && se < 0 {
		f.Model = "exponential"
		level := math.Exp(ie + se*now)
		f.PerMinute = se * level * 60
		if level < threshold {
			return f
		}
		f.ETA = seconds(math.Log(level/threshold) / -se)
		return f
	}
	f.Model = "linear"
	f.PerMinute = sl * 60
	if sl >= 0 {
		f.Never = true
		return f
	}
	level := il + sl*now
	if level < threshold {
		return f
	}
	f.ETA = seconds((level - threshold) / -sl)
	return f
}

func seconds(s float64) time.Duration {
	if s > float64(math.MaxInt64/int64(time.Second)) || math.IsInf(s, 0) || math.IsNaN(s) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}

// theilSen returns the median pairwise slope and the median intercept.
func theilSen(xs, ys []float64) (slope, intercept float64) {
	var slopes []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if dx := xs[j] - xs[i]; dx > 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return 0, median(append([]float64(nil), ys...))
	}
	slope = median(slopes)
	ics := make([]float64, len(xs))
	for i := range xs {
		ics[i] = ys[i] - slope*xs[i]
	}
	return slope, median(ics)
}

func madResidual(xs, ys []float64, s, i float64, exp bool) float64 {
	res := make([]float64, len(xs))
	for k := range xs {
		p := i + s*xs[k]
		if exp {
			p = math.Exp(p)
		}
		res[k] = math.Abs(ys[k] - p)
	}
	return median(res)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// FormatETA renders a duration for people: "6h38m", "12m", "40s".
func FormatETA(d time.Duration) string {
	switch {
	case d == time.Duration(math.MaxInt64) || d > 100*24*time.Hour:
		return "more than 100 days"
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= 10*time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%ds", int(d.Seconds()+0.5))
	}
}

// FormatRate renders a per-minute change as "falling 3/min", "rising
// 0.5/min" or "flat".
func FormatRate(perMin float64) string {
	a := math.Abs(perMin)
	var n string
	switch {
	case a < 0.05:
		return "flat"
	case a >= 10:
		n = fmt.Sprintf("%.0f", a)
	default:
		n = fmt.Sprintf("%.1f", a)
	}
	if perMin < 0 {
		return "falling " + n + "/min"
	}
	return "rising " + n + "/min"
}
