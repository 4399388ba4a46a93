package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/postmortem-tool/postmortem/ingest"
)

var update = flag.Bool("update", false, "rewrite golden drafts")

// repoRoot returns the module root, for running on testdata/ fixtures.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// fixedDeps runs commands with a fixed clock and captured streams.
func fixedDeps(stdin string) (*Deps, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	d := defaultDeps(&IO{In: strings.NewReader(stdin), Out: &out, ErrOut: &errb, IsTerminal: func() bool { return false }})
	d.Now = func() time.Time { return time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC) }
	return d, &out, &errb
}

type expected struct {
	Findings []struct {
		Case        string    `json:"case"`
		Backend     string    `json:"backend"`
		StartAfter  time.Time `json:"start_after"`
		StartBefore time.Time `json:"start_before"`
	} `json:"findings"`
	NoWarningOrAbove bool `json:"no_warning_or_above"`
}

type jsonReport struct {
	Sources []struct {
		Path         string   `json:"path"`
		Format       string   `json:"format"`
		Lines        int64    `json:"lines"`
		Unrecognized int64    `json:"unrecognized"`
		Warnings     []string `json:"warnings"`
	} `json:"sources"`
	Timeline []struct {
		Time    time.Time `json:"time"`
		Kind    string    `json:"kind"`
		Backend string    `json:"backend"`
		Source  string    `json:"source"`
		Line    int64     `json:"line"`
	} `json:"timeline"`
	Findings []struct {
		Rule       string    `json:"rule"`
		Case       string    `json:"case"`
		Severity   string    `json:"severity"`
		Confidence float64   `json:"confidence"`
		Start      time.Time `json:"start"`
		End        time.Time `json:"end"`
		Backend    string    `json:"backend"`
		Evidence   []struct {
			Source string `json:"source"`
			Line   int64  `json:"line"`
			Text   string `json:"text"`
		} `json:"evidence"`
		Prevention []string `json:"prevention"`
	} `json:"findings"`
}

func analyzeJSON(t *testing.T, args ...string) (*jsonReport, string) {
	t.Helper()
	d, out, errb := fixedDeps("")
	code := MainWith(append([]string{"analyze", "--format", "json"}, args...), d)
	if code != ExitOK {
		t.Fatalf("analyze %v: exit %d\n%s", args, code, errb)
	}
	var r jsonReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("analyze %v: bad JSON: %v", args, err)
	}
	return &r, errb.String()
}

// TestIncidents runs analyze on every shipped incident folder and checks
// the findings against its expected.json: exactly the expected cases at
// warning or above, on the right backend, starting in the right window,
// with every evidence line quoting its file:line exactly.
func TestIncidents(t *testing.T) {
	t.Chdir(repoRoot(t))
	dirs, _ := filepath.Glob("testdata/incidents/*/expected.json")
	if len(dirs) < 5 {
		t.Fatalf("found %d incident fixtures, want at least 5", len(dirs))
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var want expected
			data, err := os.ReadFile(exp)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			r, _ := analyzeJSON(t, dir)
			gotCases := map[string]bool{}
			for _, f := range r.Findings {
				if f.Severity == "warning" || f.Severity == "critical" {
					gotCases[f.Case] = true
				}
			}
			wantCases := map[string]bool{}
			for _, w := range want.Findings {
				wantCases[w.Case] = true
			}
			if diff := cmp.Diff(wantCases, gotCases); diff != "" {
				t.Errorf("cases at warning or above (-want +got):\n%s", diff)
			}
			if want.NoWarningOrAbove && len(gotCases) > 0 {
				t.Errorf("clean fixture has findings at warning or above: %v", gotCases)
			}
			for _, w := range want.Findings {
				ok := false
				for _, f := range r.Findings {
					if f.Case == w.Case && f.Backend == w.Backend && !f.Start.Before(w.StartAfter) && !f.Start.After(w.StartBefore) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("no %s finding on %s starting between %s and %s; got:", w.Case, w.Backend, w.StartAfter, w.StartBefore)
					for _, f := range r.Findings {
						t.Logf("  %s on %s at %s", f.Case, f.Backend, f.Start)
					}
				}
			}
			checkEvidence(t, r)
		})
	}
}

// checkEvidence asserts that every evidence entry's text is the line at its
// file:line, and that every finding cites evidence and prevention.
func checkEvidence(t *testing.T, r *jsonReport) {
	t.Helper()
	want := map[string][]int64{}
	for _, f := range r.Findings {
		if len(f.Evidence) == 0 || len(f.Prevention) == 0 {
			t.Errorf("%s on %s: %d evidence, %d prevention items", f.Case, f.Backend, len(f.Evidence), len(f.Prevention))
		}
		for _, e := range f.Evidence {
			if e.Source != "" {
				want[e.Source] = append(want[e.Source], e.Line)
			}
		}
	}
	lines := map[string]map[int64]string{}
	for file, ls := range want {
		got, err := ingest.ReadLinesAt(file, ls)
		if err != nil {
			t.Fatalf("re-reading %s: %v", file, err)
		}
		lines[file] = got
	}
	n := 0
	for _, f := range r.Findings {
		for _, e := range f.Evidence {
			if e.Source == "" {
				continue
			}
			n++
			if got := lines[e.Source][e.Line]; got != e.Text {
				t.Errorf("%s evidence %s:%d quotes %q, but the line is %q", f.Case, e.Source, e.Line, e.Text, got)
			}
		}
	}
	if len(r.Findings) > 0 && n == 0 {
		t.Errorf("findings cite no line at all")
	}
}

// TestGoldenDrafts renders the Markdown draft of each incident and compares
// it with testdata/golden/<incident>.md (rewrite with -update).
func TestGoldenDrafts(t *testing.T) {
	root := repoRoot(t)
	goldenDir, _ := filepath.Abs("testdata/golden")
	t.Chdir(root)
	dirs, _ := filepath.Glob("testdata/incidents/*/expected.json")
	sort.Strings(dirs)
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			d, out, errb := fixedDeps("")
			if code := MainWith([]string{"analyze", dir}, d); code != ExitOK {
				t.Fatalf("exit %d: %s", code, errb)
			}
			golden := filepath.Join(goldenDir, name+".md")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli -run TestGoldenDrafts -update)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("draft differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestBadInput: a binary file, a truncated gzip, an unknown format, empty
// files and a 10 MB line each get a per-file warning, nothing panics, and
// the rest is still analysed.
func TestBadInput(t *testing.T) {
	root := repoRoot(t)
	tmp := t.TempDir()
	long := filepath.Join(tmp, "nginx", "vm-z", "error.log")
	if err := os.MkdirAll(filepath.Dir(long), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("2026/05/01 14:02:02 [error] 1101#1101: *1 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.3:8080/\", host: \"a\"\n")
	b.WriteString("2026/05/01 14:02:03 [error] 1101#1101: *2 ")
	b.Write(bytes.Repeat([]byte("x"), 10<<20))
	b.WriteString("\n2026/05/01 14:02:04 [error] 1101#1101: *3 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: a, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.3:8080/\", host: \"a\"\n")
	if err := os.WriteFile(long, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := analyzeJSON(t, filepath.Join(root, "testdata", "incidents", "broken"), long)
	warn := map[string]string{}
	for _, s := range r.Sources {
		warn[filepath.Base(s.Path)] = strings.Join(s.Warnings, "; ")
	}
	for file, sub := range map[string]string{
		"binary.log":         "binary",
		"access.log.1.gz":    "truncated gzip",
		"metrics-export.csv": "not recognised",
		"empty.log":          "empty",
		"error.log":          "over-long",
	} {
		if !strings.Contains(warn[file], sub) {
			t.Errorf("%s: warnings %q, want one mentioning %q", file, warn[file], sub)
		}
	}
	var gotLong bool
	for _, e := range r.Timeline {
		if strings.HasSuffix(e.Source, "vm-z/error.log") && e.Line == 3 && e.Kind == "upstream_error" {
			gotLong = true
		}
	}
	if !gotLong {
		t.Errorf("the line after the 10 MB line was not analysed at line 3")
	}
}

// TestStdin reads a log from standard input.
func TestStdin(t *testing.T) {
	d, out, errb := fixedDeps("2026-05-01T16:00:00+09:00 [deploy] timeout waiting for drain completion (1800s)\n")
	if code := MainWith([]string{"timeline", "--format", "csv", "-"}, d); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(out.String(), "drain_timeout") {
		t.Errorf("stdin timeline lacks the drain timeout:\n%s", out)
	}
}
