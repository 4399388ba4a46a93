package templates

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/postmortem-tool/postmortem/correlate"
	"github.com/postmortem-tool/postmortem/timeline"
)

// SettingChange is a setting change (a config_change event): when, where,
// which setting, from what to what, and the line that says so.
type SettingChange struct {
	Time    Time  `json:"time"`
	Backend Text  `json:"backend,omitempty"`
	Setting Text  `json:"setting"`
	From    Text  `json:"from,omitempty"`
	To      Text  `json:"to,omitempty"`
	Text    Text  `json:"text"`
	Source  Text  `json:"source"`
	Line    int64 `json:"line,omitempty"`
}

// ChangeRef names the change a change point is linked to.
type ChangeRef struct {
	Time    Time   `json:"time"`
	Kind    string `json:"kind"`
	Backend Text   `json:"backend,omitempty"`
	Summary Text   `json:"summary"`
	Source  Text   `json:"source"`
	Line    int64  `json:"line,omitempty"`
	// Lag is the onset lag in seconds; Reason why this candidate fits.
	Lag    float64 `json:"lag_seconds"`
	Reason string  `json:"reason"`
}

// ChangePointRow is one change of level of a series. LagFromChange is the
// onset lag after Change, as a duration string ("19s"), empty when no
// preceding change was found.
type ChangePointRow struct {
	Series        Text        `json:"series"`
	Metric        string      `json:"metric"`
	Backend       Text        `json:"backend,omitempty"`
	Time          Time        `json:"time"`
	Before        float64     `json:"before"`
	After         float64     `json:"after"`
	Ratio         *float64    `json:"ratio,omitempty"`
	Magnitude     float64     `json:"magnitude"`
	LagFromChange string      `json:"lag_from_change,omitempty"`
	Change        *ChangeRef  `json:"change,omitempty"`
	Alternatives  []ChangeRef `json:"alternatives,omitempty"`
	// Sentence is the change in words, e.g. "timewait{vm-c} rose x15.2
	// (1200 -> 18300) 19s after keepalive_timeout went 65s -> 2s".
	Sentence Text `json:"sentence"`
}

// CorrelationRow is the TIME_WAIT growth versus error rate coefficient.
type CorrelationRow struct {
	R      float64 `json:"r"`
	Points int     `json:"points"`
	Step   string  `json:"step"`
	Window Window  `json:"window"`
}

// SetAnalysis adds what correlate.Analyze found: setting changes, change
// points with their onset lag, and the TIME_WAIT/error correlation. Call it
// after NewReport with the same Input options (zone, redaction).
func (r *Report) SetAnalysis(a *correlate.Analysis, loc *time.Location, redact bool) {
	if a == nil {
		return
	}
	b := &builder{loc: loc, redact: redact}
	if b.loc == nil {
		b.loc = time.UTC
	}
	r.Changes = []SettingChange{}
	for _, e := range a.Changes {
		r.Changes = append(r.Changes, SettingChange{
			Time: b.time(e.Time), Backend: b.text(e.Backend), Setting: b.text(e.Attr("setting")),
			From: b.text(e.Attr("from")), To: b.text(e.Attr("to")), Text: b.text(e.Text),
			Source: b.text(e.Pos.File), Line: e.Pos.Line,
		})
	}
	r.ChangePoints = []ChangePointRow{}
	for i := range a.ChangePoints {
		cp := &a.ChangePoints[i]
		row := ChangePointRow{
			Series: b.text(cp.Series()), Metric: string(cp.Metric), Backend: b.text(cp.Backend),
			Time: b.time(cp.Time), Before: round3(cp.Before), After: round3(cp.After), Magnitude: round3(cp.Delta),
		}
		if !math.IsInf(cp.Ratio, 0) && !math.IsNaN(cp.Ratio) {
			v := round3(cp.Ratio)
			row.Ratio = &v
		}
		if cp.Cause != nil {
			ref := b.changeRef(cp.Cause)
			row.Change = &ref
			row.LagFromChange = shortDuration(cp.Cause.Lag)
		}
		for j := range cp.Alternatives {
			row.Alternatives = append(row.Alternatives, b.changeRef(&cp.Alternatives[j]))
		}
		row.Sentence = b.text(sentence(cp))
		r.ChangePoints = append(r.ChangePoints, row)
	}
	if c := a.Correlation; c != nil {
		r.Correlation = &CorrelationRow{R: round3(c.R), Points: c.N, Step: shortDuration(c.Step), Window: b.window(c.Window)}
	}
}

func (b *builder) changeRef(l *correlate.Link) ChangeRef {
	e := &l.Event
	return ChangeRef{
		Time: b.time(e.Time), Kind: string(e.Kind), Backend: b.text(e.Backend),
		Summary: b.text(e.Summary(b.loc)), Source: b.text(e.Pos.File), Line: e.Pos.Line,
		Lag: l.Lag.Seconds(), Reason: l.Reason,
	}
}

func round3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// shortDuration writes d as "19s", "2m 5s", "1h 3m".
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm %ds", m, s)
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	return fmt.Sprintf("%dh %dm", h, m)
}

func cpNum(v float64) string {
	if math.Abs(v) >= 100 || v == math.Trunc(v) {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func sentence(cp *correlate.ChangePoint) string {
	verb := "rose"
	if cp.Delta < 0 {
		verb = "fell"
	}
	s := cp.Series() + " " + verb
	if cp.Before > 0 && cp.After > 0 {
		s += fmt.Sprintf(" x%.3g", cp.After/cp.Before)
	}
	s += fmt.Sprintf(" (%s -> %s)", cpNum(cp.Before), cpNum(cp.After))
	if l := cp.Cause; l != nil {
		e := &l.Event
		what := e.Summary(time.UTC)
		if e.Kind == timeline.KindConfigChange && e.Attr("from") != "" {
			what = fmt.Sprintf("%s went %s -> %s", e.Attr("setting"), e.Attr("from"), e.Attr("to"))
		}
		s += fmt.Sprintf(" %s after %s", shortDuration(l.Lag), what)
	}
	return s
}
