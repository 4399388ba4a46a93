// Package export translates postmortem rules into alerting rules for the
// engines a fleet already runs: Prometheus (PromQL over exporter metrics) and
// the Loki ruler (LogQL metric queries over log streams).
//
// A rule is a conjunction: its anchor and its required conditions must all
// hold. Export translates each part that the target can express and joins the
// parts with "and on(backend)" (join: same) or "and on()" (any other join).
// Parts the target cannot express (log events in PromQL, gauges read from log
// text in LogQL, absence of a prior transition, joins with earlier events,
// unmapped metrics or attribute values) are left out and listed as Notes
// with the reason, both in a comment block at the head of the output and in
// Result.Notes: nothing is dropped silently. Parts that are translated with a
// changed meaning (a window relative to an earlier event becomes a trailing
// window, prefer_same becomes any backend) are listed as approximations.
// Supporting conditions only raise confidence and are not exported; they are
// listed too. A rule with no expressible part is not exported and says so.
//
// Every expression carries a "backend" label, taken from a source label
// named in the Mapping. The output is a Prometheus rule file (groups of
// alerting rules), which the Loki ruler reads as well.
package export

import (
	"bytes"
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/rules/rulefmt"
)

// Target is an export target.
type Target string

// Targets.
const (
	Prometheus Target = "prometheus"
	Loki       Target = "loki"
)

//go:embed mapping.yaml
var defaultMapping []byte

// DefaultMappingYAML returns the text of the default mapping, a starting
// point for a fleet's own mapping file.
func DefaultMappingYAML() []byte { return append([]byte(nil), defaultMapping...) }

// Mapping says how timeline metrics and event kinds appear in the fleet's
// Prometheus metrics and Loki streams.
type Mapping struct {
	// Labels are added to every exported alert.
	Labels     map[string]string `yaml:"labels"`
	Prometheus struct {
		Metrics map[string]MetricMap `yaml:"metrics"`
	} `yaml:"prometheus"`
	Loki struct {
		Streams map[string]StreamMap `yaml:"streams"`
	} `yaml:"loki"`
}

// MetricMap maps one timeline metric to a Prometheus series.
type MetricMap struct {
	// Series is a metric name with optional matchers, e.g.
	// `haproxy_server_http_responses_total{code="5xx"}`.
	Series string `yaml:"series"`
	// Type is "counter" (rate() is applied) or "gauge".
	Type string `yaml:"type"`
	// BackendLabel names the label the backend is read from;
	// BackendRegex (default "(.*)") extracts it as its first group.
	BackendLabel string `yaml:"backend_label"`
	BackendRegex string `yaml:"backend_regex"`
}

// StreamMap maps one event kind to Loki log lines.
type StreamMap struct {
	// Selector is the LogQL stream selector, e.g. `{job="nginx"}`.
	Selector string `yaml:"selector"`
	// Filters are literal substrings every line of the kind contains.
	Filters []string `yaml:"filters"`
	// Regexp (RE2) every line of the kind matches; optional.
	Regexp string `yaml:"regexp"`
	// BackendStage is a LogQL stage that sets the "backend" label.
	BackendStage string `yaml:"backend_stage"`
	// Attrs maps attribute name -> value -> RE2 a line with that value matches.
	Attrs map[string]map[string]string `yaml:"attrs"`
}

// LoadMapping decodes a mapping file over the default mapping: entries it
// names replace the default ones, the others stay. Unknown keys are errors.
func LoadMapping(data []byte) (*Mapping, error) {
	m := DefaultMapping()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var over Mapping
	if err := dec.Decode(&over); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	for k, v := range over.Labels {
		m.Labels[k] = v
	}
	for k, v := range over.Prometheus.Metrics {
		m.Prometheus.Metrics[k] = v
	}
	for k, v := range over.Loki.Streams {
		m.Loki.Streams[k] = v
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// DefaultMapping returns a fresh copy of the embedded default mapping
// (mapping.yaml in this package).
func DefaultMapping() *Mapping {
	var m Mapping
	if err := yaml.Unmarshal(defaultMapping, &m); err != nil {
		panic("export: embedded mapping.yaml: " + err.Error()) // checked by tests
	}
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	return &m
}

func (m *Mapping) validate() error {
	known := map[string]bool{}
	for _, x := range rulefmt.Metrics {
		known[string(x)] = true
	}
	for _, k := range slices.Sorted(maps.Keys(m.Prometheus.Metrics)) {
		mm := m.Prometheus.Metrics[k]
		if !known[k] {
			return fmt.Errorf("mapping: prometheus.metrics: unknown metric %q", k)
		}
		if mm.Series == "" || (mm.Type != "counter" && mm.Type != "gauge") {
			return fmt.Errorf("mapping: prometheus.metrics.%s: want series and type counter or gauge", k)
		}
	}
	kinds := map[string]bool{}
	for k := range rulefmt.KindAttrs {
		kinds[string(k)] = true
	}
	for _, k := range slices.Sorted(maps.Keys(m.Loki.Streams)) {
		if !kinds[k] {
			return fmt.Errorf("mapping: loki.streams: unknown event kind %q", k)
		}
		if m.Loki.Streams[k].Selector == "" {
			return fmt.Errorf("mapping: loki.streams.%s: selector is required", k)
		}
	}
	return nil
}

// Note is one part of a rule that was left out of, or approximated in, the
// export.
type Note struct {
	Rule string // rule id
	Part string // "anchor", a condition name, or "" for the whole rule
	// Approx is true when the part was exported with a changed meaning,
	// false when it was left out.
	Approx bool
	Reason string
}

// String returns "rule/part: reason".
func (n Note) String() string {
	p := n.Rule
	if n.Part != "" {
		p += "/" + n.Part
	}
	return p + ": " + n.Reason
}

// Result is an export.
type Result struct {
	// YAML is the rule file: a comment block listing Notes, then groups.
	YAML []byte
	// Exported counts the rules that became alerts.
	Exported int
	Notes    []Note
}

// Left returns the notes of parts left out.
func (r *Result) Left() []Note { return r.filter(false) }

// Approximated returns the notes of parts exported with a changed meaning.
func (r *Result) Approximated() []Note { return r.filter(true) }

func (r *Result) filter(approx bool) []Note {
	var out []Note
	for _, n := range r.Notes {
		if n.Approx == approx {
			out = append(out, n)
		}
	}
	return out
}

type ruleFile struct {
	Groups []group `yaml:"groups"`
}

type group struct {
	Name  string  `yaml:"name"`
	Rules []alert `yaml:"rules"`
}

type alert struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Export translates the rules of p for target to, using mapping m (nil: the
// default mapping). The output is deterministic.
func Export(p *rules.Pack, to Target, m *Mapping) (*Result, error) {
	if m == nil {
		m = DefaultMapping()
	}
	var tr translator
	switch to {
	case Prometheus:
		tr = &promTr{m: m}
	case Loki:
		tr = &lokiTr{m: m}
	default:
		return nil, fmt.Errorf("export: unknown target %q (want prometheus or loki)", to)
	}
	res := &Result{}
	var file ruleFile
	for _, r := range p.Rules {
		x := &rctx{rule: r, tr: tr}
		a, ok := x.build()
		res.Notes = append(res.Notes, x.notes...)
		if !ok {
			res.Notes = append(res.Notes, Note{Rule: r.ID, Reason: "not exported: no part of the rule can be expressed in " + targetLang(to)})
			continue
		}
		for k, v := range m.Labels {
			a.Labels[k] = v
		}
		file.Groups = append(file.Groups, group{Name: "postmortem-" + r.ID, Rules: []alert{a}})
		res.Exported++
	}
	var buf bytes.Buffer
	writeHeader(&buf, to, len(p.Rules), res)
	if len(file.Groups) == 0 {
		buf.WriteString("groups: []\n")
	} else {
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(file); err != nil {
			return nil, err
		}
		enc.Close()
	}
	res.YAML = buf.Bytes()
	return res, nil
}

func targetLang(to Target) string {
	if to == Loki {
		return "LogQL"
	}
	return "PromQL"
}

func writeHeader(b *bytes.Buffer, to Target, n int, res *Result) {
	fmt.Fprintf(b, "# Generated by `postmortem rules export --to %s` from %d rule(s); %d exported.\n", to, n, res.Exported)
	b.WriteString("# Each alert checks the parts of a rule that " + targetLang(to) + " can express; the full\n")
	b.WriteString("# rule runs only in `postmortem analyze` and `postmortem rules run`.\n")
	if l := res.Left(); len(l) > 0 {
		b.WriteString("#\n# Not expressible (left out):\n")
		for _, n := range l {
			b.WriteString("#   - " + oneLine(n.String()) + "\n")
		}
	}
	if a := res.Approximated(); len(a) > 0 {
		b.WriteString("#\n# Approximated:\n")
		for _, n := range a {
			b.WriteString("#   - " + oneLine(n.String()) + "\n")
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// translator turns the parts of a rule into expressions of one language.
// Each method returns ok=false with a reason when it cannot.
type translator interface {
	lang() string
	anchor(x *rctx, a *rulefmt.Anchor, lookback time.Duration) (string, string, bool)
	leaf(x *rctx, c *rulefmt.Condition) (string, string, bool)
}

// rctx is the translation of one rule.
type rctx struct {
	rule  *rulefmt.Rule
	tr    translator
	notes []Note
}

func (x *rctx) left(part, reason string) {
	x.notes = append(x.notes, Note{Rule: x.rule.ID, Part: part, Reason: reason})
}

func (x *rctx) approx(part, reason string) {
	x.notes = append(x.notes, Note{Rule: x.rule.ID, Part: part, Approx: true, Reason: reason})
}

func (x *rctx) build() (alert, bool) {
	r := x.rule
	lookback := r.Merge.Within
	if lookback <= 0 {
		lookback = 5 * time.Minute
	}
	var expr string
	anchorExpr, why, ok := x.tr.anchor(x, &r.Anchor, lookback)
	if ok {
		expr = "(" + anchorExpr + ")"
	} else {
		x.left("anchor", why)
	}
	for _, c := range r.Require {
		e, ok := x.cond(c)
		if !ok {
			continue
		}
		if expr == "" {
			expr = "(" + e + ")"
			continue
		}
		expr += "\n  " + joinOp(x, c) + "\n(" + e + ")"
	}
	for _, c := range r.Support {
		x.left(c.Name, "supporting condition: it only raises a finding's confidence, so it is not part of the alert")
	}
	if r.Escalate != nil {
		x.left("escalate", "escalation to "+r.Escalate.Severity+" depends on supporting conditions; the alert keeps severity "+r.Severity)
	}
	if r.ConfidenceCap != nil {
		x.left("confidence_cap", "an alert has no confidence; the cap applies to postmortem's findings only")
	}
	if len(r.Merge.SplitOn) > 0 || r.Merge.RepeatWithin > 0 {
		x.left("merge", "merging and repeat detection of findings are done by postmortem, not by the alerting engine")
	}
	if expr == "" {
		return alert{}, false
	}
	a := alert{
		Alert:  alertName(r.ID),
		Expr:   expr,
		Labels: map[string]string{"severity": r.Severity, "case": r.Case},
		Annotations: map[string]string{
			"summary":         summary(r),
			"postmortem_rule": r.ID,
		},
	}
	if r.Anchor.Shift != nil && ok {
		a.For = promDur(holdOf(r.Anchor.Shift))
	}
	if c := r.Anchor.ChangePoint; c != nil && ok && c.Hold > 0 {
		a.For = promDur(c.Hold)
	}
	return a, true
}

func joinOp(x *rctx, c *rulefmt.Condition) string {
	if c.Join == rulefmt.JoinSame {
		if loose := x.looseLeaf(c); loose != "" {
			x.approx(c.Name, "joined on any backend, because its part "+loose+" is not tied to the anchor's backend (join "+string(x.leafJoin(c, loose))+")")
			return "and on()"
		}
	}
	switch c.Join {
	case rulefmt.JoinSame:
		return "and on(backend)"
	case rulefmt.JoinPreferSame:
		x.approx(c.Name, "join prefer_same (the anchor's backend, else any) exported as any backend")
	}
	return "and on()"
}

// looseLeaf returns the name of the first sub-condition of a composite c
// whose own join is not "same" and which the target can express, or "".
func (x *rctx) looseLeaf(c *rulefmt.Condition) string {
	for _, s := range c.Of {
		if s.Join != rulefmt.JoinSame && len(s.Of) == 0 && x.expressible(s) {
			return s.Name
		}
		if n := x.looseLeaf(s); n != "" {
			return n
		}
	}
	return ""
}

func (x *rctx) leafJoin(c *rulefmt.Condition, name string) rulefmt.Join {
	for _, s := range c.Of {
		if s.Name == name {
			return s.Join
		}
		if j := x.leafJoin(s, name); j != "" {
			return j
		}
	}
	return ""
}

// expressible reports, without recording notes, whether the target can
// express leaf condition c.
func (x *rctx) expressible(c *rulefmt.Condition) bool {
	if c.Type == rulefmt.CondAbsent {
		return false
	}
	probe := &rctx{rule: x.rule, tr: x.tr}
	_, _, ok := x.tr.leaf(probe, c)
	return ok
}

// cond translates a condition of any type; it records notes for parts left
// out and reports ok=false when nothing of it can be expressed.
func (x *rctx) cond(c *rulefmt.Condition) (string, bool) {
	if c.From != "" {
		x.approx(c.Name, "window "+c.Window.String()+" relative to condition "+c.From+" (a join with an earlier event) exported as a trailing window of "+promDur(c.Window.To-c.Window.From))
	}
	switch c.Type {
	case rulefmt.CondAnyOf, rulefmt.CondAllOf:
		var parts []string
		for _, s := range c.Of {
			e, ok := x.cond(s)
			if !ok {
				continue
			}
			if c.Type == rulefmt.CondAllOf && len(parts) > 0 {
				parts = append(parts, joinOp(x, s))
			} else if len(parts) > 0 {
				parts = append(parts, "or")
			}
			parts = append(parts, "("+e+")")
		}
		if len(parts) == 0 {
			x.left(c.Name, "none of its alternatives can be expressed in "+x.tr.lang())
			return "", false
		}
		return strings.Join(parts, " "), true
	case rulefmt.CondAbsent:
		reason := "absence of an event in a window"
		if len(c.ResetBy) > 0 {
			reason = "absence of a prior transition since the last " + describe(c.ResetBy)
		}
		x.left(c.Name, reason+" cannot be expressed in "+x.tr.lang())
		return "", false
	}
	switch c.Type {
	case rulefmt.CondChange:
		x.left(c.Name, "a change point of "+string(c.Metric)+" in a window relative to the anchor is found by segmenting the whole series; "+x.tr.lang()+" cannot express it")
		return "", false
	case rulefmt.CondCause:
		x.left(c.Name, "the setting change linked to the anchor's change point ("+describe(c.Events)+") is a join in time between a log event and a metric change; "+x.tr.lang()+" cannot express it")
		return "", false
	}
	e, why, ok := x.tr.leaf(x, c)
	if !ok {
		x.left(c.Name, why)
		return "", false
	}
	return e, true
}

func describe(ms []*rulefmt.Matcher) string {
	var parts []string
	for _, m := range ms {
		s := string(m.Kind)
		for _, a := range m.Attrs {
			s += " " + a.Name + "=" + strings.Join(a.Values, "|")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " or ")
}

// changeShift restates a change-point anchor as the level shift the
// engines can check: the current level against the median of the 30
// minutes before it (the change point's own old level is the median of a
// segment found over the whole series, which an alert cannot see).
func changeShift(c *rulefmt.ChangePoint) *rulefmt.Shift {
	f := c.Factor
	if f <= 1 {
		f = 1
	}
	return &rulefmt.Shift{Pos: c.Pos, Metric: c.Metric, Factor: f, Min: c.Min, Baseline: 30 * time.Minute, Hold: c.Hold}
}

func holdOf(s *rulefmt.Shift) time.Duration {
	if s.Hold > 0 {
		return s.Hold
	}
	return 2 * time.Minute
}

// alertName turns "hard-cut-without-drain" into "HardCutWithoutDrain".
func alertName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z':
			if up {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9' && b.Len() > 0:
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	if b.Len() == 0 {
		return "PostmortemRule"
	}
	return b.String()
}

// summary renders the rule's title with the backend as an alert template.
func summary(r *rulefmt.Rule) string {
	s, err := r.Title.Render(map[string]string{"backend": "{{ $labels.backend }}"})
	if err != nil || strings.TrimSpace(s) == "" {
		return r.Case + " on {{ $labels.backend }}"
	}
	return oneLine(s)
}

// promDur formats d as a Prometheus/Loki duration: "2m10s", "1h", "500ms".
func promDur(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.s)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "1ms"
	}
	return b.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
