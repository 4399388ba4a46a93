package drain

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Gate waits until a backend has drained: no new sessions since the
// previous reading and fewer active sessions than Threshold.
type Gate struct {
	Source    Source
	Backend   string
	Threshold float64
	// Timeout is how long the gate waits in all.
	Timeout time.Duration
	// Interval is the time between readings. Default 5s.
	Interval time.Duration
	// Window is how many recent readings the forecast fits. Default 30.
	Window int
	// FailEarly stops the wait as soon as the forecast says the drain
	// will not finish in time, instead of waiting for the timeout.
	FailEarly bool
	// Out receives one progress line per reading.
	Out io.Writer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Outcome is how a wait ended.
type Outcome struct {
	Drained bool
	// Reason says why the wait ended, in a sentence.
	Reason   string
	Last     Reading
	Forecast Forecast
}

// Advice is printed with a forecast that misses the deadline.
const Advice = "send a drain notice to clients or take the approved forced stage"

// Run takes readings until the backend has drained, the timeout passes
// (or, with FailEarly, the forecast misses it), or ctx is done.
func (g *Gate) Run(ctx context.Context) (Outcome, error) {
	now := g.Now
	if now == nil {
		now = time.Now
	}
	iv := g.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	win := g.Window
	if win < MinReadings {
		win = 30
	}
	start := now()
	deadline := start.Add(g.Timeout)
	var rs []Reading
	var last Reading
	var fc Forecast
	drainSeen := false
	errs := 0
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		r, err := g.Source.Read(ctx)
		if err != nil {
			errs++
			fmt.Fprintf(g.Out, "%s backend=%s reading failed: %v\n", now().Format("15:04:05"), g.Backend, err)
		} else {
			errs = 0
			last = r
			rs = append(rs, r)
			if len(rs) > win {
				rs = rs[len(rs)-win:]
			}
			if !drainSeen && draining(rs) {
				drainSeen = true
				fmt.Fprintf(g.Out, "%s backend=%s drain started: state=%s new=%s active=%s\n", r.Time.Format("15:04:05"), g.Backend, orDash(r.State), newStr(r.New), fmtN(r.Active))
			}
			fc = Predict(rs, g.Threshold)
			remaining := deadline.Sub(r.Time)
			verdict, late := g.verdict(fc, remaining)
			fmt.Fprintf(g.Out, "%s backend=%s state=%s active=%s new=%s%s\n", r.Time.Format("15:04:05"), g.Backend, orDash(r.State), fmtN(r.Active), newStr(r.New), verdict)
			if r.New == 0 && r.Active < g.Threshold {
				return Outcome{Drained: true, Reason: fmt.Sprintf("%s drained: active %s < %s and no new sessions, after %s", g.Backend, fmtN(r.Active), fmtN(g.Threshold), FormatETA(r.Time.Sub(start))), Last: r, Forecast: fc}, nil
			}
			if late && g.FailEarly {
				return Outcome{Reason: fmt.Sprintf("%s will not drain in time: %s", g.Backend, strings.TrimPrefix(verdict, " ")), Last: r, Forecast: fc}, nil
			}
		}
		if !now().Before(deadline) {
			reason := fmt.Sprintf("timeout after %s waiting for %s to drain: active %s (threshold %s), new %s", FormatETA(g.Timeout), g.Backend, fmtN(last.Active), fmtN(g.Threshold), newStr(last.New))
			if fc.OK {
				reason += "; " + strings.TrimPrefix(describe(fc), " ")
			}
			if errs > 0 {
				reason += fmt.Sprintf("; the last %d reading(s) failed", errs)
			}
			return Outcome{Reason: reason, Last: last, Forecast: fc}, nil
		}
		select {
		case <-ctx.Done():
			return Outcome{Reason: "interrupted", Last: last, Forecast: fc}, ctx.Err()
		case <-t.C:
		}
	}
}

// draining reports whether the readings show a drain: a drain or
// maintenance state, or new sessions dropping to zero after some.
func draining(rs []Reading) bool {
	r := rs[len(rs)-1]
	s := strings.ToLower(r.State)
	if strings.Contains(s, "drain") || strings.Contains(s, "maint") {
		return true
	}
	if r.New == 0 {
		for _, p := range rs[:len(rs)-1] {
			if p.New > 0 {
				return true
			}
		}
	}
	return false
}

func (g *Gate) verdict(fc Forecast, remaining time.Duration) (string, bool) {
	if !fc.OK {
		return fmt.Sprintf(" (forecast after %d readings)", MinReadings), false
	}
	d := describe(fc)
	if remaining < 0 {
		remaining = 0
	}
	if fc.Never || fc.ETA > remaining {
		return fmt.Sprintf("%s > timeout %s: will not drain in time; %s", d, FormatETA(remaining), Advice), true
	}
	return fmt.Sprintf("%s ≤ timeout %s: on track", d, FormatETA(remaining)), false
}

func describe(fc Forecast) string {
	if fc.Never {
		return fmt.Sprintf(" %s → no ETA", FormatRate(fc.PerMinute))
	}
	return fmt.Sprintf(" %s → ETA %s (%s fit)", FormatRate(fc.PerMinute), FormatETA(fc.ETA), fc.Model)
}

func fmtN(v float64) string { return fmt.Sprintf("%g", v) }

func newStr(v float64) string {
	if v < 0 {
		return "?"
	}
	return fmtN(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
