package templates

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/correlate"
	"github.com/postmortem-tool/postmortem/timeline"
)

// The draft lists corrected and suspected skews under Sources, escaped, and
// leaves "no detectable skew" to the JSON, which carries every estimate
// with its anchor pairs.
func TestSetSkew(t *testing.T) {
	loc := time.FixedZone("", 9*3600)
	t0 := time.Date(2026, 5, 1, 14, 2, 2, 0, loc)
	pair := correlate.AnchorPair{Rule: "pipeline-lb-out", Agrees: true,
		A: correlate.AnchorEnd{Source: "deploy.log", Pos: timeline.Pos{File: "deploy.log", Line: 3}, Time: t0},
		B: correlate.AnchorEnd{Source: "ha|<b>.log", Pos: timeline.Pos{File: "ha|<b>.log", Line: 7}, Time: t0.Add(8 * time.Second)}}
	in := []SkewInput{
		{SourceSkew: correlate.SourceSkew{Source: "ha|<b>.log", Reference: "deploy.log", Skew: 8 * time.Second, Lo: 2 * time.Second, Hi: 11 * time.Second,
			Uncertainty: 6 * time.Second, Pairs: 3, Confident: true, Evidence: []correlate.AnchorPair{pair}}, Applied: true, Note: "corrected"},
		{SourceSkew: correlate.SourceSkew{Source: "app.log", Reference: "deploy.log", Skew: 20 * time.Second, Uncertainty: 5 * time.Second, Pairs: 1, Reason: "only 1 pair"},
			Note: "not applied: only 1 pair"},
		{SourceSkew: correlate.SourceSkew{Source: "lb.log", Reference: "deploy.log", Skew: time.Second, Uncertainty: 6 * time.Second, Pairs: 4, Reason: "no detectable skew"},
			Note: "not applied: no detectable skew"},
	}
	r := NewReport(Input{Loc: loc})
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `"skew"`) {
		t.Errorf("JSON without estimates has a skew list")
	}
	r.SetSkew(in, loc, false)
	buf.Reset()
	if err := Default().Execute(&buf, r); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		`ha\|&lt;b&gt;.log runs 8s ahead of deploy.log (±6s, 3 pairs): corrected`,
		`app.log runs 20s ahead of deploy.log (±5s, 1 pair): not applied: only 1 pair`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q", want)
		}
	}
	if strings.Contains(md, "lb.log runs") {
		t.Errorf("draft lists an undetectable skew")
	}
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Skew []SkewRow `json:"skew"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Skew) != 3 {
		t.Fatalf("JSON skew has %d rows, want 3", len(got.Skew))
	}
	s := got.Skew[0]
	if s.SkewSeconds != 8 || s.LoSeconds != 2 || s.HiSeconds != 11 || !s.Applied || len(s.Evidence) != 1 ||
		s.Evidence[0].B.Ref != "ha|<b>.log:7" || s.Evidence[0].B.Time.Format(time.RFC3339) != "2026-05-01T14:02:10+09:00" {
		t.Errorf("JSON row %+v", s)
	}

	// Without a shown row the draft has no skew block at all.
	r.SetSkew(in[2:], loc, false)
	buf.Reset()
	if err := Default().Execute(&buf, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Clock skew") {
		t.Errorf("skew block without a skew to state")
	}
}
