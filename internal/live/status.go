package live

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// Status is the live state of one backend, from the newest data.
type Status struct {
	Backend string
	// State is the last pool state seen (bound, draining, drained,
	// removed, down, up), or "" if none.
	State string
	// Active, New, WS and TimeWait are the last gauge values; HasX says
	// whether one was seen.
	Active, New, WS, TimeWait             float64
	HasActive, HasNew, HasWS, HasTimeWait bool
	// ResetsPerSec is the reset rate over the last 10 seconds (log lines
	// counted, or an LB's reported rate, whichever is higher).
	ResetsPerSec float64
}

// Statuses returns the status of every backend in tl as of now (log time),
// sorted by backend. Backends without a name are left out.
func Statuses(tl *timeline.Timeline, now time.Time) []Status {
	if tl == nil {
		return nil
	}
	win := timeline.Window{Start: now.Add(-10 * time.Second), End: now}
	all := timeline.Window{Start: time.Unix(0, 0), End: now.Add(time.Hour)}
	var out []Status
	for _, b := range tl.Backends() {
		if b == "" {
			continue
		}
		st := Status{Backend: b}
		last := func(m timeline.Metric) (float64, bool) {
			if s := tl.Find(m, b); s != nil {
				if p, ok := s.Last(all); ok {
					return p.Value, true
				}
			}
			return 0, false
		}
		st.Active, st.HasActive = last(timeline.MetricActiveConn)
		st.New, st.HasNew = last(timeline.MetricNewConn)
		st.WS, st.HasWS = last(timeline.MetricWSSessions)
		st.TimeWait, st.HasTimeWait = last(timeline.MetricTimeWait)
		if s := tl.Find(timeline.MetricResets, b); s != nil {
			st.ResetsPerSec = s.Sum(win) / 10
		}
		if s := tl.Find(timeline.MetricResetRate, b); s != nil {
			if p, ok := s.Last(win); ok && p.Value > st.ResetsPerSec {
				st.ResetsPerSec = p.Value
			}
		}
		st.State = lastState(tl, b)
		out = append(out, st)
	}
	return out
}

// lastState is the pool state implied by the last state event or deploy
// step of backend b.
func lastState(tl *timeline.Timeline, b string) string {
	for i := len(tl.Events) - 1; i >= 0; i-- {
		e := &tl.Events[i]
		if e.Backend != b {
			continue
		}
		switch e.Kind {
		case timeline.KindBackendState:
			if s := e.Attr("state"); s != "" {
				return s
			}
		case timeline.KindDeployStep:
			switch e.Attr("step") {
			case timeline.StepUnbind, timeline.StepDrainStart, timeline.StepDrainWait:
				return timeline.StateDraining
			case timeline.StepDrained:
				return timeline.StateDrained
			case timeline.StepKill:
				return timeline.StateRemoved
			case timeline.StepBind:
				return timeline.StateBound
			}
		}
	}
	return ""
}

// Line formats s as one greppable line:
// "status backend=vm-c state=removed active=300 new=0 resets/s=42 ws=- timewait=1200".
func (s Status) Line() string {
	var sb strings.Builder
	sb.WriteString("status backend=")
	sb.WriteString(s.Backend)
	sb.WriteString(" state=")
	if s.State == "" {
		sb.WriteString("-")
	} else {
		sb.WriteString(s.State)
	}
	num := func(name string, v float64, ok bool) {
		sb.WriteString(" " + name + "=")
		if !ok {
			sb.WriteString("-")
			return
		}
		sb.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	}
	num("active", s.Active, s.HasActive)
	num("new", s.New, s.HasNew)
	sb.WriteString(fmt.Sprintf(" resets/s=%s", strconv.FormatFloat(round1(s.ResetsPerSec), 'f', -1, 64)))
	num("ws", s.WS, s.HasWS)
	num("timewait", s.TimeWait, s.HasTimeWait)
	return sb.String()
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
