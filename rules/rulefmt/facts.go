package rulefmt

import (
	"sort"
	"text/template"
	"text/template/parse"
)

// BuiltinFacts are the facts every finding carries, whatever its rule:
//
//	rule, case        the rule id and case id
//	backend           the finding's backend ("" when unknown)
//	backends          every backend of the merged anchors, comma-separated
//	start, end        the finding's span (15:04:05 in the evaluation zone)
//	date              the start date (2006-01-02)
//	anchor_time       time of the first anchor
//	anchor_kind       the anchor event kind, or the shifted metric
//	anchor_count      lines in the anchor event (bursts count several)
//	anchors           how many anchors were merged into the finding
//	repeats           times of later separate incidents of the same rule on
//	                  the same backend, comma-separated ("" when none)
//	repeat_of         on such a later finding, the start of the first one
//
// An event anchor adds anchor_<attr> for each attribute its kinds may carry;
// a shift anchor adds anchor_metric, anchor_before, anchor_after,
// anchor_factor, anchor_peak and anchor_direction ("rose" or "fell"); a
// changepoint anchor adds those and
// anchor_lag (onset lag after the linked change, "" when none),
// anchor_cause (that change in words) and anchor_cause_time.
var BuiltinFacts = []string{"rule", "case", "backend", "backends", "start", "end", "date", "anchor_time",
	"anchor_kind", "anchor_count", "anchors", "repeats", "repeat_of"}

var reservedFacts = map[string]bool{"anchor": true, "rule": true, "case": true, "backend": true, "backends": true,
	"start": true, "end": true, "date": true, "anchors": true, "repeats": true, "repeat_of": true, "repeat": true}

// FactSuffixes lists the facts a condition named X produces, as suffixes
// of "X_". Event conditions also produce X_<attr> for the attributes of their
// kinds.
var FactSuffixes = map[CondType][]string{
	CondEvent:   {"time", "end", "ago", "count", "peak", "backend"},
	CondAbsent:  {"since", "for"},
	CondCounter: {"sum", "peak", "rate", "backend"},
	CondRise:    {"before", "after", "factor", "peak", "sum", "backend"},
	CondGauge:   {"max", "min", "last", "first", "mean", "span", "backend"},
	CondChange:  {"time", "ago", "before", "after", "factor", "lag", "cause", "backend"},
	CondCause:   {"time", "end", "ago", "count", "peak", "backend", "lag", "reason"},
	CondAnyOf:   {"met"},
	CondAllOf:   {"met"},
}

// FactNames returns every fact name the rule can produce, sorted.
func (r *Rule) FactNames() []string {
	m := r.factNames()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *Rule) factNames() map[string]bool {
	m := map[string]bool{}
	for _, f := range BuiltinFacts {
		m[f] = true
	}
	for _, em := range r.Anchor.Events {
		for _, a := range KindAttrs[em.Kind] {
			m["anchor_"+a] = true
		}
	}
	if r.Anchor.Shift != nil || r.Anchor.ChangePoint != nil {
		for _, s := range []string{"metric", "before", "after", "factor", "peak"} {
			m["anchor_"+s] = true
		}
	}
	if r.Anchor.ChangePoint != nil {
		for _, s := range []string{"lag", "cause", "cause_time"} {
			m["anchor_"+s] = true
		}
	}
	var walk func(cs []*Condition)
	walk = func(cs []*Condition) {
		for _, c := range cs {
			if c.Name == "" {
				continue
			}
			for _, s := range FactSuffixes[c.Type] {
				m[c.Name+"_"+s] = true
			}
			if c.Type == CondEvent || c.Type == CondCause {
				for _, em := range c.Events {
					for _, a := range KindAttrs[em.Kind] {
						m[c.Name+"_"+a] = true
					}
				}
			}
			walk(c.Of)
		}
	}
	walk(r.Require)
	walk(r.Support)
	return m
}

// templateFields returns the top-level fields (.name) a template reads with
// dot bound to the facts map. Bodies of range and with blocks rebind dot and
// are not inspected.
func templateFields(t *template.Template) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	var node func(n parse.Node)
	var pipe func(p *parse.PipeNode)
	pipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				switch a := a.(type) {
				case *parse.FieldNode:
					if len(a.Ident) > 0 {
						add(a.Ident[0])
					}
				case *parse.PipeNode:
					pipe(a)
				}
			}
		}
	}
	node = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				node(c)
			}
		case *parse.ActionNode:
			pipe(n.Pipe)
		case *parse.IfNode:
			pipe(n.Pipe)
			node(n.List)
			if n.ElseList != nil {
				node(n.ElseList)
			}
		case *parse.RangeNode:
			pipe(n.Pipe)
		case *parse.WithNode:
			pipe(n.Pipe)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			node(tt.Tree.Root)
		}
	}
	return out
}

// hasRange reports whether any template in t uses range (which could loop
// without bound over an integer).
func hasRange(t *template.Template) bool {
	found := false
	var node func(n parse.Node)
	node = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				node(c)
			}
		case *parse.RangeNode:
			found = true
		case *parse.IfNode:
			node(n.List)
			if n.ElseList != nil {
				node(n.ElseList)
			}
		case *parse.WithNode:
			node(n.List)
			if n.ElseList != nil {
				node(n.ElseList)
			}
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			node(tt.Tree.Root)
		}
	}
	return found
}
