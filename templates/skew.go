package templates

import (
	"time"

	"github.com/postmortem-tool/postmortem/correlate"
)

// SkewInput is one clock-skew estimate and what the run did with it.
type SkewInput struct {
	correlate.SourceSkew
	// Applied is true when the source's times were shifted by -Skew; Note
	// says why it was or was not ("corrected", "not applied: only 1 pair").
	Applied bool
	Note    string
}

// SkewRow is one clock-skew estimate in the draft: Source's clock minus
// Reference's clock, in seconds (positive: Source runs ahead), with the
// interval the agreeing anchor pairs allow and the pairs themselves.
type SkewRow struct {
	Source             Text       `json:"source"`
	Reference          Text       `json:"reference"`
	ReferenceReason    string     `json:"reference_reason,omitempty"`
	Via                []Text     `json:"via,omitempty"`
	SkewSeconds        float64    `json:"skew_seconds"`
	LoSeconds          float64    `json:"lo_seconds"`
	HiSeconds          float64    `json:"hi_seconds"`
	UncertaintySeconds float64    `json:"uncertainty_seconds"`
	Pairs              int        `json:"pairs"`
	Confident          bool       `json:"confident"`
	Applied            bool       `json:"applied"`
	Note               Text       `json:"note"`
	Sentence           Text       `json:"sentence"`
	Evidence           []SkewPair `json:"evidence"`
	// Shown is true when the Markdown draft lists the row: a skew was
	// corrected, found but not applied, or suggested by pairs too few or
	// too inconsistent to apply. "No detectable skew" stays in JSON only.
	Shown bool `json:"-"`
}

// SkewPair is one anchor pair behind an estimate: two lines that must be
// near-simultaneous, in two sources, with their times as each source's
// clock wrote them.
type SkewPair struct {
	Rule   string  `json:"rule"`
	A      SkewEnd `json:"a"`
	B      SkewEnd `json:"b"`
	Agrees bool    `json:"agrees"`
}

// SkewEnd is one end of a SkewPair.
type SkewEnd struct {
	Source Text  `json:"source"`
	Line   int64 `json:"line"`
	Ref    Text  `json:"ref"`
	Time   Time  `json:"time"`
	What   Text  `json:"what"`
}

// SetSkew fills r.Skew from the run's estimates, in their order.
func (r *Report) SetSkew(in []SkewInput, loc *time.Location, redact bool) {
	b := &builder{loc: loc, redact: redact}
	if b.loc == nil {
		b.loc = time.UTC
	}
	r.Skew = make([]SkewRow, 0, len(in))
	for _, s := range in {
		row := SkewRow{
			Source: b.text(s.Source), Reference: b.text(s.Reference),
			SkewSeconds: s.Skew.Seconds(), LoSeconds: s.Lo.Seconds(), HiSeconds: s.Hi.Seconds(),
			UncertaintySeconds: s.Uncertainty.Seconds(), Pairs: s.Pairs,
			Confident: s.Confident, Applied: s.Applied, Note: b.text(s.Note),
			Sentence: b.text(s.Sentence() + ": " + s.Note),
			Evidence: []SkewPair{},
			Shown:    s.Applied || s.Confident || absDur(s.Skew) > s.Uncertainty,
		}
		for _, v := range s.Via {
			row.Via = append(row.Via, b.text(v))
		}
		for _, p := range s.Evidence {
			row.Evidence = append(row.Evidence, SkewPair{Rule: p.Rule, A: b.skewEnd(p.A), B: b.skewEnd(p.B), Agrees: p.Agrees})
		}
		r.Skew = append(r.Skew, row)
	}
}

// ShownSkew returns the rows the Markdown draft lists.
func (r *Report) ShownSkew() []SkewRow {
	var out []SkewRow
	for _, s := range r.Skew {
		if s.Shown {
			out = append(out, s)
		}
	}
	return out
}

func (b *builder) skewEnd(e correlate.AnchorEnd) SkewEnd {
	return SkewEnd{Source: b.text(e.Pos.File), Line: e.Pos.Line, Ref: b.text(e.Pos.String()), Time: b.time(e.Time), What: b.text(e.What)}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
