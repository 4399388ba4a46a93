package live

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
)

func fixture(t *testing.T, name string) []ReplayLine {
	t.Helper()
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	lines, err := Replay([]string{filepath.Join("..", "..", "testdata", "incidents", name)}, reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 100 {
		t.Fatalf("only %d lines in fixture %s", len(lines), name)
	}
	return lines
}

// Replaying the hard-cut fixture line by line, evaluating every 50 lines,
// fires hard-cut-without-drain on vm-c once, soon after the cut line (in
// log time), with evidence; it resolves once the data moves on.
func TestEngineHardCutFiresOnce(t *testing.T) {
	lines := fixture(t, "hard-cut")
	reg, _ := builtin.Registry()
	e := New(Config{Registry: reg, Pack: rules.Default(), Settle: time.Nanosecond})
	nums := map[string]int64{}
	var fired, resolved []Change
	var firedAt time.Time
	for i, l := range lines {
		nums[l.Stream]++
		e.Line(l.Stream, []byte(l.Text), nums[l.Stream])
		if i%50 == 0 || i == len(lines)-1 {
			ch, _ := e.Evaluate()
			for _, c := range ch {
				if c.Resolved {
					resolved = append(resolved, c)
					continue
				}
				fired = append(fired, c)
				if c.Finding.Rule == "hard-cut-without-drain" && firedAt.IsZero() {
					firedAt = l.Time
				}
			}
		}
	}
	var hc []rules.Finding
	for _, c := range fired {
		t.Logf("fired %s %s %s at %s", c.Finding.Rule, c.Finding.Backend, c.Finding.Severity, c.Finding.Start)
		if c.Finding.Rule == "hard-cut-without-drain" {
			hc = append(hc, c.Finding)
		}
	}
	if len(hc) == 0 {
		t.Fatal("hard-cut-without-drain never fired")
	}
	if hc[0].Backend != "vm-c" || hc[0].Severity != rules.SeverityCritical || len(hc[0].Evidence) == 0 {
		t.Errorf("first hard cut: backend %q severity %s, %d evidence", hc[0].Backend, hc[0].Severity, len(hc[0].Evidence))
	}
	cut := time.Date(2026, 5, 1, 14, 2, 2, 0, time.FixedZone("", 9*3600))
	if d := firedAt.Sub(cut); d < 0 || d > time.Minute {
		t.Errorf("fired at log time %s, %s after the cut; want within a minute", firedAt, d)
	}
	seen := map[string]int{}
	for _, f := range hc {
		seen[f.Start.String()]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("finding starting %s fired %d times", k, n)
		}
	}
	for _, c := range resolved {
		if !strings.Contains(c.Finding.Rule, "") {
			t.Error()
		}
	}
	if len(resolved) == 0 {
		t.Errorf("nothing resolved after the fleet recovered")
	}
}
