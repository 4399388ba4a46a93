package templates

import (
	"fmt"
	"math"
	"slices"
	"sort"
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
	// What is the change in words for the draft ("keepalive_timeout went
	// 65s -> 2s"); Brief is a shorter form for lists of alternatives
	// ("nginx reload", "kill step", "removed from be_app"). The JSON has
	// their parts in Summary.
	What  Text `json:"-"`
	Brief Text `json:"-"`
}

// Ref returns "file:line".
func (c ChangeRef) Ref() Text { return ref(c.Source, c.Line) }

// LagText returns the onset lag as "19s", "2m 5s".
func (c ChangeRef) LagText() string {
	return shortDuration(time.Duration(c.Lag * float64(time.Second)))
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
	// Findings names the rules whose finding this change point belongs to:
	// on the finding's backend (or either has none) with its onset inside
	// the finding's span, give or take one resampling step.
	Findings []string `json:"findings,omitempty"`

	score float64 // cost saved by the split, in noise units (ranking)
}

// Verb returns "rose" or "fell".
func (c ChangePointRow) Verb() string {
	if c.After < c.Before {
		return "fell"
	}
	return "rose"
}

// Levels returns "1203 -> 18009 (x15)" for a rise and "1800 -> 300
// (-83%)" for a fall: the old and new level and, when both are positive,
// the ratio or the drop.
func (c ChangePointRow) Levels() string {
	s := cpNum(c.Before) + " -> " + cpNum(c.After)
	if c.Before > 0 && c.After > 0 {
		if c.After >= c.Before {
			s += fmt.Sprintf(" (x%.3g)", c.After/c.Before)
		} else {
			s += fmt.Sprintf(" (-%.0f%%)", 100*(1-c.After/c.Before))
		}
	}
	return s
}

// CorrelationRow is the TIME_WAIT growth versus error rate coefficient.
type CorrelationRow struct {
	R      float64 `json:"r"`
	Points int     `json:"points"`
	Step   string  `json:"step"`
	Window Window  `json:"window"`
}

// Strength puts |R| in words: "strong" (>= 0.7), "moderate" (>= 0.4),
// "weak" (>= 0.2) or "no" linear relation.
func (c CorrelationRow) Strength() string {
	switch r := math.Abs(c.R); {
	case r >= 0.7:
		return "strong"
	case r >= 0.4:
		return "moderate"
	case r >= 0.2:
		return "weak"
	}
	return "no"
}

// MaxIndicatorChanges is how many change points the draft lists, and
// MaxPerSeries how many of one series (a flapping series would crowd out
// the others); the JSON has them all.
const (
	MaxIndicatorChanges = 12
	MaxPerSeries        = 2
)

// MinDraftRatio is the smallest change of level the draft lists: a rise to
// at least MinDraftRatio times the old level, or a fall to at most its
// inverse. Smaller shifts (an average session age creeping up by 6%) are
// real but rarely what a reviewer needs; the JSON keeps them.
const MinDraftRatio = 1.5

// material reports whether the change is large enough for the draft. A
// change from or to zero has no ratio and always is.
//
// A rise of a session-age gauge is left out too unless it belongs to a
// finding (a stuck drain ages the sessions left): ages grow by themselves
// while sessions stay open.
func (c ChangePointRow) material() bool {
	switch timeline.Metric(c.Metric) {
	case timeline.MetricWSAvgAge, timeline.MetricWSP99Age:
		if c.After > c.Before && len(c.Findings) == 0 {
			return false
		}
	}
	if c.Ratio == nil {
		return true
	}
	r := *c.Ratio
	return r >= MinDraftRatio || r <= 1/MinDraftRatio
}

// IndicatorChanges is the draft's selection of change points.
type IndicatorChanges struct {
	// Rows are the most relevant change points, best first: those that
	// belong to a finding, then those a setting change or deploy step
	// preceded, then the clearest (largest cost saved by the split, in
	// noise units), then the earliest; at most MaxPerSeries of a series,
	// and only changes of at least MinDraftRatio (or to or from zero), and
	// no rise of a session age outside a finding.
	Rows []ChangePointRow
	// More counts the change points left out; Total all of them.
	More, Total int
}

// IndicatorChanges ranks the change points for the draft and keeps at
// most MaxIndicatorChanges. It returns nil when SetAnalysis found neither
// change points nor a correlation (the draft then has no such section).
func (r *Report) IndicatorChanges() *IndicatorChanges {
	if len(r.ChangePoints) == 0 && r.Correlation == nil {
		return nil
	}
	rows := append([]ChangePointRow(nil), r.ChangePoints...)
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := &rows[i], &rows[j]
		if (len(a.Findings) > 0) != (len(b.Findings) > 0) {
			return len(a.Findings) > 0
		}
		if (a.Change != nil) != (b.Change != nil) {
			return a.Change != nil
		}
		if a.score != b.score {
			return a.score > b.score
		}
		if !a.Time.Equal(b.Time.Time) {
			return a.Time.Before(b.Time.Time)
		}
		return a.Series < b.Series
	})
	ic := &IndicatorChanges{Total: len(rows)}
	per := map[Text]int{}
	for _, row := range rows {
		if len(ic.Rows) == MaxIndicatorChanges || per[row.Series] == MaxPerSeries || !row.material() {
			continue
		}
		per[row.Series]++
		ic.Rows = append(ic.Rows, row)
	}
	ic.More = ic.Total - len(ic.Rows)
	return ic
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
			Findings: r.findingsAt(cp.Backend, cp.Time, a.Step), score: cp.Score,
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

// findingsAt returns the rules whose finding a change point of backend at t
// belongs to: same backend (or either has none), t within the finding's
// span widened by one step (the onset is known to a step).
func (r *Report) findingsAt(backend string, t time.Time, step time.Duration) []string {
	var out []string
	for _, f := range r.Findings {
		if backend != "" && f.Backend != "" && string(f.Backend) != backend {
			continue
		}
		if t.Before(f.Start.Add(-step)) || t.After(f.End.Add(step)) {
			continue
		}
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	return out
}

func (b *builder) changeRef(l *correlate.Link) ChangeRef {
	e := &l.Event
	return ChangeRef{
		Time: b.time(e.Time), Kind: string(e.Kind), Backend: b.text(e.Backend),
		Summary: b.text(e.Summary(b.loc)), Source: b.text(e.Pos.File), Line: e.Pos.Line,
		Lag: l.Lag.Seconds(), Reason: l.Reason, What: b.text(changeWhat(e, b.loc)), Brief: b.text(changeBrief(e)),
	}
}

// changeBrief names a change in a few words: the setting change itself,
// "nginx reload", "config_push step", "removed from be_app".
func changeBrief(e *timeline.Event) string {
	switch e.Kind {
	case timeline.KindConfigChange:
		return changeWhat(e, time.UTC)
	case timeline.KindConfigReload:
		if p := e.Attr("program"); p != "" {
			return p + " reload"
		}
		return "reload"
	case timeline.KindDeployStep:
		if st := e.Attr("step"); st != "" {
			return st + " step"
		}
	case timeline.KindBackendState:
		if st := e.Attr("state"); st != "" {
			if p := e.Attr("pool"); p != "" {
				return st + " in " + p
			}
			return st
		}
	}
	return string(e.Kind)
}

// changeWhat states a change in words: "keepalive_timeout went 65s -> 2s"
// for a setting change with both values, else the event's summary.
func changeWhat(e *timeline.Event, loc *time.Location) string {
	if e.Kind == timeline.KindConfigChange && e.Attr("from") != "" {
		return fmt.Sprintf("%s went %s -> %s", e.Attr("setting"), e.Attr("from"), e.Attr("to"))
	}
	return e.Summary(loc)
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
		s += fmt.Sprintf(" %s after %s", shortDuration(l.Lag), changeWhat(&l.Event, time.UTC))
	}
	return s
}
