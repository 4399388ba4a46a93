package templates

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file; run `go test ./templates -update` and review the diff.\n%s", name, firstDiff(want, got))
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return ""
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func render(t *testing.T, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Default().Execute(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jsonOf(t *testing.T, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	redacted := hardCutInput()
	redacted.Redact = true
	cases := []struct {
		name string
		in   Input
	}{
		{"hardcut", hardCutInput()},
		{"hardcut-redacted", redacted},
		{"nofinding", noFindingInput()},
		{"empty", Input{Now: clock}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReport(tc.in)
			md := render(t, r)
			golden(t, tc.name+".md.golden", md)
			golden(t, tc.name+".json.golden", jsonOf(t, r))
			if tc.name == "hardcut" {
				h, err := RenderHTML(md)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, tc.name+".html.golden", h)
			}
			// Rendering twice gives the same bytes (no map-order leaks).
			if again := render(t, NewReport(tc.in)); !bytes.Equal(md, again) {
				t.Error("second render differs")
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	r := NewReport(hardCutInput())
	var m map[string]any
	if err := json.Unmarshal(jsonOf(t, r), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"window", "timezone", "generated_at", "sources", "timeline", "findings", "checks", "warnings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if m["timezone"] != "+09:00" || m["timezone_name"] != "JST" {
		t.Errorf("timezone = %v (%v)", m["timezone"], m["timezone_name"])
	}
	if m["generated_at"] != "2024-05-14T18:30:00+09:00" {
		t.Errorf("generated_at = %v", m["generated_at"])
	}
	// Every timestamp carries an explicit numeric offset in the report zone.
	re := regexp.MustCompile(`"(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?)"`)
	for _, sm := range re.FindAllStringSubmatch(string(jsonOf(t, r)), -1) {
		if !strings.HasSuffix(sm[1], "+09:00") {
			t.Errorf("timestamp %q not in +09:00", sm[1])
		}
		if _, err := time.Parse(time.RFC3339Nano, sm[1]); err != nil {
			t.Errorf("timestamp %q: %v", sm[1], err)
		}
	}
	f := m["findings"].([]any)[0].(map[string]any)
	if f["rule"] != "hard-cut-without-drain" {
		t.Errorf("first finding = %v, want the critical one", f["rule"])
	}
	ev := f["evidence"].([]any)[0].(map[string]any)
	for _, k := range []string{"source", "line", "text", "role"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("evidence lacks %q", k)
		}
	}
	// Round trip through the exported types.
	var back Report
	if err := json.Unmarshal(jsonOf(t, r), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Window.Start.Equal(r.Window.Start.Time) || len(back.Timeline) != len(r.Timeline) {
		t.Error("round trip lost data")
	}
}

func TestUTCOffsetExplicit(t *testing.T) {
	r := NewReport(noFindingInput())
	if r.Timezone != "UTC" {
		t.Fatalf("timezone %q", r.Timezone)
	}
	b, _ := json.Marshal(r.GeneratedAt)
	if string(b) != `"2024-05-14T09:30:00+00:00"` {
		t.Errorf("generated_at %s", b)
	}
}

func TestColumns(t *testing.T) {
	r := NewReport(hardCutInput())
	want := map[string]string{
		"config_change": ColumnSetting, "config_reload": ColumnSetting, "deploy_step": ColumnSetting,
		"backend_state": ColumnIndicator, "conn_reset": ColumnIndicator, "http_5xx": ColumnIndicator,
		"aborted_session": ColumnIndicator, "app_lifecycle": ColumnIndicator, "evidence": ColumnIndicator,
	}
	seen := map[string]bool{}
	for _, row := range r.Timeline {
		seen[row.Kind] = true
		if w, ok := want[row.Kind]; ok && row.Column != w {
			t.Errorf("%s in column %s, want %s", row.Kind, row.Column, w)
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("no %s row in the timeline", k)
		}
	}
	for i := 1; i < len(r.Timeline); i++ {
		if r.Timeline[i].Time.Before(r.Timeline[i-1].Time.Time) {
			t.Fatalf("timeline out of order at row %d", i)
		}
	}
}

func TestTimelineCap(t *testing.T) {
	in := hardCutInput()
	// Add 500 isolated single-line 503s, far apart so each is its own burst.
	b := timeline.NewBuilder(timeline.Options{})
	for i := 0; i < 500; i++ {
		b.Event(timeline.Event{Time: t0.Add(time.Duration(i) * time.Minute), Kind: timeline.KindHTTPError, Backend: "vm-b",
			Pos: pos("nginx/vm-b/access.log", int64(i+1)), Text: "x", Attrs: map[string]string{"status": "503"}})
	}
	in.Timeline = timeline.Merge(in.Timeline, b.Timeline())
	in.MaxRows = 50
	r := NewReport(in)
	if len(r.Timeline) != 50 {
		t.Fatalf("%d rows, want 50", len(r.Timeline))
	}
	if r.TimelineTotal <= 500 {
		t.Errorf("total %d", r.TimelineTotal)
	}
	if !strings.Contains(string(r.TimelineNote), "http_5xx (single line)") {
		t.Errorf("note %q", r.TimelineNote)
	}
	// Every setting change, state transition, burst and anchor survives.
	kinds := map[string]int{}
	for _, row := range r.Timeline {
		if row.Setting() || row.Kind == "backend_state" || row.Kind == "evidence" || row.Count > 1 || len(row.Findings) > 0 {
			kinds[row.Kind]++
		}
	}
	if kinds["deploy_step"] != 4 || kinds["backend_state"] != 2 || kinds["config_change"] != 1 || kinds["evidence"] != 2 || kinds["conn_reset"] != 1 {
		t.Errorf("priority rows lost: %v", kinds)
	}
	md := render(t, r)
	if !strings.Contains(string(md), "Showing 50 of") {
		t.Error("cap note missing from Markdown")
	}
	// Uncapped.
	in.MaxRows = -1
	if r := NewReport(in); len(r.Timeline) != r.TimelineTotal || r.TimelineNote != "" {
		t.Errorf("uncapped: %d of %d, note %q", len(r.Timeline), r.TimelineTotal, r.TimelineNote)
	}
}

func TestWindowFilter(t *testing.T) {
	in := hardCutInput()
	in.Window = timeline.Window{Start: at("2m"), End: at("3m")}
	r := NewReport(in)
	for _, row := range r.Timeline {
		if row.Kind != "evidence" && (row.Time.Before(at("2m")) || row.Time.After(at("3m"))) {
			t.Errorf("row %s at %s outside window", row.Kind, row.Time)
		}
	}
	if r.Window.Duration != "1m" {
		t.Errorf("duration %q", r.Window.Duration)
	}
}

func TestRedactAppliesEverywhere(t *testing.T) {
	in := hardCutInput()
	in.Redact = true
	in.Warnings = []string{"source sent Cookie: sid=s3cr3t"}
	in.Result.Findings[1].Facts["auth"] = "Authorization: Basic dXNlcjpwYXNz"
	r := NewReport(in)
	md := string(render(t, r))
	js := string(jsonOf(t, r))
	for _, secret := range []string{"sk-live-0123456789", "abc123", "s3cr3t", "dXNlcjpwYXNz"} {
		if strings.Contains(md, secret) {
			t.Errorf("Markdown leaks %q", secret)
		}
		if strings.Contains(js, secret) {
			t.Errorf("JSON leaks %q", secret)
		}
	}
	if !strings.Contains(md, "[REDACTED]") && !strings.Contains(md, `\[REDACTED\]`) {
		t.Error("no redaction marker")
	}
	if !r.Redacted {
		t.Error("Redacted flag not set")
	}
	// Without the flag the text is kept verbatim.
	in.Redact = false
	if js := string(jsonOf(t, NewReport(in))); !strings.Contains(js, "sk-live-0123456789") {
		t.Error("unredacted JSON lost the original text")
	}
}

func TestNoFindingSaysSo(t *testing.T) {
	md := string(render(t, NewReport(noFindingInput())))
	if !strings.Contains(md, "No failure case matched") {
		t.Error("missing the plain no-match statement")
	}
	for _, rule := range []string{"hard-cut-without-drain", "websocket-drain-stuck", "timewait-explosion"} {
		if !strings.Contains(md, rule) {
			t.Errorf("check %s not listed", rule)
		}
	}
	if strings.Contains(md, "### 1.") || strings.Contains(md, "set off") {
		t.Error("a root cause or trigger was invented")
	}
}

func TestFindingsOrder(t *testing.T) {
	res := rules.Result{Findings: []rules.Finding{
		{Rule: "b", Severity: rules.SeverityWarning, Confidence: 0.9, Start: at("1m")},
		{Rule: "a", Severity: rules.SeverityWarning, Confidence: 0.9, Start: at("1m")},
		{Rule: "c", Severity: rules.SeverityCritical, Confidence: 0.1, Start: at("5m")},
		{Rule: "d", Severity: rules.SeverityWarning, Confidence: 0.95, Start: at("9m")},
	}}
	r := NewReport(Input{Result: res, Now: clock})
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Rule)
	}
	if strings.Join(got, ",") != "c,d,a,b" {
		t.Errorf("order %v", got)
	}
	if r.Findings[0].Prevention == nil || r.Findings[0].Evidence == nil {
		t.Error("nil slices would marshal as null")
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {850 * time.Millisecond, "850ms"}, {42 * time.Second, "42s"},
		{5*time.Minute + 10*time.Second, "5m 10s"}, {30 * time.Minute, "30m"},
		{2*time.Hour + 11*time.Minute + 5*time.Second, "2h 11m"}, {76 * time.Hour, "3d 4h"},
		{-90 * time.Second, "-1m 30s"},
	}
	for _, tc := range tests {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestRoleLabel: a finding anchored on a metric's level change names its
// anchor and peak lines after the metric and the direction; other roles and
// findings anchored on events keep the rule's role.
func TestRoleLabel(t *testing.T) {
	rise := &rules.Finding{Facts: map[string]string{"anchor_metric": "timewait", "anchor_direction": "rose"}}
	fall := &rules.Finding{Facts: map[string]string{"anchor_metric": "ws_avg_age_seconds", "anchor_direction": "fell"}}
	event := &rules.Finding{Facts: map[string]string{"anchor_kind": "backend_state"}}
	for _, tc := range []struct {
		f          *rules.Finding
		role, want string
	}{
		{rise, "anchor", "timewait rose"},
		{rise, "peak", "timewait peak"},
		{rise, "keepalive change", "keepalive change"},
		{fall, "anchor", "ws_avg_age_seconds fell"},
		{event, "anchor", "anchor"},
		{event, "peak", "peak"},
	} {
		if got := roleLabel(tc.f, tc.role); got != tc.want {
			t.Errorf("roleLabel(%v, %q) = %q, want %q", tc.f.Facts, tc.role, got, tc.want)
		}
	}
}
