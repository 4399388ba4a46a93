package parsertest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postmortem-tool/postmortem/parsers"
	"github.com/postmortem-tool/postmortem/timeline"
)

// Golden files: every parser package keeps testdata/*.log inputs and
// testdata/*.golden outputs, rewritten with the test binary's -update flag.

// Result is what a golden file holds.
type Result struct {
	Rejected int               `json:"rejected"`
	Events   []timeline.Event  `json:"events"`
	Samples  []timeline.Sample `json:"samples"`
}

// Golden parses each testdata/*.log with f.New(cfg) and compares the
// result with the matching .golden file (JSON of the events, samples and
// rejected-line count), rewriting it when update is true.
func Golden(t *testing.T, f parsers.Format, cfg parsers.Config, update bool) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join("testdata", "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no testdata/*.log files")
	}
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) { GoldenFile(t, f, cfg, path, update) })
	}
}

// GoldenFile is Golden for one log file (path, with path minus ".log" plus
// ".golden" as its golden file), for packages whose test files need
// different formats.
func GoldenFile(t *testing.T, f parsers.Format, cfg parsers.Config, path string, update bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(path)
	cfg.Path = name
	rec, rejected := Feed(f.New(cfg), name, string(data))
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
