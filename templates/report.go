// Package templates drafts a postmortem from a classified timeline: a Report
// data model (also the `--format json` output), Markdown rendered from an
// embedded, replaceable text/template, and a safe HTML rendering of that
// Markdown.
//
// Log text is untrusted. Every string that may carry it is a Text, which
// escapes itself when a template prints it; code spans choose a fence
// longer than any backtick run; HTML is rendered without raw HTML.
package templates

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/internal/mdesc"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

// DefaultMaxRows is how many rows the draft timeline keeps when
// Input.MaxRows is 0.
const DefaultMaxRows = 200

// Input is what NewReport drafts from.
type Input struct {
	// Title overrides the generated title.
	Title string
	// Loc is the zone every time is shown in; nil means UTC.
	Loc *time.Location
	// TZNote says how Loc was chosen ("--tz flag", "offset of the nginx
	// logs", "default UTC").
	TZNote string
	// Now stamps generated_at; the caller passes its clock so output is
	// reproducible.
	Now time.Time
	// Sources are the ingested streams, as ingest reported them.
	Sources []timeline.Source
	// Timeline is the merged timeline; nil is treated as empty.
	Timeline *timeline.Timeline
	// Result is what the rules found and checked.
	Result rules.Result
	// Window limits the timeline to the incident; zero means the whole
	// timeline's span.
	Window timeline.Window
	// Warnings are run-level warnings (bad flags, sources that failed).
	Warnings []string
	// Redact scrubs secrets (see mdesc.Redact) from every log-derived text.
	Redact bool
	// MaxRows caps the draft timeline; 0 means DefaultMaxRows, < 0 no cap.
	MaxRows int
}

// Report is the draft postmortem: the input of the Markdown template and,
// marshalled as is, the JSON output. All times are in the report's zone.
// Slices that JSON always carries are non-nil.
type Report struct {
	Title  Text   `json:"title"`
	Status string `json:"status"` // always "draft"
	// GeneratedAt is Input.Now in the report's zone.
	GeneratedAt Time `json:"generated_at"`
	// Timezone is "UTC" or the zone's offset at the window start
	// ("+09:00"); TimezoneName is the zone's name when it has one
	// ("Asia/Tokyo"); TimezoneNote says how it was chosen.
	Timezone     string `json:"timezone"`
	TimezoneName string `json:"timezone_name,omitempty"`
	TimezoneNote Text   `json:"timezone_note,omitempty"`
	// Window is the span the draft covers.
	Window    Window    `json:"window"`
	Redacted  bool      `json:"redacted"`
	Sources   []Source  `json:"sources"`
	Impact    Impact    `json:"impact"`
	Detection Detection `json:"detection"`
	// Timeline is the readable selection of events, in time order;
	// TimelineTotal counts the candidates and TimelineNote says what was
	// left out when the cap was hit.
	Timeline      []Row     `json:"timeline"`
	TimelineTotal int       `json:"timeline_total"`
	TimelineNote  Text      `json:"timeline_note,omitempty"`
	Findings      []Finding `json:"findings"`
	Checks        []Check   `json:"checks"`
	Warnings      []Text    `json:"warnings"`
	// Changes, ChangePoints and Correlation are filled by SetAnalysis
	// (absent from JSON when it was not run or found nothing).
	Changes      []SettingChange  `json:"changes,omitempty"`
	ChangePoints []ChangePointRow `json:"changepoints,omitempty"`
	Correlation  *CorrelationRow  `json:"correlation,omitempty"`
	// Skew is the clock skew estimated between sources (SetSkew), applied
	// or not; absent from JSON when there is none.
	Skew []SkewRow `json:"skew,omitempty"`
}

// Primary returns the most severe, most confident finding, or nil.
func (r *Report) Primary() *Finding {
	if len(r.Findings) == 0 {
		return nil
	}
	return &r.Findings[0]
}

// Evidence returns every finding's trigger and evidence lines, once each,
// sorted by source and line: the appendix.
func (r *Report) Evidence() []Evidence {
	seen := map[string]bool{}
	var out []Evidence
	add := func(e Evidence) {
		if e.Line <= 0 {
			return // a stated absence, not a line
		}
		k := fmt.Sprintf("%s\x00%d\x00%s", e.Source, e.Line, e.Text)
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, e)
	}
	for _, f := range r.Findings {
		if f.Trigger != nil {
			add(*f.Trigger)
		}
		for _, e := range f.Evidence {
			add(e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// WriteJSON writes r as JSON indented by two spaces, followed by a newline.
// '<', '>' and '&' are written as they are (not as \u003c...): JSON is not
// HTML, and consumers must treat the text fields as untrusted anyway.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// builder carries the zone and redaction setting while NewReport runs.
type builder struct {
	loc    *time.Location
	redact bool
}

// Redact scrubs secrets from s (see mdesc.Redact): the function that
// Input.Redact applies to every log-derived text of a report.
func Redact(s string) string { return mdesc.Redact(s) }

func (b *builder) text(s string) Text {
	if b.redact {
		s = mdesc.Redact(s)
	}
	return Text(s)
}

func (b *builder) texts(ss []string) []Text {
	out := make([]Text, 0, len(ss))
	for _, s := range ss {
		out = append(out, b.text(s))
	}
	return out
}

func (b *builder) time(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.In(b.loc)}
}

func (b *builder) window(w timeline.Window) Window {
	out := Window{Start: b.time(w.Start), End: b.time(w.End)}
	if !w.Start.IsZero() && !w.End.IsZero() {
		out.Duration = FormatDuration(w.Duration())
	}
	return out
}

// roleLabel is how the draft names an evidence role of f. A finding
// anchored on a level change of a metric (a TIME_WAIT rise) calls its
// onset and peak lines "timewait rose" and "timewait peak" rather than the
// rule engine's generic "anchor" and "peak"; the JSON keeps the roles.
func roleLabel(f *rules.Finding, role string) string {
	m, dir := f.Facts["anchor_metric"], f.Facts["anchor_direction"]
	if m == "" || dir == "" {
		return role
	}
	switch role {
	case "anchor":
		return m + " " + dir
	case "peak":
		return m + " peak"
	}
	return role
}

func (b *builder) evidence(e rules.Evidence) Evidence {
	return Evidence{
		Role:   b.text(e.Role),
		Source: b.text(e.Pos.File),
		Line:   e.Pos.Line,
		Time:   b.time(e.Time),
		Text:   b.text(e.Text),
	}
}

// NewReport drafts a Report from in. It never fails: missing parts give
// empty sections (a nil Timeline, no sources, no findings).
//
// Findings are ordered by severity, then confidence (both descending), then
// start time and rule name. The timeline keeps, in this priority, the
// findings' evidence lines, every setting change and backend state
// transition, multi-line bursts and kernel/lifecycle events, then
// single-line bursts; past MaxRows the lowest-priority rows are left out
// and TimelineNote says how many of which kind.
func NewReport(in Input) *Report {
	b := &builder{loc: in.Loc, redact: in.Redact}
	if b.loc == nil {
		b.loc = time.UTC
	}
	tl := in.Timeline
	if tl == nil {
		tl = &timeline.Timeline{}
	}
	win := in.Window
	if win.Start.IsZero() && win.End.IsZero() {
		win = tl.Window()
	}

	r := &Report{
		Status:       "draft",
		GeneratedAt:  b.time(in.Now),
		TimezoneNote: b.text(in.TZNote),
		Window:       b.window(win),
		Redacted:     in.Redact,
		Warnings:     b.texts(in.Warnings),
	}
	r.Timezone, r.TimezoneName = zoneName(b.loc, win.Start, in.Now)

	for _, s := range in.Sources {
		r.Sources = append(r.Sources, Source{
			Path: b.text(s.Path), Format: s.Format, Backend: b.text(s.Backend),
			Lines: s.Lines, Events: s.Events, Samples: s.Samples,
			Unrecognized: s.Unrecognized, Skipped: s.Skipped,
			Warnings: b.texts(s.Warnings),
		})
	}
	if r.Sources == nil {
		r.Sources = []Source{}
	}
	sort.SliceStable(r.Sources, func(i, j int) bool { return r.Sources[i].Path < r.Sources[j].Path })

	fs := append([]rules.Finding(nil), in.Result.Findings...)
	sort.SliceStable(fs, func(i, j int) bool {
		a, c := fs[i], fs[j]
		if a.Severity.Rank() != c.Severity.Rank() {
			return a.Severity.Rank() > c.Severity.Rank()
		}
		if a.Confidence != c.Confidence {
			return a.Confidence > c.Confidence
		}
		if !a.Start.Equal(c.Start) {
			return a.Start.Before(c.Start)
		}
		return a.Rule < c.Rule
	})
	r.Findings = make([]Finding, 0, len(fs))
	for _, f := range fs {
		r.Findings = append(r.Findings, b.finding(f))
	}

	r.Checks = make([]Check, 0, len(in.Result.Checks))
	for _, c := range in.Result.Checks {
		r.Checks = append(r.Checks, Check{Rule: c.Rule, Case: c.Case, Anchors: c.Anchors, Fired: c.Fired, Why: b.text(c.Why)})
	}
	sort.SliceStable(r.Checks, func(i, j int) bool { return r.Checks[i].Rule < r.Checks[j].Rule })

	events := tl.EventsIn(win)
	if in.Window.Start.IsZero() && in.Window.End.IsZero() {
		events = tl.Events
	}
	if r.Title == "" {
		r.Title = b.title(in.Title, fs, win)
	}
	r.Impact = b.impact(fs, events, tl, win)
	max := in.MaxRows
	if max == 0 {
		max = DefaultMaxRows
	}
	r.Timeline, r.TimelineTotal, r.TimelineNote = b.rows(events, fs, max)
	r.Detection = b.detection(r, events)
	return r
}

func zoneName(loc *time.Location, at, now time.Time) (offset, name string) {
	if at.IsZero() {
		at = now
	}
	name = loc.String()
	_, off := at.In(loc).Zone()
	if off == 0 && (name == "UTC" || name == "") {
		return "UTC", ""
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	offset = fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
	if name == "" || name == "Local" || name == offset || strings.HasPrefix(name, "UTC") && len(name) > 3 {
		name = ""
	}
	return offset, name
}

func (b *builder) title(given string, fs []rules.Finding, win timeline.Window) Text {
	if given != "" {
		return b.text(given)
	}
	day := ""
	if !win.Start.IsZero() {
		day = win.Start.In(b.loc).Format("2006-01-02")
	}
	if len(fs) == 0 {
		if day == "" {
			return "Postmortem draft"
		}
		return b.text("Postmortem draft: incident of " + day)
	}
	f := fs[0]
	t := f.Title
	if t == "" {
		t = f.Case
	}
	if f.Backend != "" && !strings.Contains(t, f.Backend) {
		t += " on " + f.Backend
	}
	if day != "" {
		t += ", " + day
	}
	return b.text("Postmortem: " + t)
}

func confidenceLabel(c float64) string {
	switch {
	case c >= 0.8:
		return "high"
	case c >= 0.5:
		return "medium"
	}
	return "low"
}

func (b *builder) finding(f rules.Finding) Finding {
	out := Finding{
		Rule: f.Rule, Case: f.Case, Title: b.text(f.Title), Severity: string(f.Severity),
		Confidence: f.Confidence, ConfidenceLabel: confidenceLabel(f.Confidence),
		Start: b.time(f.Start), End: b.time(f.End),
		Backend: b.text(f.Backend), Summary: b.text(f.Summary),
		Contributing: b.texts(f.Contributing), Prevention: b.texts(f.Prevention),
		Mistakes: b.texts(f.Mistakes), Checklist: b.texts(f.Checklist),
	}
	if out.Title == "" {
		out.Title = Text(f.Case)
	}
	if !f.Start.IsZero() && !f.End.IsZero() {
		out.Duration = FormatDuration(f.End.Sub(f.Start))
	}
	if f.Trigger != nil {
		e := b.evidence(*f.Trigger)
		out.Trigger = &e
	}
	// One entry per line: a line cited in several roles (a haproxy line
	// that is both a 502 and an aborted session) lists its roles together.
	out.Evidence = make([]Evidence, 0, len(f.Evidence))
	at := map[string]int{}
	for _, e := range f.Evidence {
		e.Role = roleLabel(&f, e.Role)
		ev := b.evidence(e)
		if e.Pos.Line > 0 {
			k := e.Pos.String()
			if i, ok := at[k]; ok {
				if r := out.Evidence[i].Role; ev.Role != "" && !strings.Contains(string(r), string(ev.Role)) {
					out.Evidence[i].Role = r + ", " + ev.Role
				}
				continue
			}
			at[k] = len(out.Evidence)
		}
		out.Evidence = append(out.Evidence, ev)
	}
	sort.SliceStable(out.Evidence, func(i, j int) bool { return out.Evidence[i].Time.Before(out.Evidence[j].Time.Time) })
	if len(f.Facts) > 0 {
		out.Facts = make(map[string]Text, len(f.Facts))
		for k, v := range f.Facts {
			out.Facts[k] = b.text(v)
		}
	}
	return out
}

// columnOf sorts an event kind into the setting or indicator column.
func columnOf(k timeline.Kind) string {
	switch k {
	case timeline.KindConfigChange, timeline.KindConfigReload, timeline.KindDeployStep:
		return ColumnSetting
	}
	return ColumnIndicator
}

func isBurstKind(k timeline.Kind) bool {
	_, ok := timeline.BurstMetric(k)
	return ok
}

var signalLabels = map[timeline.Kind]string{
	timeline.KindConnReset:      "connection resets",
	timeline.KindUpstreamError:  "upstream errors (refused, timed out, closed early)",
	timeline.KindAbortedSession: "proxy sessions ended abnormally",
	timeline.KindHTTPError:      "HTTP 5xx responses",
}

var peakMetrics = []struct {
	m     timeline.Metric
	label string
}{
	{timeline.MetricResetRate, "reset rate reported by the load balancer (/s)"},
	{timeline.MetricResets, "connection resets per second"},
	{timeline.MetricUpstreamErrs, "upstream errors per second"},
	{timeline.MetricAborted, "aborted proxy sessions per second"},
	{timeline.MetricHTTP5xx, "HTTP 5xx responses per second"},
	{timeline.MetricTimeWait, "sockets in TIME_WAIT"},
	{timeline.MetricWSSessions, "open WebSocket sessions"},
}

func overlaps(e *timeline.Event, w timeline.Window) bool {
	end := e.End
	if end.IsZero() {
		end = e.Time
	}
	return !end.Before(w.Start) && !e.Time.After(w.End)
}

func (b *builder) impact(fs []rules.Finding, events []timeline.Event, tl *timeline.Timeline, win timeline.Window) Impact {
	var iw timeline.Window
	backends := map[string]bool{}
	for _, f := range fs {
		iw.Extend(f.Start)
		iw.Extend(f.End)
		if f.Backend != "" {
			backends[f.Backend] = true
		}
	}
	if len(fs) == 0 {
		for i := range events {
			e := &events[i]
			if isBurstKind(e.Kind) && e.Count > 1 {
				iw.Extend(e.Time)
				iw.Extend(e.End)
			}
		}
	}
	imp := Impact{Window: b.window(iw), Backends: []Text{}, Signals: []Signal{}, Peaks: []Peak{}}
	if iw.Start.IsZero() {
		return imp
	}
	sig := map[timeline.Kind]*Signal{}
	sigBackends := map[timeline.Kind]map[string]bool{}
	for i := range events {
		e := &events[i]
		if !isBurstKind(e.Kind) || !overlaps(e, iw) {
			continue
		}
		s := sig[e.Kind]
		if s == nil {
			s = &Signal{Kind: string(e.Kind), Label: signalLabels[e.Kind], First: b.time(e.Time)}
			sig[e.Kind] = s
			sigBackends[e.Kind] = map[string]bool{}
		}
		n := e.Count
		if n < 1 {
			n = 1
		}
		s.Count += n
		s.Bursts++
		peak := e.Peak
		if peak < 1 {
			peak = 1
		}
		if peak > s.Peak {
			s.Peak = peak
		}
		end := e.End
		if end.IsZero() {
			end = e.Time
		}
		if end.After(s.Last.Time) {
			s.Last = b.time(end)
		}
		if e.Backend != "" {
			sigBackends[e.Kind][e.Backend] = true
			if len(fs) == 0 {
				backends[e.Backend] = true
			}
		}
	}
	for _, k := range timeline.BurstKinds {
		if s := sig[k]; s != nil {
			s.Backends = b.texts(slices.Sorted(maps.Keys(sigBackends[k])))
			imp.Signals = append(imp.Signals, *s)
		}
	}
	imp.Backends = b.texts(slices.Sorted(maps.Keys(backends)))
	for _, pm := range peakMetrics {
		var best timeline.Point
		var bestBackend string
		found := false
		for _, s := range tl.SeriesOf(pm.m) {
			if len(backends) > 0 && s.Backend != "" && !backends[s.Backend] {
				continue // a peak on an unaffected backend is not this incident's impact
			}
			p, ok := s.Max(iw)
			if ok && p.Value > 0 && (!found || p.Value > best.Value) {
				best, bestBackend, found = p, s.Backend, true
			}
		}
		if found {
			imp.Peaks = append(imp.Peaks, Peak{
				Metric: string(pm.m), Label: pm.label, Backend: b.text(bestBackend),
				Value: best.Value, Time: b.time(best.Time), Source: b.text(best.Pos.File), Line: best.Pos.Line,
			})
		}
	}
	return imp
}

type candidate struct {
	row   Row
	ev    *timeline.Event // nil for a quoted evidence line (row is set)
	rules []string
	at    time.Time
	order int
	prio  int
	count int
}

// rows selects and orders the draft timeline.
func (b *builder) rows(events []timeline.Event, fs []rules.Finding, max int) ([]Row, int, Text) {
	// Positions quoted by findings, with the rules that quote them.
	anchors := map[timeline.Pos][]string{}
	type quoted struct {
		ev      rules.Evidence
		trigger bool
		rule    string
	}
	var quotes []quoted
	addQuote := func(e rules.Evidence, trigger bool, rule string) {
		if e.Pos.IsZero() {
			return
		}
		for _, r := range anchors[e.Pos] {
			if r == rule {
				return
			}
		}
		if len(anchors[e.Pos]) == 0 {
			quotes = append(quotes, quoted{e, trigger, rule})
		}
		anchors[e.Pos] = append(anchors[e.Pos], rule)
	}
	for _, f := range fs {
		if f.Trigger != nil {
			addQuote(*f.Trigger, true, f.Rule)
		}
		for _, e := range f.Evidence {
			e.Role = roleLabel(&f, e.Role)
			addQuote(e, false, f.Rule)
		}
	}

	matched := map[timeline.Pos]bool{}
	cands := make([]candidate, 0, len(events)+len(quotes))
	for i := range events {
		e := &events[i]
		var rulesHere []string
		if len(anchors) > 0 {
			var seen map[string]bool
			mark := func(p timeline.Pos) {
				rs := anchors[p]
				if len(rs) == 0 {
					return
				}
				matched[p] = true
				if seen == nil {
					seen = map[string]bool{}
				}
				for _, r := range rs {
					if !seen[r] {
						seen[r] = true
						rulesHere = append(rulesHere, r)
					}
				}
			}
			mark(e.Pos)
			for _, ev := range e.Evidence {
				if ev.Pos != e.Pos {
					mark(ev.Pos)
				}
			}
			sort.Strings(rulesHere)
		}
		col := columnOf(e.Kind)
		prio := 3
		switch {
		case len(rulesHere) > 0:
			prio = 0
		case col == ColumnSetting || e.Kind == timeline.KindBackendState:
			prio = 1
		case !isBurstKind(e.Kind) || e.Count > 1:
			prio = 2
		}
		// The row itself is built only for the events that are kept.
		cands = append(cands, candidate{ev: e, rules: rulesHere, at: e.Time, order: i, prio: prio, count: e.Count})
	}
	for i, q := range quotes {
		if matched[q.ev.Pos] {
			continue
		}
		col := ColumnIndicator
		if q.trigger {
			col = ColumnSetting
		}
		rs := append([]string(nil), anchors[q.ev.Pos]...)
		sort.Strings(rs)
		summary := q.ev.Role
		if summary == "" {
			summary = "evidence"
		}
		summary += ": " + mdesc.Truncate(mdesc.OneLine(q.ev.Text), 160)
		row := Row{
			Time: b.time(q.ev.Time), Kind: "evidence", Column: col,
			Summary: b.text(summary), Source: b.text(q.ev.Pos.File), Line: q.ev.Pos.Line,
			Text: b.text(q.ev.Text), Findings: rs,
		}
		cands = append(cands, candidate{row: row, at: q.ev.Time, order: len(events) + i, prio: 0, count: 1})
	}
	total := len(cands)

	var note Text
	if max >= 0 && len(cands) > max {
		sort.SliceStable(cands, func(i, j int) bool {
			a, c := cands[i], cands[j]
			if a.prio != c.prio {
				return a.prio < c.prio
			}
			if a.count != c.count {
				return a.count > c.count
			}
			return a.order < c.order
		})
		dropped := map[string]int{}
		for _, c := range cands[max:] {
			k := c.row.Kind
			if c.ev != nil {
				k = string(c.ev.Kind)
			}
			if isBurstKind(timeline.Kind(k)) && c.count <= 1 {
				k += " (single line)"
			}
			dropped[k]++
		}
		cands = cands[:max]
		var parts []string
		for _, k := range sortedCountKeys(dropped) {
			parts = append(parts, fmt.Sprintf("%d %s", dropped[k], k))
		}
		note = Text(fmt.Sprintf("Showing %d of %d timeline events; left out: %s. The JSON output and the source logs have the rest.",
			max, total, strings.Join(parts, ", ")))
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, c := cands[i], cands[j]
		if !a.at.Equal(c.at) {
			return a.at.Before(c.at)
		}
		return a.order < c.order
	})
	out := make([]Row, 0, len(cands))
	for _, c := range cands {
		if c.ev != nil {
			c.row = b.eventRow(c.ev, c.rules)
		}
		out = append(out, c.row)
	}
	return out, total, note
}

// eventRow turns a kept event into a timeline row.
func (b *builder) eventRow(e *timeline.Event, rulesHere []string) Row {
	row := Row{
		Time: b.time(e.Time), Kind: string(e.Kind), Column: columnOf(e.Kind),
		Backend: b.text(e.Backend), Summary: b.text(e.Summary(b.loc)),
		Source: b.text(e.Pos.File), Line: e.Pos.Line, Text: b.text(e.Text),
		Findings: rulesHere,
	}
	if isBurstKind(e.Kind) || e.Count > 1 {
		row.Count = e.Count
		row.Peak = e.Peak
		if !e.End.IsZero() && !e.End.Equal(e.Time) {
			row.End = b.time(e.End)
		}
	}
	return row
}

func sortedCountKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// isSignal reports whether a row kind is a symptom worth calling the first
// signal: an error burst, a kernel message or a quoted evidence line.
func isSignal(kind string) bool {
	k := timeline.Kind(kind)
	return isBurstKind(k) || k == timeline.KindKernel || kind == "evidence"
}

func (b *builder) detection(r *Report, events []timeline.Event) Detection {
	var d Detection
	if p := r.Primary(); p != nil && p.Trigger != nil {
		t := *p.Trigger
		d.Trigger = &t
	}
	iw := r.Impact.Window
	if iw.Start.IsZero() {
		return d
	}
	w := timeline.Window{Start: iw.Start.Time, End: iw.End.Time}
	// Prefer a row already in the draft timeline (it carries finding links).
	for i := range r.Timeline {
		row := r.Timeline[i]
		if isSignal(row.Kind) && w.Contains(row.Time.Time) {
			d.First = &row
			break
		}
	}
	if d.First == nil {
		for i := range events {
			e := &events[i]
			if isSignal(string(e.Kind)) && w.Contains(e.Time) {
				row := b.eventRow(e, nil)
				d.First = &row
				break
			}
		}
	}
	if d.First != nil && d.Trigger != nil && !d.Trigger.Time.IsZero() && !d.First.Time.Before(d.Trigger.Time.Time) {
		d.Lag = FormatDuration(d.First.Time.Sub(d.Trigger.Time.Time))
	}
	return d
}

// Clock formats t for the timeline: "15:04:05" when the report window
// lies within one calendar day, else "01-02 15:04:05".
func (r *Report) Clock(t Time) string {
	if t.IsZero() {
		return ""
	}
	if r.Window.Start.IsZero() || r.Window.End.IsZero() ||
		r.Window.Start.Format("2006-01-02") == r.Window.End.Format("2006-01-02") {
		return t.Format("15:04:05")
	}
	return t.Format("01-02 15:04:05")
}

// Item is a line of text contributed by a finding, with where it came from:
// the rule, its case and the first evidence line (for a ticket's link).
type Item struct {
	Text Text   `json:"text"`
	Rule string `json:"rule"`
	Case string `json:"case"`
	Ref  Text   `json:"ref,omitempty"`
}

func (r *Report) items(pick func(*Finding) []Text) []Item {
	seen := map[Text]bool{}
	out := []Item{}
	for i := range r.Findings {
		f := &r.Findings[i]
		var ref Text
		if len(f.Evidence) > 0 {
			ref = f.Evidence[0].Ref()
		}
		for _, t := range pick(f) {
			if t == "" || seen[t] {
				continue
			}
			seen[t] = true
			out = append(out, Item{Text: t, Rule: f.Rule, Case: f.Case, Ref: ref})
		}
	}
	return out
}

// Actions returns the findings' prevention items, first occurrence of each
// text kept, most important finding first.
func (r *Report) Actions() []Item { return r.items(func(f *Finding) []Text { return f.Prevention }) }

// Contributing returns the findings' contributing factors, deduplicated.
func (r *Report) Contributing() []Item {
	return r.items(func(f *Finding) []Text { return f.Contributing })
}

// Mistakes returns the findings' common mistakes, deduplicated.
func (r *Report) Mistakes() []Item { return r.items(func(f *Finding) []Text { return f.Mistakes }) }

// Checklist returns the findings' operational checklist, deduplicated.
func (r *Report) Checklist() []Item { return r.items(func(f *Finding) []Text { return f.Checklist }) }

// Triggers returns the findings that name a trigger.
func (r *Report) Triggers() []Finding {
	out := []Finding{}
	for _, f := range r.Findings {
		if f.Trigger != nil {
			out = append(out, f)
		}
	}
	return out
}

// SourceTotals sums the sources' counters.
func (r *Report) SourceTotals() Source {
	var t Source
	for _, s := range r.Sources {
		t.Lines += s.Lines
		t.Events += s.Events
		t.Samples += s.Samples
		t.Unrecognized += s.Unrecognized
		t.Skipped += s.Skipped
	}
	return t
}
