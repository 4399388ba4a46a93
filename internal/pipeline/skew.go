package pipeline

import (
	"fmt"

	"github.com/postmortem-tool/postmortem/correlate"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Skew modes, the values of Config.Skew.
const (
	SkewAuto   = "auto"   // estimate, and correct sources whose skew is confident (default)
	SkewReport = "report" // estimate and report only
	SkewOff    = "off"    // do not estimate
)

// ParseSkewMode checks a --skew value; "" means SkewAuto.
func ParseSkewMode(s string) (string, error) {
	switch s {
	case "":
		return SkewAuto, nil
	case SkewAuto, SkewReport, SkewOff:
		return s, nil
	}
	return "", fmt.Errorf("--skew %q: expected auto, report or off", s)
}

// SkewEstimate is the clock skew estimated for one log stream against the
// reference stream, and what the run did with it.
type SkewEstimate struct {
	correlate.SourceSkew
	// ReferenceReason says why the reference was chosen.
	ReferenceReason string
	// Applied is true when the stream's times were shifted by -Skew.
	Applied bool
	// Note says why it was or was not applied ("corrected", "only 1
	// pair", "--offset given", "--skew report").
	Note string
}

// Sentence is the draft's line for e: "haproxy.log runs 8s ahead of
// deploy.log (±3s, 4 pairs): corrected".
func (e *SkewEstimate) Sentence() string {
	return e.SourceSkew.Sentence() + ": " + e.Note
}

// estimateSkew measures the clock skew between the parsed streams and, in
// auto mode, shifts the parts of streams whose skew is confident. Streams
// given --offset are measured but never shifted. It runs before Merge.
func estimateSkew(cfg Config, jobs []*job, parts []*timeline.Timeline) []SkewEstimate {
	mode, err := ParseSkewMode(cfg.Skew)
	if err != nil || mode == SkewOff {
		return nil
	}
	var srcs []correlate.SkewSource
	byID := map[string]*job{}
	for _, j := range jobs {
		p := parts[j.idx]
		if j.format == nil || p == nil || len(p.Events) == 0 {
			continue
		}
		byID[j.stream.Name] = j
		srcs = append(srcs, correlate.SkewSource{ID: j.stream.Name, Events: p.Events, Series: p.Series})
	}
	if len(srcs) < 2 {
		return nil
	}
	rep := correlate.EstimateSkew(srcs, correlate.SkewOptions{})
	var out []SkewEstimate
	for _, s := range rep.Sources {
		e := SkewEstimate{SourceSkew: s, ReferenceReason: rep.ReferenceReason}
		j := byID[s.Source]
		switch {
		case !s.Confident:
			e.Note = "not applied: " + s.Reason
		case j.offset != 0:
			e.Note = fmt.Sprintf("not applied: --offset %s given", j.offset)
		case mode == SkewReport:
			e.Note = "not applied (--skew report)"
		default:
			e.Applied = true
			e.Note = "corrected"
			parts[j.idx].Shift(-s.Skew)
			w := fmt.Sprintf("times shifted by %s: clock skew estimated against %s (--offset or --skew report overrides)", correlate.FormatSkew(-s.Skew), s.Reference)
			for k := range j.files {
				j.files[k].Warnings = append(j.files[k].Warnings, w)
			}
		}
		out = append(out, e)
	}
	return out
}
