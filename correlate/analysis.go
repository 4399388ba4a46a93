package correlate

import (
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// AnalyzeOptions tune Analyze.
type AnalyzeOptions struct {
	// Step is the resolution series are resampled at; 0 picks one that
	// gives at most 600 points over the window (at least 1s).
	Step time.Duration
	// MaxLag is how long before an indicator change a setting change or
	// deploy step may be and still be linked to it (default 15m).
	MaxLag time.Duration
	// CP tunes change-point detection; CP.MinRelative defaults to 0.05
	// here (a negative value keeps every change).
	CP CPOptions
}

// Link is a candidate cause of an indicator change: a setting change,
// reload, deploy step or backend state change before it.
type Link struct {
	Event timeline.Event
	// Lag is the indicator change's onset minus the event's time.
	Lag time.Duration
	// Score ranks candidates (higher is more plausible); Reason says why.
	Score  int
	Reason string
}

// ChangePoint is a change of level found in one series, with its most
// plausible cause.
type ChangePoint struct {
	Metric  timeline.Metric
	Backend string
	Break
	// Cause is the most plausible preceding change (nil when none lies
	// within MaxLag); Alternatives are the next three candidates, best
	// first. Candidates holds every candidate, best first (Cause is
	// Candidates[0]): rules match a required kind of change against it.
	Cause        *Link
	Alternatives []Link
	Candidates   []Link
}

// Series names the series: "timewait" or "timewait{vm-c}".
func (c *ChangePoint) Series() string {
	if c.Backend == "" {
		return string(c.Metric)
	}
	return string(c.Metric) + "{" + c.Backend + "}"
}

// Correlation is the Pearson coefficient between the TIME_WAIT growth rate
// (change of the summed timewait gauges per second) and the error rate
// (resets, upstream errors, aborted sessions and 5xx per second), over the
// steps of Window where both are known.
type Correlation struct {
	R      float64
	N      int
	Window timeline.Window
	Step   time.Duration
}

// Analysis is what Analyze found.
type Analysis struct {
	// Changes are the setting changes (config_change events), in time order.
	Changes []timeline.Event
	// ChangePoints are sorted by time, then series.
	ChangePoints []ChangePoint
	Step         time.Duration
	Window       timeline.Window
	// Correlation is nil when there is no timewait or no error series.
	Correlation *Correlation
}

// AutoStep returns the resampling step for a window: the window over 600,
// rounded up to 1s, 2s, 5s, 10s, 15s, 30s, 1m, 2m, 5m, 10m, 15m, 30m or 1h.
func AutoStep(w timeline.Window) time.Duration {
	d := w.Duration()
	for _, s := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute} {
		if d/s <= 600 {
			return s
		}
	}
	return time.Hour
}

// Analyze runs change-point detection on every series of tl (resampled
// over the timeline's window), links each change to the most plausible
// preceding setting change or deploy step, and correlates TIME_WAIT growth
// with errors.
//
// Linking: candidates are config_change, config_reload, deploy_step and
// backend_state events from MaxLag before the onset up to one step after it
// (the onset is known to a step). A candidate on another backend than a
// series with a known backend is not considered. Score = 10*relevance
// (3: the kind of change that moves this signal, e.g. a keepalive setting
// for TIME_WAIT or a pool/drain transition for connections and resets; 2:
// a reload or config push; 1: anything else) + 5 for the same backend (2
// for an event without a backend); ties go to the nearest.
func Analyze(tl *timeline.Timeline, opts AnalyzeOptions) *Analysis {
	a := &Analysis{}
	if tl == nil {
		return a
	}
	if opts.MaxLag <= 0 {
		opts.MaxLag = 15 * time.Minute
	}
	if opts.CP.MinRelative == 0 {
		// Level changes under 5% of the level are not worth a reader's
		// time (and include the flat tail Prometheus's lookback adds).
		opts.CP.MinRelative = 0.05
	}
	var cands []timeline.Event
	for _, e := range tl.Events {
		switch e.Kind {
		case timeline.KindConfigChange:
			a.Changes = append(a.Changes, e)
			cands = append(cands, e)
		case timeline.KindConfigReload, timeline.KindDeployStep, timeline.KindBackendState:
			cands = append(cands, e)
		}
	}
	w := tl.Window()
	a.Window = w
	if w.Start.IsZero() || !w.End.After(w.Start) {
		return a
	}
	step := opts.Step
	if step <= 0 {
		step = AutoStep(w)
	}
	a.Step = step
	start := w.Start.Truncate(step)
	rw := timeline.Window{Start: start, End: w.End}
	// Series are independent: they are searched several at a time, and
	// their change points gathered in series order.
	perSeries := make([][]ChangePoint, len(tl.Series))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(len(tl.Series), runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				perSeries[i] = seriesChangePoints(tl.Series[i], cands, rw, step, opts)
			}
		}()
	}
	for i := range tl.Series {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, cps := range perSeries {
		a.ChangePoints = append(a.ChangePoints, cps...)
	}
	sort.SliceStable(a.ChangePoints, func(i, j int) bool {
		x, y := a.ChangePoints[i], a.ChangePoints[j]
		if !x.Time.Equal(y.Time) {
			return x.Time.Before(y.Time)
		}
		return x.Series() < y.Series()
	})
	a.Correlation = correlateTW(tl, rw, step)
	return a
}

// seriesChangePoints finds the change points of s resampled over rw at
// step, each with the candidate changes ranked.
func seriesChangePoints(s *timeline.Series, cands []timeline.Event, rw timeline.Window, step time.Duration, opts AnalyzeOptions) []ChangePoint {
	var out []ChangePoint
	pts := s.Resample(rw, step)
	for _, b := range ChangePoints(pts, opts.CP) {
		cp := ChangePoint{Metric: s.Metric, Backend: s.Backend, Break: b}
		links := rank(cands, &cp, step, opts.MaxLag)
		if len(links) > 0 {
			cp.Candidates = links
			cp.Cause = &links[0]
			cp.Alternatives = links[1:]
			if len(cp.Alternatives) > 3 {
				cp.Alternatives = cp.Alternatives[:3]
			}
		}
		out = append(out, cp)
	}
	return out
}

func relevance(m timeline.Metric, e *timeline.Event) (int, string) {
	setting := strings.ToLower(e.Attr("setting") + " " + e.Text)
	tcp := m == timeline.MetricTimeWait || strings.HasPrefix(string(m), "tcp_") || m == timeline.MetricConnectSum
	switch e.Kind {
	case timeline.KindConfigChange:
		if tcp && strings.Contains(setting, "keepalive") {
			return 3, "keepalive setting change before a TCP socket change"
		}
		if strings.Contains(setting, "timeout") || strings.Contains(setting, "maxconn") || strings.Contains(setting, "keepalive") {
			return 2, "connection setting change"
		}
		return 2, "setting change"
	case timeline.KindConfigReload:
		return 2, "configuration reload"
	case timeline.KindDeployStep:
		switch e.Attr("step") {
		case timeline.StepConfigPush:
			return 2, "config push"
		case timeline.StepUnbind, timeline.StepDrainStart, timeline.StepStop, timeline.StepKill, timeline.StepBind, timeline.StepRollback:
			if !tcp {
				return 3, "deploy step that moves traffic"
			}
		}
		return 1, "deploy step"
	case timeline.KindBackendState:
		if !tcp {
			return 3, "backend pool state change"
		}
		return 1, "backend pool state change"
	}
	return 1, string(e.Kind)
}

func rank(cands []timeline.Event, cp *ChangePoint, step, maxLag time.Duration) []Link {
	var out []Link
	for i := range cands {
		e := &cands[i]
		lag := cp.Time.Sub(e.Time)
		if lag < -step || lag > maxLag {
			continue
		}
		bscore := 2
		switch {
		case cp.Backend != "" && e.Backend != "" && cp.Backend != e.Backend:
			continue
		case cp.Backend != "" && e.Backend == cp.Backend:
			bscore = 5
		}
		rel, why := relevance(cp.Metric, e)
		if lag < 0 {
			lag = 0
		}
		out = append(out, Link{Event: *e, Lag: lag, Score: 10*rel + bscore, Reason: why})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Lag < out[j].Lag
	})
	return out
}

var errorMetrics = []timeline.Metric{timeline.MetricResets, timeline.MetricUpstreamErrs, timeline.MetricAborted, timeline.MetricHTTP5xx}

func sumResampled(ss []*timeline.Series, w timeline.Window, step time.Duration) map[int64]float64 {
	out := map[int64]float64{}
	for _, s := range ss {
		for _, p := range s.Resample(w, step) {
			out[p.Time.Unix()] += p.Value
		}
	}
	return out
}

func correlateTW(tl *timeline.Timeline, w timeline.Window, step time.Duration) *Correlation {
	tw := tl.SeriesOf(timeline.MetricTimeWait)
	var errs []*timeline.Series
	for _, m := range errorMetrics {
		errs = append(errs, tl.SeriesOf(m)...)
	}
	if len(tw) == 0 || len(errs) == 0 {
		return nil
	}
	twv := sumResampled(tw, w, step)
	ev := sumResampled(errs, w, step)
	var xs, ys []float64
	var cw timeline.Window
	for t := w.Start; !t.After(w.End); t = t.Add(step) {
		k := t.Unix()
		prev, ok1 := twv[k-int64(step/time.Second)]
		cur, ok2 := twv[k]
		if !ok1 || !ok2 {
			continue
		}
		xs = append(xs, (cur-prev)/step.Seconds())
		ys = append(ys, ev[k])
		cw.Extend(t)
	}
	if len(xs) < 3 {
		return nil
	}
	r := pearson(xs, ys)
	if math.IsNaN(r) {
		return nil
	}
	return &Correlation{R: r, N: len(xs), Window: cw, Step: step}
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}
