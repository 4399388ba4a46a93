package rulefmt

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/postmortem-tool/postmortem/timeline"
)

// KindAttrs lists, per event kind, the attributes a matcher may test. Burst
// kinds share the attributes that split bursts.
var KindAttrs = map[timeline.Kind][]string{
	timeline.KindConnReset:      burstAttrs,
	timeline.KindUpstreamError:  burstAttrs,
	timeline.KindAbortedSession: burstAttrs,
	timeline.KindHTTPError:      burstAttrs,
	timeline.KindBackendState:   {"state", "pool", "prev", "abrupt"},
	timeline.KindDeployStep:     {"step", "timeout", "drain", "revert", "rollback", "release"},
	timeline.KindConfigReload:   {"program"},
	timeline.KindConfigChange:   {"setting", "from", "to", "revert", "program"},
	timeline.KindAppLifecycle:   {"phase"},
	timeline.KindKernel:         {"reason"},
}

var burstAttrs = []string{"errno", "reason", "flags", "status", "upstream", "context"}

// attrValues lists the closed value sets checked at load time.
var attrValues = map[string][]string{
	"state": {timeline.StateBound, timeline.StateDraining, timeline.StateDrained, timeline.StateRemoved, timeline.StateDown, timeline.StateUp},
	"step": {timeline.StepStart, timeline.StepUnbind, timeline.StepDrainStart, timeline.StepDrainWait, timeline.StepDrained,
		timeline.StepDrainTimeout, timeline.StepStop, timeline.StepKill, timeline.StepBind, timeline.StepRollback, timeline.StepEnd, timeline.StepConfigPush},
	"phase": {"shutdown_start", "shutdown_done", "started", "killed"},
}

// Metrics is every metric a rule may name.
var Metrics = []timeline.Metric{
	timeline.MetricRequests, timeline.MetricHTTP5xx, timeline.MetricHTTP4xx, timeline.MetricUpstream5xx,
	timeline.MetricResets, timeline.MetricUpstreamErrs, timeline.MetricAborted, timeline.MetricConnectSum,
	timeline.MetricActiveConn, timeline.MetricNewConn, timeline.MetricResetRate, timeline.MetricWSSessions,
	timeline.MetricWSAvgAge, timeline.MetricWSP99Age, timeline.MetricTimeWait, timeline.MetricEstablished,
	timeline.MetricOrphans,
}

var severities = []string{"info", "warning", "critical"}

// Parse decodes and checks one rule file. name is used in error positions.
// It returns every problem found; File is nil only when the YAML itself does
// not parse.
func Parse(name string, data []byte) (*File, []Error) {
	p := &parser{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []Error{yamlError(name, err)}
	}
	f := &File{Name: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.errf(Pos{1, 1}, "empty rule file: want a mapping with key \"rules\"")
		return f, p.errs
	}
	root := doc.Content[0]
	fields := p.mapping(root, "rule file", []string{"rules"}, "rules")
	if rn := fields["rules"]; rn != nil {
		if p.kind(rn, yaml.SequenceNode, "rules", "a list of rules") {
			ids := map[string]Pos{}
			for _, n := range rn.Content {
				r := p.rule(n)
				if r == nil {
					continue
				}
				if prev, ok := ids[r.ID]; ok && r.ID != "" {
					p.errf(r.Pos, "duplicate rule %q (first defined at %d:%d)", r.ID, prev.Line, prev.Col)
					continue
				}
				ids[r.ID] = r.Pos
				f.Rules = append(f.Rules, r)
			}
		}
	}
	sortErrors(p.errs)
	return f, p.errs
}

// sortErrors orders errors by position, keeping the order of errors at the
// same position.
func sortErrors(es []Error) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		if es[i].Pos.Line != es[j].Pos.Line {
			return es[i].Pos.Line < es[j].Pos.Line
		}
		return es[i].Pos.Col < es[j].Pos.Col
	})
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

func yamlError(name string, err error) Error {
	msg := err.Error()
	pos := Pos{1, 1}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			pos.Col, _ = strconv.Atoi(m[2])
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
		msg = msg[i+2:]
	}
	return Error{File: name, Pos: pos, Msg: "invalid YAML: " + msg}
}

type parser struct {
	file string
	errs []Error
}

func pos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

func (p *parser) errf(at Pos, format string, args ...any) {
	p.errs = append(p.errs, Error{File: p.file, Pos: at, Msg: fmt.Sprintf(format, args...)})
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func (p *parser) kind(n *yaml.Node, k yaml.Kind, what, want string) bool {
	if n.Kind == k {
		return true
	}
	p.errf(pos(n), "%s: want %s, got %s", what, want, kindName(n.Kind))
	return false
}

// mapping checks that n is a mapping whose keys are among allowed, without
// duplicates, and returns the value nodes by key. Keys in required that are
// missing are reported at n.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string, required ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if !p.kind(n, yaml.MappingNode, what, "a mapping") {
		return out
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if !ok[key] {
			p.errf(pos(k), "unknown key %q in %s (valid: %s)", key, what, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[key]; dup {
			p.errf(pos(k), "duplicate key %q in %s", key, what)
			continue
		}
		out[key] = v
	}
	for _, r := range required {
		if out[r] == nil {
			p.errf(pos(n), "%s: missing key %q", what, r)
		}
	}
	return out
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.errf(pos(n), "%s: want a string, got %s", what, kindName(n.Kind))
		return "", false
	}
	return n.Value, true
}

func (p *parser) strList(n *yaml.Node, what string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if !p.kind(n, yaml.SequenceNode, what, "a string or a list of strings") {
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if s, ok := p.str(c, what); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) num(n *yaml.Node, what string) (float64, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.errf(pos(n), "%s: bad number %q", what, s)
		return 0, false
	}
	return f, true
}

// ParseDuration parses a Go duration with an optional leading '+' ("-10s",
// "+2m", "1h30m", "0").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	return time.ParseDuration(s)
}

func (p *parser) dur(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		p.errf(pos(n), "%s: bad duration %q (want e.g. 30s, -10s, 2m, 1h30m)", what, s)
		return 0, false
	}
	return d, true
}

func (p *parser) posDur(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.dur(n, what)
	if ok && d <= 0 {
		p.errf(pos(n), "%s: duration must be positive, got %s", what, n.Value)
		return 0, false
	}
	return d, ok
}

func (p *parser) rangeOf(n *yaml.Node, what string) (Range, bool) {
	if !p.kind(n, yaml.SequenceNode, what, "a list [from, to] of durations") {
		return Range{}, false
	}
	if len(n.Content) != 2 {
		p.errf(pos(n), "%s: want [from, to], got %d items", what, len(n.Content))
		return Range{}, false
	}
	a, ok1 := p.dur(n.Content[0], what)
	b, ok2 := p.dur(n.Content[1], what)
	if !ok1 || !ok2 {
		return Range{}, false
	}
	if b < a {
		p.errf(pos(n), "%s: window end %s is before its start %s", what, n.Content[1].Value, n.Content[0].Value)
		return Range{}, false
	}
	return Range{a, b}, true
}

func (p *parser) threshold(n *yaml.Node, what string) Threshold {
	s, ok := p.str(n, what)
	if !ok {
		return Threshold{}
	}
	th, err := ParseThreshold(s)
	if err != nil {
		p.errf(pos(n), "%s: %v", what, err)
	}
	return th
}

// ParseThreshold parses ">= 50", "> 0", "<= 0", "< 3", "== 0", "≥ 5" or a
// bare number (meaning ">=").
func ParseThreshold(s string) (Threshold, error) {
	t := strings.TrimSpace(s)
	op := ">="
	for _, o := range []struct{ in, out string }{{">=", ">="}, {"≥", ">="}, {"<=", "<="}, {"≤", "<="}, {"==", "=="}, {">", ">"}, {"<", "<"}} {
		if strings.HasPrefix(t, o.in) {
			op, t = o.out, strings.TrimSpace(t[len(o.in):])
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Threshold{}, fmt.Errorf("bad threshold %q (want e.g. \">= 50\", \"<= 0\", \"> 1.5\")", s)
	}
	return Threshold{Op: op, Value: v}, nil
}

func (p *parser) metric(n *yaml.Node, what string) (timeline.Metric, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return "", false
	}
	for _, m := range Metrics {
		if string(m) == s {
			return m, true
		}
	}
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		names[i] = string(m)
	}
	sort.Strings(names)
	p.errf(pos(n), "%s: unknown metric %q (known: %s)", what, s, strings.Join(names, ", "))
	return "", false
}

var ruleKeys = []string{"rule", "case", "severity", "escalate", "confidence", "confidence_cap", "anchor", "merge", "require", "support",
	"trigger", "title", "summary", "contributing", "prevention", "mistakes", "checklist"}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

func (p *parser) rule(n *yaml.Node) *Rule {
	if !p.kind(n, yaml.MappingNode, "rule", "a mapping") {
		return nil
	}
	f := p.mapping(n, "rule", ruleKeys, "rule", "severity", "anchor", "title", "summary", "prevention")
	r := &Rule{Pos: pos(n), File: p.file, Confidence: 0.6, Merge: Merge{Within: 2 * time.Minute, RepeatWithin: time.Hour}}
	if s, ok := p.str(f["rule"], "rule"); ok {
		if !idRE.MatchString(s) {
			p.errf(pos(f["rule"]), "rule: bad id %q (want lower-case letters, digits, '-', '_', '.')", s)
		}
		r.ID = s
	}
	r.Case = r.ID
	if s, ok := p.str(f["case"], "case"); ok {
		r.Case = s
	}
	if s, ok := p.str(f["severity"], "severity"); ok {
		r.Severity = p.severity(f["severity"], s)
	}
	if v := f["confidence"]; v != nil {
		if c, ok := p.num(v, "confidence"); ok {
			if c <= 0 || c > 1 {
				p.errf(pos(v), "confidence: want a number in (0, 1], got %s", v.Value)
			} else {
				r.Confidence = c
			}
		}
	}
	if v := f["merge"]; v != nil {
		m := p.mapping(v, "merge", []string{"within", "across_backends", "repeat_within", "split_on"})
		if so := m["split_on"]; so != nil {
			r.Merge.SplitOn = p.matchers(so, "merge.split_on")
		}
		if w := m["repeat_within"]; w != nil {
			if d, ok := p.dur(w, "merge.repeat_within"); ok {
				if d < 0 {
					p.errf(pos(w), "merge.repeat_within: must not be negative")
				} else {
					r.Merge.RepeatWithin = d
				}
			}
		}
		if w := m["within"]; w != nil {
			if d, ok := p.dur(w, "merge.within"); ok {
				if d < 0 {
					p.errf(pos(w), "merge.within: must not be negative")
				} else {
					r.Merge.Within = d
				}
			}
		}
		if a := m["across_backends"]; a != nil {
			r.Merge.AcrossBackends = p.boolean(a, "merge.across_backends")
		}
	}
	if v := f["anchor"]; v != nil {
		p.anchor(v, &r.Anchor)
	}
	names := map[string]*Condition{}
	sc := &scope{names: names, changeAnchor: r.Anchor.ChangePoint != nil}
	r.Require = p.conditions(f["require"], "require", sc)
	r.Support = p.conditions(f["support"], "support", sc)
	if v := f["trigger"]; v != nil {
		r.Trigger = p.strList(v, "trigger")
		for _, t := range r.Trigger {
			c := names[t]
			if c == nil {
				p.errf(pos(v), "trigger: no condition named %q", t)
			} else if c.Type != CondEvent && c.Type != CondCause {
				p.errf(pos(v), "trigger: condition %q is %s, want an event or cause condition", t, c.Type)
			}
		}
	}
	if v := f["escalate"]; v != nil {
		m := p.mapping(v, "escalate", []string{"severity", "if_any"}, "severity", "if_any")
		e := &Escalate{Pos: pos(v)}
		if s, ok := p.str(m["severity"], "escalate.severity"); ok {
			e.Severity = p.severity(m["severity"], s)
		}
		if m["if_any"] != nil {
			e.IfAny = p.strList(m["if_any"], "escalate.if_any")
			for _, t := range e.IfAny {
				if names[t] == nil {
					p.errf(pos(m["if_any"]), "escalate.if_any: no condition named %q", t)
				}
			}
		}
		r.Escalate = e
	}
	if v := f["confidence_cap"]; v != nil {
		m := p.mapping(v, "confidence_cap", []string{"max", "unless_any"}, "max", "unless_any")
		cc := &ConfidenceCap{Pos: pos(v)}
		if x, ok := p.num(m["max"], "confidence_cap.max"); ok {
			if x <= 0 || x > 1 {
				p.errf(pos(m["max"]), "confidence_cap.max: want a number in (0, 1], got %s", m["max"].Value)
			} else {
				cc.Max = x
			}
		}
		if m["unless_any"] != nil {
			cc.UnlessAny = p.strList(m["unless_any"], "confidence_cap.unless_any")
			for _, t := range cc.UnlessAny {
				if names[t] == nil {
					p.errf(pos(m["unless_any"]), "confidence_cap.unless_any: no condition named %q", t)
				}
			}
		}
		r.ConfidenceCap = cc
	}
	facts := r.factNames()
	r.Title = p.tmpl(f["title"], "title", facts)
	r.Summary = p.tmpl(f["summary"], "summary", facts)
	r.Contributing = p.tmplList(f["contributing"], "contributing", facts)
	r.Prevention = p.tmplList(f["prevention"], "prevention", facts)
	r.Mistakes = p.tmplList(f["mistakes"], "mistakes", facts)
	r.Checklist = p.tmplList(f["checklist"], "checklist", facts)
	for _, c := range sc.all {
		if c.Type == CondAbsent && c.textNode != nil {
			c.Text = p.tmpl(c.textNode, "text", facts)
			c.textNode = nil
		}
	}
	return r
}

func (p *parser) severity(n *yaml.Node, s string) string {
	for _, v := range severities {
		if s == v {
			return s
		}
	}
	p.errf(pos(n), "severity: unknown severity %q (want info, warning or critical)", s)
	return ""
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	s, ok := p.str(n, what)
	if !ok {
		return false
	}
	switch s {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	}
	p.errf(pos(n), "%s: want true or false, got %q", what, s)
	return false
}

func (p *parser) anchor(n *yaml.Node, a *Anchor) {
	a.Pos = pos(n)
	f := p.mapping(n, "anchor", []string{"event", "backend_from", "shift", "changepoint"})
	kinds := 0
	for _, k := range []string{"event", "shift", "changepoint"} {
		if f[k] != nil {
			kinds++
		}
	}
	if kinds != 1 {
		p.errf(pos(n), "anchor: want exactly one of \"event\", \"shift\" or \"changepoint\"")
	}
	if v := f["changepoint"]; v != nil {
		m := p.mapping(v, "anchor.changepoint", changeKeys, "metric")
		cp := p.changeSpec(m, "changepoint", pos(v))
		if m["metric"] != nil {
			cp.Metric, _ = p.metric(m["metric"], "changepoint.metric")
		}
		a.ChangePoint = cp
	}
	if v := f["event"]; v != nil {
		a.Events = p.matchers(v, "anchor.event")
	}
	if v := f["backend_from"]; v != nil {
		if f["event"] == nil {
			p.errf(pos(v), "anchor.backend_from: only valid with an event anchor")
		}
		m := p.mapping(v, "backend_from", []string{"event", "within", "until"}, "event", "within")
		bf := &BackendFrom{Pos: pos(v)}
		if m["event"] != nil {
			bf.Events = p.matchers(m["event"], "backend_from.event")
		}
		if m["within"] != nil {
			bf.Within, _ = p.posDur(m["within"], "backend_from.within")
		}
		if m["until"] != nil {
			bf.Until = p.matchers(m["until"], "backend_from.until")
		}
		a.BackendFrom = bf
	}
	if v := f["shift"]; v != nil {
		m := p.mapping(v, "shift", []string{"metric", "factor", "min", "baseline", "step", "hold"}, "metric", "factor", "baseline")
		s := &Shift{Pos: pos(v), Step: 10 * time.Second, Hold: 2 * time.Minute}
		if m["metric"] != nil {
			s.Metric, _ = p.metric(m["metric"], "shift.metric")
		}
		if m["factor"] != nil {
			if x, ok := p.num(m["factor"], "shift.factor"); ok {
				if x <= 1 {
					p.errf(pos(m["factor"]), "shift.factor: want a number > 1, got %s", m["factor"].Value)
				}
				s.Factor = x
			}
		}
		if m["min"] != nil {
			s.Min, _ = p.num(m["min"], "shift.min")
		}
		if m["baseline"] != nil {
			s.Baseline, _ = p.posDur(m["baseline"], "shift.baseline")
		}
		if m["step"] != nil {
			if d, ok := p.posDur(m["step"], "shift.step"); ok {
				if d < time.Second {
					p.errf(pos(m["step"]), "shift.step: want at least 1s, got %s", m["step"].Value)
				} else {
					s.Step = d
				}
			}
		}
		if m["hold"] != nil {
			if d, ok := p.posDur(m["hold"], "shift.hold"); ok {
				s.Hold = d
			}
		}
		if s.Step > 0 && s.Baseline > 0 && s.Baseline/s.Step < 3 {
			p.errf(pos(v), "shift: baseline %s holds fewer than 3 steps of %s", s.Baseline, s.Step)
		}
		a.Shift = s
	}
}

// changeKeys are the keys of a changepoint anchor; a changepoint condition
// names its metric under "changepoint" and takes the others.
var changeKeys = []string{"metric", "direction", "factor", "min", "hold"}

// changeSpec decodes direction, factor, min and hold of a change-point
// selection from the fields f.
func (p *parser) changeSpec(f map[string]*yaml.Node, what string, at Pos) *ChangePoint {
	cp := &ChangePoint{Pos: at, Direction: "up", Hold: 2 * time.Minute}
	if v := f["direction"]; v != nil {
		if s, ok := p.str(v, what+".direction"); ok {
			if s != "up" && s != "down" {
				p.errf(pos(v), "%s.direction: want up or down, got %q", what, s)
			} else {
				cp.Direction = s
			}
		}
	}
	if v := f["factor"]; v != nil {
		if x, ok := p.num(v, what+".factor"); ok {
			if x <= 1 {
				p.errf(pos(v), "%s.factor: want a number > 1, got %s", what, v.Value)
			} else {
				cp.Factor = x
			}
		}
	}
	if v := f["min"]; v != nil {
		if x, ok := p.num(v, what+".min"); ok {
			if x < 0 {
				p.errf(pos(v), "%s.min: want a number >= 0, got %s", what, v.Value)
			} else {
				cp.Min = x
			}
		}
	}
	if v := f["hold"]; v != nil {
		if d, ok := p.dur(v, what+".hold"); ok {
			if d < 0 {
				p.errf(pos(v), "%s.hold: must not be negative, got %s", what, v.Value)
			} else {
				cp.Hold = d
			}
		}
	}
	return cp
}

var matcherKeys = []string{"kind", "attrs", "text"}

// matchers decodes one matcher or a list of them.
func (p *parser) matchers(n *yaml.Node, what string) []*Matcher {
	if n.Kind == yaml.MappingNode {
		if m := p.matcher(n, what); m != nil {
			return []*Matcher{m}
		}
		return nil
	}
	if !p.kind(n, yaml.SequenceNode, what, "an event matcher or a list of them") {
		return nil
	}
	if len(n.Content) == 0 {
		p.errf(pos(n), "%s: empty list of event matchers", what)
	}
	var out []*Matcher
	for _, c := range n.Content {
		if m := p.matcher(c, what); m != nil {
			out = append(out, m)
		}
	}
	return out
}

func (p *parser) matcher(n *yaml.Node, what string) *Matcher {
	f := p.mapping(n, what, matcherKeys, "kind")
	m := &Matcher{Pos: pos(n)}
	known := false
	if s, ok := p.str(f["kind"], what+".kind"); ok {
		m.Kind = timeline.Kind(s)
		if _, known = KindAttrs[m.Kind]; !known {
			kinds := make([]string, 0, len(KindAttrs))
			for k := range KindAttrs {
				kinds = append(kinds, string(k))
			}
			sort.Strings(kinds)
			p.errf(pos(f["kind"]), "%s: unknown event kind %q (known: %s)", what, s, strings.Join(kinds, ", "))
		}
	}
	if v := f["attrs"]; v != nil && p.kind(v, yaml.MappingNode, what+".attrs", "a mapping of attribute matchers") {
		seen := map[string]bool{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := v.Content[i], v.Content[i+1]
			name := k.Value
			if seen[name] {
				p.errf(pos(k), "duplicate attribute %q", name)
				continue
			}
			seen[name] = true
			if known && !contains(KindAttrs[m.Kind], name) {
				p.errf(pos(k), "unknown attribute %q for kind %s (known: %s)", name, m.Kind, strings.Join(KindAttrs[m.Kind], ", "))
				continue
			}
			if am, ok := p.attrMatcher(name, val); ok {
				m.Attrs = append(m.Attrs, am)
			}
		}
	}
	if v := f["text"]; v != nil {
		if s, ok := p.str(v, what+".text"); ok {
			re, err := regexp.Compile(s)
			if err != nil {
				p.errf(pos(v), "%s.text: bad regular expression: %v", what, err)
			} else {
				m.Text = re
			}
		}
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// attrMatcher decodes "value", "!= value", "=~ regexp", "!~ regexp" or a
// list of values.
func (p *parser) attrMatcher(name string, n *yaml.Node) (AttrMatcher, bool) {
	am := AttrMatcher{Name: name}
	switch n.Kind {
	case yaml.SequenceNode:
		am.Op = "in"
		for _, c := range n.Content {
			if s, ok := p.str(c, "attribute "+name); ok {
				if !p.attrValue(name, s, c) {
					return am, false
				}
				am.Values = append(am.Values, s)
			}
		}
		if len(am.Values) == 0 {
			p.errf(pos(n), "attribute %s: empty list of values", name)
			return am, false
		}
		return am, true
	case yaml.ScalarNode:
		s := n.Value
		switch {
		case strings.HasPrefix(s, "=~"), strings.HasPrefix(s, "!~"):
			am.Op = "re"
			if s[0] == '!' {
				am.Op = "not_re"
			}
			re, err := regexp.Compile(strings.TrimSpace(s[2:]))
			if err != nil {
				p.errf(pos(n), "attribute %s: bad regular expression: %v", name, err)
				return am, false
			}
			am.Re = re
			return am, true
		case strings.HasPrefix(s, "!="):
			am.Op = "not_in"
			s = strings.TrimSpace(s[2:])
		default:
			am.Op = "in"
		}
		if !p.attrValue(name, s, n) {
			return am, false
		}
		am.Values = []string{s}
		return am, true
	}
	p.errf(pos(n), "attribute %s: want a value, \"=~ regexp\" or a list of values, got %s", name, kindName(n.Kind))
	return am, false
}

func (p *parser) attrValue(name, v string, n *yaml.Node) bool {
	vals, closed := attrValues[name]
	if !closed || contains(vals, v) {
		return true
	}
	p.errf(pos(n), "attribute %s: unknown value %q (known: %s)", name, v, strings.Join(vals, ", "))
	return false
}

// scope collects conditions by name across require and support, in order.
type scope struct {
	names map[string]*Condition
	all   []*Condition
	// changeAnchor is true when the rule anchors on a change point (cause
	// conditions are valid only then).
	changeAnchor bool
}

var condCommon = []string{"name", "role", "window", "from", "join", "cite"}

var condKeys = map[CondType][]string{
	CondEvent:   {"event", "count", "pick"},
	CondAbsent:  {"absent", "reset_by", "text"},
	CondCounter: {"counter", "sum", "peak", "rate"},
	CondRise:    {"rise", "baseline", "factor", "min", "per"},
	CondGauge:   {"gauge", "max", "min", "last", "mean", "span"},
	CondChange:  {"changepoint", "direction", "factor", "min", "hold"},
	CondCause:   {"cause", "max_lag"},
	CondAnyOf:   {"any_of"},
	CondAllOf:   {"all_of"},
}

var condTypes = []CondType{CondEvent, CondAbsent, CondCounter, CondRise, CondGauge, CondChange, CondCause, CondAnyOf, CondAllOf}

func (p *parser) conditions(n *yaml.Node, what string, sc *scope) []*Condition {
	if n == nil {
		return nil
	}
	if !p.kind(n, yaml.SequenceNode, what, "a list of conditions") {
		return nil
	}
	var out []*Condition
	for _, c := range n.Content {
		if cond := p.condition(c, what, sc); cond != nil {
			out = append(out, cond)
		}
	}
	return out
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (p *parser) condition(n *yaml.Node, what string, sc *scope) *Condition {
	if !p.kind(n, yaml.MappingNode, what, "a condition mapping") {
		return nil
	}
	c := &Condition{Pos: pos(n), Join: JoinSame, Cite: true, Count: 1}
	// Find the type key first so that other keys are checked against it.
	var typeKeys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		for _, t := range condTypes {
			if n.Content[i].Value == string(t) {
				typeKeys = append(typeKeys, string(t))
				c.Type = t
			}
		}
	}
	types := make([]string, len(condTypes))
	for i, t := range condTypes {
		types[i] = string(t)
	}
	switch len(typeKeys) {
	case 0:
		p.errf(pos(n), "condition: want one of %s", strings.Join(types, ", "))
		return nil
	case 1:
	default:
		p.errf(pos(n), "condition: want exactly one of %s, got %s", strings.Join(types, ", "), strings.Join(typeKeys, " and "))
		return nil
	}
	common := condCommon
	if c.Type == CondCause {
		// A cause is found by the change-point analysis' linking: no
		// window, reference or join of its own.
		common = []string{"name", "role", "cite"}
	}
	allowed := append(append([]string(nil), common...), condKeys[c.Type]...)
	f := p.mapping(n, string(c.Type)+" condition", allowed, "name")
	if s, ok := p.str(f["name"], "name"); ok {
		if !nameRE.MatchString(s) {
			p.errf(pos(f["name"]), "name: bad condition name %q (want lower_snake_case)", s)
		} else if prev := sc.names[s]; prev != nil {
			p.errf(pos(f["name"]), "name: duplicate condition name %q (first at %d:%d)", s, prev.Pos.Line, prev.Pos.Col)
		} else if reservedFacts[s] {
			p.errf(pos(f["name"]), "name: %q is reserved for a built-in fact", s)
		} else {
			c.Name = s
		}
	}
	c.Role = strings.ReplaceAll(c.Name, "_", " ")
	if s, ok := p.str(f["role"], "role"); ok {
		c.Role = s
	}
	if v := f["window"]; v != nil {
		c.Window, _ = p.rangeOf(v, "window")
	} else if c.Type != CondAnyOf && c.Type != CondAllOf && c.Type != CondCause {
		p.errf(pos(n), "%s condition %q: missing key \"window\"", c.Type, c.Name)
	}
	if v := f["from"]; v != nil {
		if s, ok := p.str(v, "from"); ok {
			ref := sc.names[s]
			switch {
			case ref == nil:
				p.errf(pos(v), "from: no earlier condition named %q", s)
			case ref.Type != CondEvent && ref.Type != CondCause:
				p.errf(pos(v), "from: condition %q is %s, want an event or cause condition", s, ref.Type)
			default:
				c.From = s
			}
		}
	}
	if v := f["join"]; v != nil {
		if s, ok := p.str(v, "join"); ok {
			switch Join(s) {
			case JoinSame, JoinAny, JoinPreferSame, JoinSameOrNone:
				c.Join = Join(s)
			default:
				p.errf(pos(v), "join: unknown join %q (want same, any, prefer_same or same_or_none)", s)
			}
		}
	}
	if v := f["cite"]; v != nil {
		c.Cite = p.boolean(v, "cite")
	}
	tv := f[string(c.Type)]
	switch c.Type {
	case CondEvent:
		if tv != nil {
			c.Events = p.matchers(tv, "event")
		}
		if v := f["count"]; v != nil {
			if x, ok := p.num(v, "count"); ok {
				if x < 1 || x != math.Trunc(x) {
					p.errf(pos(v), "count: want a whole number >= 1, got %s", v.Value)
				} else {
					c.Count = int(x)
				}
			}
		}
		c.Pick = "nearest"
		if v := f["pick"]; v != nil {
			if s, ok := p.str(v, "pick"); ok {
				if s != "first" && s != "last" && s != "nearest" {
					p.errf(pos(v), "pick: want nearest, first or last, got %q", s)
				} else {
					c.Pick = s
				}
			}
		}
	case CondCause:
		if !sc.changeAnchor {
			p.errf(pos(n), "cause condition %q: only valid in a rule whose anchor is a changepoint", c.Name)
		}
		if tv != nil {
			c.Events = p.matchers(tv, "cause")
		}
		if v := f["max_lag"]; v != nil {
			c.MaxLag, _ = p.posDur(v, "max_lag")
		}
	case CondChange:
		if tv != nil {
			c.Metric, _ = p.metric(tv, "changepoint")
		}
		c.Change = p.changeSpec(f, "changepoint", pos(n))
		c.Change.Metric = c.Metric
	case CondAbsent:
		if tv != nil {
			c.Events = p.matchers(tv, "absent")
		}
		if v := f["reset_by"]; v != nil {
			c.ResetBy = p.matchers(v, "reset_by")
		}
		c.textNode = f["text"]
	case CondCounter, CondRise, CondGauge:
		if tv != nil {
			c.Metric, _ = p.metric(tv, string(c.Type))
		}
		if c.Metric != "" {
			if c.Type == CondCounter && !c.Metric.IsCounter() {
				p.errf(pos(tv), "counter: %s is a gauge metric; use a gauge condition", c.Metric)
			}
			if c.Type == CondGauge && c.Metric.IsCounter() {
				p.errf(pos(tv), "gauge: %s is a counter metric; use a counter condition", c.Metric)
			}
		}
		switch c.Type {
		case CondCounter:
			for _, k := range []struct {
				key string
				t   *Threshold
			}{{"sum", &c.Sum}, {"peak", &c.Peak}, {"rate", &c.Rate}} {
				if v := f[k.key]; v != nil {
					*k.t = p.threshold(v, k.key)
				}
			}
			if f["sum"] == nil && f["peak"] == nil && f["rate"] == nil {
				p.errf(pos(n), "counter condition %q: want at least one of sum, peak, rate", c.Name)
			}
		case CondGauge:
			for _, k := range []struct {
				key string
				t   *Threshold
			}{{"max", &c.Max}, {"min", &c.Low}, {"last", &c.Last}, {"mean", &c.Mean}} {
				if v := f[k.key]; v != nil {
					*k.t = p.threshold(v, k.key)
				}
			}
			if v := f["span"]; v != nil {
				c.Span, _ = p.posDur(v, "span")
			}
		case CondRise:
			if v := f["baseline"]; v != nil {
				c.Baseline, _ = p.rangeOf(v, "baseline")
			} else {
				p.errf(pos(n), "rise condition %q: missing key \"baseline\"", c.Name)
			}
			if v := f["factor"]; v != nil {
				if x, ok := p.num(v, "factor"); ok {
					if x <= 1 {
						p.errf(pos(v), "factor: want a number > 1, got %s", v.Value)
					}
					c.Factor = x
				}
			} else {
				p.errf(pos(n), "rise condition %q: missing key \"factor\"", c.Name)
			}
			if v := f["min"]; v != nil {
				c.Min, _ = p.num(v, "min")
			}
			if v := f["per"]; v != nil {
				if m, ok := p.metric(v, "per"); ok {
					if !m.IsCounter() || (c.Metric != "" && !c.Metric.IsCounter()) {
						p.errf(pos(v), "per: both %s and %s must be counter metrics", c.Metric, m)
					} else {
						c.Per = m
					}
				}
			}
		}
	case CondAnyOf, CondAllOf:
		// Register the group's name before its children so children
		// cannot shadow it.
		if c.Name != "" {
			sc.names[c.Name] = c
		}
		c.Of = p.conditions(tv, string(c.Type), sc)
		if tv != nil && tv.Kind == yaml.SequenceNode && len(tv.Content) == 0 {
			p.errf(pos(tv), "%s: empty list of conditions", c.Type)
		}
		sc.all = append(sc.all, c)
		return c
	}
	if c.Name != "" {
		sc.names[c.Name] = c
	}
	sc.all = append(sc.all, c)
	return c
}

func (p *parser) tmpl(n *yaml.Node, what string, facts map[string]bool) *Template {
	s, ok := p.str(n, what)
	if !ok {
		return nil
	}
	t, err := template.New(what).Funcs(Funcs).Option("missingkey=zero").Parse(s)
	if err != nil {
		msg := err.Error()
		// "template: title:1: ..." -> "...".
		if i := strings.Index(msg, ": "); i >= 0 {
			if j := strings.Index(msg[i+2:], ": "); j >= 0 {
				msg = msg[i+2+j+2:]
			}
		}
		p.errf(pos(n), "%s: bad template: %s", what, msg)
		return nil
	}
	if hasRange(t) {
		p.errf(pos(n), "%s: range is not supported in rule templates (facts are strings)", what)
		return nil
	}
	for _, f := range templateFields(t) {
		if !facts[f] {
			p.errf(pos(n), "%s: template uses unknown fact .%s", what, f)
		}
	}
	return &Template{Pos: pos(n), Src: s, T: t}
}

func (p *parser) tmplList(n *yaml.Node, what string, facts map[string]bool) []*Template {
	if n == nil {
		return nil
	}
	if !p.kind(n, yaml.SequenceNode, what, "a list of templates") {
		return nil
	}
	var out []*Template
	for _, c := range n.Content {
		if t := p.tmpl(c, what, facts); t != nil {
			out = append(out, t)
		}
	}
	return out
}
