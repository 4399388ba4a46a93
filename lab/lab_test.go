package lab_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// truth is a scenario's truth.json, written by lab/run.sh.
type truth struct {
	Scenario string `json:"scenario"`
	Run      string `json:"run"`
	Findings []struct {
		Case        string    `json:"case"`
		Backend     string    `json:"backend"`
		Backends    []string  `json:"backends"`
		StartAfter  time.Time `json:"start_after"`
		StartBefore time.Time `json:"start_before"`
	} `json:"findings"`
	NoWarningOrAbove bool `json:"no_warning_or_above"`
}

// report is the part of `postmortem analyze --format json` the lab checks.
type report struct {
	Findings []finding `json:"findings"`
}

type finding struct {
	Rule       string    `json:"rule"`
	Case       string    `json:"case"`
	Severity   string    `json:"severity"`
	Confidence float64   `json:"confidence"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Backend    string    `json:"backend"`
}

func (f finding) name() string {
	if f.Case != "" {
		return f.Case
	}
	return f.Rule
}

// atLeastWarning reports whether a severity is warning or worse.
func atLeastWarning(sev string) bool {
	switch strings.ToLower(sev) {
	case "", "info", "notice", "debug", "ok", "none":
		return false
	}
	return true
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

// postmortem builds cmd/postmortem once per test binary.
func postmortem(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pmlab-bin")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "postmortem")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/postmortem")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/postmortem: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// analyze runs `postmortem analyze --format json dir`.
func analyze(t *testing.T, dir string) report {
	t.Helper()
	cmd := exec.Command(postmortem(t), "analyze", "--format", "json", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r report
	if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil {
		t.Fatalf("analyze %s: %v (exit: %v)\nstderr: %s", dir, jerr, err, stderr.String())
	}
	return r
}

func readTruth(t *testing.T, dir string) truth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr truth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s/truth.json: %v", dir, err)
	}
	return tr
}

// check compares the analysis of dir with its truth.json and returns the
// problems found (empty when the analyzer got it right).
func check(t *testing.T, dir string) []string {
	t.Helper()
	tr := readTruth(t, dir)
	r := analyze(t, dir)
	for _, f := range r.Findings {
		t.Logf("%s: finding %s severity=%s confidence=%.2f backend=%s start=%s end=%s",
			tr.Scenario, f.name(), f.Severity, f.Confidence, f.Backend, f.Start.Format(time.RFC3339), f.End.Format(time.RFC3339))
	}
	var problems []string
	for _, want := range tr.Findings {
		backends := want.Backends
		if len(backends) == 0 {
			backends = []string{want.Backend}
		}
		var got []string
		ok := false
		for _, f := range r.Findings {
			if f.name() != want.Case {
				continue
			}
			in := !f.Start.Before(want.StartAfter) && !f.Start.After(want.StartBefore)
			okBackend := false
			for _, b := range backends {
				okBackend = okBackend || f.Backend == b
			}
			if in && okBackend {
				ok = true
			}
			got = append(got, fmt.Sprintf("%s@%s", f.Backend, f.Start.Format(time.RFC3339)))
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("want %s on %s starting in [%s, %s]; got %s findings: %v",
				want.Case, strings.Join(backends, "|"), want.StartAfter.Format(time.RFC3339), want.StartBefore.Format(time.RFC3339), want.Case, got))
		}
	}
	if tr.NoWarningOrAbove {
		for _, f := range r.Findings {
			if atLeastWarning(f.Severity) {
				problems = append(problems, fmt.Sprintf("want nothing at warning or above; got %s (%s) on %s at %s",
					f.name(), f.Severity, f.Backend, f.Start.Format(time.RFC3339)))
			}
		}
	}
	return problems
}

// verifyManifest checks that dir/MANIFEST lists exactly the files of dir
// with matching sha256 sums.
func verifyManifest(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]string{}
	inFiles := false
	var run string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "run: "):
			run = strings.TrimPrefix(line, "run: ")
		case line == "files:":
			inFiles = true
		case inFiles:
			sum, path, ok := strings.Cut(line, "  ")
			if !ok || len(sum) != 64 {
				t.Fatalf("MANIFEST: bad line %q", line)
			}
			listed[path] = sum
		}
	}
	if run == "" {
		t.Error("MANIFEST names no run")
	}
	var onDisk []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel != "MANIFEST" {
			onDisk = append(onDisk, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(onDisk)
	for _, rel := range onDisk {
		want, ok := listed[rel]
		if !ok {
			t.Errorf("%s is not in MANIFEST", rel)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, MANIFEST says %s (edited after lab/keep.sh?)", rel, got, want)
		}
		delete(listed, rel)
	}
	for rel := range listed {
		t.Errorf("MANIFEST lists %s, which is missing", rel)
	}
}

// TestFixtures analyses the kept lab runs under testdata/lab without
// starting any server.
func TestFixtures(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "lab", "*", "truth.json"))
	if len(dirs) == 0 {
		t.Fatal("no lab fixtures under testdata/lab")
	}
	for _, tj := range dirs {
		dir := filepath.Dir(tj)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			verifyManifest(t, dir)
			for _, p := range check(t, dir) {
				t.Error(p)
			}
		})
	}
}

// liveScenarios are run by TestLive, in this order.
var liveScenarios = []string{"hard-cut", "timewait-surge", "clean", "websocket-drain-stuck"}

// TestLive runs the scenarios with real haproxy and nginx when
// POSTMORTEM_LAB=1; then a missing component fails it, never skips it.
// .ci/run sets POSTMORTEM_LAB=1 and runs it on its own with a long timeout,
// after the plain `go test ./...` (whose default timeout it would exceed).
func TestLive(t *testing.T) {
	if os.Getenv("POSTMORTEM_LAB") != "1" {
		t.Skip("set POSTMORTEM_LAB=1 to run the live lab (needs haproxy and nginx, or root to install them); .ci/run does")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash not found")
	}
	only := os.Getenv("POSTMORTEM_LAB_SCENARIOS")
	for _, scen := range liveScenarios {
		if only != "" && !strings.Contains(","+only+",", ","+scen+",") {
			continue
		}
		t.Run(scen, func(t *testing.T) {
			if dl, ok := t.Deadline(); ok && time.Until(dl) < 5*time.Minute {
				t.Fatalf("less than 5 minutes left before the test deadline: run with -timeout 20m")
			}
			out := filepath.Join(t.TempDir(), scen)
			start := time.Now()
			cmd := exec.Command("bash", "run.sh", scen, out)
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Run(); err != nil {
				t.Fatalf("lab/run.sh %s: %v\n%s", scen, err, log.String())
			}
			t.Logf("lab/run.sh %s took %s", scen, time.Since(start).Round(time.Second))
			for _, p := range check(t, out) {
				t.Error(p)
			}
		})
	}
}
