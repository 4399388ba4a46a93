package rules

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/correlate"
	"github.com/postmortem-tool/postmortem/rules/rulefmt"
	"github.com/postmortem-tool/postmortem/timeline"
)

// EvalOptions tune Eval.
type EvalOptions struct {
	// Loc is the zone times are rendered in (facts, texts). Default UTC.
	Loc *time.Location
	// Analysis is the change-point analysis of the same timeline, for
	// rules that use change points. When nil and a rule needs one, Eval
	// runs correlate.Analyze with its defaults (what the draft lists) and
	// returns it in Result.Analysis.
	Analysis *correlate.Analysis
}

// maxCite bounds the lines one condition cites.
const maxCite = 4

// Eval runs every rule of p over tl. Findings are sorted by start time, rule
// and backend; Checks has one entry per rule, in pack order. Eval never
// panics on any timeline and does not modify tl.
func (p *Pack) Eval(tl *timeline.Timeline, opts EvalOptions) Result {
	if opts.Loc == nil {
		opts.Loc = time.UTC
	}
	res := Result{Findings: []Finding{}, Checks: []Check{}}
	if p == nil {
		return res
	}
	if tl == nil {
		tl = &timeline.Timeline{}
	}
	st := &evalState{an: opts.Analysis, hits: map[*rulefmt.ChangePoint][]cpHit{}}
	type ruleResult struct {
		fs  []Finding
		chk Check
	}
	out := make([]ruleResult, len(p.Rules))
	eval := func(cp bool) {
		for i, r := range p.Rules {
			if usesChangePoints(r) == cp {
				out[i].fs, out[i].chk = evalRule(r, tl, opts, st)
			}
		}
	}
	if st.an == nil && p.usesChangePoints() {
		// The change-point analysis runs while the rules that do not use
		// it are evaluated (both only read the timeline).
		done := make(chan *correlate.Analysis, 1)
		go func() { done <- correlate.Analyze(tl, correlate.AnalyzeOptions{}) }()
		eval(false)
		st.an = <-done
		eval(true)
	} else {
		eval(false)
		eval(true)
	}
	res.Analysis = st.an
	for _, o := range out {
		res.Findings = append(res.Findings, o.fs...)
		res.Checks = append(res.Checks, o.chk)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := &res.Findings[i], &res.Findings[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Backend < b.Backend
	})
	return res
}

// anchor is one place a rule starts looking.
type anchor struct {
	time, end time.Time
	backend   string
	ev        *timeline.Event
	shift     *correlate.Shift
	cp        *cpHit
	metric    timeline.Metric
	attrVia   *timeline.Event // event that gave the backend (backend_from)
}

// level returns the new level of a shift or change-point anchor (the
// higher one for a rise), for choosing a representative.
func (a *anchor) level() float64 {
	switch {
	case a.shift != nil:
		return a.shift.After
	case a.cp != nil:
		return math.Max(a.cp.cp.After, a.cp.cp.Before)
	}
	return 0
}

// evalState is shared by the rules of one Eval: the change-point analysis
// and the change points each selection picked.
type evalState struct {
	an   *correlate.Analysis
	hits map[*rulefmt.ChangePoint][]cpHit
}

// cpHit is a change point a selection accepted: the new level lasts from
// its onset to end; peak is the extreme value (highest for a rise) in it.
type cpHit struct {
	cp   *correlate.ChangePoint
	end  time.Time
	peak timeline.Point
	// first is the first sample that moved a tenth of the way from the old
	// level to the new: the line cited for the onset (the resampled onset
	// may still show the old level, since the onset is refined on the
	// filtered series).
	first timeline.Point
	// size is new/old level for a rise, old/new for a fall (+Inf from 0).
	size float64
}

// usesChangePoints reports whether a rule of p anchors on or tests change
// points.
func (p *Pack) usesChangePoints() bool {
	return slices.ContainsFunc(p.Rules, usesChangePoints)
}

// usesChangePoints reports whether r anchors on or tests change points.
func usesChangePoints(r *rulefmt.Rule) bool {
	var walk func(cs []*rulefmt.Condition) bool
	walk = func(cs []*rulefmt.Condition) bool {
		for _, c := range cs {
			if c.Type == rulefmt.CondChange || walk(c.Of) {
				return true
			}
		}
		return false
	}
	return r.Anchor.ChangePoint != nil || walk(r.Require) || walk(r.Support)
}

// changes returns the change points of the analysis that spec selects, in
// time order (cached per spec).
func (st *evalState) changes(tl *timeline.Timeline, spec *rulefmt.ChangePoint) []cpHit {
	if hs, ok := st.hits[spec]; ok {
		return hs
	}
	var out []cpHit
	if st.an != nil {
		cps := st.an.ChangePoints
		for i := range cps {
			cp := &cps[i]
			if cp.Metric != spec.Metric || cp.Delta == 0 {
				continue
			}
			up := cp.Delta > 0
			if up != (spec.Direction != "down") {
				continue
			}
			hi, lo := cp.After, cp.Before
			if !up {
				hi, lo = cp.Before, cp.After
			}
			size := math.Inf(1)
			if lo > 0 {
				size = hi / lo
			} else if lo < 0 {
				continue // a ratio of levels of different signs means nothing
			}
			if (spec.Factor > 0 && size < spec.Factor) || hi < spec.Min {
				continue
			}
			var sr *timeline.Series
			for _, s := range tl.SeriesOf(cp.Metric) {
				if s.Backend == cp.Backend {
					sr = s
					break
				}
			}
			if sr == nil {
				continue
			}
			// The new level ends where the series next crosses back past
			// the midpoint of the two levels, or where its data ends.
			end := sr.Span().End
			mid := (cp.Before + cp.After) / 2
			for j := i + 1; j < len(cps); j++ {
				n := &cps[j]
				if n.Metric != cp.Metric || n.Backend != cp.Backend {
					continue
				}
				if (up && n.After < mid) || (!up && n.After > mid) {
					if e := n.Time.Add(-st.an.Step); e.Before(end) {
						end = e
					}
					break
				}
			}
			if end.Before(cp.Time) {
				end = cp.Time
			}
			if end.Sub(cp.Time) < spec.Hold {
				continue
			}
			w := timeline.Window{Start: cp.Time, End: end}
			peak, ok := sr.Max(w)
			if !up {
				peak, ok = sr.Min(w)
			}
			if !ok {
				peak = timeline.Point{Time: cp.Time, Value: cp.After, Pos: cp.Pos}
			}
			first := timeline.Point{Time: cp.Time, Value: cp.After, Pos: cp.Pos}
			tenth := cp.Before + cp.Delta/10
			for _, p := range sr.Points(timeline.Window{Start: cp.Time.Add(-st.an.Step), End: end}) {
				if (up && p.Value >= tenth) || (!up && p.Value <= tenth) {
					first = p
					break
				}
			}
			out = append(out, cpHit{cp: cp, end: end, peak: peak, first: first, size: size})
		}
	}
	st.hits[spec] = out
	return out
}

// candidate is an anchor whose conditions were evaluated.
type candidate struct {
	a          anchor
	ok         bool
	why        string // first failing required condition
	whyName    string
	facts      map[string]string
	evidence   []Evidence
	anchorEv   []Evidence
	trigger    *Evidence
	met        map[string]bool
	confidence float64
	start, end time.Time
}

func evalRule(r *rulefmt.Rule, tl *timeline.Timeline, opts EvalOptions, st *evalState) ([]Finding, Check) {
	chk := Check{Rule: r.ID, Case: r.Case}
	anchors := findAnchors(r, tl, st)
	chk.Anchors = len(anchors)
	var cands []*candidate
	fails := map[string]int{}
	var firstFail *candidate
	for _, a := range anchors {
		c := evalAnchor(r, tl, a, opts, st)
		if c.ok {
			cands = append(cands, c)
			continue
		}
		fails[c.whyName]++
		if firstFail == nil {
			firstFail = c
		}
	}
	findings := mergeCandidates(r, tl, cands, opts)
	chk.Fired = len(findings)
	switch {
	case len(anchors) == 0:
		chk.Why = "no anchor: " + describeAnchor(&r.Anchor)
	case chk.Fired == 0:
		names := make([]string, 0, len(fails))
		for n := range fails {
			names = append(names, n)
		}
		sort.Strings(names)
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s failed for %d", n, fails[n]))
		}
		chk.Why = fmt.Sprintf("%d anchor(s), none held (%s); first: %s", len(anchors), strings.Join(parts, ", "), firstFail.why)
	}
	return findings, chk
}

func describeMatchers(ms []*rulefmt.Matcher) string {
	var parts []string
	for _, m := range ms {
		var as []string
		for _, a := range m.Attrs {
			switch a.Op {
			case "in":
				if len(a.Values) == 1 {
					as = append(as, a.Name+"="+a.Values[0])
				} else {
					as = append(as, a.Name+" in ["+strings.Join(a.Values, ", ")+"]")
				}
			case "not_in":
				as = append(as, a.Name+" not in ["+strings.Join(a.Values, ", ")+"]")
			case "re":
				as = append(as, a.Name+" =~ "+a.Re.String())
			case "not_re":
				as = append(as, a.Name+" !~ "+a.Re.String())
			}
		}
		s := string(m.Kind)
		if len(as) > 0 {
			s += "{" + strings.Join(as, ", ") + "}"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " or ")
}

func describeAnchor(a *rulefmt.Anchor) string {
	if c := a.ChangePoint; c != nil {
		return "no " + describeChange(c)
	}
	if a.Shift != nil {
		return fmt.Sprintf("no level shift of %s (x%s over the %s median and >= %s)", a.Shift.Metric,
			fmtNum(a.Shift.Factor), fmtDur(a.Shift.Baseline), fmtNum(a.Shift.Min))
	}
	return "no " + describeMatchers(a.Events) + " event"
}

// describeChange says what a change-point selection looks for.
func describeChange(c *rulefmt.ChangePoint) string {
	verb := "rise"
	if c.Direction == "down" {
		verb = "fall"
	}
	s := "change point (" + verb
	if c.Factor > 0 {
		s += " x" + fmtNum(c.Factor)
	}
	if c.Min > 0 {
		if c.Direction == "down" {
			s += " from >= " + fmtNum(c.Min)
		} else {
			s += " to >= " + fmtNum(c.Min)
		}
	}
	if c.Hold > 0 {
		s += ", held " + fmtDur(c.Hold)
	}
	return s + ") of " + string(c.Metric)
}

func findAnchors(r *rulefmt.Rule, tl *timeline.Timeline, st *evalState) []anchor {
	var out []anchor
	if c := r.Anchor.ChangePoint; c != nil {
		hits := st.changes(tl, c)
		for i := range hits {
			h := &hits[i]
			out = append(out, anchor{time: h.cp.Time, end: h.end, backend: h.cp.Backend, cp: h, metric: c.Metric})
		}
		return out
	}
	if s := r.Anchor.Shift; s != nil {
		for _, sr := range tl.SeriesOf(s.Metric) {
			var pts []timeline.Point
			if sr.IsCounter() {
				// Bound the work: at most ~200k resampled points.
				span := sr.Span()
				step := max(s.Step, span.Duration()/200000)
				pts = sr.Resample(span, step)
			} else {
				pts = sr.Points(timeline.Window{End: farFuture})
			}
			for _, sh := range correlate.LevelShifts(pts, correlate.ShiftOptions{Factor: s.Factor, Min: s.Min, Baseline: s.Baseline, Hold: s.Hold}) {
				sh := sh
				out = append(out, anchor{time: sh.Start, end: sh.End, backend: sr.Backend, shift: &sh, metric: s.Metric})
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].time.Before(out[j].time) })
		return out
	}
	for i := range tl.Events {
		e := &tl.Events[i]
		if !rulefmt.MatchAny(r.Anchor.Events, e) {
			continue
		}
		a := anchor{time: e.Time, end: e.End, backend: e.Backend, ev: e}
		if a.end.IsZero() || a.end.Before(a.time) {
			a.end = a.time
		}
		if a.backend == "" && r.Anchor.BackendFrom != nil {
			if via := backendFrom(tl, i, r.Anchor.BackendFrom); via != nil {
				a.backend, a.attrVia = via.Backend, via
			}
		}
		out = append(out, a)
	}
	return out
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// backendFrom finds the most recent event before tl.Events[i] that matches
// bf and names a backend, skipping backends that matched bf.Until since.
func backendFrom(tl *timeline.Timeline, i int, bf *rulefmt.BackendFrom) *timeline.Event {
	t := tl.Events[i].Time
	cancelled := map[string]bool{}
	for j := i - 1; j >= 0; j-- {
		e := &tl.Events[j]
		if t.Sub(e.Time) > bf.Within {
			break
		}
		if e.Backend == "" || cancelled[e.Backend] {
			continue
		}
		if rulefmt.MatchAny(bf.Events, e) {
			return e
		}
		if rulefmt.MatchAny(bf.Until, e) {
			cancelled[e.Backend] = true
		}
	}
	return nil
}

// ectx is the state of one anchor's evaluation.
type ectx struct {
	r     *rulefmt.Rule
	tl    *timeline.Timeline
	a     anchor
	loc   *time.Location
	found map[string]*timeline.Event
	st    *evalState
}

// cres is the result of one condition.
type cres struct {
	met      bool
	why      string
	facts    map[string]string
	evidence []Evidence
	found    *timeline.Event
	names    map[string]bool // names of conditions that held (this and children)
	extra    [2]int          // any_of alternatives beyond the first: met, total
}

func evalAnchor(r *rulefmt.Rule, tl *timeline.Timeline, a anchor, opts EvalOptions, st *evalState) *candidate {
	x := &ectx{r: r, tl: tl, a: a, loc: opts.Loc, found: map[string]*timeline.Event{}, st: st}
	c := &candidate{a: a, facts: map[string]string{}, met: map[string]bool{}, start: a.time, end: a.end}
	x.anchorFacts(c)
	c.ok = true
	var extraMet, extraTotal int
	for _, cond := range r.Require {
		res := x.eval(cond)
		if !res.met {
			c.ok = false
			c.why = fmt.Sprintf("at %s on %s: %s", x.clock(a.time), orUnknown(a.backend), res.why)
			c.whyName = cond.Name
			return c
		}
		c.absorb(res, true)
		extraMet += res.extra[0]
		extraTotal += res.extra[1]
	}
	supMet := 0
	for _, cond := range r.Support {
		res := x.eval(cond)
		if res.met {
			supMet++
			c.absorb(res, false)
		}
		extraMet += res.extra[0]
		extraTotal += res.extra[1]
	}
	total := len(r.Support) + extraTotal
	c.confidence = r.Confidence
	if total > 0 {
		c.confidence += (1 - r.Confidence) * float64(supMet+extraMet) / float64(total)
	}
	if cc := r.ConfidenceCap; cc != nil && c.confidence > cc.Max {
		held := false
		for _, n := range cc.UnlessAny {
			held = held || c.met[n]
		}
		if !held {
			c.confidence = cc.Max
		}
	}
	c.confidence = math.Round(c.confidence*100) / 100
	for _, name := range r.Trigger {
		if e := x.found[name]; e != nil && c.met[name] {
			c.trigger = &Evidence{Role: "trigger", Evidence: timeline.Evidence{Pos: e.Pos, Time: e.Time, Text: e.Text}}
			break
		}
	}
	return c
}

func (c *candidate) absorb(res cres, required bool) {
	for k, v := range res.facts {
		c.facts[k] = v
	}
	for n := range res.names {
		c.met[n] = true
	}
	c.evidence = append(c.evidence, res.evidence...)
	for _, ev := range res.evidence {
		if ev.Time.IsZero() {
			continue
		}
		if required && ev.Time.Before(c.start) {
			c.start = ev.Time
		}
		if ev.Time.After(c.end) {
			c.end = ev.Time
		}
	}
}

func orUnknown(b string) string {
	if b == "" {
		return "an unknown backend"
	}
	return b
}

func (x *ectx) clock(t time.Time) string { return t.In(x.loc).Format("15:04:05") }

func (x *ectx) anchorFacts(c *candidate) {
	a := x.a
	f := c.facts
	f["anchor_time"] = x.clock(a.time)
	f["backend"] = a.backend
	if a.ev != nil {
		f["anchor_kind"] = string(a.ev.Kind)
		f["anchor_count"] = fmtNum(float64(max(a.ev.Count, 1)))
		for k, v := range a.ev.Attrs {
			f["anchor_"+k] = v
		}
		c.anchorEv = append(c.anchorEv, Evidence{Role: "anchor", Evidence: timeline.Evidence{Pos: a.ev.Pos, Time: a.ev.Time, Text: a.ev.Text}})
		if a.attrVia != nil {
			c.anchorEv = append(c.anchorEv, Evidence{Role: "attributed via", Evidence: timeline.Evidence{Pos: a.attrVia.Pos, Time: a.attrVia.Time, Text: a.attrVia.Text}})
		}
	}
	if s := a.shift; s != nil {
		f["anchor_kind"] = string(a.metric)
		f["anchor_metric"] = string(a.metric)
		f["anchor_count"] = "1"
		f["anchor_before"] = fmtValue(a.metric, s.Before)
		f["anchor_after"] = fmtValue(a.metric, s.After)
		f["anchor_factor"] = fmtNum(s.Factor)
		f["anchor_peak"] = fmtValue(a.metric, s.Peak.Value)
		f["anchor_direction"] = direction(s.Before, s.After)
		c.anchorEv = append(c.anchorEv,
			Evidence{Role: "anchor", Evidence: timeline.Evidence{Pos: s.Onset.Pos, Time: s.Onset.Time}},
			Evidence{Role: "peak", Evidence: timeline.Evidence{Pos: s.Peak.Pos, Time: s.Peak.Time}})
	}
	if h := a.cp; h != nil {
		f["anchor_kind"] = string(a.metric)
		f["anchor_metric"] = string(a.metric)
		f["anchor_count"] = "1"
		f["anchor_before"] = fmtValue(a.metric, h.cp.Before)
		f["anchor_after"] = fmtValue(a.metric, h.cp.After)
		f["anchor_factor"] = fmtNum(h.size)
		f["anchor_peak"] = fmtValue(a.metric, h.peak.Value)
		f["anchor_direction"] = direction(h.cp.Before, h.cp.After)
		f["anchor_lag"], f["anchor_cause"], f["anchor_cause_time"] = "", "", ""
		if l := h.cp.Cause; l != nil {
			f["anchor_lag"] = fmtDur(l.Lag)
			f["anchor_cause"] = x.changeText(&l.Event)
			f["anchor_cause_time"] = x.clock(l.Event.Time)
		}
		c.anchorEv = append(c.anchorEv,
			Evidence{Role: "anchor", Evidence: timeline.Evidence{Pos: h.first.Pos, Time: h.first.Time}},
			Evidence{Role: "peak", Evidence: timeline.Evidence{Pos: h.peak.Pos, Time: h.peak.Time}})
	}
}

// changeText states a setting change, reload or deploy step in words:
// "keepalive_timeout went 65s -> 2s".
func (x *ectx) changeText(e *timeline.Event) string {
	if e.Kind == timeline.KindConfigChange && e.Attr("setting") != "" {
		switch {
		case e.Attr("from") != "":
			return e.Attr("setting") + " went " + e.Attr("from") + " -> " + e.Attr("to")
		case e.Attr("to") != "":
			return e.Attr("setting") + " set to " + e.Attr("to")
		}
	}
	return e.Summary(x.loc)
}

// ref returns the reference time of cond, or ok=false with a reason.
func (x *ectx) ref(cond *rulefmt.Condition) (time.Time, string, bool) {
	if cond.From == "" {
		return x.a.time, "", true
	}
	e := x.found[cond.From]
	if e == nil {
		return time.Time{}, cond.From + " was not found", false
	}
	return e.Time, "", true
}

// backendOK reports whether backend b is in scope for join j.
func (x *ectx) backendOK(j rulefmt.Join, b string) bool {
	switch j {
	case rulefmt.JoinAny:
		return true
	case rulefmt.JoinSameOrNone:
		return b == x.a.backend || b == ""
	}
	return b == x.a.backend
}

func (x *ectx) eval(cond *rulefmt.Condition) cres {
	if cond.Join == rulefmt.JoinPreferSame {
		res := x.evalJoin(cond, rulefmt.JoinSame)
		if res.met || cond.Type == rulefmt.CondAbsent {
			return res
		}
		return x.evalJoin(cond, rulefmt.JoinAny)
	}
	return x.evalJoin(cond, cond.Join)
}

func (x *ectx) evalJoin(cond *rulefmt.Condition, j rulefmt.Join) cres {
	res := cres{facts: map[string]string{}, names: map[string]bool{}}
	switch cond.Type {
	case rulefmt.CondAnyOf, rulefmt.CondAllOf:
		x.group(cond, &res)
	case rulefmt.CondCause:
		x.cause(cond, &res)
	default:
		t, why, ok := x.ref(cond)
		if !ok {
			res.why = cond.Name + ": " + why
			return res
		}
		w := cond.Window.Window(t)
		switch cond.Type {
		case rulefmt.CondEvent:
			x.event(cond, j, t, w, &res)
		case rulefmt.CondAbsent:
			x.absent(cond, j, t, w, &res)
		case rulefmt.CondCounter:
			x.counter(cond, j, w, &res)
		case rulefmt.CondRise:
			x.rise(cond, j, t, w, &res)
		case rulefmt.CondGauge:
			x.gauge(cond, j, w, &res)
		case rulefmt.CondChange:
			x.change(cond, j, t, w, &res)
		}
	}
	if res.met {
		res.names[cond.Name] = true
		if !cond.Cite {
			res.evidence = nil
		}
		if res.found != nil {
			x.found[cond.Name] = res.found
		}
	} else {
		// Unmet conditions contribute neither facts nor evidence.
		res.facts, res.evidence = nil, nil
	}
	return res
}

func (x *ectx) group(cond *rulefmt.Condition, res *cres) {
	var metNames, whys []string
	for _, ch := range cond.Of {
		r := x.eval(ch)
		res.extra[0] += r.extra[0]
		res.extra[1] += r.extra[1]
		if r.met {
			metNames = append(metNames, ch.Name)
			for k, v := range r.facts {
				res.facts[k] = v
			}
			for n := range r.names {
				res.names[n] = true
			}
			res.evidence = append(res.evidence, r.evidence...)
		} else {
			whys = append(whys, r.why)
		}
	}
	if cond.Type == rulefmt.CondAnyOf {
		res.met = len(metNames) > 0
		res.extra[1] += len(cond.Of) - 1
		if len(metNames) > 1 {
			res.extra[0] += len(metNames) - 1
		}
		if !res.met {
			res.why = cond.Name + ": none of: " + strings.Join(whys, "; ")
		}
	} else {
		res.met = len(whys) == 0
		if !res.met {
			res.why = cond.Name + ": " + strings.Join(whys, "; ")
		}
	}
	res.facts[cond.Name+"_met"] = strings.Join(metNames, ", ")
}

func (x *ectx) rel(d time.Duration) string {
	switch {
	case d == 0:
		return "at the same time"
	case d < 0:
		return fmtDur(-d) + " before"
	}
	return fmtDur(d) + " after"
}

func (x *ectx) event(cond *rulefmt.Condition, j rulefmt.Join, ref time.Time, w timeline.Window, res *cres) {
	evs := x.tl.EventsIn(w)
	var pick *timeline.Event
	lines := 0
	for i := range evs {
		e := &evs[i]
		if !x.backendOK(j, e.Backend) || !rulefmt.MatchAny(cond.Events, e) {
			continue
		}
		lines += max(e.Count, 1)
		switch cond.Pick {
		case "first":
			if pick == nil {
				pick = e
			}
		case "last":
			pick = e
		default:
			if pick == nil || e.Time.Sub(ref).Abs() < pick.Time.Sub(ref).Abs() {
				pick = e
			}
		}
	}
	if pick == nil || lines < cond.Count {
		res.why = fmt.Sprintf("%s: %d %s line(s) in %s of %s, want >= %d", cond.Name, lines, describeMatchers(cond.Events),
			cond.Window, x.refName(cond), cond.Count)
		return
	}
	x.eventMet(res, cond, pick, ref, lines)
}

// eventMet records that cond was met by event e: the X_time, X_end, X_ago
// (from ref), X_count, X_peak, X_backend and X_<attr> facts, and e's lines
// as evidence.
func (x *ectx) eventMet(res *cres, cond *rulefmt.Condition, e *timeline.Event, ref time.Time, count int) {
	res.met = true
	res.found = e
	n := cond.Name + "_"
	res.facts[n+"time"] = x.clock(e.Time)
	end := e.End
	if end.IsZero() {
		end = e.Time
	}
	res.facts[n+"end"] = x.clock(end)
	res.facts[n+"ago"] = x.rel(e.Time.Sub(ref))
	res.facts[n+"count"] = fmtNum(float64(count))
	res.facts[n+"peak"] = fmtNum(e.Peak) + "/s"
	res.facts[n+"backend"] = e.Backend
	for k, v := range e.Attrs {
		res.facts[n+k] = v
	}
	res.evidence = append(res.evidence, eventEvidence(cond.Role, e)...)
}

func (x *ectx) refName(cond *rulefmt.Condition) string {
	if cond.From != "" {
		return cond.From
	}
	return "the anchor"
}

// eventEvidence cites e's line and, for a burst, its sample lines.
func eventEvidence(role string, e *timeline.Event) []Evidence {
	out := []Evidence{{Role: role, Evidence: timeline.Evidence{Pos: e.Pos, Time: e.Time, Text: e.Text}}}
	for _, ev := range e.Evidence {
		if len(out) >= maxCite {
			break
		}
		if ev.Pos == e.Pos {
			continue
		}
		out = append(out, Evidence{Role: role, Evidence: ev})
	}
	return out
}

func (x *ectx) absent(cond *rulefmt.Condition, j rulefmt.Join, ref time.Time, w timeline.Window, res *cres) {
	evs := x.tl.EventsIn(w)
	start := w.Start
	// A later reset event moves the start of the window past it.
	for i := range evs {
		e := &evs[i]
		if x.backendOK(j, e.Backend) && rulefmt.MatchAny(cond.ResetBy, e) && !e.Time.After(ref) && e.Time.After(start) {
			start = e.Time
		}
	}
	for i := range evs {
		e := &evs[i]
		if e.Time.Before(start) || (e.Time.Equal(start) && rulefmt.MatchAny(cond.ResetBy, e)) {
			continue
		}
		if x.a.ev != nil && e.Seq == x.a.ev.Seq && e.Time.Equal(x.a.ev.Time) {
			continue // the anchor does not count against its own absence
		}
		if x.backendOK(j, e.Backend) && rulefmt.MatchAny(cond.Events, e) {
			res.why = fmt.Sprintf("%s: found %s at %s on %s", cond.Name, e.Kind, x.clock(e.Time), orUnknown(e.Backend))
			return
		}
	}
	res.met = true
	n := cond.Name + "_"
	res.facts[n+"since"] = x.clock(start)
	res.facts[n+"for"] = fmtDur(w.End.Sub(start))
	def := fmt.Sprintf("no %s on %s between %s and %s", describeMatchers(cond.Events),
		x.scope(j), x.clock(start), x.clock(w.End))
	res.evidence = append(res.evidence, Evidence{Role: cond.Role, Evidence: timeline.Evidence{Time: ref,
		Text: absentMarker + cond.Name + "\x00" + def}})
}

// absentMarker marks an absence statement whose text is rendered once every
// fact is known.
const absentMarker = "\x00absent:"

// seriesFor returns the series of m in scope for join j.
func (x *ectx) seriesFor(m timeline.Metric, j rulefmt.Join) []*timeline.Series {
	var out []*timeline.Series
	for _, s := range x.tl.SeriesOf(m) {
		if x.backendOK(j, s.Backend) {
			out = append(out, s)
		}
	}
	return out
}

// counterPoints sums the per-second points of ss in w by second.
func counterPoints(ss []*timeline.Series, w timeline.Window) (pts []timeline.Point, backends []string) {
	if len(ss) == 1 && ss[0].IsCounter() {
		// One series has one point per second already, in order (and a
		// counter's points are a fresh slice).
		pts = ss[0].Points(w)
		if len(pts) > 0 && ss[0].Backend != "" {
			backends = []string{ss[0].Backend}
		}
		return pts, backends
	}
	bySec := map[int64]int{}
	for _, s := range ss {
		got := false
		for _, p := range s.Points(w) {
			got = true
			sec := p.Time.Unix()
			if i, ok := bySec[sec]; ok {
				pts[i].Value += p.Value
				continue
			}
			bySec[sec] = len(pts)
			pts = append(pts, p)
		}
		if got && s.Backend != "" {
			backends = append(backends, s.Backend)
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
	return pts, backends
}

func (x *ectx) counter(cond *rulefmt.Condition, j rulefmt.Join, w timeline.Window, res *cres) {
	pts, backends := counterPoints(x.seriesFor(cond.Metric, j), w)
	var sum float64
	var peak timeline.Point
	for _, p := range pts {
		sum += p.Value
		if p.Value > peak.Value {
			peak = p
		}
	}
	rate := sum / (w.Duration().Seconds() + 1)
	for _, t := range []struct {
		name string
		th   rulefmt.Threshold
		v    float64
	}{{"sum", cond.Sum, sum}, {"peak", cond.Peak, peak.Value}, {"rate", cond.Rate, rate}} {
		if !t.th.Holds(t.v) {
			res.why = fmt.Sprintf("%s: %s %s %s in %s on %s, want %s", cond.Name, cond.Metric, t.name, fmtNum(t.v), cond.Window,
				x.scope(j), t.th)
			return
		}
	}
	res.met = true
	n := cond.Name + "_"
	res.facts[n+"sum"] = fmtNum(sum)
	res.facts[n+"peak"] = fmtNum(peak.Value) + "/s"
	res.facts[n+"rate"] = fmtNum(rate) + "/s"
	res.facts[n+"backend"] = strings.Join(backends, ", ")
	res.evidence = x.burstEvidence(cond, j, w, peak)
}

func (x *ectx) scope(j rulefmt.Join) string {
	switch j {
	case rulefmt.JoinAny:
		return "any backend"
	case rulefmt.JoinSameOrNone:
		return orUnknown(x.a.backend) + " (or unattributed)"
	}
	return orUnknown(x.a.backend)
}

// burstKind maps a counter metric back to the burst kind counted into it.
func burstKind(m timeline.Metric) (timeline.Kind, bool) {
	for _, k := range timeline.BurstKinds {
		if bm, _ := timeline.BurstMetric(k); bm == m {
			return k, true
		}
	}
	return "", false
}

// burstEvidence cites the lines of the burst events behind a counter in w,
// or the peak second's first line when the counter has no burst kind.
func (x *ectx) burstEvidence(cond *rulefmt.Condition, j rulefmt.Join, w timeline.Window, peak timeline.Point) []Evidence {
	var out []Evidence
	if k, ok := burstKind(cond.Metric); ok {
		// Bursts may start before the window and run into it; cite the
		// biggest first.
		lo := timeline.Window{Start: w.Start.Add(-time.Hour), End: w.End}
		var bursts []*timeline.Event
		evs := x.tl.EventsIn(lo)
		for i := range evs {
			e := &evs[i]
			if e.Kind != k || !x.backendOK(j, e.Backend) {
				continue
			}
			end := e.End
			if end.IsZero() {
				end = e.Time
			}
			if end.Before(w.Start) {
				continue
			}
			bursts = append(bursts, e)
		}
		sort.SliceStable(bursts, func(a, b int) bool { return bursts[a].Count > bursts[b].Count })
		for _, e := range bursts {
			out = append(out, eventEvidence(cond.Role, e)...)
			if len(out) >= maxCite {
				break
			}
		}
	}
	if len(out) == 0 && !peak.Pos.IsZero() {
		out = append(out, Evidence{Role: cond.Role, Evidence: timeline.Evidence{Pos: peak.Pos, Time: peak.Time}})
	}
	if len(out) > maxCite {
		out = out[:maxCite]
	}
	return out
}

func (x *ectx) rise(cond *rulefmt.Condition, j rulefmt.Join, ref time.Time, w timeline.Window, res *cres) {
	ss := x.seriesFor(cond.Metric, j)
	bw := cond.Baseline.Window(ref)
	var after, before, total float64
	var peak timeline.Point
	var backends []string
	if cond.Metric.IsCounter() {
		pts, bs := counterPoints(ss, w)
		backends = bs
		var sum float64
		for _, p := range pts {
			sum += p.Value
			if p.Value > peak.Value {
				peak = p
			}
		}
		total = sum
		bsum := sumOf(ss, bw)
		if cond.Per != "" {
			// Ratios of sums: e.g. connect seconds per request.
			per := x.seriesFor(cond.Per, j)
			after = ratio(sum, sumOf(per, w))
			before = ratio(bsum, sumOf(per, bw))
		} else {
			after = sum / (w.Duration().Seconds() + 1)
			before = bsum / (bw.Duration().Seconds() + 1)
		}
	} else {
		var in, base []timeline.Point
		for _, s := range ss {
			p := s.Points(w)
			if len(p) > 0 && s.Backend != "" {
				backends = append(backends, s.Backend)
			}
			in = append(in, p...)
			base = append(base, s.Points(bw)...)
		}
		if len(in) == 0 || len(base) == 0 {
			res.why = fmt.Sprintf("%s: no %s data in %s or its baseline %s on %s", cond.Name, cond.Metric, cond.Window, cond.Baseline, x.scope(j))
			return
		}
		var sum float64
		for _, p := range in {
			sum += p.Value
			if p.Value > peak.Value {
				peak = p
			}
		}
		after = sum / float64(len(in))
		total = sum
		before = correlate.Median(base)
	}
	if !(after >= cond.Factor*before && after >= cond.Min && after > before) {
		what, a, b := string(cond.Metric), fmtValue(cond.Metric, after), fmtValue(cond.Metric, before)
		if cond.Per != "" {
			what += " per " + string(cond.Per)
			a, b = fmtRatio(cond.Metric, cond.Per, after), fmtRatio(cond.Metric, cond.Per, before)
		}
		res.why = fmt.Sprintf("%s: %s %s in %s vs %s in baseline %s on %s, want x%s and >= %s", cond.Name, what,
			a, cond.Window, b, cond.Baseline, x.scope(j), fmtNum(cond.Factor), fmtNum(cond.Min))
		return
	}
	res.met = true
	n := cond.Name + "_"
	unit := func(v float64) string {
		if cond.Per != "" {
			return fmtRatio(cond.Metric, cond.Per, v)
		}
		return fmtValue(cond.Metric, v)
	}
	res.facts[n+"before"] = unit(before)
	res.facts[n+"after"] = unit(after)
	if before > 0 {
		res.facts[n+"factor"] = fmtNum(after / before)
	} else {
		res.facts[n+"factor"] = "∞"
	}
	res.facts[n+"backend"] = strings.Join(backends, ", ")
	res.facts[n+"peak"] = fmtValue(cond.Metric, peak.Value)
	res.facts[n+"sum"] = fmtNum(total)
	if cond.Metric.IsCounter() {
		res.evidence = x.burstEvidence(cond, j, w, peak)
	} else if !peak.Pos.IsZero() {
		res.evidence = []Evidence{{Role: cond.Role, Evidence: timeline.Evidence{Pos: peak.Pos, Time: peak.Time}}}
	}
}

func (x *ectx) gauge(cond *rulefmt.Condition, j rulefmt.Join, w timeline.Window, res *cres) {
	var pts []timeline.Point
	var backends []string
	for _, s := range x.seriesFor(cond.Metric, j) {
		p := s.Points(w)
		if len(p) > 0 && s.Backend != "" {
			backends = append(backends, s.Backend)
		}
		pts = append(pts, p...)
	}
	if len(pts) == 0 {
		res.why = fmt.Sprintf("%s: no %s data in %s on %s", cond.Name, cond.Metric, cond.Window, x.scope(j))
		return
	}
	sort.SliceStable(pts, func(a, b int) bool { return pts[a].Time.Before(pts[b].Time) })
	hi, lo := pts[0], pts[0]
	var sum float64
	for _, p := range pts {
		sum += p.Value
		if p.Value > hi.Value {
			hi = p
		}
		if p.Value < lo.Value {
			lo = p
		}
	}
	first, last := pts[0], pts[len(pts)-1]
	mean := sum / float64(len(pts))
	span := last.Time.Sub(first.Time)
	if cond.Span > 0 && span < cond.Span {
		res.why = fmt.Sprintf("%s: %s observed over %s in %s on %s, want >= %s", cond.Name, cond.Metric, fmtDur(span), cond.Window, x.scope(j), fmtDur(cond.Span))
		return
	}
	var cite []timeline.Point
	for _, t := range []struct {
		name string
		th   rulefmt.Threshold
		p    timeline.Point
	}{{"max", cond.Max, hi}, {"min", cond.Low, lo}, {"last", cond.Last, last}, {"mean", cond.Mean, timeline.Point{Value: mean}}} {
		if !t.th.Holds(t.p.Value) {
			res.why = fmt.Sprintf("%s: %s %s %s in %s on %s, want %s", cond.Name, cond.Metric, t.name, fmtValue(cond.Metric, t.p.Value),
				cond.Window, x.scope(j), t.th)
			return
		}
		if t.th.Set() && !t.p.Pos.IsZero() {
			cite = append(cite, t.p)
		}
	}
	if len(cite) == 0 {
		cite = append(cite, hi)
	}
	res.met = true
	n := cond.Name + "_"
	res.facts[n+"max"] = fmtValue(cond.Metric, hi.Value)
	res.facts[n+"min"] = fmtValue(cond.Metric, lo.Value)
	res.facts[n+"last"] = fmtValue(cond.Metric, last.Value)
	res.facts[n+"first"] = fmtValue(cond.Metric, first.Value)
	res.facts[n+"mean"] = fmtValue(cond.Metric, mean)
	res.facts[n+"span"] = fmtDur(span)
	res.facts[n+"backend"] = strings.Join(backends, ", ")
	seen := map[timeline.Pos]bool{}
	for _, p := range cite {
		if p.Pos.IsZero() || seen[p.Pos] {
			continue
		}
		seen[p.Pos] = true
		res.evidence = append(res.evidence, Evidence{Role: cond.Role, Evidence: timeline.Evidence{Pos: p.Pos, Time: p.Time}})
	}
}

func sumOf(ss []*timeline.Series, w timeline.Window) float64 {
	var s float64
	for _, x := range ss {
		s += x.Sum(w)
	}
	return s
}

// ratio returns a/b, or 0 when b is 0 (no denominator, no evidence of a
// rise).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// cause checks the changes the analysis linked to the anchor's change
// point, best first, for one matching cond.
func (x *ectx) cause(cond *rulefmt.Condition, res *cres) {
	h := x.a.cp
	if h == nil {
		res.why = cond.Name + ": the anchor is not a change point"
		return
	}
	for i := range h.cp.Candidates {
		l := &h.cp.Candidates[i]
		if cond.MaxLag > 0 && l.Lag > cond.MaxLag {
			continue
		}
		if !rulefmt.MatchAny(cond.Events, &l.Event) {
			continue
		}
		x.eventMet(res, cond, &l.Event, x.a.time, max(l.Event.Count, 1))
		res.facts[cond.Name+"_lag"] = fmtDur(l.Lag)
		res.facts[cond.Name+"_reason"] = l.Reason
		return
	}
	var others []string
	for i := range h.cp.Candidates {
		if i == 3 {
			others = append(others, fmt.Sprintf("%d more", len(h.cp.Candidates)-3))
			break
		}
		e := &h.cp.Candidates[i].Event
		others = append(others, string(e.Kind)+" at "+x.clock(e.Time))
	}
	linked := "no setting change, reload, deploy step or pool change preceded it"
	if len(others) > 0 {
		linked = "preceded only by " + strings.Join(others, ", ")
	}
	res.why = fmt.Sprintf("%s: no %s linked to the change of %s at %s (%s)", cond.Name, describeMatchers(cond.Events),
		h.cp.Series(), x.clock(h.cp.Time), linked)
}

// change looks for a selected change point with its onset in w, on a
// backend in scope, nearest to ref.
func (x *ectx) change(cond *rulefmt.Condition, j rulefmt.Join, ref time.Time, w timeline.Window, res *cres) {
	var pick *cpHit
	hits := x.st.changes(x.tl, cond.Change)
	for i := range hits {
		h := &hits[i]
		if !w.Contains(h.cp.Time) || !x.backendOK(j, h.cp.Backend) {
			continue
		}
		if pick == nil || h.cp.Time.Sub(ref).Abs() < pick.cp.Time.Sub(ref).Abs() {
			pick = h
		}
	}
	if pick == nil {
		res.why = fmt.Sprintf("%s: no %s in %s of %s on %s", cond.Name, describeChange(cond.Change), cond.Window,
			x.refName(cond), x.scope(j))
		return
	}
	res.met = true
	cp := pick.cp
	n := cond.Name + "_"
	res.facts[n+"time"] = x.clock(cp.Time)
	res.facts[n+"ago"] = x.rel(cp.Time.Sub(ref))
	res.facts[n+"before"] = fmtValue(cond.Metric, cp.Before)
	res.facts[n+"after"] = fmtValue(cond.Metric, cp.After)
	res.facts[n+"factor"] = fmtNum(pick.size)
	res.facts[n+"backend"] = cp.Backend
	res.facts[n+"lag"], res.facts[n+"cause"] = "", ""
	if l := cp.Cause; l != nil {
		res.facts[n+"lag"] = fmtDur(l.Lag)
		res.facts[n+"cause"] = x.changeText(&l.Event)
	}
	if !pick.first.Pos.IsZero() {
		res.evidence = []Evidence{{Role: cond.Role, Evidence: timeline.Evidence{Pos: pick.first.Pos, Time: pick.first.Time}}}
	}
}

// direction words a level change for the anchor_direction fact.
func direction(before, after float64) string {
	if after < before {
		return "fell"
	}
	return "rose"
}
