package rulesrun

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postmortem-tool/postmortem/ingest"
	"github.com/postmortem-tool/postmortem/rules"
	"github.com/postmortem-tool/postmortem/rules/rulefmt"
	"github.com/postmortem-tool/postmortem/timeline"
)

func TestEstimateBytes(t *testing.T) {
	dir := t.TempDir()
	plain := strings.Repeat("a line of log text\n", 1000)
	if err := os.WriteFile(filepath.Join(dir, "a.log"), []byte(plain), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(plain + plain))
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "a.log.1.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	streams, errs := ingest.Discover([]string{dir}, ingest.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, want := EstimateBytes(streams), int64(3*len(plain)); got != want {
		t.Errorf("estimate %d, want %d (plain size plus the gzip trailer's size)", got, want)
	}
}

func TestProgressBar(t *testing.T) {
	var nilBar *Progress
	nilBar.Add(10) // a nil bar does nothing
	nilBar.Finish()
	var out bytes.Buffer
	p := NewProgress(&out, 100)
	p.Add(40)
	p.Add(60)
	p.Finish()
	if !strings.Contains(out.String(), "100.0 b / 100.0 b") {
		t.Errorf("bar output %q", out.String())
	}
}

func TestSummarize(t *testing.T) {
	loc := time.FixedZone("", 9*3600)
	at := func(hms string) time.Time {
		tm, _ := time.ParseInLocation("15:04:05", hms, loc)
		return tm.AddDate(2026, 4, 0)
	}
	ev := func(file string, line int64, role, text string) rules.Evidence {
		return rules.Evidence{Role: role, Evidence: timeline.Evidence{Pos: timeline.Pos{File: file, Line: line}, Text: text}}
	}
	pack := &rules.Pack{Rules: []*rulefmt.Rule{{ID: "r1", Case: "c1", Severity: "warning"}, {ID: "r2", Severity: "critical"}}}
	res := rules.Result{
		Findings: []rules.Finding{
			{Rule: "r1", Case: "c1", Severity: "critical", Start: at("14:10:00"), End: at("14:12:00"), Backend: "vm-b",
				Evidence: []rules.Evidence{ev("a.log", 3, "resets", "x"), ev("a.log", 1, "anchor", "y")}},
			{Rule: "r1", Case: "c1", Severity: "warning", Start: at("14:00:00"), End: at("14:01:00"), Backend: "vm-a",
				Evidence: []rules.Evidence{ev("b.log", 7, "anchor", "z"), ev("b.log", 9, "resets", "w\x1b[2J")}},
		},
		Checks: []rules.Check{{Rule: "r2", Why: "nothing drained"}},
	}
	s := Summarize(pack, res, []timeline.Source{{Path: "b.log", Lines: 10}, {Path: "a.log", Lines: 5, Unrecognized: 1, Warnings: []string{"odd"}}}, nil, loc, 3)
	r1 := s.Rules[0]
	if r1.Count != 2 || r1.Severity != "critical" || !r1.First.Equal(at("14:00:00")) || !r1.Last.Equal(at("14:12:00")) ||
		strings.Join(r1.Backends, ",") != "vm-a,vm-b" {
		t.Errorf("r1: %+v", r1)
	}
	var got []string
	for _, e := range r1.Evidence {
		got = append(got, e.At)
	}
	// Anchors first, one per finding (in time order), then the next lines.
	if strings.Join(got, " ") != "b.log:7 a.log:1 b.log:9" {
		t.Errorf("evidence sample %v", got)
	}
	if s.Rules[1].Count != 0 || s.Rules[1].Why != "nothing drained" || s.Rules[1].Case != "r2" {
		t.Errorf("r2: %+v", s.Rules[1])
	}
	if s.Files != 2 || s.Lines != 15 || s.Unrecognized != 1 || len(s.Warnings) != 1 || s.Warnings[0] != "a.log: odd" {
		t.Errorf("counts: %+v", s)
	}
	if s.AtLeast(rules.SeverityCritical) != 1 || s.AtLeast(rules.SeverityWarning) != 2 {
		t.Error("AtLeast")
	}
	var tb bytes.Buffer
	if err := s.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tb.String(), "\x1b") || !strings.Contains(tb.String(), `w\x1b[2J`) {
		t.Errorf("log text must not reach the terminal raw:\n%s", tb.String())
	}
	var jb bytes.Buffer
	if err := s.WriteJUnit(&jb, rules.SeverityCritical); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(jb.String(), `failures="1"`) || strings.Contains(jb.String(), "\x1b") {
		t.Errorf("junit:\n%s", jb.String())
	}
}
