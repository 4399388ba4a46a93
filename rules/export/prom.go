package export

import (
	"strconv"
	"strings"
	"time"

	"github.com/postmortem-tool/postmortem/rules/rulefmt"
	"github.com/postmortem-tool/postmortem/timeline"
)

// promTr translates to PromQL over the series named in Mapping.Prometheus.
type promTr struct{ m *Mapping }

func (t *promTr) lang() string { return "PromQL" }

func (t *promTr) metric(m timeline.Metric) (MetricMap, string, bool) {
	mm, ok := t.m.Prometheus.Metrics[string(m)]
	if !ok {
		return mm, "metric " + string(m) + " has no Prometheus mapping (add it under prometheus.metrics)", false
	}
	return mm, "", true
}

// vec aggregates inner by backend, taking the backend from the mapped label.
func vec(mm MetricMap, agg, inner string) string {
	if mm.BackendLabel != "" {
		re := mm.BackendRegex
		if re == "" {
			re = "(.*)"
		}
		inner = "label_replace(" + inner + `, "backend", "$1", ` + strconv.Quote(mm.BackendLabel) + ", " + strconv.Quote(re) + ")"
	}
	return agg + " by (backend) (" + inner + ")"
}

// instant is the per-second value of a counter or the value of a gauge.
func instant(mm MetricMap) string {
	if mm.Type == "counter" {
		return "rate(" + mm.Series + "[1m])"
	}
	return mm.Series
}

// overTime applies fn_over_time over the window w ending offset ago.
func overTime(mm MetricMap, fn string, w, offset time.Duration) string {
	off := ""
	if offset > 0 {
		off = " offset " + promDur(offset)
	}
	if fn == "quantile" {
		fn = "quantile_over_time(0.5, "
	} else {
		fn += "_over_time("
	}
	if mm.Type == "counter" {
		return fn + "rate(" + mm.Series + "[1m])[" + promDur(w) + ":]" + off + ")"
	}
	return fn + mm.Series + "[" + promDur(w) + "]" + off + ")"
}

func (t *promTr) anchor(x *rctx, a *rulefmt.Anchor, _ time.Duration) (string, string, bool) {
	if c := a.ChangePoint; c != nil {
		s := changeShift(c)
		mm, why, ok := t.metric(s.Metric)
		if !ok {
			return "", "change point of " + string(s.Metric) + ": " + why, false
		}
		cur := vec(mm, "sum", instant(mm))
		base := vec(mm, "sum", overTime(mm, "quantile", s.Baseline, holdOf(s)))
		x.approx("anchor", "the change point of "+string(c.Metric)+" (levels found by segmenting the whole series) is exported as the current level against the median of the 30m before it, held "+promDur(holdOf(s)))
		if c.Direction == "down" {
			return num(s.Factor) + " * " + cur + " < " + base + "\nand " + base + " > " + num(s.Min), "", true
		}
		return cur + " > " + num(s.Factor) + " * " + base + "\nand " + cur + " > " + num(s.Min), "", true
	}
	if s := a.Shift; s != nil {
		mm, why, ok := t.metric(s.Metric)
		if !ok {
			return "", "level shift of " + string(s.Metric) + ": " + why, false
		}
		cur := vec(mm, "sum", instant(mm))
		base := vec(mm, "sum", overTime(mm, "quantile", s.Baseline, holdOf(s)))
		return cur + " > " + num(s.Factor) + " * " + base + "\nand " + cur + " > " + num(s.Min), "", true
	}
	return "", "anchor on log events (" + describe(a.Events) + ") cannot be expressed over metrics; export with --to loki", false
}

func (t *promTr) leaf(x *rctx, c *rulefmt.Condition) (string, string, bool) {
	w := c.Window.To - c.Window.From
	switch c.Type {
	case rulefmt.CondEvent:
		return "", "log event (" + describe(c.Events) + ") cannot be expressed over metrics; export with --to loki", false
	case rulefmt.CondRise:
		mm, why, ok := t.metric(c.Metric)
		if !ok {
			return "", why, false
		}
		off := c.Window.To - c.Baseline.To
		bw := c.Baseline.To - c.Baseline.From
		cur := vec(mm, "sum", overTime(mm, "avg", w, 0))
		base := vec(mm, "sum", overTime(mm, "avg", bw, off))
		if mm.Type == "counter" {
			cur = vec(mm, "sum", "rate("+mm.Series+"["+promDur(w)+"])")
			base = vec(mm, "sum", "rate("+mm.Series+"["+promDur(bw)+"] offset "+promDur(off)+")")
		}
		if c.Per != "" {
			pm, why, ok := t.metric(c.Per)
			if !ok {
				return "", "ratio per " + string(c.Per) + ": " + why, false
			}
			cur = "(" + cur + " / " + vec(pm, "sum", "rate("+pm.Series+"["+promDur(w)+"])") + ")"
			base = "(" + base + " / " + vec(pm, "sum", "rate("+pm.Series+"["+promDur(bw)+"] offset "+promDur(off)+")") + ")"
		}
		return cur + " > " + num(c.Factor) + " * " + base + " and " + cur + " > " + num(c.Min), "", true
	case rulefmt.CondGauge:
		mm, why, ok := t.metric(c.Metric)
		if !ok {
			return "", why, false
		}
		var parts []string
		add := func(th rulefmt.Threshold, fn, agg string) {
			if th.Set() {
				parts = append(parts, vec(mm, agg, overTime(mm, fn, w, 0))+" "+th.String())
			}
		}
		add(c.Max, "max", "max")
		add(c.Low, "min", "min")
		add(c.Mean, "avg", "sum")
		if c.Last.Set() {
			parts = append(parts, vec(mm, "sum", instant(mm))+" "+c.Last.String())
		}
		if c.Span > 0 {
			x.approx(c.Name, "observations must span "+promDur(c.Span)+": exported as the whole window "+promDur(w))
		}
		if len(parts) == 0 {
			return vec(mm, "count", overTime(mm, "count", w, 0)) + " > 0", "", true
		}
		return strings.Join(parts, " and "), "", true
	case rulefmt.CondCounter:
		mm, why, ok := t.metric(c.Metric)
		if !ok {
			return "", why, false
		}
		var parts []string
		if c.Sum.Set() {
			parts = append(parts, vec(mm, "sum", "increase("+mm.Series+"["+promDur(w)+"])")+" "+c.Sum.String())
		}
		if c.Rate.Set() {
			parts = append(parts, vec(mm, "sum", "rate("+mm.Series+"["+promDur(w)+"])")+" "+c.Rate.String())
		}
		if c.Peak.Set() {
			parts = append(parts, vec(mm, "max", overTime(mm, "max", w, 0))+" "+c.Peak.String())
		}
		if len(parts) == 0 {
			return vec(mm, "sum", "increase("+mm.Series+"["+promDur(w)+"])") + " > 0", "", true
		}
		return strings.Join(parts, " and "), "", true
	}
	return "", "condition type " + string(c.Type) + " cannot be expressed in PromQL", false
}
