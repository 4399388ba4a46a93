package export

import (
	"strconv"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/rules/rulefmt"
	"github.com/postmortem-tool/postmortem/timeline"
)

// lokiTr translates to LogQL metric queries over the streams named in
// Mapping.Loki.
type lokiTr struct{ m *Mapping }

func (t *lokiTr) lang() string { return "LogQL" }

// quote returns a LogQL string literal: backquoted (raw) when possible.
func quote(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// logQuery returns the log pipeline selecting the lines m matches.
func (t *lokiTr) logQuery(m *rulefmt.Matcher) (string, string, bool) {
	sm, ok := t.m.Loki.Streams[string(m.Kind)]
	if !ok {
		return "", "event kind " + string(m.Kind) + " has no Loki mapping (add it under loki.streams)", false
	}
	var b strings.Builder
	b.WriteString(sm.Selector)
	for _, f := range sm.Filters {
		b.WriteString(" |= " + quote(f))
	}
	if sm.Regexp != "" {
		b.WriteString(" |~ " + quote(sm.Regexp))
	}
	for _, a := range m.Attrs {
		if a.Op != "in" {
			return "", "attribute matcher " + a.Name + " " + a.Op + " on " + string(m.Kind) + " cannot be expressed as a line filter", false
		}
		var alts []string
		for _, v := range a.Values {
			re, ok := sm.Attrs[a.Name][v]
			if !ok {
				return "", "no Loki mapping for " + string(m.Kind) + " " + a.Name + "=" + v + " (add it under loki.streams." + string(m.Kind) + ".attrs)", false
			}
			alts = append(alts, re)
		}
		if len(alts) == 1 {
			b.WriteString(" |~ " + quote(alts[0]))
		} else {
			b.WriteString(" |~ " + quote("(?:"+strings.Join(alts, ")|(?:")+")"))
		}
	}
	if m.Text != nil {
		b.WriteString(" |~ " + quote(m.Text.String()))
	}
	if sm.BackendStage != "" {
		b.WriteString(" " + sm.BackendStage)
	}
	return b.String(), "", true
}

// counted returns the event kind a counter metric counts, if any.
func counted(m timeline.Metric) (timeline.Kind, bool) {
	for _, k := range timeline.BurstKinds {
		if bm, _ := timeline.BurstMetric(k); bm == m {
			return k, true
		}
	}
	return "", false
}

// kindQuery returns the log pipeline of every line counted into metric m.
func (t *lokiTr) kindQuery(m timeline.Metric) (string, string, bool) {
	k, ok := counted(m)
	if !ok {
		return "", "metric " + string(m) + " is not a count of log lines; export it with --to prometheus", false
	}
	return t.logQuery(&rulefmt.Matcher{Kind: k})
}

// events returns "count of matching lines in w >= n" for any of ms; matchers
// that cannot be expressed are noted and left out.
func (t *lokiTr) events(x *rctx, part string, ms []*rulefmt.Matcher, w time.Duration, n int) (string, string, bool) {
	var alts []string
	var whys []string
	for _, m := range ms {
		q, why, ok := t.logQuery(m)
		if !ok {
			whys = append(whys, why)
			continue
		}
		alts = append(alts, "sum by (backend) (count_over_time("+q+" ["+promDur(w)+"])) >= "+strconv.Itoa(max(n, 1)))
	}
	if len(alts) == 0 {
		return "", strings.Join(whys, "; "), false
	}
	for _, why := range whys {
		x.left(part, "one alternative left out: "+why)
	}
	return strings.Join(alts, "\nor "), "", true
}

func (t *lokiTr) anchor(x *rctx, a *rulefmt.Anchor, lookback time.Duration) (string, string, bool) {
	if c := a.ChangePoint; c != nil {
		s := changeShift(c)
		q, why, ok := t.kindQuery(s.Metric)
		if !ok {
			return "", "change point of " + string(s.Metric) + ": " + why, false
		}
		cur := "sum by (backend) (rate(" + q + " [1m]))"
		base := "sum by (backend) (rate(" + q + " [" + promDur(s.Baseline) + "] offset " + promDur(holdOf(s)) + "))"
		x.approx("anchor", "the change point of "+string(c.Metric)+" is exported as the current rate against the mean rate of the 30m before it")
		if c.Direction == "down" {
			return num(s.Factor) + " * " + cur + " < " + base + "\nand " + base + " > " + num(s.Min), "", true
		}
		return cur + " > " + num(s.Factor) + " * " + base + "\nand " + cur + " > " + num(s.Min), "", true
	}
	if s := a.Shift; s != nil {
		q, why, ok := t.kindQuery(s.Metric)
		if !ok {
			return "", "level shift of " + string(s.Metric) + ": " + why, false
		}
		cur := "sum by (backend) (rate(" + q + " [1m]))"
		base := "sum by (backend) (rate(" + q + " [" + promDur(s.Baseline) + "] offset " + promDur(holdOf(s)) + "))"
		x.approx("anchor", "the baseline median of the level shift is exported as the mean rate over the baseline")
		return cur + " > " + num(s.Factor) + " * " + base + "\nand " + cur + " > " + num(s.Min), "", true
	}
	if a.BackendFrom != nil {
		x.left("anchor.backend_from", "attributing a host-less anchor event to the backend of an earlier "+describe(a.BackendFrom.Events)+" is a join LogQL cannot express; such lines alert with an empty backend")
	}
	return t.events(x, "anchor", a.Events, lookback, 1)
}

func (t *lokiTr) leaf(x *rctx, c *rulefmt.Condition) (string, string, bool) {
	w := c.Window.To - c.Window.From
	switch c.Type {
	case rulefmt.CondEvent:
		return t.events(x, c.Name, c.Events, w, c.Count)
	case rulefmt.CondRise:
		q, why, ok := t.kindQuery(c.Metric)
		if !ok {
			return "", why, false
		}
		if c.Per != "" {
			return "", "ratio per " + string(c.Per) + ": metric " + string(c.Per) + " is not a count of matched log lines; export with --to prometheus", false
		}
		off := c.Window.To - c.Baseline.To
		bw := c.Baseline.To - c.Baseline.From
		cur := "sum by (backend) (rate(" + q + " [" + promDur(w) + "]))"
		base := "sum by (backend) (rate(" + q + " [" + promDur(bw) + "] offset " + promDur(off) + "))"
		return cur + " > " + num(c.Factor) + " * " + base + "\nand " + cur + " > " + num(c.Min), "", true
	case rulefmt.CondCounter:
		q, why, ok := t.kindQuery(c.Metric)
		if !ok {
			return "", why, false
		}
		var parts []string
		if c.Sum.Set() {
			parts = append(parts, "sum by (backend) (count_over_time("+q+" ["+promDur(w)+"])) "+c.Sum.String())
		}
		if c.Rate.Set() {
			parts = append(parts, "sum by (backend) (rate("+q+" ["+promDur(w)+"])) "+c.Rate.String())
		}
		if c.Peak.Set() {
			x.approx(c.Name, "peak rate exported as the mean rate over the window")
			parts = append(parts, "sum by (backend) (rate("+q+" ["+promDur(w)+"])) "+c.Peak.String())
		}
		if len(parts) == 0 {
			parts = append(parts, "sum by (backend) (count_over_time("+q+" ["+promDur(w)+"])) > 0")
		}
		return strings.Join(parts, "\nand "), "", true
	case rulefmt.CondGauge:
		return "", "gauge " + string(c.Metric) + " is a sampled value, not a count of log lines; export it with --to prometheus", false
	}
	return "", "condition type " + string(c.Type) + " cannot be expressed in LogQL", false
}
