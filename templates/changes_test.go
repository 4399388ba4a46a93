package templates

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/correlate"
	"github.com/postmortem-tool/postmortem/timeline"
)

// hardCutAnalysis is a change-point analysis of the hard-cut fixture as
// correlate.Analyze shapes it: two changes that belong to the findings,
// one on a backend whose name is hostile Markdown, a dozen lesser changes
// of unrelated series, a flapping series of which the draft keeps two, and
// two shifts too small for the draft.
func hardCutAnalysis() *correlate.Analysis {
	ev := func(t time.Time, k timeline.Kind, backend string, p timeline.Pos, text string, attrs ...string) timeline.Event {
		e := timeline.Event{Time: t, Kind: k, Backend: backend, Pos: p, Text: text, Attrs: map[string]string{}}
		for i := 0; i+1 < len(attrs); i += 2 {
			e.Attrs[attrs[i]] = attrs[i+1]
		}
		return e
	}
	keepalive := ev(at("1m30s"), timeline.KindConfigChange, "", pos(deployLog, 7), "nginx keepalive_timeout 65s -> 5s", "setting", "keepalive_timeout", "from", "65s", "to", "5s")
	reload := ev(at("1m31s"), timeline.KindConfigReload, "vm-c", pos(ngxErr, 40), "signal 1 (SIGHUP) received", "program", "nginx")
	kill := ev(at("2m"), timeline.KindDeployStep, "vm-c", pos(deployLog, 12), "vm-c: stop app (kill)", "step", "kill")
	removed := ev(at("2m"), timeline.KindBackendState, "vm-c", pos(lbLog, 88), "backend vm-c removed from pool abruptly", "state", "removed")
	link := func(e timeline.Event, onset time.Time, score int, why string) correlate.Link {
		return correlate.Link{Event: e, Lag: onset.Sub(e.Time), Score: score, Reason: why}
	}
	cp := func(m timeline.Metric, backend string, t time.Time, before, after, score float64, links ...correlate.Link) correlate.ChangePoint {
		c := correlate.ChangePoint{Metric: m, Backend: backend, Break: correlate.Break{Time: t, Before: before, After: after,
			Delta: after - before, Ratio: after / before, Score: score}}
		if len(links) > 0 {
			c.Cause, c.Alternatives, c.Candidates = &links[0], links[1:], links
		}
		return c
	}
	a := &correlate.Analysis{Step: 10 * time.Second, Window: timeline.Window{Start: at("0s"), End: at("40m")}}
	a.ChangePoints = append(a.ChangePoints,
		cp(timeline.MetricActiveConn, "vm-c", at("2m"), 1800, 300, 480, link(removed, at("2m"), 35, "backend pool state change"), link(kill, at("2m"), 35, "deploy step that moves traffic")),
		cp(timeline.MetricTimeWait, "vm-c", at("2m10s"), 1200, 18000, 910,
			link(keepalive, at("2m10s"), 32, "keepalive setting change before a TCP socket change"),
			link(reload, at("2m10s"), 25, "configuration reload"), link(kill, at("2m10s"), 15, "deploy step")),
		cp(timeline.MetricTimeWait, "vm-`x`|<b>", at("20m"), 2000, 9000, 60),
	)
	for i := 0; i < 12; i++ {
		a.ChangePoints = append(a.ChangePoints, cp(timeline.MetricWSSessions, fmt.Sprintf("vm-d%d", i), at(fmt.Sprintf("%dm", 5+2*i)), 1000, 2000+float64(i), 10+float64(i)))
	}
	for i, score := range []float64{55, 50, 45} {
		a.ChangePoints = append(a.ChangePoints, cp(timeline.MetricWSSessions, "vm-d0", at(fmt.Sprintf("%dm", 30+i)), 2000, 600+float64(i), score))
	}
	// Real but small shifts, with high scores: never in the draft.
	a.ChangePoints = append(a.ChangePoints,
		cp(timeline.MetricWSAvgAge, "vm-a", at("6m"), 3600, 3800, 900),
		cp(timeline.MetricWSAvgAge, "vm-b", at("6m"), 3800, 3000, 900),
		cp(timeline.MetricWSAvgAge, "vm-c", at("6m"), 600, 3600, 900)) // ages grow by themselves
	a.Correlation = &correlate.Correlation{R: 0.834, N: 120, Step: 10 * time.Second, Window: timeline.Window{Start: at("0s"), End: at("20m")}}
	return a
}

// TestIndicatorChanges renders the "Indicator changes" section: change
// points of a finding first, the clearest next, at most
// MaxIndicatorChanges with the rest counted, log-derived names escaped,
// and the correlation with its window.
func TestIndicatorChanges(t *testing.T) {
	in := hardCutInput()
	r := NewReport(in)
	if r.IndicatorChanges() != nil || strings.Contains(string(render(t, r)), "## Indicator changes") {
		t.Fatal("a report without an analysis has an Indicator changes section")
	}
	r.SetAnalysis(hardCutAnalysis(), in.Loc, false)
	ic := r.IndicatorChanges()
	if ic == nil || ic.Total != 21 || len(ic.Rows) != MaxIndicatorChanges || ic.More != 9 {
		t.Fatalf("IndicatorChanges = %+v", ic)
	}
	flaps := 0
	for _, row := range ic.Rows {
		if row.Metric == string(timeline.MetricWSAvgAge) {
			t.Errorf("listed a change of less than x%v or a rising age: %+v", MinDraftRatio, row)
		}
		if row.Series == "ws_sessions{vm-d0}" {
			flaps++
			if row.score == 45 || row.score == 10 {
				t.Errorf("kept the third change of a flapping series: %+v", row)
			}
		}
	}
	if flaps != MaxPerSeries {
		t.Errorf("%d changes of the flapping series, want %d", flaps, MaxPerSeries)
	}
	if got := []Text{ic.Rows[0].Series, ic.Rows[1].Series, ic.Rows[2].Series}; got[0] != "timewait{vm-c}" || got[1] != "active_conn{vm-c}" || got[2] != "timewait{vm-`x`|<b>}" {
		t.Errorf("ranking starts %v, want the findings' changes (clearest first), then the clearest other", got)
	}
	if f := ic.Rows[0].Findings; len(f) != 2 || f[0] != "hard-cut-without-drain" || f[1] != "timewait-explosion" {
		t.Errorf("timewait change belongs to %v", f)
	}
	md := string(render(t, r))
	for _, want := range []string{
		"## Indicator changes",
		"- 14:02:10 `timewait{vm-c}` rose 1200 -> 18000 (x15) **(hard-cut-without-drain, timewait-explosion)**: 40s after keepalive\\_timeout went 65s -&gt; 5s (`deploy/deploy.log:7`); also considered: nginx reload (`nginx/vm-c/error.log:40`, 39s), kill step (`deploy/deploy.log:12`, 10s)",
		"- 14:02:00 `active_conn{vm-c}` fell 1800 -> 300 (-83%) **(hard-cut-without-drain, timewait-explosion)**: 0s after backend\\_state state=removed on vm-c (`lb/lb.log:88`)",
		"- 14:20:00 ``timewait{vm-`x`|<b>}`` rose 2000 -> 9000 (x4.5): no setting change or deploy step in the 15 minutes before",
		"*9 more change points are in the JSON output (`changepoints`).*",
		"TIME_WAIT growth against the error rate: r = 0.834 (strong linear relation) over 120 steps of 10s, 14:00:00 to 14:20:00.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q\n%s", want, md[strings.Index(md, "## Indicator changes"):strings.Index(md, "## Contributing factors")])
		}
	}
	h, err := RenderHTML([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(h), "<b>") {
		t.Error("a backend name became HTML")
	}
	golden(t, "hardcut-changes.md.golden", []byte(md))
}

// TestIndicatorChangesNoneFound: an analysis with a correlation but no
// change point says so in one line.
func TestIndicatorChangesNoneFound(t *testing.T) {
	r := NewReport(noFindingInput())
	r.SetAnalysis(&correlate.Analysis{Correlation: &correlate.Correlation{R: -0.25, N: 30, Step: 5 * time.Second,
		Window: timeline.Window{Start: at("0s"), End: at("2m30s")}}}, jst, false)
	md := string(render(t, r))
	want := "## Indicator changes\n\nNo series changed level.\n\nTIME_WAIT growth against the error rate: r = -0.25 (weak linear relation) over 30 steps of 5s, 14:00:00 to 14:02:30.\n\n## Contributing factors"
	if !strings.Contains(md, want) {
		t.Errorf("draft lacks\n%s\n%s", want, md)
	}
}
