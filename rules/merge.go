package rules

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/rules/rulefmt"
	"github.com/postmortem-tool/postmortem/timeline"
)

// group is candidates folded into one finding.
type group struct {
	key        string
	cands      []*candidate
	start, end time.Time
}

// best returns the representative candidate: highest confidence, then the
// most met conditions, then (for shift anchors) the highest new level, then
// the earliest.
func (g *group) best() *candidate {
	b := g.cands[0]
	for _, c := range g.cands[1:] {
		switch {
		case c.confidence != b.confidence:
			if c.confidence > b.confidence {
				b = c
			}
		case len(c.met) != len(b.met):
			if len(c.met) > len(b.met) {
				b = c
			}
		case c.a.level() > b.a.level():
			b = c
		}
	}
	return b
}

func mergeCandidates(r *rulefmt.Rule, tl *timeline.Timeline, cands []*candidate, opts EvalOptions) []Finding {
	if len(cands) == 0 {
		return nil
	}
	key := func(c *candidate) string {
		if r.Merge.AcrossBackends {
			return ""
		}
		return c.a.backend
	}
	sort.SliceStable(cands, func(i, j int) bool {
		ki, kj := key(cands[i]), key(cands[j])
		if ki != kj {
			return ki < kj
		}
		return cands[i].start.Before(cands[j].start)
	})
	var groups []*group
	var cur *group
	for _, c := range cands {
		k := key(c)
		if cur != nil && cur.key == k && !c.start.After(cur.end.Add(r.Merge.Within)) &&
			!splitBetween(r, tl, cur.cands[len(cur.cands)-1], c) {
			cur.cands = append(cur.cands, c)
			if c.end.After(cur.end) {
				cur.end = c.end
			}
			continue
		}
		cur = &group{key: k, cands: []*candidate{c}, start: c.start, end: c.end}
		groups = append(groups, cur)
	}
	// Repeats: later groups with the same key within RepeatWithin.
	repeats := map[*group][]string{}
	repeatOf := map[*group]*group{}
	for i, g := range groups {
		if repeatOf[g] != nil {
			continue
		}
		last := g
		for _, h := range groups[i+1:] {
			if h.key != g.key || repeatOf[h] != nil {
				continue
			}
			if r.Merge.RepeatWithin > 0 && !h.start.After(last.end.Add(r.Merge.RepeatWithin)) {
				repeatOf[h] = g
				repeats[g] = append(repeats[g], h.start.In(opts.Loc).Format("15:04:05"))
				last = h
			}
		}
	}
	out := make([]Finding, 0, len(groups))
	for _, g := range groups {
		out = append(out, render(r, g, repeats[g], repeatOf[g], opts))
	}
	return out
}

func render(r *rulefmt.Rule, g *group, repeats []string, first *group, opts EvalOptions) Finding {
	b := g.best()
	facts := map[string]string{}
	for k, v := range b.facts {
		facts[k] = v
	}
	backends := map[string]bool{}
	for _, c := range g.cands {
		if c.a.backend != "" {
			backends[c.a.backend] = true
		}
	}
	var bl []string
	for k := range backends {
		bl = append(bl, k)
	}
	sort.Strings(bl)
	facts["rule"] = r.ID
	facts["case"] = r.Case
	facts["backends"] = strings.Join(bl, ", ")
	facts["start"] = g.start.In(opts.Loc).Format("15:04:05")
	facts["end"] = g.end.In(opts.Loc).Format("15:04:05")
	facts["date"] = g.start.In(opts.Loc).Format("2006-01-02")
	facts["anchors"] = strconv.Itoa(len(g.cands))
	facts["anchor_time"] = g.cands[0].facts["anchor_time"]
	facts["repeats"] = strings.Join(repeats, ", ")
	facts["repeat_of"] = ""
	if first != nil {
		facts["repeat_of"] = first.start.In(opts.Loc).Format("15:04:05")
	}
	sev := r.Severity
	if e := r.Escalate; e != nil {
		for _, n := range e.IfAny {
			if b.met[n] {
				sev = e.Severity
				break
			}
		}
	}
	f := Finding{
		Rule:       r.ID,
		Case:       r.Case,
		Severity:   Severity(sev),
		Confidence: b.confidence,
		Start:      g.start,
		End:        g.end,
		Backend:    b.a.backend,
		Trigger:    b.trigger,
		Facts:      map[string]string{},
	}
	// Evidence: the representative's condition evidence and every
	// candidate's anchor lines, deduplicated by position (by role and text
	// for statements without one), in time order.
	// Anchor lines first (so that ties in time put the anchor first), but a
	// line that a condition cites keeps the condition's role.
	cited := map[timeline.Pos]bool{}
	for _, e := range b.evidence {
		if !e.Pos.IsZero() {
			cited[e.Pos] = true
		}
	}
	var ev []Evidence
	for _, c := range g.cands {
		for _, e := range c.anchorEv {
			if !cited[e.Pos] {
				ev = append(ev, e)
			}
		}
	}
	ev = append(ev, b.evidence...)
	conds := conditionsByName(r)
	seen := map[string]bool{}
	for _, e := range ev {
		if strings.HasPrefix(e.Text, absentMarker) {
			e.Text = absentText(e.Text, conds, facts)
		}
		k := e.Pos.String()
		if e.Pos.IsZero() {
			k = e.Role + "\x00" + e.Text
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		f.Evidence = append(f.Evidence, e)
	}
	sort.SliceStable(f.Evidence, func(i, j int) bool { return f.Evidence[i].Time.Before(f.Evidence[j].Time) })
	if f.Evidence == nil {
		f.Evidence = []Evidence{}
	}
	f.Title = renderOne(r.Title, facts)
	f.Summary = renderOne(r.Summary, facts)
	f.Contributing = renderList(r.Contributing, facts)
	f.Prevention = renderList(r.Prevention, facts)
	if f.Prevention == nil {
		f.Prevention = []string{}
	}
	f.Mistakes = renderList(r.Mistakes, facts)
	f.Checklist = renderList(r.Checklist, facts)
	for k, v := range facts {
		if v != "" {
			f.Facts[k] = v
		}
	}
	return f
}

func conditionsByName(r *rulefmt.Rule) map[string]*rulefmt.Condition {
	m := map[string]*rulefmt.Condition{}
	var walk func([]*rulefmt.Condition)
	walk = func(cs []*rulefmt.Condition) {
		for _, c := range cs {
			m[c.Name] = c
			walk(c.Of)
		}
	}
	walk(r.Require)
	walk(r.Support)
	return m
}

// absentText renders the statement of an absence marker.
func absentText(marker string, conds map[string]*rulefmt.Condition, facts map[string]string) string {
	rest := strings.TrimPrefix(marker, absentMarker)
	name, def, _ := strings.Cut(rest, "\x00")
	if c := conds[name]; c != nil && c.Text != nil {
		if s := renderOne(c.Text, facts); s != "" {
			return s
		}
	}
	return def
}

// renderOne renders t; a template that fails at run time renders as its
// source, so that a finding never loses its text silently.
func renderOne(t *rulefmt.Template, facts map[string]string) string {
	if t == nil {
		return ""
	}
	s, err := t.Render(facts)
	if err != nil {
		return t.Src
	}
	return strings.Join(strings.Fields(s), " ")
}

func renderList(ts []*rulefmt.Template, facts map[string]string) []string {
	var out []string
	for _, t := range ts {
		if s := renderOne(t, facts); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// fmtNum formats x compactly: whole numbers (and anything from 1000 up)
// without decimals, others with one or two decimals, small values with two
// significant digits.
func fmtNum(x float64) string {
	switch {
	case math.IsNaN(x):
		return "n/a"
	case math.IsInf(x, 1):
		return "∞"
	case math.IsInf(x, -1):
		return "-∞"
	}
	if r := math.Round(x); (math.Abs(x-r) < 1e-9 || math.Abs(x) >= 1000) && math.Abs(x) < 1e15 {
		return strconv.FormatInt(int64(r), 10)
	}
	prec := 2
	if a := math.Abs(x); a >= 10 {
		prec = 1
	} else if a < 0.1 {
		// Two significant digits for small rates (0.0028/s).
		prec = min(1-int(math.Floor(math.Log10(a))), 8)
	}
	s := strconv.FormatFloat(x, 'f', prec, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// fmtDur formats d as "2h11m" (seconds dropped from an hour up), "3m20s",
// "45s", "0s".
func fmtDur(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	var sb strings.Builder
	if h > 0 {
		sb.WriteString(strconv.Itoa(h) + "h")
	}
	if m > 0 {
		sb.WriteString(strconv.Itoa(m) + "m")
	}
	if (s > 0 && h == 0) || sb.Len() == 0 {
		sb.WriteString(strconv.Itoa(s) + "s")
	}
	return sb.String()
}

// fmtValue formats a metric value: seconds metrics as durations, counters
// as per-second rates, others as numbers.
func fmtValue(m timeline.Metric, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmtNum(v)
	}
	if strings.HasSuffix(string(m), "_seconds") {
		if math.Abs(v) > 1e9 {
			return fmtNum(v) + "s"
		}
		return fmtDur(time.Duration(v * float64(time.Second)))
	}
	if m.IsCounter() {
		return fmtNum(v) + "/s"
	}
	return fmtNum(v)
}

// fmtRatio formats a ratio of counter m to counter per: seconds sums become
// durations with millisecond precision ("350ms", "1.2s"), counts per request
// percentages ("0.13%"), others plain numbers.
func fmtRatio(m, per timeline.Metric, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmtNum(v)
	}
	if per == timeline.MetricRequests && !strings.Contains(string(m), "_seconds") {
		return fmtNum(v*100) + "%"
	}
	if strings.Contains(string(m), "_seconds") {
		switch a := math.Abs(v); {
		case a < 1:
			return fmtNum(math.Round(v*1e4)/10) + "ms"
		case a < 60:
			return fmtNum(v) + "s"
		}
		return fmtDur(time.Duration(v * float64(time.Second)))
	}
	return fmtNum(v)
}

// splitBetween reports whether an event matching the rule's merge.split_on
// lies after anchor a and no later than anchor b, on their backend or on
// none, so that b starts a finding of its own.
func splitBetween(r *rulefmt.Rule, tl *timeline.Timeline, a, b *candidate) bool {
	if len(r.Merge.SplitOn) == 0 || tl == nil {
		return false
	}
	from, to := a.start, b.start
	if !from.Before(to) {
		return false
	}
	for _, e := range tl.EventsIn(timeline.Window{Start: from, End: to}) {
		if !e.Time.After(from) {
			continue
		}
		if e.Backend != "" && b.a.backend != "" && e.Backend != b.a.backend {
			continue
		}
		if rulefmt.MatchAny(r.Merge.SplitOn, &e) {
			return true
		}
	}
	return false
}
