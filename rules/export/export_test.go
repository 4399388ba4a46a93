package export

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/rules/rulefmt"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the export (run go test -update to accept):\n%s", path, got)
	}
}

func TestExportDefaultPackGolden(t *testing.T) {
	for _, to := range []Target{Loki, Prometheus} {
		res, err := Export(rules.Default(), to, nil)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "default."+string(to)+".yaml", res.YAML)
	}
}

// TestPromtoolAcceptsPrometheusExport runs Debian's promtool on the export of
// the default pack. Without promtool it skips, except in CI where it fails.
func TestPromtoolAcceptsPrometheusExport(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found (apt-get install prometheus)")
		}
		t.Skip("promtool not installed")
	}
	res, err := Export(rules.Default(), Prometheus, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Exported == 0 {
		t.Fatal("nothing exported")
	}
	path := filepath.Join(t.TempDir(), "postmortem.rules.yaml")
	if err := os.WriteFile(path, res.YAML, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n--- export:\n%s", err, out, res.YAML)
	}
	if want := "SUCCESS: " + strconv.Itoa(res.Exported) + " rules found"; !strings.Contains(string(out), want) {
		t.Errorf("promtool output lacks %q:\n%s", want, out)
	}
}

// leaves returns the leaf conditions of cs, depth first.
func leaves(cs []*rulefmt.Condition) []*rulefmt.Condition {
	var out []*rulefmt.Condition
	for _, c := range cs {
		if len(c.Of) > 0 {
			out = append(out, leaves(c.Of)...)
			continue
		}
		out = append(out, c)
	}
	return out
}

func noteFor(res *Result, rule, part string, approx bool) *Note {
	for i, n := range res.Notes {
		if n.Rule == rule && n.Part == part && n.Approx == approx {
			return &res.Notes[i]
		}
	}
	return nil
}

// TestNothingDroppedSilently checks that every part a target cannot express
// is listed with a reason, in Notes and in the comment block of the output.
func TestNothingDroppedSilently(t *testing.T) {
	for _, to := range []Target{Prometheus, Loki} {
		res, err := Export(rules.Default(), to, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := string(res.YAML)
		for _, r := range rules.Default().Rules {
			for _, c := range leaves(r.Require) {
				inexpressible := c.Type == rulefmt.CondAbsent ||
					(to == Prometheus && c.Type == rulefmt.CondEvent) ||
					(to == Loki && c.Type == rulefmt.CondGauge)
				if !inexpressible {
					continue
				}
				n := noteFor(res, r.ID, c.Name, false)
				if n == nil {
					t.Errorf("%s: %s/%s (%s) cannot be expressed but has no note", to, r.ID, c.Name, c.Type)
					continue
				}
				if !strings.Contains(out, "#   - "+oneLine(n.String())) {
					t.Errorf("%s: note %q missing from the comment block", to, n)
				}
			}
			for _, c := range r.Support {
				if noteFor(res, r.ID, c.Name, false) == nil {
					t.Errorf("%s: supporting condition %s/%s not listed", to, r.ID, c.Name)
				}
			}
			exported := strings.Contains(out, "alert: "+alertName(r.ID)+"\n")
			dropped := noteFor(res, r.ID, "", false) != nil
			if exported == dropped {
				t.Errorf("%s: rule %s: exported=%v, listed as not exported=%v", to, r.ID, exported, dropped)
			}
		}
		for _, n := range res.Notes {
			if strings.TrimSpace(n.Reason) == "" {
				t.Errorf("%s: note without reason: %+v", to, n)
			}
		}
	}
	// The absence of a prior transition is the canonical inexpressible
	// condition: check its reason word for word.
	res, _ := Export(rules.Default(), Loki, nil)
	n := noteFor(res, "hard-cut-without-drain", "no_drain", false)
	if n == nil || !strings.Contains(n.Reason, "absence of a prior transition") {
		t.Errorf("no_drain note = %+v", n)
	}
}

const onlyAbsent = `rules:
  - rule: quiet-backend
    severity: warning
    anchor:
      event: {kind: backend_state, attrs: {state: bound}}
    require:
      - name: no_lifecycle
        absent: {kind: app_lifecycle}
        window: [0s, 10m]
    title: "{{.backend}} is quiet"
    summary: "{{.backend}} logged nothing after it was bound."
    prevention: ["Log the lifecycle."]
`

// TestRuleWithNothingExpressible checks that a rule no part of which can be
// expressed is left out of the groups and listed.
func TestRuleWithNothingExpressible(t *testing.T) {
	p, err := rules.Parse("quiet.yaml", []byte(onlyAbsent))
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []Target{Prometheus, Loki} {
		res, err := Export(p, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Exported != 0 || !strings.Contains(string(res.YAML), "groups: []") {
			t.Errorf("%s: exported %d:\n%s", to, res.Exported, res.YAML)
		}
		if noteFor(res, "quiet-backend", "", false) == nil || noteFor(res, "quiet-backend", "no_lifecycle", false) == nil {
			t.Errorf("%s: notes %v", to, res.Notes)
		}
		// The bound state has no default Loki mapping; the anchor note says so.
		if to == Loki {
			if n := noteFor(res, "quiet-backend", "anchor", false); n == nil || !strings.Contains(n.Reason, "backend_state state=bound") {
				t.Errorf("anchor note = %+v", n)
			}
		}
	}
}

func TestLoadMappingOverrides(t *testing.T) {
	m, err := LoadMapping([]byte(`
labels: {team: edge}
loki:
  streams:
    conn_reset:
      selector: '{app="nginx", env="prod"}'
      filters: ["104: Connection reset by peer"]
prometheus:
  metrics:
    timewait: {series: 'node_sockstat_TCP_tw{env="prod"}', type: gauge, backend_label: host}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		to   Target
		want []string
	}{
		{Loki, []string{"{app=\"nginx\", env=\"prod\"} |= `104: Connection reset by peer`", "team: edge", `{job="haproxy"}`}},
		{Prometheus, []string{`node_sockstat_TCP_tw{env="prod"}`, `"backend", "$1", "host", "(.*)"`, "team: edge", "haproxy_server_current_sessions"}},
	} {
		res, err := Export(rules.Default(), tc.to, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(res.YAML), w) {
				t.Errorf("%s: export lacks %q", tc.to, w)
			}
		}
	}
	for _, bad := range []string{
		"colour: red\n",
		"prometheus: {metrics: {tw: {series: x, type: gauge}}}\n",
		"prometheus: {metrics: {timewait: {series: x, type: histogram}}}\n",
		"loki: {streams: {conn_reset: {filters: [x]}}}\n",
		"loki: {streams: {nope: {selector: '{a=\"b\"}'}}}\n",
	} {
		if _, err := LoadMapping([]byte(bad)); err == nil {
			t.Errorf("LoadMapping(%q) accepted", bad)
		}
	}
}

func TestPromDurAndAlertName(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 90 * time.Second: "1m30s", time.Hour: "1h", 29*time.Minute + 30*time.Second: "29m30s",
		1500 * time.Millisecond: "1s500ms", 3*time.Hour + 10*time.Second: "3h10s",
	} {
		if got := promDur(d); got != want {
			t.Errorf("promDur(%v) = %q, want %q", d, got, want)
		}
	}
	for in, want := range map[string]string{
		"hard-cut-without-drain": "HardCutWithoutDrain", "tw_2": "Tw2", "": "PostmortemRule", "9x": "X", "--": "PostmortemRule",
	} {
		if got := alertName(in); got != want {
			t.Errorf("alertName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLoadMapping checks that no mapping file panics LoadMapping or Export.
func FuzzLoadMapping(f *testing.F) {
	f.Add(DefaultMappingYAML())
	f.Add([]byte("loki: {streams: {conn_reset: {selector: '{a=\"`\"}', attrs: {errno: {'104': x}}}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadMapping(data)
		if err != nil {
			return
		}
		for _, to := range []Target{Prometheus, Loki} {
			if _, err := Export(rules.Default(), to, m); err != nil {
				t.Fatal(err)
			}
		}
	})
}

const changeRule = `rules:
  - rule: resets-after-change
    severity: warning
    anchor:
      changepoint: {metric: conn_resets, direction: up, factor: 4, min: 2, hold: 1m}
    confidence_cap: {max: 0.4, unless_any: [pushed]}
    require:
      - name: pushed
        cause: {kind: deploy_step, attrs: {step: config_push}}
      - name: active_down
        changepoint: active_conn
        direction: down
        window: [-1m, 2m]
    title: "resets rose on {{.backend}}"
    summary: "resets x{{.anchor_factor}}, {{.anchor_lag}} after {{.anchor_cause}}"
    prevention: ["Drain first."]
`

// TestChangePointParts checks how each target treats a change-point anchor
// (a level shift against the 30m median, marked approximate), a cause
// condition and a changepoint condition (left out, with reasons), and the
// confidence cap.
func TestChangePointParts(t *testing.T) {
	p, err := rules.Parse("change.yaml", []byte(changeRule))
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []Target{Prometheus, Loki} {
		res, err := Export(p, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := string(res.YAML)
		if n := noteFor(res, "resets-after-change", "anchor", true); n == nil || !strings.Contains(n.Reason, "30m before it") {
			t.Errorf("%s: anchor note = %+v", to, n)
		}
		if res.Exported != 1 || !strings.Contains(out, "for: 1m") || !strings.Contains(out, "> 4 * sum by (backend)") {
			t.Errorf("%s: want the anchor as a held shift x4:\n%s", to, out)
		}
		for part, want := range map[string]string{
			"pushed":         "join in time between a log event and a metric change",
			"active_down":    "segmenting the whole series",
			"confidence_cap": "no confidence",
		} {
			if n := noteFor(res, "resets-after-change", part, false); n == nil || !strings.Contains(n.Reason, want) {
				t.Errorf("%s: %s note = %+v, want %q", to, part, n, want)
			}
		}
	}
}
