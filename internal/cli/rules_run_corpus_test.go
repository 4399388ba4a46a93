package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// benchDir is the corpus generator's module, relative to this package.
var benchDir = filepath.Join("..", "..", "..", "shared", "bench")

// genCorpus writes a gencorpus archive (per host, rotated, the part before
// the 06:25 logrotate gzipped) and its truth file. It skips when the
// generator is absent, except in CI.
func genCorpus(t *testing.T, size string) (dir, truth string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(benchDir, "gencorpus")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus generator missing in CI: %v", err)
		}
		t.Skipf("corpus generator not found at %s", benchDir)
	}
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "archive")
	truth = filepath.Join(tmp, "truth.json")
	cmd := exec.Command("go", "run", "./gencorpus", "-out", dir, "-size", size, "-seed", "1", "-rotate=true", "-truth", truth)
	cmd.Dir = benchDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gencorpus: %v\n%s", err, out)
	}
	return dir, truth
}

type truthFile struct {
	Events []struct {
		At   time.Time `json:"at"`
		What string    `json:"what"`
	} `json:"events"`
}

// TestRulesRunCorpusMatchesTruth is the acceptance check of `rules run`: on
// a generated archive it reports exactly the incidents the generator's
// truth file lists, with the right rule, backend and window, and nothing
// else at warning or above.
func TestRulesRunCorpusMatchesTruth(t *testing.T) {
	dir, truthPath := genCorpus(t, "20971520")
	var gz int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".gz") {
			gz++
		}
		return nil
	})
	if gz == 0 {
		t.Fatal("the corpus has no rotated .gz files")
	}
	data, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	var tr truthFile
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	at := func(prefix string) (time.Time, string) {
		for _, e := range tr.Events {
			if strings.HasPrefix(e.What, prefix) {
				return e.At, e.What
			}
		}
		t.Fatalf("truth file has no event %q", prefix)
		return time.Time{}, ""
	}
	host := regexp.MustCompile(`\bvm-[a-z]\b`)
	type want struct {
		rule, backend string
		start         time.Time
		early, late   time.Duration // allowed offset of the finding's start
		endBy         time.Time     // the finding must end by then
	}
	var wants []want
	{
		t0, what := at("case1 vm-c removed without drain")
		back, _ := at("case1 vm-c back in pool")
		wants = append(wants, want{"hard-cut-without-drain", host.FindString(what), t0, 10 * time.Second, 10 * time.Second, back.Add(time.Minute)})
	}
	{
		t0, what := at("case2 vm-a drain start")
		back, _ := at("case2 vm-a back")
		wants = append(wants, want{"websocket-drain-stuck", host.FindString(what), t0, 30 * time.Second, 30 * time.Second, back.Add(time.Minute)})
	}
	{
		// The truth event does not name the host; the generator documents
		// the surge on vm-b (the others stay about 3x lower).
		t0, _ := at("case3 keepalive change")
		rev, _ := at("case3 revert")
		wants = append(wants, want{"timewait-explosion", "vm-b", t0, 0, 3 * time.Minute, rev.Add(3 * time.Minute)})
	}

	out, errOut, st := runCLI(t, "rules", "run", "--format", "json", dir)
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	var got runJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	type gotF struct {
		rule, backend, sev string
		start, end         time.Time
	}
	var fs []gotF
	for _, r := range got.Rules {
		for _, f := range r.Findings {
			if f.Severity == "warning" || f.Severity == "critical" {
				fs = append(fs, gotF{r.Rule, f.Backend, f.Severity, f.Start, f.End})
			}
		}
	}
	used := make([]bool, len(fs))
	for _, w := range wants {
		found := false
		for i, f := range fs {
			if used[i] || f.rule != w.rule || f.backend != w.backend {
				continue
			}
			d := f.start.Sub(w.start)
			if d < -w.early || d > w.late || f.end.After(w.endBy) {
				t.Errorf("%s on %s: window %s..%s, want start %s (-%s/+%s) and end by %s",
					w.rule, w.backend, f.start, f.end, w.start, w.early, w.late, w.endBy)
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("missing %s on %s at %s", w.rule, w.backend, w.start)
		}
	}
	for i, f := range fs {
		if !used[i] {
			t.Errorf("unexpected %s finding %s on %s at %s", f.sev, f.rule, f.backend, f.start)
		}
	}
}
