package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/rules/rulefmt"
	"github.com/postmortem-tool/postmortem/timeline"
)

const userRule = `rules:
  - rule: %s
    severity: info
    anchor:
      event: {kind: kernel, attrs: {reason: conntrack_full}}
    title: "conntrack full on {{.backend}}"
    summary: "The conntrack table filled up at {{.anchor_time}}."
    prevention: ["Size nf_conntrack_max for peak connections."]
`

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFilesAllErrors(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.yaml", "rules:\n  - rule: a\n    severity: loud\n    anchor: {event: {kind: kernel}}\n    title: t\n    summary: s\n    prevention: [p]\n")
	b := write(t, dir, "b.yaml", "rules:\n  - rule: b\n    severity: info\n    anchor: {event: {kind: kernal}}\n    title: t\n    summary: s\n    prevention: [p]\n    extra: 1\n")
	_, err := LoadFiles(a, b, filepath.Join(dir, "missing.yaml"))
	var errs rulefmt.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T %v is not rulefmt.Errors", err, err)
	}
	want := []string{
		filepath.Join(dir, "missing.yaml") + ":0:0: stat " + filepath.Join(dir, "missing.yaml") + ": no such file or directory",
		a + `:3:15: severity: unknown severity "loud" (want info, warning or critical)`,
		b + `:4:28: anchor.event: unknown event kind "kernal"`,
		b + `:8:5: unknown key "extra" in rule`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got %s\nwant prefix %s", i, got[i], want[i])
		}
	}
}

func TestLoadOverrideAndDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "10-conntrack.yaml", strings.ReplaceAll(userRule, "%s", "conntrack-full"))
	// Overrides the default rule of the same id.
	write(t, dir, "20-override.yaml", strings.ReplaceAll(userRule, "%s", "timewait-explosion"))
	write(t, dir, "notes.txt", "not a rule file")
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range p.Rules {
		ids = append(ids, r.ID)
	}
	want := []string{"hard-cut-without-drain", "timewait-explosion", "websocket-drain-stuck", "conntrack-full"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
	if p.Rule("timewait-explosion").Severity != "info" {
		t.Error("override not applied")
	}
	if Default().Rule("timewait-explosion").Severity != "warning" {
		t.Error("override leaked into the default pack")
	}
	// Duplicate ids across loaded files are an error.
	write(t, dir, "30-dup.yaml", strings.ReplaceAll(userRule, "%s", "conntrack-full"))
	if _, err := LoadFiles(dir); err == nil || !strings.Contains(err.Error(), `30-dup.yaml:2:5: duplicate rule "conntrack-full"`) {
		t.Errorf("duplicate across files: %v", err)
	}
}

func TestEvalEmptyAndNil(t *testing.T) {
	for _, tl := range []*timeline.Timeline{nil, {}} {
		res := Default().Eval(tl, EvalOptions{})
		if len(res.Findings) != 0 || len(res.Checks) != 3 {
			t.Fatalf("got %+v", res)
		}
		for _, c := range res.Checks {
			if c.Anchors != 0 || !strings.HasPrefix(c.Why, "no anchor: ") {
				t.Errorf("check %+v", c)
			}
		}
	}
	var p *Pack
	if res := p.Eval(nil, EvalOptions{}); res.Findings == nil || res.Checks == nil {
		t.Error("nil pack: want empty, non-nil slices")
	}
}

// TestDeterministic evaluates the same scenario built twice and expects
// identical results.
func TestDeterministic(t *testing.T) {
	build := func() Result {
		s := newScenario(42)
		s.background("13:30:00", "14:30:00")
		s.ev("deploy.log", "14:00:00", timeline.KindDeployStep, "", "start drain=skipped", "step=start", "drain=skipped")
		s.hardCutAnchors("14:02:02")
		s.burst("nginx/vm-a/error.log", "14:02:02", 40, 9, timeline.KindConnReset, "vm-a", resetText, "errno=104")
		s.burst("nginx/vm-b/error.log", "14:02:02", 40, 9, timeline.KindConnReset, "vm-b", resetText, "errno=104")
		return Default().Eval(s.timeline(), EvalOptions{Loc: loc})
	}
	a, b := build(), build()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two evaluations of the same input differ")
	}
	if len(a.Findings) != 1 {
		t.Fatalf("got %d findings", len(a.Findings))
	}
}

// FuzzEval parses fuzzed rule files and evaluates the good ones over a
// timeline with every kind of signal: evaluation must never panic.
func FuzzEval(f *testing.F) {
	for _, n := range []string{"hard-cut-without-drain", "websocket-drain-stuck", "timewait-explosion"} {
		if b, err := packFS.ReadFile("pack/" + n + ".yaml"); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(strings.ReplaceAll(userRule, "%s", "x")))
	s := newScenario(3)
	s.background("13:50:00", "14:10:00")
	s.ev("deploy.log", "14:00:00", timeline.KindDeployStep, "", "[deploy] timeout waiting for drain completion (1800s)", "step=drain_timeout")
	s.ev("deploy.log", "13:55:00", timeline.KindDeployStep, "vm-a", "drain", "step=drain_start")
	s.hardCutAnchors("14:02:02")
	s.burst("nginx/vm-a/error.log", "14:02:02", 10, 9, timeline.KindConnReset, "vm-a", resetText, "errno=104")
	for i := 0; i < 100; i++ {
		tt := s.at("13:50:00").Add(timeDur(i) * 10)
		s.gauge("ss.log", tt, timeline.MetricTimeWait, "vm-b", float64(2500+i*i*10))
		s.gauge("lb.log", tt, timeline.MetricActiveConn, "vm-a", 1000)
	}
	tl := s.timeline()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		res := p.Eval(tl, EvalOptions{})
		if len(res.Checks) != len(p.Rules) {
			t.Fatalf("%d checks for %d rules", len(res.Checks), len(p.Rules))
		}
	})
}

func TestCombineReplacesByID(t *testing.T) {
	pack := func(name string, ids ...string) *Pack {
		var body strings.Builder
		body.WriteString("rules:\n")
		for _, id := range ids {
			body.WriteString(strings.TrimPrefix(fmt.Sprintf(userRule, id), "rules:\n"))
		}
		p, err := Parse(name, []byte(body.String()))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	got := Combine(pack("a.yaml", "one", "two"), nil, pack("b.yaml", "two", "three"))
	var ids []string
	for _, r := range got.Rules {
		ids = append(ids, r.ID+"@"+r.File)
	}
	if want := "[one@a.yaml two@b.yaml three@b.yaml]"; fmt.Sprint(ids) != want {
		t.Errorf("Combine = %v, want %s", ids, want)
	}
}
