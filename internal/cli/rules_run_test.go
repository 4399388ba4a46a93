package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	d := defaultDeps(&IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTerminal: func() bool { return false }})
	status = MainWith(args, d)
	return out.String(), errOut.String(), status
}

// TestRulesRunParallelEqualsSerial: reading the files on many workers gives
// byte-identical output to reading them one at a time.
func TestRulesRunParallelEqualsSerial(t *testing.T) {
	inc := filepath.Join("..", "..", "testdata", "incidents")
	for _, format := range []string{"json", "table", "junit"} {
		serial, errS, st := runCLI(t, "rules", "run", "--workers", "1", "--format", format, inc)
		if st != 0 {
			t.Fatalf("serial: status %d: %s", st, errS)
		}
		for _, w := range []string{"2", "8"} {
			par, _, st := runCLI(t, "rules", "run", "--workers", w, "--format", format, inc)
			if st != 0 || par != serial {
				t.Errorf("%s with %s workers differs from the serial run (status %d)", format, w, st)
			}
		}
	}
}

type runJSON struct {
	Files int `json:"files"`
	Rules []struct {
		Rule     string   `json:"rule"`
		Count    int      `json:"count"`
		First    string   `json:"first"`
		Last     string   `json:"last"`
		Backends []string `json:"backends"`
		Findings []struct {
			Start    time.Time `json:"start"`
			End      time.Time `json:"end"`
			Backend  string    `json:"backend"`
			Severity string    `json:"severity"`
		} `json:"findings"`
		Evidence []struct {
			At, Role, Text string
		} `json:"evidence"`
		Why string `json:"why"`
	} `json:"rules"`
}

func TestRulesRunJSON(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "incidents", "hard-cut")
	out, errOut, st := runCLI(t, "rules", "run", "--format", "json", "--samples", "3", dir)
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	if errOut != "" {
		t.Errorf("off a terminal nothing may go to stderr, got %q", errOut)
	}
	var got runJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 3 {
		t.Fatalf("want one entry per default rule, got %d", len(got.Rules))
	}
	hc := got.Rules[0]
	if hc.Rule != "hard-cut-without-drain" || hc.Count != 2 || strings.Join(hc.Backends, ",") != "vm-c" ||
		hc.First != "2026-05-01T14:02:02+09:00" {
		t.Errorf("hard cut summary: %+v", hc)
	}
	if len(hc.Evidence) != 3 {
		t.Fatalf("want 3 evidence lines, got %d", len(hc.Evidence))
	}
	// Every sampled line is quoted exactly as it stands at its file:line.
	for _, ev := range hc.Evidence {
		file, line, ok := strings.Cut(ev.At, ":")
		if !ok {
			t.Fatalf("evidence at %q", ev.At)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		var n int
		if _, err := fmtSscan(line, &n); err != nil || n < 1 || n > len(lines) || lines[n-1] != ev.Text {
			t.Errorf("evidence %s does not quote its line: %q", ev.At, ev.Text)
		}
	}
	if ws := got.Rules[2]; ws.Count != 0 || ws.Why == "" {
		t.Errorf("websocket rule on a hard cut: %+v", ws)
	}
}

func TestRulesRunJUnitAndFailOn(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "incidents", "hard-cut")
	out, _, st := runCLI(t, "rules", "run", "--format", "junit", "--fail-on", "critical", dir)
	if st != ExitFindings {
		t.Errorf("--fail-on critical with a critical finding: status %d, want %d", st, ExitFindings)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suite    []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if suites.Tests != 3 || suites.Failures != 1 {
		t.Errorf("tests=%d failures=%d, want 3 and 1", suites.Tests, suites.Failures)
	}
	c := suites.Suite[0].Cases[0]
	if c.Name != "hard-cut-without-drain" || c.Failure == nil || !strings.Contains(c.Failure.Body, "lb.log:") {
		t.Errorf("hard cut case: %+v", c)
	}
	_, _, st = runCLI(t, "rules", "run", "--fail-on", "critical", filepath.Join("..", "..", "testdata", "incidents", "clean-rolling-deploy"))
	if st != ExitOK {
		t.Errorf("clean deploy with --fail-on critical: status %d", st)
	}
	_, _, st = runCLI(t, "rules", "run", "--format", "yaml", dir)
	if st != ExitUsage {
		t.Errorf("bad --format: status %d", st)
	}
}

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }
