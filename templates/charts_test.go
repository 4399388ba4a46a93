package templates

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

// wellFormed fails unless b parses as XML from start to end.
func wellFormed(t *testing.T, name string, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", name, err)
		}
	}
}

func TestChartsGolden(t *testing.T) {
	in := hardCutInput()
	r := NewReport(in)
	charts := Charts(in.Timeline, r, jst)
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
		wellFormed(t, c.Name, c.SVG)
		golden(t, "hardcut-"+c.Name+".svg.golden", c.SVG)
	}
	// The fixture has active_conn and reset_rate gauges and reset/5xx
	// counters, but no TIME_WAIT, new_conn or WebSocket series.
	if got, want := strings.Join(names, ","), "active-conn,resets,5xx"; got != want {
		t.Fatalf("charts = %s, want %s", got, want)
	}
	again := Charts(in.Timeline, NewReport(hardCutInput()), jst)
	for i := range charts {
		if !bytes.Equal(charts[i].SVG, again[i].SVG) {
			t.Errorf("%s: second render differs", charts[i].Name)
		}
	}
	svg := string(charts[0].SVG)
	// Markers: deploy start, keepalive change, reload, kill, rollback, end
	// are settings; two backend_state lines are state transitions.
	if n := strings.Count(svg, `class="marker"`); n != 8 {
		t.Errorf("markers = %d, want 8", n)
	}
	if n := strings.Count(svg, `stroke-dasharray="2 2"`); n != 2 {
		t.Errorf("state markers = %d, want 2", n)
	}
	if n := strings.Count(svg, `class="band"`); n != len(r.Findings) || n == 0 {
		t.Errorf("bands = %d, findings = %d", n, len(r.Findings))
	}
	if !strings.Contains(svg, "time (2024-05-14, UTC+09:00 JST)") {
		t.Error("x axis label does not name the zone")
	}
	// Ticks are on the JST wall clock (the window starts at 14:00 JST).
	if !strings.Contains(svg, ">14:02<") {
		t.Error("no 14:02 tick in JST")
	}
	if !strings.Contains(svg, "active_conn{vm-c}") {
		t.Error("legend does not name the series and backend")
	}
}

func TestChartsEscapeLogText(t *testing.T) {
	const evil = `<script>alert(1)</script>|"&'`
	t0 := time.Date(2024, 5, 14, 5, 0, 0, 0, time.UTC)
	b := timeline.NewBuilder(timeline.Options{})
	b.Event(timeline.Event{Time: t0.Add(30 * time.Second), Kind: timeline.KindConfigChange, Backend: evil,
		Text: "keepalive_timeout 65s -> 2s " + evil, Attrs: map[string]string{"setting": evil, "from": "65s", "to": "2s"}})
	for i := 0; i < 20; i++ {
		v := 100.0
		if i >= 10 {
			v = 3000
		}
		b.Sample(timeline.Sample{Time: t0.Add(time.Duration(i) * 6 * time.Second), Metric: timeline.MetricTimeWait, Backend: evil, Value: v})
	}
	tl := b.Timeline()
	r := NewReport(Input{Timeline: tl, Now: clock})
	charts := Charts(tl, r, nil)
	if len(charts) != 1 || charts[0].Name != "timewait" {
		t.Fatalf("charts = %+v", charts)
	}
	svg := charts[0].SVG
	wellFormed(t, "timewait", svg)
	if bytes.Contains(svg, []byte("<script")) {
		t.Fatalf("raw <script> in SVG:\n%s", svg)
	}
	if !bytes.Contains(svg, []byte("&lt;script&gt;alert(1)&lt;/script&gt;|")) {
		t.Error("escaped backend name missing")
	}
	if !bytes.Contains(svg, []byte("time (2024-05-14, UTC)")) {
		t.Error("UTC axis label missing")
	}
	page, err := RenderHTMLCharts([]byte("# t\n\n"+evil+"\n"), charts)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("<script")) {
		t.Fatal("raw <script> in page")
	}
}

func TestRenderHTMLCharts(t *testing.T) {
	md := []byte("# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
	plain, err := RenderHTML(md)
	if err != nil {
		t.Fatal(err)
	}
	same, err := RenderHTMLCharts(md, nil)
	if err != nil || !bytes.Equal(plain, same) {
		t.Fatalf("no charts: page differs from RenderHTML (err %v)", err)
	}
	c := Chart{Name: "timewait", Title: "T <&>", SVG: []byte("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n")}
	page, err := RenderHTMLCharts(md, []Chart{c})
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	sec := strings.Index(s, `<section class="charts">`)
	if sec < 0 || sec < strings.Index(s, "<table>") || sec > strings.Index(s, "</main>") {
		t.Fatalf("chart section misplaced:\n%s", s)
	}
	if !strings.Contains(s, "<figcaption>T &lt;&amp;&gt;</figcaption>") {
		t.Error("caption not escaped")
	}
}

func TestChartsMarkdown(t *testing.T) {
	cs := []Chart{{Name: "timewait", Title: "Sockets in TIME_WAIT"}, {Name: "5xx", Title: "HTTP 5xx responses"}}
	if got := ChartFile("out/my report.md", cs[0]); got != "out/my report-timewait.svg" {
		t.Errorf("ChartFile = %q", got)
	}
	got := string(ChartsMarkdown("out/my report.md", cs))
	want := "\n## Charts\n\n![Sockets in TIME_WAIT](my%20report-timewait.svg)\n\n![HTTP 5xx responses](my%20report-5xx.svg)\n\n"
	if got != want {
		t.Errorf("ChartsMarkdown =\n%q\nwant\n%q", got, want)
	}
	if ChartsMarkdown("x.md", nil) != nil {
		t.Error("no charts should give no section")
	}
}

func TestChartsEmpty(t *testing.T) {
	if Charts(nil, nil, nil) != nil {
		t.Error("nil inputs")
	}
	tl := &timeline.Timeline{}
	if cs := Charts(tl, NewReport(Input{Timeline: tl, Now: clock}), nil); len(cs) != 0 {
		t.Errorf("empty timeline gave %d charts", len(cs))
	}
}
