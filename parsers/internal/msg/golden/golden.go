// Package golden runs the golden-file tests shared by the formats whose
// classification lives in package msg: every testdata/*.log is parsed and
// what it yields is compared with testdata/*.golden (JSON).
package golden

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/parsers/parsertest"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Result is what a golden file holds.
type Result struct {
	Rejected int               `json:"rejected"`
	Events   []timeline.Event  `json:"events"`
	Samples  []timeline.Sample `json:"samples"`
}

// Run parses each testdata/*.log with f.New(cfg) and compares the result
// with the matching .golden file, rewriting it when update is true.
func Run(t *testing.T, f parsers.Format, cfg parsers.Config, update bool) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join("testdata", "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no testdata/*.log files")
	}
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := cfg
			c.Path = filepath.Base(path)
			rec, rejected := parsertest.Feed(f.New(c), filepath.Base(path), string(data))
			got, err := json.MarshalIndent(Result{Rejected: rejected, Events: rec.Events, Samples: rec.Samples}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			gpath := strings.TrimSuffix(path, ".log") + ".golden"
			if update {
				if err := os.WriteFile(gpath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gpath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; run with -update and review the diff\ngot:\n%s", path, gpath, got)
			}
		})
	}
}

// Seeds returns the lines of every testdata/*.log, for fuzz seeds.
func Seeds(tb testing.TB) []string {
	tb.Helper()
	logs, _ := filepath.Glob(filepath.Join("testdata", "*.log"))
	var out []string
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}
