package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type skewJSON struct {
	Skew []struct {
		Source             string  `json:"source"`
		Reference          string  `json:"reference"`
		SkewSeconds        float64 `json:"skew_seconds"`
		LoSeconds          float64 `json:"lo_seconds"`
		HiSeconds          float64 `json:"hi_seconds"`
		UncertaintySeconds float64 `json:"uncertainty_seconds"`
		Pairs              int     `json:"pairs"`
		Confident          bool    `json:"confident"`
		Applied            bool    `json:"applied"`
		Note               string  `json:"note"`
		Sentence           string  `json:"sentence"`
		Evidence           []struct {
			Rule string `json:"rule"`
			A    struct {
				Source string `json:"source"`
				Line   int64  `json:"line"`
			} `json:"a"`
			B struct {
				Source string `json:"source"`
				Line   int64  `json:"line"`
			} `json:"b"`
			Agrees bool `json:"agrees"`
		} `json:"evidence"`
	} `json:"skew"`
}

// analyzeSkew runs analyze --format json in dir on the inputs and returns
// the report and its skew part.
func analyzeSkew(t *testing.T, dir string, args ...string) (*jsonReport, *skewJSON, string) {
	t.Helper()
	t.Chdir(dir)
	d, out, errb := fixedDeps("")
	if code := MainWith(append([]string{"analyze", "--format", "json"}, args...), d); code != ExitOK {
		t.Fatalf("analyze %v: exit %d\n%s", args, code, errb)
	}
	var r jsonReport
	var s skewJSON
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	d, md, _ := fixedDeps("")
	MainWith(append([]string{"analyze"}, args...), d)
	return &r, &s, md.String()
}

// copyTree copies the folder src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// skewSyslog moves the RFC 3164 header time of every line of file by d, as
// a host whose clock is off would have written it.
func skewSyslog(t *testing.T, file string, d time.Duration) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		ts, err := time.Parse(time.Stamp, line[:len(time.Stamp)])
		if err != nil {
			t.Fatalf("%s:%d: %v", file, n+1, err)
		}
		out.WriteString(ts.Add(d).Format(time.Stamp))
		out.WriteString(line[len(time.Stamp):])
		out.WriteByte('\n')
		n++
	}
	if n == 0 {
		t.Fatalf("%s: no lines", file)
	}
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type findingKey struct {
	Case, Backend string
	Start, End    time.Time
	Evidence      []string
}

func findingKeys(r *jsonReport) []findingKey {
	var out []findingKey
	for _, f := range r.Findings {
		k := findingKey{Case: f.Case, Backend: f.Backend, Start: f.Start.UTC(), End: f.End.UTC()}
		for _, e := range f.Evidence {
			k.Evidence = append(k.Evidence, fmt.Sprintf("%s:%d", filepath.ToSlash(e.Source), e.Line))
		}
		out = append(out, k)
	}
	return out
}

// rowTimes maps the draft timeline rows of one source to their times.
func rowTimes(r *jsonReport, source string) map[int64]time.Time {
	out := map[int64]time.Time{}
	for _, row := range r.Timeline {
		if filepath.ToSlash(row.Source) == source {
			out[row.Line] = row.Time.UTC()
		}
	}
	return out
}

// TestSkewHardCut: the hard-cut incident with the HAProxy host's clock off.
// analyze finds the skew against the deploy log, corrects it, and names the
// same failure at the same times, citing the same lines, with HAProxy's
// rows back at their true times, as on the true clocks. Uncorrected
// (--skew report), the HAProxy rows stay off and the findings differ (other
// lines cited at +8s, other times at -60s), so the comparison can fail. --offset on the stream wins, and
// --skew off estimates nothing.
func TestSkewHardCut(t *testing.T) {
	root := repoRoot(t)
	src := filepath.Join(root, "testdata", "incidents", "hard-cut")
	clean := t.TempDir()
	copyTree(t, src, clean)
	base, baseSkew, _ := analyzeSkew(t, clean, ".")
	for _, s := range baseSkew.Skew {
		if s.Applied || s.Confident {
			t.Errorf("true clocks: skew found for %s: %s", s.Source, s.Sentence)
		}
	}
	if len(base.Findings) == 0 {
		t.Fatal("no finding on the true clocks")
	}
	const ha = "haproxy/haproxy.log"
	baseRows := rowTimes(base, ha)
	if len(baseRows) == 0 {
		t.Fatal("no HAProxy rows in the draft timeline")
	}

	for _, tc := range []struct {
		skew           time.Duration
		sentence       string
		findingsChange bool // uncorrected, the findings (times or cited lines) differ
	}{
		{8 * time.Second, "haproxy/haproxy.log runs 8s ahead of deploy/deploy.log", true},
		{-60 * time.Second, "haproxy/haproxy.log runs 1m0s behind deploy/deploy.log", true},
	} {
		t.Run(tc.skew.String(), func(t *testing.T) {
			skewed := t.TempDir()
			copyTree(t, src, skewed)
			skewSyslog(t, filepath.Join(skewed, "haproxy", "haproxy.log"), tc.skew)

			got, sk, md := analyzeSkew(t, skewed, ".")
			var hit bool
			truth := tc.skew.Seconds()
			for _, s := range sk.Skew {
				if s.Source != ha {
					if s.Applied {
						t.Errorf("%s corrected too: %s", s.Source, s.Sentence)
					}
					continue
				}
				hit = true
				if !s.Applied || !s.Confident || s.Note != "corrected" || s.Reference != "deploy/deploy.log" {
					t.Errorf("haproxy skew not applied: %+v", s)
				}
				if s.LoSeconds > truth || s.HiSeconds < truth || math.Abs(s.SkewSeconds-truth) > s.UncertaintySeconds {
					t.Errorf("haproxy skew %.3gs ±%.3gs [%.3g..%.3g] does not hold the true %gs", s.SkewSeconds, s.UncertaintySeconds, s.LoSeconds, s.HiSeconds, truth)
				}
				if s.Pairs < 2 || len(s.Evidence) < 2 {
					t.Errorf("pairs %d, evidence %v", s.Pairs, s.Evidence)
				}
				for _, e := range s.Evidence {
					if e.A.Source != "deploy/deploy.log" || e.B.Source != ha || e.A.Line == 0 || e.B.Line == 0 || !e.Agrees {
						t.Errorf("evidence pair %+v", e)
					}
				}
			}
			if !hit {
				t.Fatalf("no skew estimate for %s: %+v", ha, sk.Skew)
			}
			if diff := cmp.Diff(findingKeys(base), findingKeys(got)); diff != "" {
				t.Errorf("findings after correction differ from the true clocks' (-true +corrected):\n%s", diff)
			}
			if diff := cmp.Diff(baseRows, rowTimes(got, ha)); diff != "" {
				t.Errorf("HAProxy rows after correction are not at their true times (-true +corrected):\n%s", diff)
			}
			if !strings.Contains(md, tc.sentence) || !strings.Contains(md, "corrected") {
				t.Errorf("draft does not state the correction %q", tc.sentence)
			}
			for _, s := range got.Sources {
				if s.Path == ha && !strings.Contains(strings.Join(s.Warnings, "\n"), "times shifted by "+(-tc.skew).String()) {
					t.Errorf("haproxy source warnings %q do not say it was shifted", s.Warnings)
				}
			}

			// --skew report: estimated, stated, not applied.
			raw, sk, md := analyzeSkew(t, skewed, "--skew", "report", ".")
			if len(sk.Skew) == 0 {
				t.Fatal("--skew report: no estimate")
			}
			for _, s := range sk.Skew {
				if s.Applied {
					t.Errorf("--skew report applied %s", s.Source)
				}
			}
			if !strings.Contains(md, tc.sentence) || !strings.Contains(md, "not applied (--skew report)") {
				t.Errorf("--skew report: draft does not say the skew was left alone")
			}
			if cmp.Equal(baseRows, rowTimes(raw, ha)) {
				t.Errorf("--skew report: HAProxy rows at their true times although not corrected")
			}
			if diff := cmp.Diff(findingKeys(base), findingKeys(raw)); (diff != "") != tc.findingsChange {
				t.Errorf("uncorrected findings changed = %v, want %v", diff != "", tc.findingsChange)
			} else {
				t.Logf("uncorrected findings (-true +uncorrected):\n%s", diff)
			}

			// --offset on the stream wins, even when it leaves some skew.
			_, sk, _ = analyzeSkew(t, skewed, "--offset", "haproxy.log="+(-tc.skew/8).String(), ".")
			for _, s := range sk.Skew {
				if s.Source == ha && (s.Applied || !strings.Contains(s.Note, "--offset")) {
					t.Errorf("--offset: %+v", s)
				}
			}

			// --skew off: nothing estimated.
			if _, sk, _ = analyzeSkew(t, skewed, "--skew", "off", "."); len(sk.Skew) != 0 {
				t.Errorf("--skew off estimated %+v", sk.Skew)
			}
		})
	}

	d, _, errb := fixedDeps("")
	if code := MainWith([]string{"analyze", "--skew", "sometimes", clean}, d); code != ExitUsage || !strings.Contains(errb.String(), "auto, report or off") {
		t.Errorf("--skew sometimes: exit %d, %s", code, errb)
	}
}

// TestSkewNoFalseCorrections: on every shipped incident and lab run, whose
// clocks are right, no skew is reported as found, let alone applied.
func TestSkewNoFalseCorrections(t *testing.T) {
	root := repoRoot(t)
	var dirs []string
	for _, g := range []string{"testdata/incidents/*/expected.json", "testdata/lab/*/MANIFEST"} {
		m, _ := filepath.Glob(filepath.Join(root, g))
		for _, f := range m {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	if len(dirs) < 11 {
		t.Fatalf("found %d fixtures, want the 7 incidents and 4 lab runs", len(dirs))
	}
	for _, dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			_, sk, md := analyzeSkew(t, root, rel)
			for _, s := range sk.Skew {
				if s.Applied || s.Confident {
					t.Errorf("skew reported on true clocks: %s", s.Sentence)
				}
			}
			if strings.Contains(md, "Clock skew") {
				t.Errorf("draft has a clock skew note on true clocks")
			}
		})
	}
}
