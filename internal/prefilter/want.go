package prefilter

import (
	"reflect"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

var (
	kindType   = reflect.TypeFor[timeline.Kind]()
	metricType = reflect.TypeFor[timeline.Metric]()
)

// changeKinds are the events the change-point analysis links an indicator
// change to (correlate.Analyze): a rule that reads any series may cite them
// as the cause.
var changeKinds = []timeline.Kind{timeline.KindConfigChange, timeline.KindConfigReload, timeline.KindDeployStep, timeline.KindBackendState}

// pipelineKinds are read by the run itself whatever the rules: clock-skew
// estimation pairs deploy steps, backend states, lifecycle events, resets,
// upstream errors and reloads across streams (pipeline.estimateSkew), and a
// correction it applies moves every event of a stream.
var pipelineKinds = []timeline.Kind{timeline.KindDeployStep, timeline.KindBackendState, timeline.KindAppLifecycle,
	timeline.KindConnReset, timeline.KindUpstreamError, timeline.KindConfigReload}

// WantOf returns the signals the rules of pack use: every event kind and
// metric named anywhere in a rule (found by walking the parsed rules, so a
// new condition type is covered without change here), the burst kinds
// counted into a named counter, and, when a rule reads any series, the
// change kinds a change point may be linked to, plus the kinds the run reads
// for clock-skew estimation.
func WantOf(pack *rules.Pack) parsers.Want {
	var kinds []timeline.Kind
	var metrics []timeline.Metric
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Key())
				walk(it.Value())
			}
		case reflect.String:
			switch v.Type() {
			case kindType:
				if s := v.String(); s != "" {
					kinds = append(kinds, timeline.Kind(s))
				}
			case metricType:
				if s := v.String(); s != "" {
					metrics = append(metrics, timeline.Metric(s))
				}
			}
		}
	}
	if pack != nil {
		for _, r := range pack.Rules {
			walk(reflect.ValueOf(r))
		}
	}
	if len(metrics) > 0 {
		kinds = append(kinds, changeKinds...)
	}
	kinds = append(kinds, pipelineKinds...)
	return parsers.WantOf(kinds, metrics)
}

// Window returns the span of the events and series of tl whose kind or
// metric want uses. Lines a Set skips yield none of those, so the span is
// the same with or without the prefilter.
func Window(tl *timeline.Timeline, want parsers.Want) timeline.Window {
	var w timeline.Window
	if tl == nil {
		return w
	}
	for i := range tl.Events {
		if e := &tl.Events[i]; want.Kind(e.Kind) {
			w.Extend(e.Time)
			w.Extend(e.End)
		}
	}
	for _, s := range tl.Series {
		if want.Metric(s.Metric) {
			sp := s.Span()
			w.Extend(sp.Start)
			w.Extend(sp.End)
		}
	}
	return w
}
