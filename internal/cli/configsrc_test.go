package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/gittest"
)

// configReport is the part of analyze's JSON these tests read.
type configReport struct {
	Sources []struct {
		Path     string   `json:"path"`
		Format   string   `json:"format"`
		Events   int64    `json:"events"`
		Warnings []string `json:"warnings"`
	} `json:"sources"`
	Findings []struct {
		Case     string            `json:"case"`
		Backend  string            `json:"backend"`
		Summary  string            `json:"summary"`
		Facts    map[string]string `json:"facts"`
		Evidence []struct {
			Role   string    `json:"role"`
			Source string    `json:"source"`
			Line   int64     `json:"line"`
			Time   time.Time `json:"time"`
			Text   string    `json:"text"`
		} `json:"evidence"`
	} `json:"findings"`
}

func analyzeConfig(t *testing.T, args ...string) *configReport {
	t.Helper()
	d, out, errb := fixedDeps("")
	if code := MainWith(append([]string{"analyze", "--format", "json"}, args...), d); code != ExitOK {
		t.Fatalf("analyze %v: exit %d\n%s", args, code, errb)
	}
	var r configReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bad JSON: %v", err)
	}
	return &r
}

// keepaliveCitation returns the timewait-explosion finding's keepalive
// change: its facts and the source:line it cites ("" when none).
func keepaliveCitation(t *testing.T, r *configReport) (facts map[string]string, source string, line int64, when time.Time) {
	t.Helper()
	for _, f := range r.Findings {
		if f.Case != "timewait-explosion" {
			continue
		}
		for _, ev := range f.Evidence {
			if ev.Role == "keepalive change" {
				return f.Facts, ev.Source, ev.Line, ev.Time
			}
		}
		return f.Facts, "", 0, time.Time{}
	}
	t.Fatal("no timewait-explosion finding")
	return nil, "", 0, time.Time{}
}

// timewaitLogs are the inputs of the timewait-explosion incident other than
// its deploy log (which states the keepalive change itself).
func timewaitLogs() []string {
	dir := "testdata/incidents/timewait-explosion"
	return []string{dir + "/lb01", dir + "/vm-a", dir + "/vm-b", dir + "/vm-c",
		dir + "/nginx-vm-a-access.log", dir + "/nginx-vm-b-access.log", dir + "/nginx-vm-b-error.log", dir + "/nginx-vm-c-access.log"}
}

// TestConfigRepoKeepaliveChange commits vm-b's nginx configuration to a real
// git repository (keepalive_timeout 65s -> 2s at 18:10:20 +09:00, committed
// with a UTC date) and checks that the timewait-explosion finding cites that
// commit as its keepalive change, with or without the incident's deploy log
// (whose own change line is 20s further from the rise).
func TestConfigRepoKeepaliveChange(t *testing.T) {
	t.Chdir(repoRoot(t))
	r := gittest.New(t, "infra")
	conf := "http {\n    keepalive_timeout 65s;\n    upstream app {\n        server 127.0.0.1:8080;\n        keepalive 64;\n    }\n}\n"
	r.Commit(time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC), "baseline", map[string]string{"nginx/vm-b/nginx.conf": conf, "README.md": "nginx\n"})
	sha := r.Commit(time.Date(2026, 5, 1, 9, 10, 20, 0, time.UTC), "CHG-7731: shorter keepalive on vm-b", map[string]string{
		"nginx/vm-b/nginx.conf": strings.Replace(conf, "keepalive_timeout 65s;", "keepalive_timeout 2s;", 1),
	})
	// A commit long before the logs is outside the default 24h margin.
	old := "http {\n    keepalive_timeout 75s;\n}\n"
	gone := gittest.New(t, "old")
	gone.Commit(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "a", map[string]string{"nginx.conf": old})
	gone.Commit(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC), "b", map[string]string{"nginx.conf": strings.Replace(old, "75s", "5s", 1)})

	wantSource := "infra/nginx/vm-b/nginx.conf@" + sha
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"whole incident", []string{"testdata/incidents/timewait-explosion"}},
		{"without the deploy log", timewaitLogs()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := analyzeConfig(t, append([]string{"--config-repo", r.Dir, "--config-repo", gone.Dir}, tc.args...)...)
			facts, src, line, when := keepaliveCitation(t, rep)
			if src != wantSource || line != 2 {
				t.Errorf("keepalive change cited at %s:%d, want %s:2", src, line, wantSource)
			}
			for k, v := range map[string]string{"setting": "keepalive_timeout", "from": "65s", "to": "2s", "commit": sha,
				"context": "http", "author": "Test Author", "file": "nginx/vm-b/nginx.conf", "backend": "vm-b"} {
				if got := facts["keepalive_change_"+k]; got != v {
					t.Errorf("fact keepalive_change_%s = %q, want %q", k, got, v)
				}
			}
			if want := time.Date(2026, 5, 1, 18, 10, 20, 0, time.FixedZone("", 9*3600)); !when.Equal(want) {
				t.Errorf("change time %s, want %s", when, want)
			}
			sources := map[string]int64{}
			for _, s := range rep.Sources {
				if s.Format == "git" {
					sources[s.Path] = s.Events
				}
			}
			// infra: keepalive_timeout changed, upstream keepalive unchanged.
			if sources[filepath.ToSlash(r.Dir)] != 1 || sources[filepath.ToSlash(gone.Dir)] != 0 || len(sources) != 2 {
				t.Errorf("git sources %v, want 1 change in %s and 0 in %s", sources, r.Dir, gone.Dir)
			}
		})
	}

	// Control: without the repository (and without the deploy log) no
	// keepalive change is cited, so the citation above comes from git.
	if _, src, _, _ := keepaliveCitation(t, analyzeConfig(t, timewaitLogs()...)); src != "" {
		t.Errorf("without --config-repo a keepalive change is cited: %s", src)
	}
	// A margin of 0 still keeps the change: it is inside the logs' window.
	if _, src, _, _ := keepaliveCitation(t, analyzeConfig(t, append([]string{"--config-repo", r.Dir, "--config-margin", "0s"}, timewaitLogs()...)...)); src != wantSource {
		t.Errorf("--config-margin 0s: cited %q, want %s", src, wantSource)
	}
}

// TestConfigSnapshotsKeepaliveChange does the same from the snapshot
// fixture: the zone-less snapshot name is read in the run's zone (+09:00,
// from the logs), and the revert at 18:40 is not the change before the rise.
func TestConfigSnapshotsKeepaliveChange(t *testing.T) {
	t.Chdir(repoRoot(t))
	rep := analyzeConfig(t, append([]string{"--config-snapshots", "testdata/configs/timewait-snapshots"}, timewaitLogs()...)...)
	facts, src, line, when := keepaliveCitation(t, rep)
	if want := "testdata/configs/timewait-snapshots/vm-b/nginx.conf@20260501T181020"; src != want || line != 6 {
		t.Errorf("keepalive change cited at %s:%d, want %s:6", src, line, want)
	}
	if want := time.Date(2026, 5, 1, 18, 10, 20, 0, time.FixedZone("", 9*3600)); !when.Equal(want) {
		t.Errorf("change time %s, want %s", when, want)
	}
	if facts["keepalive_change_from"] != "65s" || facts["keepalive_change_to"] != "2s" {
		t.Errorf("facts from %q to %q, want 65s -> 2s", facts["keepalive_change_from"], facts["keepalive_change_to"])
	}
	for _, s := range rep.Sources {
		if s.Format != "config-snapshots" {
			continue
		}
		// push: keepalive_timeout, keepalive removed; revert: both back.
		if s.Path != "testdata/configs/timewait-snapshots" || s.Events != 4 || len(s.Warnings) != 0 {
			t.Errorf("source %+v, want the folder with 4 changes and no warning", s)
		}
		return
	}
	t.Error("no config-snapshots source listed")
}

// TestConfigHistoryTimeline checks that `timeline` lists the changes.
func TestConfigHistoryTimeline(t *testing.T) {
	t.Chdir(repoRoot(t))
	d, out, errb := fixedDeps("")
	args := append([]string{"timeline", "--format", "csv", "--config-snapshots", "testdata/configs/timewait-snapshots"}, timewaitLogs()...)
	if code := MainWith(args, d); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errb)
	}
	want := "2026-05-01T18:10:20+09:00,,config_change,vm-b,1,config_change context=http file=vm-b/nginx.conf from=65s setting=keepalive_timeout to=2s on vm-b,testdata/configs/timewait-snapshots/vm-b/nginx.conf@20260501T181020,6"
	if !strings.Contains(out.String(), want+"\n") {
		t.Errorf("timeline lacks\n%s\ngot:\n%s", want, out)
	}
}
