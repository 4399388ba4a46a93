package loki

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/internal/pipeline"
	"github.com/postmortem-tool/postmortem/parsers/builtin"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/timeline"
)

const incident = "../testdata/incidents/hard-cut"

// loadIncident turns every log file of the fixture into a Loki stream with
// labels job (first directory) and filename, plus host for per-host
// directories; the Loki timestamp of a line is its file order (parsers read
// the time from the line itself).
func loadIncident(t *testing.T) []fakeEntry {
	var es []fakeEntry
	err := filepath.WalkDir(incident, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return err
		}
		rel, _ := filepath.Rel(incident, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		ls := map[string]string{"job": parts[0], "filename": "/var/log/" + filepath.ToSlash(rel)}
		if len(parts) == 3 {
			ls["host"] = parts[1]
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for i := 0; sc.Scan(); i++ {
			es = append(es, fakeEntry{labels: ls, ts: t0.UnixNano() + int64(i)*int64(time.Millisecond), line: sc.Text()})
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 {
		t.Fatal("no lines in the fixture")
	}
	return es
}

type finding struct{ rule, backend, start string }

func findings(r rules.Result) []finding {
	var out []finding
	for _, f := range r.Findings {
		out = append(out, finding{f.Rule, f.Backend, f.Start.UTC().Format(time.RFC3339)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start+out[i].rule < out[j].start+out[j].rule })
	return out
}

// TestSourceFindsTheSameIncidentAsFiles serves the hard-cut fixture's log
// files as Loki streams and checks that a run reading only Loki finds what a
// run over the files finds.
func TestSourceFindsTheSameIncidentAsFiles(t *testing.T) {
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	var logFiles []string
	filepath.WalkDir(incident, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".log") {
			logFiles = append(logFiles, path)
		}
		return err
	})
	files, err := pipeline.Run(context.Background(), pipeline.Config{Inputs: logFiles, Registry: reg, Pack: rules.Default()})
	if err != nil {
		t.Fatal(err)
	}
	want := findings(files.Rules)
	if len(want) == 0 {
		t.Fatal("the file run found nothing: fixture changed?")
	}

	t.Logf("file run findings: %v", want)
	f, srv := newFake(t, loadIncident(t))
	src := &Source{
		Client:       &Client{URL: srv.URL, Limit: 1000, Tenant: "ops"},
		Query:        `{job=~".+"}`,
		Window:       timeline.Window{Start: t0, End: t0.Add(time.Hour)},
		Registry:     reg,
		BackendLabel: "host",
	}
	got, err := pipeline.Run(context.Background(), pipeline.Config{Registry: reg, Pack: rules.Default(), Zone: files.Loc, Extra: []pipeline.ExtraSource{src.Run}})
	if err != nil {
		t.Fatal(err)
	}
	if g := findings(got.Rules); len(g) != len(want) || !equal(g, want) {
		t.Errorf("findings from Loki %v, from files %v", g, want)
	}
	var names []string
	for _, s := range got.Sources {
		names = append(names, s.Path+" "+s.Format)
		if s.Format == "unknown" || s.Lines == 0 {
			t.Errorf("source %+v", s)
		}
	}
	if len(names) != len(logFiles) || !strings.HasPrefix(names[0], "loki:{") {
		t.Errorf("sources %v", names)
	}
	if len(f.reqs) < 2 {
		t.Errorf("%d request(s): expected paging", len(f.reqs))
	}
}

func equal(a, b []finding) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSourceWindowAndUnknownFormat(t *testing.T) {
	reg, _ := builtin.Registry()
	_, srv := newFake(t, []fakeEntry{
		{labels: map[string]string{"job": "x"}, ts: t0.UnixNano(), line: "\x01\x02 nothing anyone writes"},
		{labels: map[string]string{"job": "x"}, ts: t0.UnixNano() + 1, line: "zzz"},
	})
	src := &Source{Client: &Client{URL: srv.URL}, Query: `{job="x"}`, Registry: reg}
	if _, _, _, err := src.Run(context.Background(), time.UTC, timeline.Window{}); !errors.Is(err, ErrNoWindow) {
		t.Errorf("no window: err = %v", err)
	}
	// The window comes from the logs' window, widened by the margin.
	src.Margin = time.Minute
	_, srcs, _, err := src.Run(context.Background(), time.UTC, timeline.Window{Start: t0.Add(30 * time.Second), End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Path != `loki:{job="x"}` || srcs[0].Format != "unknown" || len(srcs[0].Warnings) == 0 {
		t.Errorf("sources %+v", srcs)
	}
	// Nothing in the window: a warning, not an error.
	src.Window = timeline.Window{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}
	_, srcs, warns, err := src.Run(context.Background(), time.UTC, timeline.Window{})
	if err != nil || len(srcs) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "returned no lines") {
		t.Errorf("empty window: %v %v %v", srcs, warns, err)
	}
}
