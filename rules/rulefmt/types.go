// Package rulefmt parses postmortem rule files: YAML documents that describe,
// declaratively, how a failure case shows up in a timeline. It only checks and
// decodes; package rules evaluates.
//
// Parsing goes through yaml.v3 Nodes so that every problem carries the
// file:line:col it was found at, and it never stops at the first problem:
// Parse returns every error in a file at once. Unknown keys, kinds, metrics,
// attributes, state or step values, bad durations, bad thresholds, bad
// regular expressions and templates that do not parse (or name facts the rule
// can never produce) are all errors.
//
// A file holds a list of rules:
//
//	rules:
//	  - rule: hard-cut-without-drain     # id, unique across loaded files
//	    case: hard-cut-without-drain     # optional, defaults to the id
//	    severity: critical               # info | warning | critical
//	    anchor: {...}                    # what starts a candidate
//	    require: [...]                   # conditions that must all hold
//	    support: [...]                   # optional, raise confidence
//	    trigger: [name, ...]             # first met event condition = trigger
//	    title/summary/contributing/prevention/mistakes/checklist: templates
//
// The full schema reference is in doc.go (go doc rulefmt) and the embedded
// default pack (rules/pack/*.yaml) shows every feature in use.
package rulefmt

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/postmortem-tool/postmortem/timeline"
)

// Pos is a 1-based line and column in a rule file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Error is one problem in a rule file, at a position.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

// Error returns "file:line:col: message".
func (e Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Errors is every problem found while loading rule files. It is the error
// type returned by rules.Load and rules.LoadFiles.
type Errors []Error

// Error returns one "file:line:col: message" per line.
func (es Errors) Error() string {
	var sb strings.Builder
	for i, e := range es {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(e.Error())
	}
	return sb.String()
}

// File is a parsed rule file.
type File struct {
	Name  string
	Rules []*Rule
}

// Rule is one declarative failure case.
type Rule struct {
	Pos  Pos
	File string
	// ID names the rule; Case is the failure case id it reports (defaults
	// to ID).
	ID, Case string
	Severity string
	Escalate *Escalate
	// ConfidenceCap, when set, caps the confidence of a finding none of
	// whose named conditions held.
	ConfidenceCap *ConfidenceCap
	// Confidence is the confidence of a finding whose required conditions
	// hold and no supporting one does; supporting conditions raise it
	// linearly to 1. Default 0.6.
	Confidence float64
	Anchor     Anchor
	Merge      Merge
	Require    []*Condition
	Support    []*Condition
	// Trigger names event conditions; the first one met is cited as the
	// finding's trigger.
	Trigger []string
	Title   *Template
	Summary *Template
	// Contributing, Prevention, Mistakes and Checklist are lists of
	// templates; an item that renders to blank text is dropped.
	Contributing, Prevention, Mistakes, Checklist []*Template
}

// Escalate raises the severity when any of the named conditions is met.
type Escalate struct {
	Pos      Pos
	Severity string
	IfAny    []string
}

// ConfidenceCap limits a finding's confidence to Max unless any of the
// conditions named in UnlessAny held: "a TIME_WAIT surge that no setting
// change preceded is reported, but with low confidence".
type ConfidenceCap struct {
	Pos       Pos
	Max       float64
	UnlessAny []string
}

// Merge says how candidates of one rule are folded into findings: candidates
// on the same backend (or on any backend with AcrossBackends) whose spans
// overlap or lie within Within of each other become one finding.
//
// Findings of the same rule (and backend, unless AcrossBackends) that stay
// separate but start within RepeatWithin of an earlier one are repeats: the
// first gets fact "repeats", the later ones "repeat_of".
//
// SplitOn keeps two candidates apart, however close, when an event it
// matches (on the candidates' backend, or with no backend) lies between
// them: a backend put back into the pool and cut again is a second cut.
type Merge struct {
	Within         time.Duration
	AcrossBackends bool
	RepeatWithin   time.Duration
	SplitOn        []*Matcher
}

// Anchor is what starts a candidate: an event match (Events, any of them),
// a level shift of a series (Shift) or a change point of a series
// (ChangePoint).
type Anchor struct {
	Pos         Pos
	Events      []*Matcher
	BackendFrom *BackendFrom
	Shift       *Shift
	ChangePoint *ChangePoint
}

// BackendFrom attributes an anchor event that names no backend to the backend
// of the most recent event matching Events within Within before it, unless a
// later event on that backend matching Until came in between.
type BackendFrom struct {
	Pos    Pos
	Events []*Matcher
	Within time.Duration
	Until  []*Matcher
}

// Shift anchors on a sustained rise of a metric's level on a backend: see
// correlate.LevelShift. The new level must be at least Factor times the
// median of the Baseline before it and at least Min in absolute terms.
type Shift struct {
	Pos      Pos
	Metric   timeline.Metric
	Factor   float64
	Min      float64
	Baseline time.Duration
	Step     time.Duration // resampling step, default 10s
	Hold     time.Duration // how long the new level must persist, default 2m
}

// ChangePoint selects change points of a metric's series, as
// correlate.Analyze finds them for the draft (the same method, resampling
// step and minimum size, so a finding and the draft's "Indicator changes"
// agree): a change in Direction ("up" or "down") whose new level is at
// least Factor times the old one (the old at least Factor times the new
// for "down"; 0: any size), whose higher level is at least Min, and that
// lasts at least Hold before the series crosses back past the midpoint of
// the two levels or its data ends.
type ChangePoint struct {
	Pos       Pos
	Metric    timeline.Metric
	Direction string // "up" (default) or "down"
	Factor    float64
	Min       float64
	Hold      time.Duration // default 2m
}

// CondType is the kind of a condition.
type CondType string

// Condition types.
const (
	CondEvent   CondType = "event"       // a matching event is present
	CondAbsent  CondType = "absent"      // no matching event is present
	CondCounter CondType = "counter"     // sum/peak/rate of a counter metric
	CondRise    CondType = "rise"        // rate in window vs rate in a baseline
	CondGauge   CondType = "gauge"       // max/min/last/mean of a gauge metric
	CondChange  CondType = "changepoint" // a change point of a metric in the window
	CondCause   CondType = "cause"       // the anchor change point is linked to a matching change
	CondAnyOf   CondType = "any_of"      // at least one sub-condition holds
	CondAllOf   CondType = "all_of"      // every sub-condition holds
)

// Join says which backends a condition looks at relative to the anchor's.
type Join string

// Joins.
const (
	JoinSame       Join = "same"        // only the anchor's backend
	JoinAny        Join = "any"         // every backend, summed or unioned
	JoinPreferSame Join = "prefer_same" // the anchor's backend if that holds, else any
	JoinSameOrNone Join = "same_or_none"
)

// Range is a window relative to a reference time: [From, To].
type Range struct {
	From, To time.Duration
}

// Window returns the absolute window around t.
func (r Range) Window(t time.Time) timeline.Window {
	return timeline.Window{Start: t.Add(r.From), End: t.Add(r.To)}
}

// String returns "[-10s, +2m0s]".
func (r Range) String() string {
	return "[" + signed(r.From) + ", " + signed(r.To) + "]"
}

func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// Condition is one check relative to the anchor. Which fields are used
// depends on Type.
type Condition struct {
	Pos  Pos
	Name string
	Role string // evidence role; defaults to Name with '_' as ' '
	Type CondType
	// Window is relative to the anchor time, or to the time of the event
	// found by the earlier event condition named From.
	Window Range
	From   string
	Join   Join
	Cite   bool
	// Event and absent conditions.
	Events []*Matcher
	Count  int    // event: at least this many lines (default 1)
	Pick   string // event: "nearest" to the reference time (default), "first" or "last" in the window
	// Absent conditions: a later event matching ResetBy (same backend)
	// moves the window start past it; Text states the absence.
	ResetBy []*Matcher
	Text    *Template
	// Counter, rise and gauge conditions.
	Metric          timeline.Metric
	Sum, Peak, Rate Threshold       // counter
	Baseline        Range           // rise
	Per             timeline.Metric // rise: compare Metric/Per ratios (e.g. mean connect time per request)
	Factor, Min     float64         // rise
	Max, Low, Last  Threshold       // gauge ("min" in YAML is Low)
	Mean            Threshold       // gauge
	Span            time.Duration   // gauge: observations must span this long
	// Change selects change points (changepoint conditions).
	Change *ChangePoint
	// MaxLag narrows a cause condition: the change must precede the
	// change point's onset by at most this much (default: the analysis'
	// 15m link range).
	MaxLag time.Duration
	Of     []*Condition // any_of, all_of

	textNode *yaml.Node
}

// Threshold is a comparison against a constant, e.g. ">= 50".
type Threshold struct {
	Op    string // >=, >, <=, <, ==; "" when unset
	Value float64
}

// Set reports whether t was given.
func (t Threshold) Set() bool { return t.Op != "" }

// Holds reports whether x satisfies t. An unset threshold always holds; NaN
// never satisfies a set one.
func (t Threshold) Holds(x float64) bool {
	switch t.Op {
	case "":
		return true
	case ">=":
		return x >= t.Value
	case ">":
		return x > t.Value
	case "<=":
		return x <= t.Value
	case "<":
		return x < t.Value
	case "==":
		return x == t.Value
	}
	return false
}

// String returns e.g. ">= 50".
func (t Threshold) String() string {
	return t.Op + " " + strconv.FormatFloat(t.Value, 'g', -1, 64)
}

// Matcher matches events: a kind, attribute matchers and an optional
// regular expression on the line text.
type Matcher struct {
	Pos   Pos
	Kind  timeline.Kind
	Attrs []AttrMatcher
	Text  *regexp.Regexp
}

// Matches reports whether e matches m.
func (m *Matcher) Matches(e *timeline.Event) bool {
	if e.Kind != m.Kind {
		return false
	}
	for i := range m.Attrs {
		if !m.Attrs[i].Matches(e.Attr(m.Attrs[i].Name)) {
			return false
		}
	}
	if m.Text != nil && !m.Text.MatchString(e.Text) {
		return false
	}
	return true
}

// MatchAny reports whether any matcher matches e.
func MatchAny(ms []*Matcher, e *timeline.Event) bool {
	for _, m := range ms {
		if m.Matches(e) {
			return true
		}
	}
	return false
}

// AttrMatcher matches one attribute value.
type AttrMatcher struct {
	Name string
	// Op is "in" (value among Values), "not_in", "re" (Re matches) or
	// "not_re".
	Op     string
	Values []string
	Re     *regexp.Regexp
}

// Matches reports whether v satisfies a.
func (a *AttrMatcher) Matches(v string) bool {
	switch a.Op {
	case "in", "not_in":
		in := false
		for _, x := range a.Values {
			if x == v {
				in = true
				break
			}
		}
		return in == (a.Op == "in")
	case "re":
		return a.Re.MatchString(v)
	case "not_re":
		return !a.Re.MatchString(v)
	}
	return false
}

// Template is a text/template parsed at load time. Its data is the map of
// facts a rule measured (name -> formatted value); a missing fact renders as
// the empty string.
type Template struct {
	Pos Pos
	Src string
	T   *template.Template
}

// Funcs are the functions templates may call besides the text/template
// builtins: default returns its second argument when the first is empty.
var Funcs = template.FuncMap{
	"default": func(def, v string) string {
		if strings.TrimSpace(v) == "" {
			return def
		}
		return v
	},
}

// Render executes t with facts. A nil template renders as "". Output is
// limited to 64 KiB.
func (t *Template) Render(facts map[string]string) (string, error) {
	if t == nil || t.T == nil {
		return "", nil
	}
	w := &limitWriter{max: maxRender}
	if err := t.T.Execute(w, facts); err != nil {
		return "", err
	}
	return w.sb.String(), nil
}

// maxRender bounds what one template may write.
const maxRender = 64 << 10

type limitWriter struct {
	sb  strings.Builder
	max int
}

var errTooLong = fmt.Errorf("template output longer than %d bytes", maxRender)

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.sb.Len()+len(p) > w.max {
		return 0, errTooLong
	}
	return w.sb.Write(p)
}
