package rulefmt

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/timeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

func errText(errs []Error) string {
	var sb strings.Builder
	for _, e := range errs {
		sb.WriteString(e.Error())
		sb.WriteByte('\n')
	}
	return sb.String()
}

// TestBadFixtures parses every testdata/*.bad.yaml and compares the full
// error list with the golden testdata/*.bad.errors.
func TestBadFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, errs := Parse(filepath.Base(path), data)
			if len(errs) == 0 {
				t.Fatal("no errors for a bad fixture")
			}
			got := errText(errs)
			golden := strings.TrimSuffix(path, ".yaml") + ".errors"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestThreeErrors checks that one file with three independent problems
// reports all three, each at its own position.
func TestThreeErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/three-errors.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, errs := Parse("three.yaml", data)
	want := []string{
		`three.yaml:3:15: severity: unknown severity "fatal" (want info, warning or critical)`,
		`three.yaml:12:18: sum: bad threshold "lots" (want e.g. ">= 50", "<= 0", "> 1.5")`,
		`three.yaml:17:13: unknown key "colour" in counter condition (valid: name, role, window, from, join, cite, counter, sum, peak, rate)`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(want), errText(errs))
	}
	for i := range want {
		if errs[i].Error() != want[i] {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i].Error(), want[i])
		}
	}
}

func TestParseMinimal(t *testing.T) {
	data, err := os.ReadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, errs := Parse("minimal.yaml", data)
	if len(errs) != 0 {
		t.Fatalf("unexpected errors:\n%s", errText(errs))
	}
	if len(f.Rules) != 1 {
		t.Fatalf("got %d rules", len(f.Rules))
	}
	r := f.Rules[0]
	if r.ID != "minimal" || r.Case != "minimal" || r.Severity != "warning" {
		t.Errorf("rule header = %q %q %q", r.ID, r.Case, r.Severity)
	}
	if r.Merge.Within != 2*time.Minute || r.Confidence != 0.6 {
		t.Errorf("defaults: merge %v confidence %v", r.Merge.Within, r.Confidence)
	}
	if len(r.Anchor.Events) != 1 || r.Anchor.Events[0].Kind != timeline.KindDeployStep {
		t.Fatalf("anchor = %+v", r.Anchor)
	}
	c := r.Require[0]
	if c.Type != CondCounter || c.Metric != timeline.MetricResets || c.Window != (Range{-10 * time.Second, 2 * time.Minute}) {
		t.Errorf("condition = %+v", c)
	}
	if !c.Sum.Holds(50) || c.Sum.Holds(49) || c.Peak.Set() {
		t.Errorf("sum threshold %v", c.Sum)
	}
	kill := &timeline.Event{Kind: timeline.KindDeployStep, Attrs: map[string]string{"step": "kill"}}
	stop := &timeline.Event{Kind: timeline.KindDeployStep, Attrs: map[string]string{"step": "stop"}}
	if !MatchAny(r.Anchor.Events, kill) || MatchAny(r.Anchor.Events, stop) {
		t.Error("anchor matcher")
	}
	out, err := r.Summary.Render(map[string]string{"resets_sum": "3412", "anchor_step": "kill"})
	if err != nil || out != "3412 resets after kill." {
		t.Errorf("summary = %q, %v", out, err)
	}
}

func TestAttrMatchers(t *testing.T) {
	src := `rules:
  - rule: m
    severity: info
    anchor:
      event:
        - kind: config_change
          attrs: {setting: "=~ (?i)keepalive", to: "!= 65s"}
        - kind: backend_state
          attrs: {state: [removed, down]}
    title: t
    summary: s
    prevention: [p]
`
	f, errs := Parse("m.yaml", []byte(src))
	if len(errs) != 0 {
		t.Fatal(errText(errs))
	}
	ms := f.Rules[0].Anchor.Events
	cases := []struct {
		kind  timeline.Kind
		attrs map[string]string
		want  bool
	}{
		{timeline.KindConfigChange, map[string]string{"setting": "keepalive_timeout", "to": "2s"}, true},
		{timeline.KindConfigChange, map[string]string{"setting": "upstream Keepalive", "to": "0"}, true},
		{timeline.KindConfigChange, map[string]string{"setting": "keepalive_timeout", "to": "65s"}, false},
		{timeline.KindConfigChange, map[string]string{"setting": "worker_connections", "to": "2"}, false},
		{timeline.KindBackendState, map[string]string{"state": "down"}, true},
		{timeline.KindBackendState, map[string]string{"state": "draining"}, false},
		{timeline.KindBackendState, nil, false},
		{timeline.KindDeployStep, map[string]string{"state": "down"}, false},
	}
	for _, c := range cases {
		e := &timeline.Event{Kind: c.kind, Attrs: c.attrs}
		if got := MatchAny(ms, e); got != c.want {
			t.Errorf("%s %v: got %v want %v", c.kind, c.attrs, got, c.want)
		}
	}
}

func TestThresholds(t *testing.T) {
	cases := []struct {
		src  string
		x    float64
		want bool
	}{
		{">= 5", 5, true}, {"> 5", 5, false}, {"<= 0", 0, true}, {"< 0", 0, false},
		{"== 3", 3, true}, {"7", 7, true}, {"7", 6.9, false}, {"≥ 2", 2, true}, {"≤ 2", 2.5, false},
	}
	for _, c := range cases {
		p := &parser{file: "x"}
		th := p.threshold(scalar(c.src), "t")
		if len(p.errs) != 0 {
			t.Fatalf("%q: %v", c.src, p.errs)
		}
		if got := th.Holds(c.x); got != c.want {
			t.Errorf("%q holds %v = %v", c.src, c.x, got)
		}
	}
}

// FuzzParse checks that Parse never panics and that every error it returns
// carries a position.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	packs, _ := filepath.Glob("../pack/*.yaml")
	for _, p := range append(files, packs...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("rules: [{rule: x, anchor: {shift: {metric: timewait, factor: 2, baseline: 1m, step: 0s}}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, errs := Parse("fuzz.yaml", data)
		for _, e := range errs {
			if e.Pos.Line < 0 || e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
		if file == nil && len(errs) == 0 {
			t.Fatal("nil file without errors")
		}
		if file != nil && len(errs) == 0 {
			for _, r := range file.Rules {
				for _, tp := range append(append([]*Template{r.Title, r.Summary}, r.Prevention...), r.Checklist...) {
					tp.Render(map[string]string{"backend": "vm-c"})
				}
			}
		}
	})
}

// TestChangePointParse checks the decoded form of a change-point anchor, a
// changepoint condition, cause conditions and a confidence cap, with their
// defaults, and the facts they make available to templates.
func TestChangePointParse(t *testing.T) {
	src := `rules:
  - rule: cp
    severity: warning
    confidence_cap: {max: 0.35, unless_any: [ka]}
    anchor:
      changepoint: {metric: timewait, factor: 5, min: 5000}
    require:
      - name: conns_down
        changepoint: active_conn
        direction: down
        hold: 30s
        window: [-1m, 1m]
    support:
      - name: ka
        cause: {kind: config_change, attrs: {setting: "=~ keepalive"}}
        max_lag: 10m
    trigger: [ka]
    title: t
    summary: "{{.anchor_lag}} {{.anchor_cause}} {{.anchor_cause_time}} {{.ka_lag}} {{.ka_setting}} {{.conns_down_before}} {{.conns_down_cause}}"
    prevention: [p]
`
	f, errs := Parse("cp.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errText(errs))
	}
	r := f.Rules[0]
	a := r.Anchor.ChangePoint
	if a == nil || a.Metric != timeline.MetricTimeWait || a.Direction != "up" || a.Factor != 5 || a.Min != 5000 || a.Hold != 2*time.Minute {
		t.Errorf("anchor = %+v", a)
	}
	c := r.Require[0]
	if c.Type != CondChange || c.Change == nil || c.Change.Metric != timeline.MetricActiveConn || c.Change.Direction != "down" || c.Change.Hold != 30*time.Second || c.Change.Factor != 0 {
		t.Errorf("changepoint condition = %+v %+v", c, c.Change)
	}
	k := r.Support[0]
	if k.Type != CondCause || k.MaxLag != 10*time.Minute || len(k.Events) != 1 || k.Events[0].Kind != timeline.KindConfigChange {
		t.Errorf("cause condition = %+v", k)
	}
	if cc := r.ConfidenceCap; cc == nil || cc.Max != 0.35 || len(cc.UnlessAny) != 1 || cc.UnlessAny[0] != "ka" {
		t.Errorf("confidence cap = %+v", cc)
	}
}
