package ruletest

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/rules"
)

// TestShippedRuleTests runs every rule test shipped with the default pack
// (rules/pack/tests), so `go test ./...` fails when a rule stops meeting
// its fixtures.
func TestShippedRuleTests(t *testing.T) {
	dir := filepath.Join("..", "pack", "tests")
	rep := RunFiles(context.Background(), Options{}, dir)
	for _, err := range rep.Errors {
		t.Errorf("load: %v", err)
	}
	if len(rep.Outcomes) == 0 {
		t.Fatal("no shipped rule tests found")
	}
	for i := range rep.Outcomes {
		o := &rep.Outcomes[i]
		t.Run(filepath.Base(o.File)+"/"+o.Name, func(t *testing.T) {
			if !o.Pass() {
				t.Errorf("%s:%d: %s\n%s", o.File, o.Line, o.Name, o.Diff())
			}
		})
	}
}

// TestEveryRuleHasPositiveAndNegative checks the pack's test coverage: each
// default rule has a file named after it with a test that expects the rule
// and a test that expects nothing.
func TestEveryRuleHasPositiveAndNegative(t *testing.T) {
	for _, r := range rules.Default().Rules {
		f, err := LoadFile(filepath.Join("..", "pack", "tests", r.ID+".yaml"))
		if err != nil {
			t.Errorf("rule %s: %v", r.ID, err)
			continue
		}
		pos, neg := false, false
		for _, tc := range f.Tests {
			if len(tc.Expect) == 0 {
				neg = true
			}
			for _, e := range tc.Expect {
				if e.Rule == r.ID || e.Rule == r.Case {
					pos = true
				}
			}
		}
		if !pos || !neg {
			t.Errorf("rule %s: positive test %v, negative test %v; want both", r.ID, pos, neg)
		}
	}
}

// TestWrongExpectationFails: a deliberately wrong expectation fails and the
// diff shows the expected finding (-) against the one that came out (+).
func TestWrongExpectationFails(t *testing.T) {
	rep := RunFiles(context.Background(), Options{}, filepath.Join("testdata", "wrong.yaml"))
	if len(rep.Errors) > 0 {
		t.Fatal(rep.Errors)
	}
	if len(rep.Outcomes) != 2 || rep.Failed() != 2 {
		t.Fatalf("got %d outcomes, %d failed; want 2 and 2", len(rep.Outcomes), rep.Failed())
	}
	d := rep.Outcomes[0].Diff()
	for _, want := range []string{
		"  - hard-cut-without-drain on vm-b starting 2026-05-01 14:02:02+09:00 (±1m0s)  [line 12]\n",
		"  + hard-cut-without-drain on vm-c from 2026-05-01 14:02:02+09:00 to ",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	d = rep.Outcomes[1].Diff()
	if !strings.Contains(d, "  + hard-cut-without-drain on vm-c") || strings.Contains(d, "  - ") {
		t.Errorf("unexpected-finding diff:\n%s", d)
	}
	var sb strings.Builder
	rep.Write(&sb)
	if !strings.Contains(sb.String(), "FAIL  testdata/wrong.yaml:3: wrong backend\n") ||
		!strings.HasSuffix(sb.String(), "2 test(s), 0 passed, 2 failed\n") {
		t.Errorf("report:\n%s", sb.String())
	}
}

func TestParseErrors(t *testing.T) {
	_, err := LoadFile(filepath.Join("testdata", "bad.yaml"))
	if err == nil {
		t.Fatal("bad.yaml loaded")
	}
	got := err.Error()
	want := []string{
		`testdata/bad.yaml:6:9: three problems: series "timewait{host=\"vm-b\"}": unknown label "host" (only backend is used)`,
		`testdata/bad.yaml:9:9: three problems: series item "1+x3": bad step "+"`,
		`testdata/bad.yaml:13:9: three problems: time "soon": expected RFC 3339 or HH:MM:SS`,
	}
	if g := strings.Split(got, "\n"); len(g) != len(want) {
		t.Errorf("got %d errors, want %d:\n%s", len(g), len(want), got)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing error %q in:\n%s", w, got)
		}
	}
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "tests:\n  - name: x\n    colour: red\n    expect: []\n", "x.yaml:3:1: field colour not found"},
		{"no expect", "tests:\n  - name: x\n    changes: [{at: \"2026-05-01T00:00:00Z\", setting: a}]\n", "expect: is required"},
		{"clock without date", "tests:\n  - name: x\n    changes: [{at: \"10:00:00\", setting: a}]\n    expect: []\n", "needs the test's date: and tz:"},
		{"no input", "tests:\n  - name: x\n    expect: []\n", "no input"},
		{"no tests", "rule_files: []\n", "no tests"},
		{"unknown metric", "tests:\n  - name: x\n    series: [{series: bogus, start: \"2026-05-01T00:00:00Z\", values: '1'}]\n    expect: []\n", `unknown metric "bogus"`},
	} {
		_, err := Parse("x.yaml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestExpandSeries(t *testing.T) {
	n := math.NaN()
	for _, tc := range []struct {
		in   string
		want []float64
		err  bool
	}{
		{in: "1 2 3", want: []float64{1, 2, 3}},
		{in: "10+5x3", want: []float64{10, 15, 20, 25}},
		{in: "10-5x2", want: []float64{10, 5, 0}},
		{in: "-1+1x2", want: []float64{-1, 0, 1}},
		{in: "7x2", want: []float64{7, 7, 7}},
		{in: "_ 1 _x2 2", want: []float64{n, 1, n, n, 2}},
		{in: "1e3+1e2x1", want: []float64{1000, 1100}},
		{in: "1.5 0.5x0", want: []float64{1.5, 0.5}},
		{in: "", err: true},
		{in: "1+2", err: true},
		{in: "ax3", err: true},
		{in: "1x-2", err: true},
		{in: "1+x3", err: true},
		{in: "NaN", err: true},
		{in: "0+1x99999999999", err: true},
	} {
		got, err := ExpandSeries(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] && !(math.IsNaN(got[i]) && math.IsNaN(tc.want[i])) {
				t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
				break
			}
		}
	}
}

func TestParseSeriesName(t *testing.T) {
	for _, tc := range []struct{ in, metric, backend string }{
		{`timewait`, "timewait", ""},
		{`timewait{backend="vm-b"}`, "timewait", "vm-b"},
		{` active_conn { backend = "vm-a" , } `, "active_conn", "vm-a"},
	} {
		m, b, err := ParseSeriesName(tc.in)
		if err != nil || m != tc.metric || b != tc.backend {
			t.Errorf("%q: got %q %q %v", tc.in, m, b, err)
		}
	}
	for _, in := range []string{`{backend="x"}`, `m{backend="x"`, `m{backend=x}`, `m{job="x"}`, `m{backend}`} {
		if _, _, err := ParseSeriesName(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// FuzzExpandSeries: any string either expands within the bound or errors;
// it never panics.
func FuzzExpandSeries(f *testing.F) {
	for _, s := range []string{"10+5x20", "_ _x3 1", "1e3-2x4", "0x0", "-x", "+1x1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ExpandSeries(s)
		if err == nil && (len(v) == 0 || len(v) > maxSeriesPoints) {
			t.Fatalf("%q: %d values", s, len(v))
		}
	})
}

// FuzzParse: no test file content makes Parse panic.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/wrong.yaml", "testdata/bad.yaml", "../pack/tests/timewait-explosion.yaml"} {
		if b, err := readFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse("fuzz.yaml", b)
	})
}
